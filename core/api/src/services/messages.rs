//! Creating messages (shared by `POST /channels/{id}/messages` and, later, webhooks): checks,
//! validation, slowmode, nonce deduplication, replies, mentions, uploads, the store write, and
//! MESSAGE_CREATE (with CHANNEL_CREATE first to a DM recipient who never had the channel).

pub mod components;
pub mod components_v2;
pub mod embeds;
pub mod events;
pub mod mentions;
pub mod uploads;
pub mod webhook;

use accord_auth::now_ms;
use accord_model::{
    AllowedMentions, ChannelId, DISCORD_EPOCH_MS, Embed, ErrorTree, GuildId, Message, MessageFlags,
    MessageId, MessageReference, Nonce, Permissions, UserId,
};
use accord_store::{MessageRecord, NewMessage, UserRecord};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::multipart::Upload;
use crate::services::access::ChannelAccess;
use crate::services::messages::mentions::Place;
use crate::services::messages::uploads::AttachmentRequest;
use crate::state::AppState;
use crate::views_message;

/// Channel types messages can be sent in: text, DM, voice (text-in-voice), group DM,
/// announcement, the three thread types, and stage.
pub const TEXT_CHANNEL_TYPES: [i32; 9] = [0, 1, 2, 3, 5, 10, 11, 12, 13];

/// How long `enforce_nonce` remembers a nonce ("the past few minutes").
const NONCE_WINDOW_MS: u64 = 5 * 60 * 1000;

/// Longest nonce.
const NONCE_LENGTH: usize = 25;

/// Flags a sender may set.
pub(crate) const SENDABLE_FLAGS: u64 = MessageFlags::SUPPRESS_EMBEDS.bits()
    | MessageFlags::SUPPRESS_NOTIFICATIONS.bits()
    | MessageFlags::IS_COMPONENTS_V2.bits();

/// The Create Message body (JSON, or `payload_json` of a multipart body).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreateMessage {
    /// Text.
    #[serde(default)]
    pub content: Option<String>,
    /// Client nonce, echoed back.
    #[serde(default)]
    pub nonce: Option<Nonce>,
    /// Text-to-speech.
    #[serde(default)]
    pub tts: Option<bool>,
    /// Rich embeds.
    #[serde(default)]
    pub embeds: Option<Vec<Embed>>,
    /// Which mentions take effect.
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// The message replied to.
    #[serde(default)]
    pub message_reference: Option<MessageReference>,
    /// Components (kept as sent).
    #[serde(default)]
    pub components: Option<Vec<serde_json::Value>>,
    /// Metadata of the uploaded files.
    #[serde(default)]
    pub attachments: Option<Vec<AttachmentRequest>>,
    /// SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS.
    #[serde(default)]
    pub flags: Option<u64>,
    /// Return the earlier message with the same nonce instead of creating one.
    #[serde(default)]
    pub enforce_nonce: Option<bool>,
}

/// Why sending failed: an API error, or slowmode (429 with `retry_after`, code 20016).
#[derive(Debug)]
pub enum SendError {
    /// Any other refusal.
    Api(ApiError),
    /// The sender must wait this many seconds.
    Slowmode(f64),
}

impl From<ApiError> for SendError {
    fn from(e: ApiError) -> Self {
        SendError::Api(e)
    }
}

impl From<accord_store::StoreError> for SendError {
    fn from(e: accord_store::StoreError) -> Self {
        SendError::Api(e.into())
    }
}

impl IntoResponse for SendError {
    fn into_response(self) -> Response {
        match self {
            SendError::Api(e) => e.into_response(),
            SendError::Slowmode(retry_after) => {
                let body = serde_json::json!({
                    "code": 20016,
                    "message": "This action cannot be performed due to slowmode rate limit.",
                    "retry_after": retry_after,
                    "global": false,
                });
                let secs = retry_after.ceil().max(1.0) as u64;
                let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                if let Ok(v) = secs.to_string().parse() {
                    resp.headers_mut().insert("retry-after", v);
                }
                resp
            }
        }
    }
}

/// The snowflake of an instant `ms` milliseconds since the Unix epoch (increment bits zero).
fn snowflake_at(ms: u64) -> MessageId {
    MessageId::new(ms.saturating_sub(DISCORD_EPOCH_MS) << 22)
}

/// The nonce as stored: integers as their decimal text.
fn nonce_text(n: &Nonce) -> String {
    match n {
        Nonce::Integer(i) => i.to_string(),
        Nonce::String(s) => s.clone(),
    }
}

