//! Pinned messages: `GET /channels/{channel.id}/messages/pins` (pin objects, paged by pin time)
//! and `PUT/DELETE /channels/{channel.id}/messages/pins/{message.id}`, with the deprecated
//! `/channels/{channel.id}/pins` forms. Pinning needs PIN_MESSAGES (MANAGE_MESSAGES no longer
//! suffices since Discord's February 2026 split); each change publishes CHANNEL_PINS_UPDATE and
//! pinning posts a CHANNEL_PINNED_MESSAGE system message.

use accord_bus::Audience;
use accord_model::{
    ChannelId, ErrorTree, GuildId, Message, MessageId, Permissions, Timestamp, UserId,
};
use accord_store::{MessageRecord, NewMessage};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::reactions;
use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::Auth;
use crate::routes::guilds::members::query;
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::services::messages::events;
use crate::state::AppState;
use crate::views_guild::timestamp;
use crate::views_message;

/// Registers the pin routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list))
        .routes(routes!(pin, unpin))
        .routes(routes!(list_deprecated))
        .routes(routes!(pin_deprecated, unpin_deprecated))
}

/// Most pins one page of `GET …/messages/pins` returns (also its default).
const MAX_PAGE: u32 = 50;

/// Message type CHANNEL_PINNED_MESSAGE.
const CHANNEL_PINNED_MESSAGE: i32 = 6;

/// A message pin object.
#[derive(Debug, Serialize)]
pub struct MessagePin {
    /// When it was pinned.
    pub pinned_at: Timestamp,
    /// The message.
    pub message: Message,
}

/// The response of `GET …/messages/pins`.
#[derive(Debug, Serialize)]
pub struct PinPage {
    /// Pins, newest first.
    pub items: Vec<MessagePin>,
    /// Whether older pins remain.
    pub has_more: bool,
}

/// CHANNEL_PINS_UPDATE payload.
#[derive(Debug, Serialize)]
struct PinsUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    guild_id: Option<GuildId>,
    channel_id: ChannelId,
    last_pin_timestamp: Option<Timestamp>,
}

/// The caller's standing in the channel.
async fn channel(state: &AppState, auth: &Auth, channel_id: &str) -> ApiResult<ChannelAccess> {
    ChannelAccess::load(
        state,
        ids::parse(channel_id, Unknown::Channel)?,
        auth.user_id,
    )
    .await
}

/// Up to `limit` pins before `before`, one more to tell whether more remain. Without
/// READ_MESSAGE_HISTORY nothing is listed, as on Discord.
async fn page(
    state: &AppState,
    access: &ChannelAccess,
    viewer: UserId,
    before: Option<DateTime<Utc>>,
    limit: u32,
) -> ApiResult<PinPage> {
    if !access
        .permissions
        .contains(Permissions::READ_MESSAGE_HISTORY)
    {
        return Ok(PinPage {
            items: Vec::new(),
            has_more: false,
        });
    }
    let mut pins = state
        .store
        .pins(access.channel.channel_id(), before, limit + 1)
        .await?;
    let has_more = pins.len() > limit as usize;
    pins.truncate(limit as usize);
    let records: Vec<MessageRecord> = pins.iter().map(|p| p.message.clone()).collect();
    let mut messages = views_message::messages(state, &records).await?;
    reactions::fill(state, access.channel.channel_id(), viewer, &mut messages).await?;
    let items = pins
        .iter()
        .zip(messages)
        .map(|(p, message)| MessagePin {
            pinned_at: timestamp(p.pinned_at),
            message,
        })
        .collect();
    Ok(PinPage { items, has_more })
}

