//! `GET /guilds/{guild.id}/invites`: every usable invite of a guild.

use accord_model::Permissions;
use accord_model::invite::Invite;
use axum::extract::{Path, State};

use super::common::{only_usable, render};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::GuildAccess;
use crate::services::ids;
use crate::state::AppState;

/// List a guild's invites (MANAGE_GUILD, with metadata; or VIEW_AUDIT_LOG, without); expired
/// and used-up invites are left out.
#[utoipa::path(get, path = "/guilds/{guild_id}/invites", tag = "invites", params(("guild_id" = String, Path)),
    responses((status = 200, description = "Invite objects"), (status = 403, description = "Missing permissions (50013) or not a member (50001)"),
        (status = 404, description = "Unknown guild (10004)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Invite>>> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    let metadata = access.permissions.contains(Permissions::MANAGE_GUILD);
    if !metadata && !access.permissions.contains(Permissions::VIEW_AUDIT_LOG) {
        return Err(ApiError::MissingPermissions);
    }
    let invites = only_usable(state.store.guild_invites(access.guild_id()).await?);
    Ok(axum::Json(render(&state, &invites, metadata).await?))
}
