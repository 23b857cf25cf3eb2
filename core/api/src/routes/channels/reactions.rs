//! `/channels/{channel.id}/messages/{message.id}/reactions…`: adding, listing and removing
//! reactions, with the emoji named in the URL as a percent-encoded unicode emoji or `name:id`
//! (`a:name:id` too) for a custom one.

use accord_bus::Audience;
use accord_model::{
    ChannelId, Emoji, EmojiId, ErrorTree, GuildId, GuildMember, Message, MessageId, Permissions,
    User, UserId,
};
use accord_store::{MessageRecord, ReactionCount, ReactionEmoji};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod emoji;

use emoji::{UrlEmoji, emoji_of, reaction, stored};

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::Auth;
use crate::routes::guilds::members::query;
use crate::services::access::{ChannelAccess, timed_out};
use crate::services::{ids, members};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild;

/// Registers the reaction routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(add_own, remove_own))
        .routes(routes!(remove_user))
        .routes(routes!(list_users, remove_emoji))
        .routes(routes!(remove_all))
}

/// MESSAGE_REACTION_ADD payload.
#[derive(Debug, Serialize)]
struct ReactionAdd {
    user_id: UserId,
    channel_id: ChannelId,
    message_id: MessageId,
    #[serde(skip_serializing_if = "Option::is_none")]
    guild_id: Option<GuildId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<GuildMember>,
    emoji: Emoji,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_author_id: Option<UserId>,
    burst: bool,
    burst_colors: Vec<String>,
    #[serde(rename = "type")]
    kind: u8,
}

/// MESSAGE_REACTION_REMOVE payload.
#[derive(Debug, Serialize)]
struct ReactionRemove {
    user_id: UserId,
    channel_id: ChannelId,
    message_id: MessageId,
    #[serde(skip_serializing_if = "Option::is_none")]
    guild_id: Option<GuildId>,
    emoji: Emoji,
    burst: bool,
    #[serde(rename = "type")]
    kind: u8,
}

/// MESSAGE_REACTION_REMOVE_ALL payload.
#[derive(Debug, Serialize)]
struct ReactionRemoveAll {
    channel_id: ChannelId,
    message_id: MessageId,
    #[serde(skip_serializing_if = "Option::is_none")]
    guild_id: Option<GuildId>,
}

/// MESSAGE_REACTION_REMOVE_EMOJI payload.
#[derive(Debug, Serialize)]
struct ReactionRemoveEmoji {
    channel_id: ChannelId,
    #[serde(skip_serializing_if = "Option::is_none")]
    guild_id: Option<GuildId>,
    message_id: MessageId,
    emoji: Emoji,
}

/// Sets `reactions` on message objects of `channel` (left absent on those without any), with
/// `me`/`me_burst` for `viewer`.
pub async fn fill(
    state: &AppState,
    channel: ChannelId,
    viewer: UserId,
    messages: &mut [Message],
) -> ApiResult<()> {
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
    let mut counts = state
        .store
        .reaction_counts_for(channel, &ids, Some(viewer))
        .await?;
    for m in messages {
        if let Some(c) = counts.remove(&m.id.as_i64()) {
            m.reactions = Some(c.iter().map(reaction).collect());
        }
    }
    Ok(())
}

/// The channel (READ_MESSAGE_HISTORY) and message (10008) a route addresses.
async fn load(
    state: &AppState,
    auth: &Auth,
    channel_id: &str,
    message_id: &str,
) -> ApiResult<(ChannelAccess, MessageRecord)> {
    let channel: ChannelId = ids::parse(channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(state, channel, auth.user_id).await?;
    access.require(Permissions::READ_MESSAGE_HISTORY)?;
    let message = state
        .store
        .message(channel, ids::parse(message_id, Unknown::Message)?)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    Ok((access, message))
}

/// The reaction on `message` with `emoji`, if any; 10014 when there is none and the custom
/// emoji does not exist.
async fn existing(
    state: &AppState,
    message: &MessageRecord,
    emoji: &UrlEmoji,
    me: UserId,
) -> ApiResult<Option<ReactionCount>> {
    let key = emoji.key();
    let found = state
        .store
        .reaction_counts(message.message_id(), Some(me))
        .await?
        .into_iter()
        .find(|c| c.emoji_key == key);
    if found.is_none()
        && let UrlEmoji::Custom(id) = emoji
        && state.store.emoji_guild(*id).await?.is_none()
    {
        return Err(ApiError::Unknown(Unknown::Emoji));
    }
    Ok(found)
}

/// The custom emoji the caller may react with: one of the channel's guild, or of another
/// guild the caller is in (USE_EXTERNAL_EMOJIS); limited to its roles if it has any.
async fn usable(
    state: &AppState,
    access: &ChannelAccess,
    me: UserId,
    id: EmojiId,
) -> ApiResult<ReactionEmoji> {
    let unknown = || ApiError::Unknown(Unknown::Emoji);
    let guild = state.store.emoji_guild(id).await?.ok_or_else(unknown)?;
    let emoji = state
        .store
        .emoji(guild, id)
        .await?
        .filter(|e| e.available)
        .ok_or_else(unknown)?;
    let member = state.store.member(guild, me).await?.ok_or_else(unknown)?;
    if access.channel.guild() != Some(guild) {
        access.require(Permissions::USE_EXTERNAL_EMOJIS)?;
    }
    if !emoji.roles.is_empty() && !emoji.roles.iter().any(|r| member.roles.contains(r)) {
        return Err(ApiError::MissingPermissions);
    }
    Ok(ReactionEmoji::custom(id, emoji.name, emoji.animated))
}

/// Add the caller's reaction (READ_MESSAGE_HISTORY; ADD_REACTIONS when nobody reacted with
/// this emoji yet, up to `limits.reactions_per_message` emojis): MESSAGE_REACTION_ADD. Adding
/// it again changes nothing.
#[utoipa::path(put, path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", tag = "reactions",
    params(("channel_id" = String, Path), ("message_id" = String, Path), ("emoji" = String, Path)),
    responses((status = 204), (status = 400, description = "Too many reactions (30010)"), (status = 403, description = "Missing permissions (50013)"),
        (status = 404, description = "Unknown channel (10003), message (10008) or emoji (10014)")))]
