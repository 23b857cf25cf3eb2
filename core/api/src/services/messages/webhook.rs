//! Messages sent by an incoming webhook (`POST /webhooks/{id}/{token}`): the same validation as
//! any message, the webhook's id as author id, the name override, and MESSAGE_CREATE.

use accord_model::{
    AllowedMentions, ChannelId, Embed, ErrorTree, GuildId, Message, Permissions, UserId, WebhookId,
};
use accord_store::{NewMessage, WebhookRecord};
use serde::Deserialize;

use super::mentions::{self, Place};
use super::uploads::{self, AttachmentRequest};
use super::{SENDABLE_FLAGS, TEXT_CHANNEL_TYPES, embeds, events};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::multipart::Upload;
use crate::services::access::ChannelAccess;
use crate::state::AppState;
use crate::views_message;

/// The Execute Webhook body (JSON, or `payload_json` of a multipart body).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExecuteWebhook {
    /// Text.
    #[serde(default)]
    pub content: Option<String>,
    /// Name override.
    #[serde(default)]
    pub username: Option<String>,
    /// Avatar override (refused until images are stored).
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Text-to-speech.
    #[serde(default)]
    pub tts: Option<bool>,
    /// Rich embeds.
    #[serde(default)]
    pub embeds: Option<Vec<Embed>>,
    /// Which mentions take effect.
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// Components (kept as sent).
    #[serde(default)]
    pub components: Option<Vec<serde_json::Value>>,
    /// Metadata of the uploaded files.
    #[serde(default)]
    pub attachments: Option<Vec<AttachmentRequest>>,
    /// SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS.
    #[serde(default)]
    pub flags: Option<u64>,
    /// Name of a forum thread to create (refused until threads exist).
    #[serde(default)]
    pub thread_name: Option<String>,
}

/// A webhook's standing in its channel: every permission (webhooks are not members).
pub async fn standing(state: &AppState, hook: &WebhookRecord) -> ApiResult<ChannelAccess> {
    let channel_id = hook
        .channel_id
        .map(ChannelId::from_i64)
        .ok_or(ApiError::Unknown(Unknown::Channel))?;
    let channel = state
        .store
        .channel(channel_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Channel))?;
    Ok(ChannelAccess {
        channel,
        permissions: Permissions::all(),
        guild: None,
    })
}

/// The mentions of `content` sent by a webhook (which may mention everyone and every role).
pub async fn resolve(
    state: &AppState,
    access: &ChannelAccess,
    content: &str,
    allowed: Option<&AllowedMentions>,
) -> ApiResult<mentions::Resolved> {
    let roles = match access.channel.guild_id {
        Some(g) => state.store.guild_roles(GuildId::from_i64(g)).await?,
        None => Vec::new(),
    };
    let place = match access.channel.guild_id {
        Some(id) => Place::Guild {
            id: GuildId::from_i64(id),
            roles: &roles,
            permissions: access.permissions,
        },
        None => Place::Private,
    };
    mentions::resolve(state, place, content, allowed, None).await
}

/// Sends `body` as `hook` and returns the message.
pub async fn create(
    state: &AppState,
    hook: &WebhookRecord,
    body: ExecuteWebhook,
    files: Vec<Upload>,
) -> ApiResult<Message> {
    let access = standing(state, hook).await?;
    let channel = &access.channel;
    let channel_id = channel.channel_id();
    if !TEXT_CHANNEL_TYPES.contains(&channel.kind) {
        return Err(ApiError::NonTextChannel);
    }
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
    if let Some(name) = &body.username {
        crate::routes::webhooks::check_name(&mut tree, "username", name);
    }
    if body.avatar_url.is_some() {
        tree.add(
            &["avatar_url"],
            "IMAGE_UNSUPPORTED",
            "Avatar overrides are not supported on this instance yet.",
        );
    }
    if body.thread_name.is_some() {
        tree.add(
            &["thread_name"],
            "THREADS_UNSUPPORTED",
            "Threads are not supported on this instance yet.",
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
            "Only SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS can be set.",
        );
    }
    let components = body.components.clone().unwrap_or_default();
    let has_files = !files.is_empty();
    let prepared = uploads::prepare(
        state,
        &mut tree,
        access.permissions,
        channel_id,
        files,
        body.attachments.as_deref().unwrap_or(&[]),
    )?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    if content.trim().is_empty() && embeds.is_empty() && components.is_empty() && !has_files {
        return Err(ApiError::EmptyMessage);
    }

    let guild_id = channel.guild_id.map(GuildId::from_i64);
    let resolved = resolve(state, &access, &content, body.allowed_mentions.as_ref()).await?;

    let mut new = NewMessage::new(
        state.ids.next(),
        channel_id,
        UserId::from_i64(hook.id),
        content,
    );
    new.guild_id = guild_id;
    new.webhook_id = Some(WebhookId::from_i64(hook.id));
    new.webhook_name = body.username.clone().or_else(|| hook.name.clone());
    new.webhook_avatar = hook.avatar.clone();
    new.tts = body.tts == Some(true);
    new.mention_everyone = resolved.everyone;
    new.flags = flags as i64;
    new.embeds = serde_json::to_value(&embeds).map_err(|e| ApiError::Internal(e.to_string()))?;
    new.components = serde_json::Value::Array(components);
    new.mentions = resolved.users.clone();
    new.mention_roles = resolved.roles.clone();
    new.attachments = prepared.iter().map(|p| p.row.clone()).collect();

    uploads::store(state, &prepared).await?;
    let record = match state.store.create_message(&new).await {
        Ok(r) => r,
        Err(e) => {
            uploads::discard(state, &prepared).await;
            return Err(e.into());
        }
    };
    let view = views_message::message(state, &record).await?;
    events::message_create(state, &access, &view).await?;
    Ok(view)
}
