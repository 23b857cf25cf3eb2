//! `POST /guilds`: a user creates a guild with @everyone, default channels and their membership.

use accord_bus::Audience;
use accord_model::{ChannelId, ErrorTree, Guild, GuildId, Permissions, Rights};
use accord_store::{NewChannel, NewGuild};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Maximum};
use crate::extract::{Auth, Json};
use crate::routes::users::me::caller;
use crate::services::channels::apply_type_defaults;
use crate::services::guild_payload::guild_create;
use crate::services::images::{self, Change};
use crate::services::validate;
use crate::state::AppState;
use crate::views_guild;

/// Permissions of @everyone in a new guild when the request does not set them: what Discord
/// gives a fresh server's members.
pub fn default_everyone() -> Permissions {
    Permissions::CREATE_INSTANT_INVITE
        | Permissions::ADD_REACTIONS
        | Permissions::STREAM
        | Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::SEND_TTS_MESSAGES
        | Permissions::EMBED_LINKS
        | Permissions::ATTACH_FILES
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::MENTION_EVERYONE
        | Permissions::USE_EXTERNAL_EMOJIS
        | Permissions::CONNECT
        | Permissions::SPEAK
        | Permissions::USE_VAD
        | Permissions::CHANGE_NICKNAME
        | Permissions::USE_APPLICATION_COMMANDS
        | Permissions::REQUEST_TO_SPEAK
        | Permissions::CREATE_PUBLIC_THREADS
        | Permissions::CREATE_PRIVATE_THREADS
        | Permissions::USE_EXTERNAL_STICKERS
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::USE_EMBEDDED_ACTIVITIES
        | Permissions::USE_SOUNDBOARD
        | Permissions::USE_EXTERNAL_SOUNDS
        | Permissions::SEND_VOICE_MESSAGES
        | Permissions::SEND_POLLS
        | Permissions::USE_EXTERNAL_APPS
}

/// A placeholder role in the create request (only the first, @everyone, is used for its permissions).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateGuildRole {
    /// Permissions of @everyone.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub permissions: Option<Permissions>,
}

/// A channel to create with the guild; `id` and `parent_id` are placeholders within the request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateGuildChannel {
    /// Placeholder id other channels' `parent_id` and `system_channel_id` refer to.
    #[serde(default)]
    pub id: Option<u64>,
    /// Name.
    pub name: String,
    /// Channel type (0 text, 2 voice, 4 category, 5 announcement, 13 stage, 15 forum).
    #[serde(default, rename = "type")]
    pub kind: Option<i32>,
    /// Placeholder id of the category.
    #[serde(default)]
    pub parent_id: Option<u64>,
    /// Topic.
    #[serde(default)]
    pub topic: Option<String>,
}

/// `POST /guilds` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateGuildBody {
    /// Name (2–100 characters).
    pub name: String,
    /// Icon as a data URI (PNG, JPEG, GIF or WebP).
    #[serde(default)]
    pub icon: Option<String>,
    /// Verification level (0–4).
    #[serde(default)]
    pub verification_level: Option<i32>,
    /// Default notification level (0–1).
    #[serde(default)]
    pub default_message_notifications: Option<i32>,
    /// Explicit content filter (0–2).
    #[serde(default)]
    pub explicit_content_filter: Option<i32>,
    /// Roles; the first is @everyone.
    #[serde(default)]
    pub roles: Option<Vec<CreateGuildRole>>,
    /// Channels; default categories with a text and a voice channel when absent.
    #[serde(default)]
    pub channels: Option<Vec<CreateGuildChannel>>,
    /// Placeholder id of the AFK channel.
    #[serde(default)]
    pub afk_channel_id: Option<u64>,
    /// AFK timeout in seconds.
    #[serde(default)]
    pub afk_timeout: Option<i32>,
    /// Placeholder id of the system channel.
    #[serde(default)]
    pub system_channel_id: Option<u64>,
    /// System channel flags.
    #[serde(default)]
    pub system_channel_flags: Option<i32>,
}

fn check_range(tree: &mut ErrorTree, field: &str, value: Option<i32>, max: i32) {
    if let Some(v) = value
        && !(0..=max).contains(&v)
    {
        tree.add(
            &[field],
            "BASE_TYPE_CHOICES",
            format!("Value must be one of {:?}.", (0..=max).collect::<Vec<_>>()),
        );
    }
}