pub async fn add_own(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id, emoji)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, message) = load(&state, &auth, &channel_id, &message_id).await?;
    crate::services::threads::require_active(&access)?;
    let url_emoji = UrlEmoji::parse(&emoji)?;
    if let Some(guild) = &access.guild
        && timed_out(&guild.member)
    {
        return Err(ApiError::MissingPermissions);
    }
    let me = auth.user_id;
    let emoji = match existing(&state, &message, &url_emoji, me).await? {
        Some(c) if c.me => return Ok(StatusCode::NO_CONTENT),
        Some(c) => stored(&c),
        None => {
            access.require(Permissions::ADD_REACTIONS)?;
            match &url_emoji {
                UrlEmoji::Unicode(s) => ReactionEmoji::unicode(s.clone()),
                UrlEmoji::Custom(id) => usable(&state, &access, me, *id).await?,
            }
        }
    };
    let limit = state.config.limits.reactions_per_message;
    match state
        .store
        .add_reaction_limited(message.message_id(), &emoji, me, false, limit)
        .await?
    {
        None => return Err(ApiError::Maximum(Maximum::Reactions, limit)),
        Some(false) => return Ok(StatusCode::NO_CONTENT),
        Some(true) => {}
    }
    let member = match &access.guild {
        Some(g) => {
            let user = members::user_of(&state, me).await?;
            Some(views_guild::member(&g.member, Some(public_user(&user))))
        }
        None => None,
    };
    let payload = ReactionAdd {
        user_id: me,
        channel_id: access.channel.channel_id(),
        message_id: message.message_id(),
        guild_id: access.channel.guild(),
        member,
        emoji: emoji_of(&emoji),
        message_author_id: message
            .webhook_id
            .is_none()
            .then(|| UserId::from_i64(message.author_id)),
        burst: false,
        burst_colors: Vec::new(),
        kind: 0,
    };
    let audience = Audience::Channel(access.channel.channel_id());
    state
        .dispatch("MESSAGE_REACTION_ADD", audience, &payload)
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes `user`'s reaction and publishes MESSAGE_REACTION_REMOVE if there was one.
async fn remove(
    state: &AppState,
    access: &ChannelAccess,
    message: &MessageRecord,
    emoji: &str,
    user: UserId,
) -> ApiResult<StatusCode> {
    let url_emoji = UrlEmoji::parse(emoji)?;
    let Some(found) = existing(state, message, &url_emoji, user).await? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    if !state
        .store
        .remove_reaction(message.message_id(), &found.emoji_key, user)
        .await?
    {
        return Ok(StatusCode::NO_CONTENT);
    }
    let payload = ReactionRemove {
        user_id: user,
        channel_id: access.channel.channel_id(),
        message_id: message.message_id(),
        guild_id: access.channel.guild(),
        emoji: emoji_of(&stored(&found)),
        burst: false,
        kind: 0,
    };
    let audience = Audience::Channel(access.channel.channel_id());
    state
        .dispatch("MESSAGE_REACTION_REMOVE", audience, &payload)
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove the caller's reaction: MESSAGE_REACTION_REMOVE (nothing when there was none).
#[utoipa::path(delete, path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", tag = "reactions",
    params(("channel_id" = String, Path), ("message_id" = String, Path), ("emoji" = String, Path)),
    responses((status = 204), (status = 404, description = "Unknown channel (10003), message (10008) or emoji (10014)")))]
pub async fn remove_own(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id, emoji)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, message) = load(&state, &auth, &channel_id, &message_id).await?;
    crate::services::threads::require_active(&access)?;
    remove(&state, &access, &message, &emoji, auth.user_id).await
}

