//! `GET /users/@me/guilds`, `GET /users/@me/guilds/{guild.id}/member` and
//! `DELETE /users/@me/guilds/{guild.id}` (leave).

use accord_model::{GuildId, Permissions};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::GuildAccess;
use crate::services::{ids, members};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild;

/// Paging of the caller's guilds.
#[derive(Debug, Deserialize, IntoParams)]
pub struct GuildsQuery {
    /// Guilds before this id.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub before: Option<GuildId>,
    /// Guilds after this id.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub after: Option<GuildId>,
    /// 1–200, default 200.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Include approximate counts.
    #[serde(default)]
    pub with_counts: Option<bool>,
}

/// The partial guild in the caller's guild list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartialGuild {
    /// Id.
    #[schema(value_type = String)]
    pub id: GuildId,
    /// Name.
    pub name: String,
    /// Icon hash.
    pub icon: Option<String>,
    /// Banner hash.
    pub banner: Option<String>,
    /// Whether the caller owns it.
    pub owner: bool,
    /// The caller's guild-level permissions.
    #[schema(value_type = String)]
    pub permissions: Permissions,
    /// Features.
    pub features: Vec<String>,
    /// Members (with `with_counts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_member_count: Option<i64>,
    /// Online members (with `with_counts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_presence_count: Option<i64>,
}

/// List the caller's guilds.
#[utoipa::path(get, path = "/users/@me/guilds", tag = "users", params(GuildsQuery),
    responses((status = 200, body = Vec<PartialGuild>), (status = 400, description = "Invalid limit (50035)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<GuildsQuery>,
) -> ApiResult<axum::Json<Vec<PartialGuild>>> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field(
            &["limit"],
            "NUMBER_TYPE_MAX",
            "Value must be between 1 and 200.",
        ));
    }
    let guilds = state
        .store
        .guilds_of_user(auth.user_id, q.before, q.after, limit)
        .await?;
    let mut out = Vec::with_capacity(guilds.len());
    for g in guilds {
        let guild_id = GuildId::from_i64(g.id);
        let Some(member) = state.store.member(guild_id, auth.user_id).await? else {
            continue;
        };
        let roles = state.store.guild_roles(guild_id).await?;
        let access = GuildAccess::from_parts(auth.user_id, g, member, roles);
        let counts = if q.with_counts == Some(true) {
            Some(state.store.member_count(guild_id).await?)
        } else {
            None
        };
        out.push(PartialGuild {
            id: guild_id,
            name: access.guild.name.clone(),
            icon: access.guild.icon.clone(),
            banner: access.guild.banner.clone(),
            owner: access.is_owner(),
            permissions: access.permissions,
            features: access.guild.features.0.clone(),
            approximate_member_count: counts,
            approximate_presence_count: counts.map(|_| 0),
        });
    }
    Ok(axum::Json(out))
}

/// The caller's member object in a guild.
#[utoipa::path(get, path = "/users/@me/guilds/{guild_id}/member", tag = "users", params(("guild_id" = String, Path)),
    responses((status = 200, description = "The member object"), (status = 404, description = "Unknown guild (10004)")))]
pub async fn member(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<accord_model::GuildMember>> {
    let guild_id: GuildId = ids::parse(&guild_id, Unknown::Guild)?;
    let m = state
        .store
        .member(guild_id, auth.user_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Guild))?;
    let user = members::user_of(&state, auth.user_id).await?;
    Ok(axum::Json(views_guild::member(
        &m,
        Some(public_user(&user)),
    )))
}

/// Leave a guild (the owner cannot: 50055 — transfer or delete it instead).
#[utoipa::path(delete, path = "/users/@me/guilds/{guild_id}", tag = "users", params(("guild_id" = String, Path)),
    responses((status = 204), (status = 404, description = "Unknown guild (10004)")))]
pub async fn leave(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<StatusCode> {
    let guild_id: GuildId = ids::parse(&guild_id, Unknown::Guild)?;
    let guild = state
        .store
        .guild(guild_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Guild))?;
    if state.store.member(guild_id, auth.user_id).await?.is_none() {
        return Err(ApiError::Unknown(Unknown::Guild));
    }
    if guild.owner_id == auth.user_id.as_i64() {
        return Err(ApiError::InvalidGuild);
    }
    let user = members::user_of(&state, auth.user_id).await?;
    members::remove(&state, guild_id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
