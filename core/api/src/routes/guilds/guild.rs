//! `GET/PATCH/DELETE /guilds/{guild.id}`.

use accord_bus::Audience;
use accord_model::{ChannelId, ErrorTree, Guild, GuildId, Permissions, UserId};
use accord_store::GuildPatch;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::images::{self, Change};
use crate::services::{ids, validate};
use crate::state::AppState;
use crate::views_guild;

/// `?with_counts=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct WithCounts {
    /// Include approximate member and presence counts.
    #[serde(default)]
    pub with_counts: Option<bool>,
}

/// Get a guild the caller is a member of.
#[utoipa::path(get, path = "/guilds/{guild_id}", tag = "guilds", params(("guild_id" = String, Path), WithCounts),
    responses((status = 200, description = "The guild object"), (status = 403, description = "Not a member (50001)"), (status = 404, description = "Unknown guild (10004)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Query(q): Query<WithCounts>,
) -> ApiResult<axum::Json<Guild>> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    let mut guild = views_guild::guild(&access.guild, &access.roles);
    guild.emojis = super::emojis::guild_emojis(&state, access.guild_id()).await?;
    guild.stickers = Some(super::stickers::guild_stickers(&state, access.guild_id()).await?);
    if q.with_counts == Some(true) {
        guild.approximate_member_count =
            Some(state.store.member_count(access.guild_id()).await? as u32);
        // Presences arrive with the gateway; until then nobody is online.
        guild.approximate_presence_count = Some(0);
    }
    Ok(axum::Json(guild))
}

/// `PATCH /guilds/{id}` body (absent = unchanged, null = cleared).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyGuildBody {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Verification level (0–4).
    #[serde(default)]
    pub verification_level: Option<i32>,
    /// Default notifications (0–1).
    #[serde(default)]
    pub default_message_notifications: Option<i32>,
    /// Explicit content filter (0–2).
    #[serde(default)]
    pub explicit_content_filter: Option<i32>,
    /// AFK channel.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub afk_channel_id: Option<Option<ChannelId>>,
    /// AFK timeout (60, 300, 900, 1800, 3600).
    #[serde(default)]
    pub afk_timeout: Option<i32>,
    /// Icon: a data URI (PNG, JPEG, GIF or WebP), or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub icon: Option<Option<String>>,
    /// Banner: a data URI, or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub banner: Option<Option<String>>,
    /// Invite splash: a data URI, or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub splash: Option<Option<String>>,
    /// Discovery splash: a data URI, or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub discovery_splash: Option<Option<String>>,
    /// New owner (owner only).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<UserId>,
    /// System channel.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub system_channel_id: Option<Option<ChannelId>>,
    /// System channel flags.
    #[serde(default)]
    pub system_channel_flags: Option<i32>,
    /// Rules channel.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub rules_channel_id: Option<Option<ChannelId>>,
    /// Public updates channel.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub public_updates_channel_id: Option<Option<ChannelId>>,
    /// Preferred locale.
    #[serde(default)]
    pub preferred_locale: Option<String>,
    /// Description.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// Modify a guild (MANAGE_GUILD; ownership transfer by the owner only).
