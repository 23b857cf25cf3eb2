//! `DELETE /channels/{channel.id}/messages/{message.id}` and
//! `POST /channels/{channel.id}/messages/bulk-delete`.

use crate::services::audit_log;
use crate::services::moderation::audit_reason;
use accord_auth::now_ms;
use accord_bus::Audience;
use accord_model::audit_log::{AuditEntryInfo, action};
use accord_model::{ChannelId, GuildId, MessageId, MessageType, Permissions};
use accord_store::MessageRecord;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::state::AppState;

/// Bulk deletes refuse messages older than this (two weeks).
const BULK_MAX_AGE_MS: u64 = 14 * 24 * 60 * 60 * 1000;

/// MESSAGE_DELETE payload.
#[derive(Debug, Serialize)]
pub struct MessageDelete {
    /// The message.
    pub id: MessageId,
    /// Its channel.
    pub channel_id: ChannelId,
    /// Its guild.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
}

/// MESSAGE_DELETE_BULK payload.
#[derive(Debug, Serialize)]
pub struct MessageDeleteBulk {
    /// The deleted messages.
    pub ids: Vec<MessageId>,
    /// Their channel.
    pub channel_id: ChannelId,
    /// Its guild.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
}

/// Removes the stored files of deleted messages (the rows went with the messages).
async fn discard_files(state: &AppState, messages: &[MessageRecord]) {
    let blobs = &state.blobs;
    for a in messages.iter().flat_map(|m| &m.attachments) {
        let _ = blobs.delete(&a.storage_key).await;
    }
}

/// Delete a message (the author's own, or any with MANAGE_MESSAGES in a guild channel).
#[utoipa::path(delete, path = "/channels/{channel_id}/messages/{message_id}", tag = "messages",
    params(("channel_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing permissions (50013), DM (50003)"),
        (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    let message_id = ids::parse(&message_id, Unknown::Message)?;
    let message = state
        .store
        .message(channel_id, message_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    let kind: MessageType =
        serde_json::from_value(message.kind.into()).unwrap_or(MessageType::Default);
    if !kind.deletable() {
        return Err(ApiError::SystemMessage);
    }
    let own = message.webhook_id.is_none() && message.author_id == auth.user_id.as_i64();
    if !own {
        if access.guild.is_none() {
            return Err(ApiError::DmChannel);
        }
        access.require(Permissions::MANAGE_MESSAGES)?;
    }
    match state.store.delete_message(channel_id, message_id).await {
        Ok(()) => {}
        Err(accord_store::StoreError::NotFound) => {
            return Err(ApiError::Unknown(Unknown::Message));
        }
        Err(e) => return Err(e.into()),
    }
    if access.channel.is_thread() {
        state.store.thread_message_deleted(channel_id, 1).await?;
    }
    discard_files(&state, std::slice::from_ref(&message)).await;
    let payload = MessageDelete {
        id: message_id,
        channel_id,
        guild_id: access.channel.guild_id.map(GuildId::from_i64),
    };
    state
        .dispatch("MESSAGE_DELETE", Audience::Channel(channel_id), &payload)
        .await;
    // A moderator deleting someone else's message is logged (the author's own delete is not).
    if !own && let Ok(guild) = access.guild() {
        let options = AuditEntryInfo {
            channel_id: Some(channel_id.to_string()),
            count: Some("1".into()),
            ..AuditEntryInfo::default()
        };
        audit_log::by(
            &state,
            guild,
            audit_reason(&headers).as_deref(),
            audit_log::Entry::new(action::MESSAGE_DELETE, message.author_id).options(options),
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Bulk Delete Messages body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkDelete {
    /// 2–100 message ids.
    #[schema(value_type = Vec<String>)]
    pub messages: Vec<MessageId>,
}

/// Delete 2–100 messages of a guild channel at once (MANAGE_MESSAGES; none older than two
/// weeks, no duplicates).
#[utoipa::path(post, path = "/channels/{channel_id}/messages/bulk-delete", tag = "messages",
    params(("channel_id" = String, Path)),
    responses((status = 204), (status = 400, description = "Invalid form body (50035), too old (50034)"),
        (status = 403, description = "Missing permissions (50013), DM (50003)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn bulk(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(channel_id): Path<String>,
    Json(body): Json<BulkDelete>,
) -> ApiResult<StatusCode> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    let guild = access.guild()?.guild_id();
    access.require(Permissions::MANAGE_MESSAGES)?;
    let n = body.messages.len();
    if n < 2 {
        return Err(ApiError::field(
            &["messages"],
            "BASE_TYPE_MIN_LENGTH",
            "Must be 2 or more in length.",
        ));
    }
    if n > 100 {
        return Err(ApiError::field(
            &["messages"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 100 or fewer in length.",
        ));
    }
    let mut sorted = body.messages.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != n {
        return Err(ApiError::field(
            &["messages"],
            "BASE_TYPE_DUPLICATES",
            "Messages must be unique.",
        ));
    }
    let oldest_allowed = now_ms().saturating_sub(BULK_MAX_AGE_MS);
    if body
        .messages
        .iter()
        .any(|m| m.timestamp_ms() < oldest_allowed)
    {
        return Err(ApiError::TooOldToBulkDelete);
    }
    // Ids that are not messages of this channel are skipped.
    let mut found: Vec<MessageRecord> = Vec::with_capacity(n);
    for id in &body.messages {
        if let Some(m) = state.store.message(channel_id, *id).await? {
            found.push(m);
        }
    }
    let ids: Vec<MessageId> = found.iter().map(MessageRecord::message_id).collect();
    if ids.is_empty() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let deleted = state.store.bulk_delete_messages(channel_id, &ids).await?;
    if access.channel.is_thread() {
        let n = i32::try_from(deleted).unwrap_or(i32::MAX);
        state.store.thread_message_deleted(channel_id, n).await?;
    }
    discard_files(&state, &found).await;
    let payload = MessageDeleteBulk {
        ids,
        channel_id,
        guild_id: Some(guild),
    };
    state
        .dispatch(
            "MESSAGE_DELETE_BULK",
            Audience::Channel(channel_id),
            &payload,
        )
        .await;
    let options = AuditEntryInfo {
        count: Some(payload.ids.len().to_string()),
        ..AuditEntryInfo::default()
    };
    audit_log::by(
        &state,
        access.guild()?,
        audit_reason(&headers).as_deref(),
        audit_log::Entry::new(action::MESSAGE_BULK_DELETE, channel_id).options(options),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