/// Remove another user's reaction (MANAGE_MESSAGES; not in DMs, 50003):
/// MESSAGE_REACTION_REMOVE.
#[utoipa::path(delete, path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}", tag = "reactions",
    params(("channel_id" = String, Path), ("message_id" = String, Path), ("emoji" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing MANAGE_MESSAGES (50013) or DM channel (50003)"),
        (status = 404, description = "Unknown channel (10003), message (10008), emoji (10014) or user (10013)")))]
pub async fn remove_user(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id, emoji, user_id)): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, message) = load(&state, &auth, &channel_id, &message_id).await?;
    crate::services::threads::require_active(&access)?;
    let user: UserId = ids::parse(&user_id, Unknown::User)?;
    if user != auth.user_id {
        access.guild()?;
        access.require(Permissions::MANAGE_MESSAGES)?;
    }
    remove(&state, &access, &message, &emoji, user).await
}

/// List the users who reacted with an emoji (`type` 0 normal or 1 burst, `after`, `limit`
/// 1–100, default 25), by user id.
#[utoipa::path(get, path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}", tag = "reactions",
    params(("channel_id" = String, Path), ("message_id" = String, Path), ("emoji" = String, Path),
        ("type" = Option<u8>, Query), ("after" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "User objects"), (status = 400, description = "Invalid query (50035)"),
        (status = 404, description = "Unknown channel (10003), message (10008) or emoji (10014)")))]
pub async fn list_users(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id, emoji)): Path<(String, String, String)>,
    Query(q): Query<query::Params>,
) -> ApiResult<axum::Json<Vec<User>>> {
    let (_, message) = load(&state, &auth, &channel_id, &message_id).await?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, 25, 100);
    let after: Option<UserId> = query::snowflake(&mut tree, &q, "after");
    let burst = match q.get("type").map(|t| t.trim()) {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => {
            tree.add(
                &["type"],
                "BASE_TYPE_CHOICES",
                "Value must be one of (0, 1).",
            );
            false
        }
    };
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let url_emoji = UrlEmoji::parse(&emoji)?;
    let Some(found) = existing(&state, &message, &url_emoji, auth.user_id).await? else {
        return Ok(axum::Json(Vec::new()));
    };
    let ids = state
        .store
        .reaction_users(message.message_id(), &found.emoji_key, burst, after, limit)
        .await?;
    let mut users = state.store.users(&ids).await?;
    users.sort_by_key(|u| u.id);
    Ok(axum::Json(users.iter().map(public_user).collect()))
}

/// Remove every reaction with one emoji (MANAGE_MESSAGES; not in DMs, 50003):
/// MESSAGE_REACTION_REMOVE_EMOJI.
#[utoipa::path(delete, path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}", tag = "reactions",
    params(("channel_id" = String, Path), ("message_id" = String, Path), ("emoji" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing MANAGE_MESSAGES (50013) or DM channel (50003)"),
        (status = 404, description = "Unknown channel (10003), message (10008) or emoji (10014)")))]
pub async fn remove_emoji(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id, emoji)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, message) = load(&state, &auth, &channel_id, &message_id).await?;
    crate::services::threads::require_active(&access)?;
    access.guild()?;
    access.require(Permissions::MANAGE_MESSAGES)?;
    let url_emoji = UrlEmoji::parse(&emoji)?;
    let Some(found) = existing(&state, &message, &url_emoji, auth.user_id).await? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let removed = state
        .store
        .remove_emoji_reactions(message.message_id(), &found.emoji_key)
        .await?;
    if removed > 0 {
        let payload = ReactionRemoveEmoji {
            channel_id: access.channel.channel_id(),
            guild_id: access.channel.guild(),
            message_id: message.message_id(),
            emoji: emoji_of(&stored(&found)),
        };
        let audience = Audience::Channel(access.channel.channel_id());
        state
            .dispatch("MESSAGE_REACTION_REMOVE_EMOJI", audience, &payload)
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Remove every reaction from a message (MANAGE_MESSAGES; not in DMs, 50003):
/// MESSAGE_REACTION_REMOVE_ALL.
#[utoipa::path(delete, path = "/channels/{channel_id}/messages/{message_id}/reactions", tag = "reactions",
    params(("channel_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing MANAGE_MESSAGES (50013) or DM channel (50003)"),
        (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn remove_all(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (access, message) = load(&state, &auth, &channel_id, &message_id).await?;
    crate::services::threads::require_active(&access)?;
    access.guild()?;
    access.require(Permissions::MANAGE_MESSAGES)?;
    if state
        .store
        .remove_all_reactions(message.message_id())
        .await?
        > 0
    {
        let payload = ReactionRemoveAll {
            channel_id: access.channel.channel_id(),
            message_id: message.message_id(),
            guild_id: access.channel.guild(),
        };
        let audience = Audience::Channel(access.channel.channel_id());
        state
            .dispatch("MESSAGE_REACTION_REMOVE_ALL", audience, &payload)
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}
