//! Message records turned into Discord's message objects: authors (users or webhooks),
//! mentioned users, attachments with their CDN URLs, embeds, and the replied-to message.

use std::collections::HashMap;

use accord_model::attachment::AttachmentFlags;
use accord_model::{
    Attachment, AttachmentId, ChannelId, Embed, GuildId, Mention, Message, MessageFlags, MessageId,
    MessageReference, MessageType, RoleId, User, UserId, WebhookId,
};
use accord_store::{AttachmentRecord, MessageRecord, UserRecord};

use crate::error::ApiResult;
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild::timestamp;

/// The public URL of a stored attachment: signed for anyone, with Discord's `ex`/`is`/`hm`
/// parameters, when `cdn.signed_urls` is enabled.
pub fn attachment_url(state: &AppState, channel: i64, id: i64, filename: &str) -> String {
    signed_cdn_url(
        state,
        &format!("/attachments/{channel}/{id}/{filename}"),
        None,
    )
}

/// The CDN URL of `path` (`/attachments/...`), signed from now when `cdn.signed_urls` is enabled
/// (for requests from `ip` only, when given), plain otherwise.
pub fn signed_cdn_url(state: &AppState, path: &str, ip: Option<std::net::IpAddr>) -> String {
    let base = state.config.cdn_public_url();
    let signing = &state.config.cdn.signed_urls;
    if !signing.enabled {
        return format!("{base}{path}");
    }
    let now = accord_auth::now_ms() / 1000;
    let query = accord_auth::signed_url::sign(&state.url_key, path, now, signing.ttl_secs, ip);
    format!("{base}{path}?{query}")
}

/// An attachment object.
pub fn attachment(state: &AppState, a: &AttachmentRecord) -> Attachment {
    let url = attachment_url(state, a.channel_id, a.id, &a.filename);
    Attachment {
        id: AttachmentId::from_i64(a.id),
        filename: a.filename.clone(),
        title: None,
        description: a.description.clone(),
        content_type: a.content_type.clone(),
        size: a.size.max(0) as u64,
        proxy_url: url.clone(),
        url,
        height: Some(a.height.map(|h| h.max(0) as u32)),
        width: Some(a.width.map(|w| w.max(0) as u32)),
        placeholder: None,
        placeholder_version: None,
        ephemeral: a.ephemeral.then_some(true),
        duration_secs: a.duration_secs,
        waveform: a.waveform.clone(),
        flags: (a.flags != 0).then(|| AttachmentFlags::from_bits(a.flags as u64)),
        clip_participants: None,
        clip_created_at: None,
        application: None,
    }
}

/// A user object not backed by an account: a webhook's posting identity, or a deleted user.
fn synthetic_user(id: i64, name: &str, avatar: Option<String>, bot: bool) -> User {
    User {
        id: UserId::from_i64(id),
        username: name.to_owned(),
        discriminator: "0000".to_owned(),
        global_name: None,
        avatar,
        bot: bot.then_some(true),
        system: None,
        mfa_enabled: None,
        banner: None,
        accent_color: None,
        locale: None,
        verified: None,
        email: None,
        flags: None,
        premium_type: None,
        public_flags: None,
        avatar_decoration_data: None,
        collectibles: None,
        primary_guild: None,
    }
}

