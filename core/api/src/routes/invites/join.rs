//! `POST /invites/{invite.code}`: a user account joins the invite's guild.

use accord_model::invite::Invite;
use accord_model::{GuildId, Rights};
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::common::{render_one, usable_invite};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::members;
use crate::state::AppState;

/// The accepted invite, and whether the caller became a member through it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedInvite {
    /// The invite object (with its guild and channel).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub invite: Invite,
    /// False when the caller already was a member (nothing changed).
    pub new_member: bool,
}

/// Accept an invite (user accounts only; instance right JOIN_GUILDS). Counts one use; joining a
/// guild one is already in changes nothing.
#[utoipa::path(post, path = "/invites/{code}", tag = "invites", params(("code" = String, Path)),
    responses((status = 200, body = AcceptedInvite), (status = 403, description = "Bot (20001), banned (40007) or missing right (50013)"),
        (status = 404, description = "Unknown, expired or used-up invite (10006)")))]
pub async fn accept(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<AcceptedInvite>> {
    auth.not_bot()?;
    let record = usable_invite(&state, &code).await?;
    let user = members::user_of(&state, auth.user_id).await?;
    if !user.rights().has(Rights::JOIN_GUILDS) {
        return Err(ApiError::MissingPermissions);
    }
    let guild_id = record
        .guild_id
        .map(GuildId::from_i64)
        .ok_or(ApiError::Unknown(Unknown::Invite))?;
    let guild = state
        .store
        .guild(guild_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Invite))?;
    let invite = render_one(&state, &record, false).await?;
    if state.store.member(guild_id, auth.user_id).await?.is_some() {
        return Ok(axum::Json(AcceptedInvite {
            invite,
            new_member: false,
        }));
    }
    members::check_can_join(&state, guild_id, &user).await?;
    if !state.store.use_invite(&record.code).await? {
        return Err(ApiError::Unknown(Unknown::Invite));
    }
    if let Err(e) = members::join(&state, &guild, &user, Vec::new()).await {
        // Refused after all (a race with a ban or the limits): the use is given back.
        state.store.release_invite_use(&record.code).await?;
        return Err(e);
    }
    Ok(axum::Json(AcceptedInvite {
        invite,
        new_member: true,
    }))
}
