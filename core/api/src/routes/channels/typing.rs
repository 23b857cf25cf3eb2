//! `POST /channels/{channel.id}/typing`: TYPING_START to whoever can see the channel.

use accord_auth::now_ms;
use accord_bus::Audience;
use accord_model::{ChannelId, GuildId, GuildMember, Permissions, UserId};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::ChannelAccess;
use crate::services::{ids, members};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild;

/// TYPING_START payload.
#[derive(Debug, Serialize)]
pub struct TypingStart {
    /// The channel.
    pub channel_id: ChannelId,
    /// The guild, for guild channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// Who is typing.
    pub user_id: UserId,
    /// Unix time in seconds.
    pub timestamp: u64,
    /// The typing member, for guild channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<GuildMember>,
}

/// Trigger the typing indicator (SEND_MESSAGES in guild channels).
#[utoipa::path(post, path = "/channels/{channel_id}/typing", tag = "channels", params(("channel_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn trigger(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> ApiResult<StatusCode> {
    let access = ChannelAccess::load(
        &state,
        ids::parse(&channel_id, Unknown::Channel)?,
        auth.user_id,
    )
    .await?;
    let c = &access.channel;
    // Categories hold no messages, and forum and media channels only threads.
    if matches!(c.kind, 4 | 15 | 16) {
        return Err(ApiError::WrongChannelType);
    }
    let timestamp = now_ms() / 1000;
    match &access.guild {
        Some(guild) => {
            access.require(Permissions::SEND_MESSAGES)?;
            let user = members::user_of(&state, auth.user_id).await?;
            let payload = TypingStart {
                channel_id: c.channel_id(),
                guild_id: Some(guild.guild_id()),
                user_id: auth.user_id,
                timestamp,
                member: Some(views_guild::member(&guild.member, Some(public_user(&user)))),
            };
            state
                .dispatch("TYPING_START", Audience::Channel(c.channel_id()), &payload)
                .await;
        }
        None => {
            let recipients = state.store.recipients(c.channel_id()).await?;
            let payload = TypingStart {
                channel_id: c.channel_id(),
                guild_id: None,
                user_id: auth.user_id,
                timestamp,
                member: None,
            };
            state
                .dispatch("TYPING_START", Audience::Users(recipients), &payload)
                .await;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
