//! `GET /invites/{invite.code}` (no token needed) and `DELETE /invites/{invite.code}`.

use accord_bus::Audience;
use accord_model::invite::Invite;
use accord_model::{ChannelId, GuildId, Permissions};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use serde::Deserialize;
use utoipa::IntoParams;

use super::common::{query_bool, render_one, usable_invite};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::extract::auth::authenticate;
use crate::services::access::GuildAccess;
use crate::state::AppState;
use crate::views_invite::invite_delete;

/// `GET /invites/{code}` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct GetInviteQuery {
    /// Include `approximate_member_count` and `approximate_presence_count`.
    #[serde(default)]
    pub with_counts: Option<String>,
    /// Accepted for older clients; `expires_at` is always included.
    #[serde(default)]
    pub with_expiration: Option<String>,
    /// A scheduled event to include (there are none yet).
    #[serde(default)]
    pub guild_scheduled_event_id: Option<String>,
}

/// Get an invite by code. Works without a token; a token that is sent must be valid. Expired
/// and used-up invites are unknown (10006).
#[utoipa::path(get, path = "/invites/{code}", tag = "invites", params(("code" = String, Path), GetInviteQuery),
    responses((status = 200, description = "The invite object"), (status = 404, description = "Unknown invite (10006)")))]
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<GetInviteQuery>,
) -> ApiResult<axum::Json<Invite>> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthorized)?;
        authenticate(&state, value)?;
    }
    let with_counts = query_bool("with_counts", q.with_counts.as_deref())?;
    query_bool("with_expiration", q.with_expiration.as_deref())?;
    let record = usable_invite(&state, &code).await?;
    let mut invite = render_one(&state, &record, false).await?;
    if with_counts && let Some(guild) = record.guild_id {
        let members = state.store.member_count(GuildId::from_i64(guild)).await?;
        invite.approximate_member_count = Some(members.max(0) as u32);
        // Presences arrive with the gateway; until then nobody is online.
        invite.approximate_presence_count = Some(0);
    }
    Ok(axum::Json(invite))
}

/// Delete an invite (MANAGE_CHANNELS in its channel, or MANAGE_GUILD).
#[utoipa::path(delete, path = "/invites/{code}", tag = "invites", params(("code" = String, Path)),
    responses((status = 200, description = "The deleted invite"), (status = 403, description = "Missing permissions (50013) or not a member (50001)"),
        (status = 404, description = "Unknown invite (10006)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<Invite>> {
    let record = usable_invite(&state, &code).await?;
    let guild_id = record
        .guild_id
        .map(GuildId::from_i64)
        .ok_or(ApiError::Unknown(Unknown::Invite))?;
    let access = GuildAccess::load(&state, guild_id, auth.user_id).await?;
    if !access.permissions.contains(Permissions::MANAGE_GUILD) {
        let channel_id = ChannelId::from_i64(record.channel_id);
        let channel = state
            .store
            .channel(channel_id)
            .await?
            .ok_or(ApiError::Unknown(Unknown::Invite))?;
        let overwrites = state.store.channel_overwrites(channel_id).await?;
        if !access
            .channel_permissions(&channel, &overwrites)
            .contains(Permissions::MANAGE_CHANNELS)
        {
            return Err(ApiError::MissingPermissions);
        }
    }
    let invite = render_one(&state, &record, false).await?;
    let deleted = match state.store.delete_invite(&record.code).await {
        Ok(deleted) => deleted,
        Err(accord_store::StoreError::NotFound) => {
            return Err(ApiError::Unknown(Unknown::Invite));
        }
        Err(e) => return Err(e.into()),
    };
    state
        .dispatch(
            "INVITE_DELETE",
            Audience::Guild(guild_id),
            &invite_delete(&deleted),
        )
        .await;
    crate::services::audit_log::invite(
        &state,
        &access,
        crate::services::moderation::audit_reason(&headers).as_deref(),
        &deleted,
        false,
    )
    .await;
    Ok(axum::Json(invite))
}