/// Sends a message from `user` in the channel of `access` and returns it as the sender sees it.
pub async fn create(
    state: &AppState,
    access: &ChannelAccess,
    user: &UserRecord,
    body: CreateMessage,
    files: Vec<Upload>,
) -> Result<Message, SendError> {
    create_with_id(state, access, user, body, files, None).await
}

/// [`create`] with the message's id chosen by the caller (a forum post's first message shares
/// its thread's id).
pub async fn create_with_id(
    state: &AppState,
    access: &ChannelAccess,
    user: &UserRecord,
    body: CreateMessage,
    files: Vec<Upload>,
    id: Option<MessageId>,
) -> Result<Message, SendError> {
    let channel = &access.channel;
    let channel_id = channel.channel_id();
    let author = UserId::from_i64(user.id);
    if matches!(channel.kind, 15 | 16) {
        return Err(ApiError::ForumMessage.into());
    }
    if !TEXT_CHANNEL_TYPES.contains(&channel.kind) {
        return Err(ApiError::NonTextChannel.into());
    }
    let perms = access.permissions;
    if access.guild.is_some() {
        // Threads take SEND_MESSAGES_IN_THREADS instead of SEND_MESSAGES.
        access.require(if matches!(channel.kind, 10..=12) {
            Permissions::SEND_MESSAGES_IN_THREADS
        } else {
            Permissions::SEND_MESSAGES
        })?;
    }

    // Validation: everything before anything is written.
    let mut tree = ErrorTree::new();
    let content = body.content.clone().unwrap_or_default();
    let max = state.config.limits.message_length as usize;
    if content.chars().count() > max {
        tree.add(
            &["content"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        );
    }
    let nonce = body.nonce.as_ref().map(nonce_text);
    if nonce
        .as_deref()
        .is_some_and(|n| n.chars().count() > NONCE_LENGTH)
    {
        tree.add(
            &["nonce"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {NONCE_LENGTH} or fewer in length."),
        );
    }
    let embeds = embeds::validate(
        &mut tree,
        body.embeds.clone().unwrap_or_default(),
        state.config.limits.embeds_per_message as usize,
    );
    if let Some(a) = &body.allowed_mentions {
        mentions::validate(&mut tree, a);
    }
    let flags = body.flags.unwrap_or(0);
    if flags & !SENDABLE_FLAGS != 0 {
        tree.add(
            &["flags"],
            "MESSAGE_FLAGS_INVALID",
            "Only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS and IS_COMPONENTS_V2 can be set.",
        );
    }
    let mut components = body.components.clone().unwrap_or_default();
    components_v2::check(
        &mut tree,
        &mut components,
        flags,
        body.content.as_deref(),
        body.embeds.as_ref().map_or(0, Vec::len),
    );
    let has_files = !files.is_empty();
    let prepared = uploads::prepare(
        state,
        &mut tree,
        perms,
        channel_id,
        files,
        body.attachments.as_deref().unwrap_or(&[]),
    )?;
    if components_v2::is_v2(flags) {
        let files: Vec<components_v2::MediaFile<'_>> = prepared
            .iter()
            .map(|p| components_v2::MediaFile::of_new(&p.row))
            .collect();
        components_v2::link_media(&mut tree, &mut components, &files);
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree).into());
    }
    if content.trim().is_empty() && embeds.is_empty() && components.is_empty() && !has_files {
        return Err(ApiError::EmptyMessage.into());
    }

    // The replied-to message.
    let reference = match body
        .message_reference
        .as_ref()
        .and_then(|r| r.message_id.map(|m| (r, m)))
    {
        None => None,
        Some((r, message_id)) => {
            if !perms.contains(Permissions::READ_MESSAGE_HISTORY) {
                return Err(ApiError::ReplyWithoutHistory.into());
            }
            let same_channel = r.channel_id.is_none_or(|c| c == channel_id);
            let found = if same_channel {
                state.store.message(channel_id, message_id).await?
            } else {
                None
            };
            match found {
                Some(m) if !matches!(m.kind, 0 | 19 | 20 | 23) => {
                    return Err(ApiError::field(
                        &["message_reference"],
                        "REPLIES_CANNOT_REPLY_TO_SYSTEM_MESSAGE",
                        "Cannot reply to a system message",
                    )
                    .into());
                }
                Some(m) => Some(m),
                None if r.fail_if_not_exists == Some(false) => None,
                None => {
                    return Err(ApiError::field(
                        &["message_reference"],
                        "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                        "Unknown message",
                    )
                    .into());
                }
            }
        }
    };

    let now = now_ms();
    if body.enforce_nonce == Some(true)
        && let Some(n) = nonce.as_deref()
        && let Some(earlier) = state
            .store
            .recent_message_by(
                channel_id,
                author,
                snowflake_at(now - NONCE_WINDOW_MS),
                Some(n),
            )
            .await?
    {
        let mut view = views_message::message(state, &earlier).await?;
        view.nonce = body.nonce.clone();
        return Ok(view);
    }
    if !user.bot {
        slowmode(state, access, author, now).await?;
    }

    let resolved = resolve_mentions(
        state,
        access,
        &content,
        body.allowed_mentions.as_ref(),
        reference.as_ref().map(|m| UserId::from_i64(m.author_id)),
    )
    .await?;

    let guild_id = channel.guild_id.map(GuildId::from_i64);
    let mut new = NewMessage::new(
        id.unwrap_or_else(|| state.ids.next()),
        channel_id,
        author,
        content,
    );
    new.guild_id = guild_id;
    new.kind = if reference.is_some() { 19 } else { 0 };
    new.tts = body.tts == Some(true) && perms.contains(Permissions::SEND_TTS_MESSAGES);
    new.mention_everyone = resolved.everyone;
    new.flags = flags as i64;
    new.nonce = nonce;
    new.reference = reference
        .as_ref()
        .map(|m| (m.message_id(), channel_id, guild_id));
    new.embeds = serde_json::to_value(&embeds).map_err(|e| ApiError::Internal(e.to_string()))?;
    new.components = serde_json::Value::Array(components);
    new.mentions = resolved.users.clone();
    new.mention_roles = resolved.roles.clone();
    new.attachments = prepared.iter().map(|p| p.row.clone()).collect();

    crate::services::threads::before_message(state, access).await?;
    uploads::store(state, &prepared).await?;
    let first_in_dm = channel.kind == 1 && channel.last_message_id.is_none();
    let record: MessageRecord = match state.store.create_message(&new).await {
        Ok(r) => r,
        Err(e) => {
            uploads::discard(state, &prepared).await;
            return Err(e.into());
        }
    };
    // Unread mentions for the read states of those mentioned (not the author).
    let mentioned: Vec<UserId> = resolved
        .users
        .iter()
        .copied()
        .filter(|u| *u != author)
        .collect();
    if !mentioned.is_empty() {
        state.store.add_mentions(channel_id, &mentioned).await?;
    }
    let mut view = views_message::messages_with(state, std::slice::from_ref(&record), &[user])
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("message view missing".into()))?;
    view.nonce = body.nonce.clone();
    if first_in_dm {
        events::open_dm(state, access, author).await?;
    }
    events::message_create(state, access, &view).await?;
    crate::services::threads::after_message(state, access).await?;
    Ok(view)
}