/// One message object from its record, the users it names, and (for replies) the replied-to
/// message's object (`None` inside means it was deleted).
fn build(
    state: &AppState,
    m: &MessageRecord,
    users: &HashMap<i64, User>,
    referenced: Option<Option<Box<Message>>>,
) -> Message {
    // Interaction responses (types 20 and 23) carry the application's id as `webhook_id` but
    // are authored by its bot user.
    let author = match m.webhook_id.filter(|_| !matches!(m.kind, 20 | 23)) {
        Some(webhook) => synthetic_user(
            webhook,
            m.webhook_name.as_deref().unwrap_or("Webhook"),
            m.webhook_avatar.clone(),
            true,
        ),
        None => users
            .get(&m.author_id)
            .cloned()
            .unwrap_or_else(|| synthetic_user(m.author_id, "Deleted User", None, false)),
    };
    let embeds: Vec<Embed> = serde_json::from_value(m.embeds.0.clone()).unwrap_or_default();
    let mut components: Vec<serde_json::Value> =
        serde_json::from_value(m.components.0.clone()).unwrap_or_default();
    if crate::services::messages::components_v2::is_v2(m.flags as u64) {
        crate::services::messages::components_v2::show_media(&mut components, &|id| {
            m.attachments
                .iter()
                .find(|a| a.id == id)
                .map(|a| attachment_url(state, a.channel_id, a.id, &a.filename))
        });
    }
    Message {
        id: MessageId::from_i64(m.id),
        channel_id: ChannelId::from_i64(m.channel_id),
        author,
        content: m.content.clone(),
        timestamp: timestamp(m.created_at),
        edited_timestamp: m.edited_at.map(timestamp),
        tts: m.tts,
        mention_everyone: m.mention_everyone,
        mentions: m
            .mentions
            .iter()
            .filter_map(|u| users.get(u).cloned().map(Mention::from))
            .collect(),
        mention_roles: m
            .mention_roles
            .iter()
            .map(|r| RoleId::from_i64(*r))
            .collect(),
        mention_channels: None,
        attachments: m.attachments.iter().map(|a| attachment(state, a)).collect(),
        embeds,
        reactions: None,
        nonce: None,
        pinned: m.pinned,
        webhook_id: m.webhook_id.map(WebhookId::from_i64),
        kind: serde_json::from_value(m.kind.into()).unwrap_or(MessageType::Default),
        activity: None,
        application: None,
        application_id: m.application_id.map(accord_model::ApplicationId::from_i64),
        flags: Some(MessageFlags::from_bits(m.flags as u64)),
        message_reference: m.reference_message_id.map(|id| MessageReference {
            kind: Some(accord_model::MessageReferenceType::Default),
            message_id: Some(MessageId::from_i64(id)),
            channel_id: m.reference_channel_id.map(ChannelId::from_i64),
            guild_id: m.reference_guild_id.map(GuildId::from_i64),
            fail_if_not_exists: None,
        }),
        message_snapshots: None,
        referenced_message: referenced,
        interaction_metadata: None,
        interaction: None,
        thread: None,
        components: Some(components),
        sticker_items: None,
        stickers: None,
        position: None,
        role_subscription_data: None,
        resolved: None,
        poll: None,
        call: None,
        shared_client_theme: None,
        guild_id: None,
        member: None,
        channel_type: None,
    }
}

/// The public users with these ids, by id.
async fn users_by_id(
    state: &AppState,
    ids: impl IntoIterator<Item = i64>,
) -> ApiResult<HashMap<i64, User>> {
    let mut ids: Vec<UserId> = ids.into_iter().map(UserId::from_i64).collect();
    ids.sort_unstable();
    ids.dedup();
    let records: Vec<UserRecord> = state.store.users(&ids).await?;
    Ok(records.iter().map(|u| (u.id, public_user(u))).collect())
}

/// Message objects for `records` (a page, or one message), with their authors, mentioned users
/// and replied-to messages loaded in a few queries. The `nonce` is left out: only the create
/// response and MESSAGE_CREATE carry it, as the sender sent it.
pub async fn messages(state: &AppState, records: &[MessageRecord]) -> ApiResult<Vec<Message>> {
    messages_with(state, records, &[]).await
}

/// [`messages`], with some users already loaded (the author of a message being created), so
/// they are not read again.
pub async fn messages_with(
    state: &AppState,
    records: &[MessageRecord],
    known: &[&UserRecord],
) -> ApiResult<Vec<Message>> {
    // The replied-to messages, one level deep.
    let mut referenced: HashMap<i64, Option<MessageRecord>> = HashMap::new();
    for m in records {
        if m.kind != 19 {
            continue;
        }
        if let (Some(id), Some(channel)) = (m.reference_message_id, m.reference_channel_id)
            && !referenced.contains_key(&id)
        {
            let r = state
                .store
                .message(ChannelId::from_i64(channel), MessageId::from_i64(id))
                .await?;
            referenced.insert(id, r);
        }
    }
    let all = records.iter().chain(referenced.values().flatten());
    let mut users: HashMap<i64, User> = known.iter().map(|u| (u.id, public_user(u))).collect();
    let missing: Vec<i64> = all
        .flat_map(|m| std::iter::once(m.author_id).chain(m.mentions.iter().copied()))
        .filter(|id| !users.contains_key(id))
        .collect();
    if !missing.is_empty() {
        users.extend(users_by_id(state, missing).await?);
    }
    let mut views: Vec<Message> = records
        .iter()
        .map(|m| {
            let reply = m.reference_message_id.filter(|_| m.kind == 19).map(|id| {
                referenced
                    .get(&id)
                    .and_then(|r| r.as_ref())
                    .map(|r| Box::new(build(state, r, &users, None)))
            });
            build(state, m, &users, reply)
        })
        .collect();
    crate::services::interaction_messages::attach_metadata(state, records, &mut views).await?;
    Ok(views)
}

/// One message object.
pub async fn message(state: &AppState, record: &MessageRecord) -> ApiResult<Message> {
    let mut v = messages(state, std::slice::from_ref(record)).await?;
    Ok(v.pop().expect("one message in, one out"))
}
