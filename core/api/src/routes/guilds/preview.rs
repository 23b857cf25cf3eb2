//! `GET /guilds/{guild.id}/preview`: a guild's public face, for members (and for everyone when
//! the guild is discoverable).

use accord_model::GuildId;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::ids;
use crate::state::AppState;

/// The guild preview object.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuildPreview {
    /// Guild id.
    #[schema(value_type = String)]
    pub id: GuildId,
    /// Name.
    pub name: String,
    /// Icon hash.
    pub icon: Option<String>,
    /// Splash hash.
    pub splash: Option<String>,
    /// Discovery splash hash.
    pub discovery_splash: Option<String>,
    /// Custom emojis.
    #[schema(value_type = Vec<Object>)]
    pub emojis: Vec<serde_json::Value>,
    /// Features.
    pub features: Vec<String>,
    /// Members.
    pub approximate_member_count: i64,
    /// Online members.
    pub approximate_presence_count: i64,
    /// Description.
    pub description: Option<String>,
    /// Stickers.
    #[schema(value_type = Vec<Object>)]
    pub stickers: Vec<serde_json::Value>,
}

/// Get a guild's preview.
#[utoipa::path(get, path = "/guilds/{guild_id}/preview", tag = "guilds", params(("guild_id" = String, Path)),
    responses((status = 200, body = GuildPreview), (status = 404, description = "Unknown guild (10004)")))]
pub async fn preview(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<GuildPreview>> {
    let guild_id: GuildId = ids::parse(&guild_id, Unknown::Guild)?;
    let guild = state
        .store
        .guild(guild_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Guild))?;
    let discoverable = guild.features.0.iter().any(|f| f == "DISCOVERABLE");
    if !discoverable && state.store.member(guild_id, auth.user_id).await?.is_none() {
        return Err(ApiError::Unknown(Unknown::Guild));
    }
    Ok(axum::Json(GuildPreview {
        id: guild_id,
        name: guild.name,
        icon: guild.icon,
        splash: guild.splash,
        discovery_splash: guild.discovery_splash,
        emojis: Vec::new(),
        features: guild.features.0,
        approximate_member_count: state.store.member_count(guild_id).await?,
        approximate_presence_count: 0,
        description: guild.description,
        stickers: Vec::new(),
    }))
}