/// Create a guild.
#[utoipa::path(post, path = "/guilds", tag = "guilds", request_body = CreateGuildBody,
    responses((status = 201, description = "The guild object"), (status = 400, description = "Invalid form body (50035) or maximum guilds (30001)"), (status = 403, description = "Bots (20001) or missing the CREATE_GUILDS right (50013)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreateGuildBody>,
) -> ApiResult<(StatusCode, axum::Json<Guild>)> {
    auth.not_bot()?;
    let user = caller(&state, &auth).await?;
    if !user.rights().has(Rights::CREATE_GUILDS) {
        return Err(ApiError::MissingPermissions);
    }
    let mut tree = ErrorTree::new();
    validate::display_name(&mut tree, "name", &body.name, 2, 100);
    let icon = match body.icon.as_deref() {
        Some(uri) => Change::set(&mut tree, "icon", uri, &images::upload_limits(&state)),
        None => Change::Keep,
    };
    check_range(&mut tree, "verification_level", body.verification_level, 4);
    check_range(
        &mut tree,
        "default_message_notifications",
        body.default_message_notifications,
        1,
    );
    check_range(
        &mut tree,
        "explicit_content_filter",
        body.explicit_content_filter,
        2,
    );
    if let Some(t) = body.afk_timeout
        && ![60, 300, 900, 1800, 3600].contains(&t)
    {
        tree.add(
            &["afk_timeout"],
            "BASE_TYPE_CHOICES",
            "Value must be one of {60, 300, 900, 1800, 3600}.",
        );
    }
    let limit = state.config.limits.channels_per_guild as usize;
    // Placeholder id → real id, for parents and the AFK/system channels.
    let mut placeholders: Vec<(u64, ChannelId)> = Vec::new();
    let mut channels = Vec::new();
    match &body.channels {
        Some(list) => {
            if list.len() > limit {
                tree.add(
                    &["channels"],
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {limit} or fewer in length."),
                );
            }
            for (i, c) in list.iter().enumerate() {
                let index = i.to_string();
                let kind = c.kind.unwrap_or(0);
                if ![0, 2, 4, 5, 13, 15].contains(&kind) {
                    tree.add(
                        &["channels", index.as_str(), "type"],
                        "BASE_TYPE_CHOICES",
                        "Value must be one of {0, 2, 4, 5, 13, 15}.",
                    );
                }
                validate::display_name(&mut tree, "name", &c.name, 1, 100);
                let id: ChannelId = state.ids.next();
                if let Some(p) = c.id {
                    placeholders.push((p, id));
                }
                let mut new = NewChannel::new(id, kind, c.name.trim());
                new.topic = c.topic.clone();
                new.position = i as i32;
                channels.push((new, c.parent_id));
            }
        }
        None => {
            let text_category: ChannelId = state.ids.next();
            let voice_category: ChannelId = state.ids.next();
            channels.push((NewChannel::new(text_category, 4, "Text Channels"), None));
            channels.push((NewChannel::new(voice_category, 4, "Voice Channels"), None));
            let mut general = NewChannel::new(state.ids.next(), 0, "general");
            general.parent_id = Some(text_category);
            let mut voice = NewChannel::new(state.ids.next(), 2, "General");
            voice.parent_id = Some(voice_category);
            voice.position = 0;
            placeholders.push((u64::MAX, general.id));
            channels.push((general, None));
            channels.push((voice, None));
        }
    }
    let resolve = |p: Option<u64>, field: &str, tree: &mut ErrorTree| -> Option<ChannelId> {
        let p = p?;
        let found = placeholders
            .iter()
            .find(|(k, _)| *k == p)
            .map(|(_, id)| *id);
        if found.is_none() {
            tree.add(
                &[field],
                "GUILD_CREATE_CHANNEL_ID_INVALID",
                "Unknown placeholder channel id.",
            );
        }
        found
    };
    let mut resolved = Vec::with_capacity(channels.len());
    for (mut new, parent) in channels {
        if parent.is_some() {
            new.parent_id = resolve(parent, "channels", &mut tree);
        }
        apply_type_defaults(&mut new);
        resolved.push(new);
    }
    let afk_channel_id = resolve(body.afk_channel_id, "afk_channel_id", &mut tree);
    let system_channel_id = match body.system_channel_id {
        Some(_) => resolve(body.system_channel_id, "system_channel_id", &mut tree),
        None => placeholders
            .iter()
            .find(|(k, _)| *k == u64::MAX)
            .map(|(_, id)| *id),
    };
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let max_guilds = state.config.limits.guilds_per_user;
    if state.store.guild_ids_of_user(user.user_id()).await?.len() >= max_guilds as usize {
        return Err(ApiError::Maximum(Maximum::Guilds, max_guilds));
    }
    let everyone = body
        .roles
        .as_ref()
        .and_then(|r| r.first())
        .and_then(|r| r.permissions)
        .unwrap_or_else(default_everyone);
    let guild_id: GuildId = state.ids.next();
    let mut new = NewGuild::new(guild_id, body.name.trim(), user.user_id(), everyone);
    new.verification_level = body.verification_level.unwrap_or(0);
    new.default_message_notifications = body.default_message_notifications.unwrap_or(0);
    new.explicit_content_filter = body.explicit_content_filter.unwrap_or(0);
    new.afk_timeout = body.afk_timeout.unwrap_or(300);
    new.system_channel_flags = body.system_channel_flags.unwrap_or(0);
    new.channels = resolved;
    new.afk_channel_id = afk_channel_id;
    new.system_channel_id = system_channel_id;
    new.icon = icon
        .apply(&state, &format!("icons/{guild_id}"))
        .await?
        .flatten();
    let guild = state.store.create_guild(&new).await?;
    let roles = state.store.guild_roles(guild_id).await?;
    let payload = guild_create(&state, guild_id, user.user_id()).await?;
    state
        .dispatch(
            "GUILD_CREATE",
            Audience::Users(vec![user.user_id()]),
            &payload,
        )
        .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(views_guild::guild(&guild, &roles)),
    ))
}
