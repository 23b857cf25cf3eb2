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
    /// Avatar override: a URL of an image, stored as one of the webhook's avatars.
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
    /// Name of a post to create when the webhook's channel is a forum or media channel.
    #[serde(default)]
    pub thread_name: Option<String>,
    /// Tags of the forum or media channel applied to the post `thread_name` creates.
    #[serde(default)]
    pub applied_tags: Option<Vec<accord_model::GenericId>>,
}

/// The webhook's standing in the thread `thread_id` of its channel: 10003 unless it is a thread
/// whose parent is the webhook's channel.
pub async fn thread_standing(
    state: &AppState,
    hook: &WebhookRecord,
    thread_id: ChannelId,
) -> ApiResult<ChannelAccess> {
    let parent = standing(state, hook).await?;
    let thread = state
        .store
        .channel(thread_id)
        .await?
        .filter(|t| t.is_thread() && t.parent_id == Some(parent.channel.id))
        .ok_or(ApiError::Unknown(Unknown::Channel))?;
    Ok(ChannelAccess {
        channel: thread,
        permissions: Permissions::all(),
        guild: None,
    })
}

/// The `thread_id` query parameter, if given (50035 when it is not a snowflake).
pub fn thread_id_param(
    query: &std::collections::HashMap<String, String>,
) -> ApiResult<Option<ChannelId>> {
    match query.get("thread_id") {
        None => Ok(None),
        Some(raw) => raw.trim().parse().map(Some).map_err(|_| {
            ApiError::field(
                &["thread_id"],
                "NUMBER_TYPE_COERCE",
                format!("Value \"{raw}\" is not snowflake."),
            )
        }),
    }
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

/// The avatar hash for `avatar_url` `url`: an image this instance stores (named by one of its
/// CDN URLs), else one fetched from its host (`api.remote_images`) and stored as an avatar of
/// `hook`. A malformed URL is a form error; an image that cannot be fetched or is not an
/// acceptable image leaves the webhook's own avatar, as on Discord (the message is sent).
async fn avatar_override(
    state: &AppState,
    tree: &mut ErrorTree,
    hook: &WebhookRecord,
    url: &str,
) -> ApiResult<Option<String>> {
    if let Some(found) = override_avatar(state, hook, url).await? {
        return Ok(Some(found));
    }
    use crate::services::remote_images::{FetchError, check_url};
    let remote = &state.remote_images;
    if !remote.enabled() {
        tree.add(
            &["avatar_url"],
            "IMAGE_UNSUPPORTED",
            "Avatar overrides must be an image this instance stores (a CDN URL of an avatar, icon or emoji); this instance does not fetch images from other hosts.",
        );
        return Ok(None);
    }
    match check_url(url, true) {
        Ok(_) => {}
        Err(FetchError::BadUrl) => {
            tree.add(
                &["avatar_url"],
                "URL_TYPE_INVALID_URL",
                "Not a well formed URL.",
            );
            return Ok(None);
        }
        Err(_) => {}
    }
    let key = format!("{} {url}", hook.id);
    if let Some(hash) = remote.cached(&key) {
        return Ok(Some(hash));
    }
    let limits = crate::services::images::upload_limits(state);
    let bytes = match remote.fetch(url, limits.max_bytes).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::info!("webhook {}: avatar_url {url} not used: {e}", hook.id);
            return Ok(None);
        }
    };
    let probed = match accord_media::probe(&bytes, &limits) {
        Ok(probed) => probed,
        Err(e) => {
            tracing::info!(
                "webhook {}: avatar_url {url} is not an acceptable image: {e}",
                hook.id
            );
            return Ok(None);
        }
    };
    let hash = accord_media::content_hash(&bytes, probed.animated);
    let target = format!("avatars/{}/{hash}", hook.id);
    if state.blobs.head(&target).await?.is_none() {
        state.blobs.put(&target, bytes).await?;
    }
    remote.remember(key, hash.clone());
    Ok(Some(hash))
}