/// Refuses a message sent before the channel's slowmode lets this user post again, unless they
/// hold BYPASS_SLOWMODE, MANAGE_MESSAGES or MANAGE_CHANNELS. Bots are never slowed (channel.mdx:
/// "bots, as well as users with the permission BYPASS_SLOWMODE, are unaffected"); the caller
/// skips this for them.
async fn slowmode(
    state: &AppState,
    access: &ChannelAccess,
    author: UserId,
    now: u64,
) -> Result<(), SendError> {
    let secs = access.channel.rate_limit_per_user;
    if secs <= 0 || access.guild.is_none() {
        return Ok(());
    }
    let exempt =
        Permissions::BYPASS_SLOWMODE | Permissions::MANAGE_MESSAGES | Permissions::MANAGE_CHANNELS;
    if access.permissions.intersects(exempt) {
        return Ok(());
    }
    let window = secs as u64 * 1000;
    let since = snowflake_at(now.saturating_sub(window));
    let last = state
        .store
        .recent_message_by(ChannelId::from_i64(access.channel.id), author, since, None)
        .await?;
    if let Some(m) = last {
        let sent = m.message_id().timestamp_ms();
        let wait = (sent + window).saturating_sub(now);
        if wait > 0 {
            return Err(SendError::Slowmode(wait as f64 / 1000.0));
        }
    }
    Ok(())
}

/// The mentions of `content` sent in the channel of `access` under `allowed` (plus the
/// replied-to author).
pub async fn resolve_mentions(
    state: &AppState,
    access: &ChannelAccess,
    content: &str,
    allowed: Option<&AllowedMentions>,
    replied_author: Option<UserId>,
) -> ApiResult<mentions::Resolved> {
    let place = match &access.guild {
        Some(g) => Place::Guild {
            id: g.guild_id(),
            roles: &g.roles,
            permissions: access.permissions,
        },
        None => Place::Private,
    };
    mentions::resolve(state, place, content, allowed, replied_author).await
}
