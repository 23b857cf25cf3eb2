//! Banning: who may be banned, the ban itself with its events (the ban, the lost membership and
//! the deleted messages), and the audit-log reason header.

use accord_auth::now_ms;
use accord_bus::Audience;
use accord_model::{ChannelId, DISCORD_EPOCH_MS, GuildId, MessageId, UserId};
use accord_store::{StoreError, UserRecord};
use axum::http::HeaderMap;
use serde::Serialize;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::access::GuildAccess;
use crate::services::members::GuildUserEvent;
use crate::state::AppState;
use crate::views::public_user;

/// The most seconds of messages a ban may delete (7 days).
pub const MAX_DELETE_SECONDS: u32 = 604_800;

/// Longest audit-log reason kept.
const MAX_REASON: usize = 512;

/// MESSAGE_DELETE_BULK payload.
#[derive(Debug, Serialize)]
pub struct MessageDeleteBulk {
    /// The deleted messages.
    pub ids: Vec<MessageId>,
    /// Their channel.
    pub channel_id: ChannelId,
    /// The guild.
    pub guild_id: GuildId,
}

/// The `X-Audit-Log-Reason` header, URL-decoded (as Discord reads it) and cut to 512 characters;
/// `None` when absent or empty.
pub fn audit_reason(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get("x-audit-log-reason")?.to_str().ok()?;
    let decoded = percent_decode(raw);
    let reason: String = decoded.trim().chars().take(MAX_REASON).collect();
    (!reason.is_empty()).then_some(reason)
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a user cannot be banned by the caller.
#[derive(Debug)]
pub enum Refusal {
    /// The user does not exist (10013).
    UnknownUser,
    /// The owner, a member at or above the caller, or the caller themselves (50013).
    Outranked,
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::UnknownUser => ApiError::Unknown(Unknown::User),
            Refusal::Outranked => ApiError::MissingPermissions,
        }
    }
}

/// The user the caller may ban: it must exist, not own the guild, and, when a member, sit below
/// the caller (so nobody bans themselves).
pub async fn bannable(
    state: &AppState,
    access: &GuildAccess,
    user: UserId,
) -> ApiResult<Result<UserRecord, Refusal>> {
    let Some(record) = state.store.user(user).await? else {
        return Ok(Err(Refusal::UnknownUser));
    };
    if user.as_i64() == access.guild.owner_id || user == access.user_id {
        return Ok(Err(Refusal::Outranked));
    }
    if let Some(member) = state.store.member(access.guild_id(), user).await?
        && !access.can_manage_member(&member)
    {
        return Ok(Err(Refusal::Outranked));
    }
    Ok(Ok(record))
}

/// Bans `user` (already checked with [`bannable`]) and removes their membership; deletes their
/// messages of the last `delete_seconds` in the guild. Emits GUILD_BAN_ADD, then, if they were
/// a member, GUILD_MEMBER_REMOVE to the guild and GUILD_DELETE to them, then one
/// MESSAGE_DELETE_BULK per channel that lost messages. Returns false, changing nothing, when the
/// user already is banned.
pub async fn ban(
    state: &AppState,
    access: &GuildAccess,
    user: &UserRecord,
    delete_seconds: u32,
    reason: Option<&str>,
) -> ApiResult<bool> {
    let guild_id = access.guild_id();
    let removed = match state
        .store
        .create_ban(guild_id, user.user_id(), reason, Some(access.user_id))
        .await
    {
        Ok((_, removed)) => removed,
        Err(StoreError::Conflict(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let event = GuildUserEvent {
        guild_id,
        user: public_user(user),
    };
    state
        .dispatch("GUILD_BAN_ADD", Audience::Guild(guild_id), &event)
        .await;
    crate::services::audit_log::by(
        state,
        access,
        reason,
        crate::services::audit_log::Entry::new(
            accord_model::audit_log::action::MEMBER_BAN_ADD,
            user.id,
        ),
    )
    .await;
    if removed {
        state
            .dispatch("GUILD_MEMBER_REMOVE", Audience::Guild(guild_id), &event)
            .await;
        state
            .dispatch(
                "GUILD_DELETE",
                Audience::Users(vec![user.user_id()]),
                &serde_json::json!({"id": guild_id, "unavailable": false}),
            )
            .await;
    }
    if delete_seconds > 0 {
        let since = first_id_since(now_ms(), delete_seconds);
        let deleted = state
            .store
            .delete_user_messages_since(guild_id, user.user_id(), since)
            .await?;
        for (channel_id, ids) in deleted {
            state
                .dispatch(
                    "MESSAGE_DELETE_BULK",
                    Audience::Channel(channel_id),
                    &MessageDeleteBulk {
                        ids,
                        channel_id,
                        guild_id,
                    },
                )
                .await;
        }
    }
    Ok(true)
}

/// The lowest snowflake of the last `seconds` before `now_ms`.
fn first_id_since(now_ms: u64, seconds: u32) -> MessageId {
    let from = now_ms.saturating_sub(u64::from(seconds) * 1000);
    MessageId::new(from.saturating_sub(DISCORD_EPOCH_MS) << 22)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_url_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-audit-log-reason",
            "spam%20and%20%F0%9F%A6%80".parse().unwrap(),
        );
        assert_eq!(audit_reason(&headers).as_deref(), Some("spam and 🦀"));
        headers.insert("x-audit-log-reason", "100%".parse().unwrap());
        assert_eq!(audit_reason(&headers).as_deref(), Some("100%"));
        headers.insert("x-audit-log-reason", "%20".parse().unwrap());
        assert_eq!(audit_reason(&headers), None);
    }

    #[test]
    fn the_cutoff_is_a_snowflake_of_that_instant() {
        let now = DISCORD_EPOCH_MS + 10_000_000;
        assert_eq!(first_id_since(now, 0).timestamp_ms(), now);
        assert_eq!(first_id_since(now, 60).timestamp_ms(), now - 60_000);
        assert_eq!(first_id_since(DISCORD_EPOCH_MS, 60).get(), 0);
    }
}