/// List the channel's pins, newest pin first (`before` an ISO8601 pin time, `limit` 1–50,
/// default 50); empty without READ_MESSAGE_HISTORY.
#[utoipa::path(get, path = "/channels/{channel_id}/messages/pins", tag = "pins",
    params(("channel_id" = String, Path), ("before" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "{items: [message pin], has_more}"), (status = 400, description = "Invalid query (50035)"),
        (status = 403, description = "Missing access (50001)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Query(q): Query<query::Params>,
) -> ApiResult<axum::Json<PinPage>> {
    let access = channel(&state, &auth, &channel_id).await?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, MAX_PAGE, MAX_PAGE);
    let before = match q.get("before") {
        None => None,
        Some(raw) => match DateTime::parse_from_rfc3339(raw.trim()) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                tree.add(
                    &["before"],
                    "BASE_TYPE_INVALID",
                    format!("Value \"{raw}\" is not a valid ISO8601 timestamp."),
                );
                None
            }
        },
    };
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    Ok(axum::Json(
        page(&state, &access, auth.user_id, before, limit).await?,
    ))
}

/// List the channel's first 50 pinned messages (deprecated form).
#[utoipa::path(get, path = "/channels/{channel_id}/pins", tag = "pins", params(("channel_id" = String, Path)),
    responses((status = 200, description = "Message objects"), (status = 403, description = "Missing access (50001)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn list_deprecated(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Message>>> {
    let access = channel(&state, &auth, &channel_id).await?;
    let page = page(&state, &access, auth.user_id, None, MAX_PAGE).await?;
    Ok(axum::Json(
        page.items.into_iter().map(|p| p.message).collect(),
    ))
}

/// The channel (PIN_MESSAGES) and the message of it a pin route names (10008).
async fn target(
    state: &AppState,
    auth: &Auth,
    channel_id: &str,
    message_id: &str,
) -> ApiResult<(ChannelAccess, MessageRecord)> {
    let access = channel(state, auth, channel_id).await?;
    access.require(Permissions::PIN_MESSAGES)?;
    let message: MessageId = ids::parse(message_id, Unknown::Message)?;
    let message = state
        .store
        .message(access.channel.channel_id(), message)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    Ok((access, message))
}

/// Publishes CHANNEL_PINS_UPDATE with the channel's current `last_pin_timestamp`.
async fn pins_update(state: &AppState, access: &ChannelAccess) -> ApiResult<()> {
    let id = access.channel.channel_id();
    let last = state
        .store
        .channel(id)
        .await?
        .and_then(|c| c.last_pin_timestamp);
    let payload = PinsUpdate {
        guild_id: access.channel.guild(),
        channel_id: id,
        last_pin_timestamp: last.map(timestamp),
    };
    state
        .dispatch("CHANNEL_PINS_UPDATE", Audience::Channel(id), &payload)
        .await;
    Ok(())
}

/// Posts the CHANNEL_PINNED_MESSAGE system message pointing at `pinned`: MESSAGE_CREATE.
async fn announce(
    state: &AppState,
    access: &ChannelAccess,
    pinned: &MessageRecord,
    by: UserId,
) -> ApiResult<()> {
    let c = &access.channel;
    let mut new = NewMessage::new(state.ids.next(), c.channel_id(), by, "");
    new.kind = CHANNEL_PINNED_MESSAGE;
    new.guild_id = c.guild();
    new.reference = Some((pinned.message_id(), c.channel_id(), c.guild()));
    let record = state.store.create_message(&new).await?;
    let view = views_message::message(state, &record).await?;
    events::message_create(state, access, &view).await
}

async fn do_pin(
    state: AppState,
    auth: Auth,
    channel_id: String,
    message_id: String,
    reason: Option<&str>,
) -> ApiResult<StatusCode> {
    let (access, message) = target(&state, &auth, &channel_id, &message_id).await?;
    if message.pinned {
        return Ok(StatusCode::NO_CONTENT);
    }
    let limit = state.config.limits.pins_per_channel;
    let pinned = match state
        .store
        .pin_message_limited(access.channel.channel_id(), message.message_id(), limit)
        .await
    {
        Ok(Some(pinned)) => pinned,
        Ok(None) => return Err(ApiError::Maximum(Maximum::Pins, limit)),
        // Deleted in the meantime.
        Err(accord_store::StoreError::NotFound) => {
            return Err(ApiError::Unknown(Unknown::Message));
        }
        Err(e) => return Err(e.into()),
    };
    if pinned {
        pins_update(&state, &access).await?;
        announce(&state, &access, &message, auth.user_id).await?;
        pin_audit(&state, &access, &message, reason, true).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn do_unpin(
    state: AppState,
    auth: Auth,
    channel_id: String,
    message_id: String,
    reason: Option<&str>,
) -> ApiResult<StatusCode> {
    let (access, message) = target(&state, &auth, &channel_id, &message_id).await?;
    if state
        .store
        .unpin_message(access.channel.channel_id(), message.message_id())
        .await?
    {
        pins_update(&state, &access).await?;
        pin_audit(&state, &access, &message, reason, false).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The MESSAGE_PIN / MESSAGE_UNPIN entry of a guild channel's pin (target: the author).
async fn pin_audit(
    state: &AppState,
    access: &ChannelAccess,
    message: &MessageRecord,
    reason: Option<&str>,
    pinned: bool,
) {
    use accord_model::audit_log::{AuditEntryInfo, action};
    let Ok(guild) = access.guild() else {
        return;
    };
    let options = AuditEntryInfo {
        channel_id: Some(access.channel.id.to_string()),
        message_id: Some(message.id.to_string()),
        ..AuditEntryInfo::default()
    };
    let kind = if pinned {
        action::MESSAGE_PIN
    } else {
        action::MESSAGE_UNPIN
    };
    let entry = crate::services::audit_log::Entry::new(kind, message.author_id).options(options);
    crate::services::audit_log::by(state, guild, reason, entry).await;
}

/// Pin a message (PIN_MESSAGES; up to `limits.pins_per_channel`): CHANNEL_PINS_UPDATE, then
/// MESSAGE_CREATE of the CHANNEL_PINNED_MESSAGE system message. Pinning it again changes nothing.
#[utoipa::path(put, path = "/channels/{channel_id}/messages/pins/{message_id}", tag = "pins",
    params(("channel_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 204), (status = 400, description = "Too many pins (30003)"), (status = 403, description = "Missing PIN_MESSAGES (50013)"),
        (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn pin(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let reason = crate::services::moderation::audit_reason(&headers);
    do_pin(state, auth, channel_id, message_id, reason.as_deref()).await
}

/// Unpin a message (PIN_MESSAGES): CHANNEL_PINS_UPDATE (nothing if it was not pinned).
#[utoipa::path(delete, path = "/channels/{channel_id}/messages/pins/{message_id}", tag = "pins",
    params(("channel_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing PIN_MESSAGES (50013)"), (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn unpin(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let reason = crate::services::moderation::audit_reason(&headers);
    do_unpin(state, auth, channel_id, message_id, reason.as_deref()).await
}

/// Pin a message (deprecated form of `PUT …/messages/pins/{message.id}`).
#[utoipa::path(put, path = "/channels/{channel_id}/pins/{message_id}", tag = "pins",
    params(("channel_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 204), (status = 400, description = "Too many pins (30003)"), (status = 403, description = "Missing PIN_MESSAGES (50013)"),
        (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn pin_deprecated(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let reason = crate::services::moderation::audit_reason(&headers);
    do_pin(state, auth, channel_id, message_id, reason.as_deref()).await
}

/// Unpin a message (deprecated form of `DELETE …/messages/pins/{message.id}`).
#[utoipa::path(delete, path = "/channels/{channel_id}/pins/{message_id}", tag = "pins",
    params(("channel_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing PIN_MESSAGES (50013)"), (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn unpin_deprecated(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let reason = crate::services::moderation::audit_reason(&headers);
    do_unpin(state, auth, channel_id, message_id, reason.as_deref()).await
}