#[utoipa::path(patch, path = "/guilds/{guild_id}", tag = "guilds", params(("guild_id" = String, Path)), request_body = ModifyGuildBody,
    responses((status = 200, description = "The updated guild"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(guild_id): Path<String>,
    Json(body): Json<ModifyGuildBody>,
) -> ApiResult<axum::Json<Guild>> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    access.require(Permissions::MANAGE_GUILD)?;
    let guild_id = access.guild_id();
    let mut tree = ErrorTree::new();
    if let Some(name) = &body.name {
        validate::display_name(&mut tree, "name", name, 2, 100);
    }
    for (field, value, max) in [
        ("verification_level", body.verification_level, 4),
        (
            "default_message_notifications",
            body.default_message_notifications,
            1,
        ),
        ("explicit_content_filter", body.explicit_content_filter, 2),
    ] {
        if value.is_some_and(|v| !(0..=max).contains(&v)) {
            tree.add(
                &[field],
                "BASE_TYPE_CHOICES",
                format!("Value must be between 0 and {max}."),
            );
        }
    }
    if body
        .afk_timeout
        .is_some_and(|t| ![60, 300, 900, 1800, 3600].contains(&t))
    {
        tree.add(
            &["afk_timeout"],
            "BASE_TYPE_CHOICES",
            "Value must be one of {60, 300, 900, 1800, 3600}.",
        );
    }
    let limits = images::upload_limits(&state);
    let icon = Change::of(&mut tree, "icon", body.icon.as_ref(), &limits);
    let banner = Change::of(&mut tree, "banner", body.banner.as_ref(), &limits);
    let splash = Change::of(&mut tree, "splash", body.splash.as_ref(), &limits);
    let discovery_splash = Change::of(
        &mut tree,
        "discovery_splash",
        body.discovery_splash.as_ref(),
        &limits,
    );
    if let Some(Some(d)) = &body.description
        && d.chars().count() > 120
    {
        tree.add(
            &["description"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 120 or fewer in length.",
        );
    }
    // Channel references must name channels of this guild.
    let channels = state.store.guild_channels(guild_id).await?;
    for (field, value, voice) in [
        ("afk_channel_id", body.afk_channel_id, true),
        ("system_channel_id", body.system_channel_id, false),
        ("rules_channel_id", body.rules_channel_id, false),
        (
            "public_updates_channel_id",
            body.public_updates_channel_id,
            false,
        ),
    ] {
        if let Some(Some(id)) = value {
            let ok = channels
                .iter()
                .any(|c| c.id == id.as_i64() && if voice { c.kind == 2 } else { c.kind == 0 });
            if !ok {
                tree.add(
                    &[field],
                    "CHANNEL_INVALID",
                    "Unknown or unsuitable channel.",
                );
            }
        }
    }
    if let Some(owner) = body.owner_id {
        if !access.is_owner() {
            return Err(ApiError::MissingPermissions);
        }
        if state.store.member(guild_id, owner).await?.is_none() {
            tree.add(
                &["owner_id"],
                "GUILD_OWNER_INVALID",
                "The new owner must be a member of the guild.",
            );
        }
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let patch = GuildPatch {
        name: body.name.as_ref().map(|n| n.trim().to_owned()),
        icon: icon.apply(&state, &format!("icons/{guild_id}")).await?,
        banner: banner.apply(&state, &format!("banners/{guild_id}")).await?,
        splash: splash
            .apply(&state, &format!("splashes/{guild_id}"))
            .await?,
        discovery_splash: discovery_splash
            .apply(&state, &format!("discovery-splashes/{guild_id}"))
            .await?,
        description: body.description.clone(),
        owner_id: body.owner_id,
        afk_channel_id: body.afk_channel_id,
        afk_timeout: body.afk_timeout,
        system_channel_id: body.system_channel_id,
        system_channel_flags: body.system_channel_flags,
        rules_channel_id: body.rules_channel_id,
        public_updates_channel_id: body.public_updates_channel_id,
        verification_level: body.verification_level,
        default_message_notifications: body.default_message_notifications,
        explicit_content_filter: body.explicit_content_filter,
        preferred_locale: body.preferred_locale.clone(),
        ..GuildPatch::default()
    };
    let updated = state.store.update_guild(guild_id, &patch).await?;
    let mut guild = views_guild::guild(&updated, &access.roles);
    guild.emojis = super::emojis::guild_emojis(&state, guild_id).await?;
    guild.stickers = Some(super::stickers::guild_stickers(&state, guild_id).await?);
    state
        .dispatch("GUILD_UPDATE", Audience::Guild(guild_id), &guild)
        .await;
    let before =
        serde_json::to_value(views_guild::guild(&access.guild, &access.roles)).unwrap_or_default();
    let after = serde_json::to_value(&guild).unwrap_or_default();
    let reason = crate::services::moderation::audit_reason(&headers);
    audit(&state, &access, reason.as_deref(), &before, &after).await;
    Ok(axum::Json(guild))
}

/// Delete a guild (owner only).
#[utoipa::path(delete, path = "/guilds/{guild_id}", tag = "guilds", params(("guild_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Not the owner (50013)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<StatusCode> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    if !access.is_owner() {
        return Err(ApiError::MissingPermissions);
    }
    let guild_id: GuildId = access.guild_id();
    state.store.delete_guild(guild_id).await?;
    state
        .dispatch(
            "GUILD_DELETE",
            Audience::Guild(guild_id),
            &serde_json::json!({"id": guild_id}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Guild fields a GUILD_UPDATE entry lists: (key in the guild object, key in the entry; the
/// image hashes are `*_hash` there, as Discord names them).
const AUDITED: [(&str, &str); 17] = [
    ("name", "name"),
    ("description", "description"),
    ("icon", "icon_hash"),
    ("splash", "splash_hash"),
    ("discovery_splash", "discovery_splash_hash"),
    ("banner", "banner_hash"),
    ("owner_id", "owner_id"),
    ("afk_channel_id", "afk_channel_id"),
    ("afk_timeout", "afk_timeout"),
    ("system_channel_id", "system_channel_id"),
    ("system_channel_flags", "system_channel_flags"),
    ("rules_channel_id", "rules_channel_id"),
    ("public_updates_channel_id", "public_updates_channel_id"),
    ("verification_level", "verification_level"),
    (
        "default_message_notifications",
        "default_message_notifications",
    ),
    ("explicit_content_filter", "explicit_content_filter"),
    ("preferred_locale", "preferred_locale"),
];

/// Writes the GUILD_UPDATE entry of a settings change (nothing when nothing changed).
async fn audit(
    state: &AppState,
    access: &GuildAccess,
    reason: Option<&str>,
    before: &serde_json::Value,
    after: &serde_json::Value,
) {
    let mut entry = crate::services::audit_log::Entry::new(
        accord_model::audit_log::action::GUILD_UPDATE,
        access.guild.id,
    );
    for (field, key) in AUDITED {
        let get = |v: &serde_json::Value| v.get(field).cloned().unwrap_or_default();
        entry = entry.change(key, get(before), get(after));
    }
    if !entry.changes.is_empty() {
        crate::services::audit_log::by(state, access, reason, entry).await;
    }
}