/// The hash under which the image at `url` — one this instance stores, named by its CDN path
/// (`/avatars/{id}/{hash}.png`, `/icons/...`, `/emojis/{id}.png`, ...; any host, since clients
/// build these URLs on Discord's CDN host too) — is now also stored as an avatar of `hook`;
/// `None` when the URL names no stored image. External images are not fetched.
async fn override_avatar(
    state: &AppState,
    hook: &WebhookRecord,
    url: &str,
) -> ApiResult<Option<String>> {
    let Some(key) = stored_image_key(url) else {
        return Ok(None);
    };
    let Some(bytes) = state.blobs.get(&key).await? else {
        return Ok(None);
    };
    let limits = crate::services::images::upload_limits(state);
    let Ok(probed) = accord_media::probe(&bytes, &limits) else {
        return Ok(None);
    };
    let hash = accord_media::content_hash(&bytes, probed.animated);
    let target = format!("avatars/{}/{hash}", hook.id);
    if state.blobs.head(&target).await?.is_none() {
        state.blobs.put(&target, bytes).await?;
    }
    Ok(Some(hash))
}

/// The storage key of the image a CDN URL names: `{family}/{id}/{hash}` for the hashed
/// families, `guilds/{g}/users/{u}/{avatars|banners}/{hash}`, `emojis/{id}`, `stickers/{id}`.
fn stored_image_key(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let path = path
        .split_once("://")
        .map_or(path, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let stem = |file: &str| -> Option<String> {
        let (name, ext) = file.rsplit_once('.').unwrap_or((file, "png"));
        accord_media::Format::from_ext(ext)?;
        Some(name.to_owned())
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let hash = |s: &str| {
        let hex = s.strip_prefix("a_").unwrap_or(s);
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    match parts.as_slice() {
        [family, id, file]
            if matches!(
                *family,
                "avatars"
                    | "banners"
                    | "icons"
                    | "splashes"
                    | "discovery-splashes"
                    | "role-icons"
                    | "app-icons"
                    | "channel-icons"
            ) && digits(id) =>
        {
            let h = stem(file)?;
            hash(&h).then(|| format!("{family}/{id}/{h}"))
        }
        ["guilds", g, "users", u, family, file]
            if matches!(*family, "avatars" | "banners") && digits(g) && digits(u) =>
        {
            let h = stem(file)?;
            hash(&h).then(|| format!("guilds/{g}/users/{u}/{family}/{h}"))
        }
        [family @ ("emojis" | "stickers"), file] => {
            let id = stem(file)?;
            digits(&id).then(|| format!("{family}/{id}"))
        }
        _ => None,
    }
}

/// Sends `body` as `hook` and returns the message: in its channel, in the thread `thread_id`
/// of it, or — in a forum or media channel — as the first message of a new post named
/// `thread_name`.
pub async fn create(
    state: &AppState,
    hook: &WebhookRecord,
    body: ExecuteWebhook,
    files: Vec<Upload>,
    thread_id: Option<ChannelId>,
) -> ApiResult<Message> {
    let parent = standing(state, hook).await?;
    let forum = matches!(parent.channel.kind, 15 | 16);
    match (&body.thread_name, thread_id) {
        (Some(_), Some(_)) => return Err(ApiError::WebhookThreadBoth),
        (Some(_), None) if !forum => return Err(ApiError::WebhookThreadOutsideForum),
        (None, None) if forum => return Err(ApiError::WebhookForumNeedsThread),
        _ => {}
    }
    let mut access = match thread_id {
        Some(t) => thread_standing(state, hook, t).await?,
        None => parent,
    };
    let channel = &access.channel;
    if !forum && !TEXT_CHANNEL_TYPES.contains(&channel.kind) {
        return Err(ApiError::NonTextChannel);
    }
    // A post's message is checked like any other before its thread exists.
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
    let avatar_override = match &body.avatar_url {
        Some(url) => avatar_override(state, &mut tree, hook, url).await?,
        None => None,
    };
    if let Some(name) = &body.thread_name {
        crate::services::threads::check_name(&mut tree, &["thread_name"], name);
    }
    // A new post's tags: the channel's, REQUIRE_TAG enforced (40067).
    let applied_tags = if body.thread_name.is_some() {
        crate::services::forum::post_tags(
            &mut tree,
            &access.channel,
            body.applied_tags.as_deref(),
            access.permissions.contains(Permissions::MANAGE_THREADS),
        )?
    } else {
        Vec::new()
    };
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
    let has_files = !files.is_empty();
    let (components, prepared) = components_and_uploads(state, &mut tree, &access, &body, files)?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    if content.trim().is_empty() && embeds.is_empty() && components.is_empty() && !has_files {
        return Err(ApiError::EmptyMessage);
    }

    let guild_id = channel.guild_id.map(GuildId::from_i64);
    let resolved = resolve(state, &access, &content, body.allowed_mentions.as_ref()).await?;

    let mut id = state.ids.next();
    if let Some(name) = &body.thread_name {
        let post = crate::services::threads::start_as_webhook(
            state,
            &access.channel,
            UserId::from_i64(hook.id),
            name,
            applied_tags,
        )
        .await?;
        id = accord_model::MessageId::new(post.channel_id().get());
        access.channel = post;
    } else {
        crate::services::threads::before_message(state, &access).await?;
    }
    let channel_id = access.channel.channel_id();
    let mut new = NewMessage::new(id, channel_id, UserId::from_i64(hook.id), content);
    new.guild_id = guild_id;
    new.webhook_id = Some(WebhookId::from_i64(hook.id));
    new.webhook_name = body.username.clone().or_else(|| hook.name.clone());
    new.webhook_avatar = avatar_override.or_else(|| hook.avatar.clone());
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

/// A new message's components and uploads, checked together (as a webhook's message or an
/// interaction's response): the components under the message's flags (components v2 rules),
/// the uploads prepared against `access`, and v2 media (`attachment://`) linked to those
/// uploads. Problems go to `tree`; a missing ATTACH_FILES fails at once.
pub fn components_and_uploads(
    state: &AppState,
    tree: &mut accord_model::ErrorTree,
    access: &ChannelAccess,
    body: &ExecuteWebhook,
    files: Vec<Upload>,
) -> ApiResult<(Vec<serde_json::Value>, Vec<uploads::Prepared>)> {
    let flags = body.flags.unwrap_or(0);
    let mut components = body.components.clone().unwrap_or_default();
    super::components_v2::check(
        tree,
        &mut components,
        flags,
        body.content.as_deref(),
        body.embeds.as_ref().map_or(0, Vec::len),
    );
    let prepared = uploads::prepare(
        state,
        tree,
        access.permissions,
        access.channel.channel_id(),
        files,
        body.attachments.as_deref().unwrap_or(&[]),
    )?;
    if super::components_v2::is_v2(flags) {
        let files: Vec<super::components_v2::MediaFile<'_>> = prepared
            .iter()
            .map(|p| super::components_v2::MediaFile::of_new(&p.row))
            .collect();
        super::components_v2::link_media(tree, &mut components, &files);
    }
    Ok((components, prepared))
}

#[cfg(test)]
mod tests {
    use super::stored_image_key;

    #[test]
    fn cdn_urls_name_stored_images() {
        let h = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            stored_image_key(&format!(
                "https://cdn.discordapp.com/avatars/42/{h}.png?size=128"
            )),
            Some(format!("avatars/42/{h}"))
        );
        assert_eq!(
            stored_image_key(&format!("http://127.0.0.1:3003/avatars/42/a_{h}.gif")),
            Some(format!("avatars/42/a_{h}"))
        );
        assert_eq!(
            stored_image_key(&format!(
                "https://cdn.example/guilds/1/users/2/avatars/{h}.webp"
            )),
            Some(format!("guilds/1/users/2/avatars/{h}"))
        );
        assert_eq!(
            stored_image_key("https://cdn.example/emojis/77.gif"),
            Some("emojis/77".to_owned())
        );
        for bad in [
            "https://example.com/me.png".to_owned(),
            format!("https://cdn.example/avatars/42/{h}.svg"),
            format!("https://cdn.example/avatars/../../etc/{h}.png"),
            format!("https://cdn.example/attachments/1/2/{h}.png"),
            "https://cdn.example/emojis/x.png".to_owned(),
            "not a url".to_owned(),
        ] {
            assert_eq!(stored_image_key(&bad), None, "{bad}");
        }
    }
}
