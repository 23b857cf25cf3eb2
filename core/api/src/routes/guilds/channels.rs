//! `GET/POST/PATCH /guilds/{guild.id}/channels`: the channels a member can see, creating a
//! channel (MANAGE_CHANNELS) and rearranging channels (positions and categories).

use std::collections::HashMap;

use accord_bus::Audience;
use accord_model::{Channel, ChannelId, ErrorTree, GuildId, Permissions};
use accord_store::channels::ChannelMove;
use accord_store::{ChannelPatch, NewChannel, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::channels::{
    CREATABLE_TYPES, ChannelFieldsBody, OverwriteBody, apply_fields, apply_type_defaults,
    check_grantable, check_position, has_parent, parent_permissions, patch_into_new,
    resolve_overwrites, validate_fields,
};
use crate::services::{forum, ids, validate};
use crate::state::AppState;
use crate::views_guild;

/// List the guild's channels the caller can see (threads excluded).
#[utoipa::path(get, path = "/guilds/{guild_id}/channels", tag = "guilds", params(("guild_id" = String, Path)),
    responses((status = 200, description = "Channel objects"), (status = 403, description = "Not a member (50001)"), (status = 404, description = "Unknown guild (10004)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Channel>>> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    let channels = state.store.guild_channels(access.guild_id()).await?;
    let overwrites = state.store.guild_overwrites(access.guild_id()).await?;
    Ok(axum::Json(
        channels
            .iter()
            .filter(|c| {
                access
                    .channel_permissions(c, &overwrites)
                    .contains(Permissions::VIEW_CHANNEL)
            })
            .map(|c| views_guild::channel(c, &overwrites))
            .collect(),
    ))
}

/// `POST /guilds/{id}/channels` body (everything but `name` is optional and nullable).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateChannelBody {
    /// Name (1–100 characters).
    pub name: String,
    /// Type: 0 text (default), 2 voice, 4 category, 5 announcement, 13 stage, 15 forum, 16 media.
    #[serde(default, rename = "type")]
    pub kind: Option<i64>,
    /// Sorting position (default: after every other channel).
    #[serde(default)]
    pub position: Option<i64>,
    /// Category.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<ChannelId>,
    /// Overwrites (needs MANAGE_ROLES; only permissions the caller holds).
    #[serde(default)]
    pub permission_overwrites: Option<Vec<OverwriteBody>>,
    /// The type-dependent fields.
    #[serde(flatten)]
    pub fields: ChannelFieldsBody,
}

/// Create a channel: CHANNEL_CREATE to the guild.
#[utoipa::path(post, path = "/guilds/{guild_id}/channels", tag = "guilds", params(("guild_id" = String, Path)), request_body = CreateChannelBody,
    responses((status = 201, description = "The new channel"), (status = 400, description = "Invalid form body (50035), maximum channels (30013)"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(guild_id): Path<String>,
    Json(body): Json<CreateChannelBody>,
) -> ApiResult<(StatusCode, axum::Json<Channel>)> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    let guild_id = access.guild_id();
    let mut tree = ErrorTree::new();
    let kind = body.kind.unwrap_or(0);
    if !CREATABLE_TYPES.iter().any(|t| i64::from(*t) == kind) {
        tree.add(
            &["type"],
            "BASE_TYPE_CHOICES",
            "Value must be one of {0, 2, 4, 5, 13, 15, 16}.",
        );
    }
    let kind = kind as i32;
    // MANAGE_CHANNELS where the channel lands: in its category, or in the guild.
    let parent = body.parent_id.filter(|_| has_parent(kind));
    if body.parent_id.is_some() && !has_parent(kind) {
        tree.add(
            &["parent_id"],
            "CHANNEL_PARENT_INVALID",
            "Categories cannot have a parent.",
        );
    }
    let at = parent_permissions(&state, &access, &mut tree, &["parent_id"], parent)
        .await?
        .unwrap_or(access.permissions);
    if !at.contains(Permissions::MANAGE_CHANNELS) {
        return Err(ApiError::MissingPermissions);
    }
    let list = body.permission_overwrites.as_deref().unwrap_or_default();
    if !list.is_empty() {
        access.require(Permissions::MANAGE_ROLES)?;
    }
    validate::display_name(&mut tree, "name", &body.name, 1, 100);
    check_position(&mut tree, &["position"], body.position);
    let nsfw = body.fields.nsfw.flatten().unwrap_or(false);
    validate_fields(&mut tree, kind, &access.guild, &body.fields, nsfw);
    let mut patch = ChannelPatch::default();
    apply_fields(kind, &body.fields, &mut patch);
    forum::apply(
        &state,
        guild_id,
        &mut tree,
        kind,
        None,
        &body.fields,
        &mut patch,
    )
    .await?;
    let overwrites = resolve_overwrites(&state, &access, &mut tree, list).await?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let requested = overwrites
        .iter()
        .fold(Permissions::empty(), |acc, o| acc | o.allow | o.deny);
    // Only administrators may put MANAGE_ROLES into a channel's overwrites when creating it.
    if requested.contains(Permissions::MANAGE_ROLES)
        && !access.permissions.contains(Permissions::ADMINISTRATOR)
    {
        return Err(ApiError::MissingPermissions);
    }
    check_grantable(&access, at, requested, false)?;
    let existing = state.store.guild_channels(guild_id).await?;
    let mut new = NewChannel::new(state.ids.next(), kind, body.name.trim());
    patch_into_new(patch, &mut new);
    new.position = match body.position {
        Some(p) => p as i32,
        None => existing.iter().map(|c| c.position + 1).max().unwrap_or(0),
    };
    new.parent_id = parent;
    new.overwrites = overwrites;
    apply_type_defaults(&mut new);
    let limit = state.config.limits.channels_per_guild;
    let created = state
        .store
        .create_channel_limited(guild_id, &new, limit)
        .await?
        .ok_or(ApiError::Maximum(Maximum::Channels, limit))?;
    let stored = state.store.channel_overwrites(new.id).await?;
    let object = views_guild::channel(&created, &stored);
    state
        .dispatch("CHANNEL_CREATE", Audience::Guild(guild_id), &object)
        .await;
    crate::services::audit_log::channel(
        &state,
        &access,
        crate::services::moderation::audit_reason(&headers).as_deref(),
        accord_model::audit_log::action::CHANNEL_CREATE,
        None,
        Some(&object),
    )
    .await;
    Ok((StatusCode::CREATED, axum::Json(object)))
}

/// One entry of `PATCH /guilds/{id}/channels`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PositionEntry {
    /// The channel.
    #[schema(value_type = String)]
    pub id: ChannelId,
    /// New position (null = unchanged).
    #[serde(default)]
    pub position: Option<i64>,
    /// Take the new category's overwrites (when moving to one).
    #[serde(default)]
    pub lock_permissions: Option<bool>,
    /// New category (null = none).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<ChannelId>>,
}

/// Rearrange channels: CHANNEL_UPDATE for each channel that changed.
#[utoipa::path(patch, path = "/guilds/{guild_id}/channels", tag = "guilds", params(("guild_id" = String, Path)), request_body = Vec<PositionEntry>,
    responses((status = 204), (status = 400, description = "Invalid form body (50035), more than one parent change (40009)"), (status = 403, description = "Missing permissions (50013) or access (50001)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn arrange(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Json(body): Json<Vec<PositionEntry>>,
) -> ApiResult<StatusCode> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    let guild_id: GuildId = access.guild_id();
    let channels = state.store.guild_channels(guild_id).await?;
    let overwrites = state.store.guild_overwrites(guild_id).await?;
    let find = |id: i64| channels.iter().find(|c| c.id == id);
    let mut tree = ErrorTree::new();
    let mut moves: Vec<ChannelMove> = Vec::new();
    let mut parent_changes = 0;
    for entry in &body {
        let c = find(entry.id.as_i64()).ok_or(ApiError::Unknown(Unknown::Channel))?;
        if entry
            .parent_id
            .is_some_and(|p| p != c.parent_id.map(ChannelId::from_i64))
        {
            parent_changes += 1;
        }
    }
    if parent_changes > 1 {
        return Err(ApiError::OneParentChange);
    }
    for (i, entry) in body.iter().enumerate() {
        let index = i.to_string();
        let c = find(entry.id.as_i64()).ok_or(ApiError::Unknown(Unknown::Channel))?;
        let here = access.channel_permissions(c, &overwrites);
        let parent_change = entry
            .parent_id
            .filter(|p| *p != c.parent_id.map(ChannelId::from_i64));
        check_position(&mut tree, &[index.as_str(), "position"], entry.position);
        let mut synced = None;
        if let Some(parent) = parent_change {
            if !has_parent(c.kind) {
                tree.add(
                    &[index.as_str(), "parent_id"],
                    "CHANNEL_PARENT_INVALID",
                    "Categories cannot have a parent.",
                );
                continue;
            }
            let at = parent_permissions(
                &state,
                &access,
                &mut tree,
                &[index.as_str(), "parent_id"],
                parent,
            )
            .await?;
            let manage = Permissions::VIEW_CHANNEL | Permissions::MANAGE_CHANNELS;
            if !here.contains(manage)
                || at.is_some_and(|p| !p.contains(Permissions::MANAGE_CHANNELS))
            {
                return Err(ApiError::MissingAccess);
            }
            if entry.lock_permissions == Some(true)
                && let Some(parent) = parent
            {
                if !here.contains(Permissions::MANAGE_ROLES) {
                    return Err(ApiError::MissingPermissions);
                }
                synced = Some(
                    overwrites
                        .iter()
                        .filter(|o| o.channel_id == parent.as_i64())
                        .map(|o| accord_store::NewOverwrite {
                            target_id: accord_model::GenericId::from_i64(o.target_id),
                            kind: o.kind,
                            allow: o.allow(),
                            deny: o.deny(),
                        })
                        .collect(),
                );
            }
        } else {
            // Reordering needs MANAGE_CHANNELS in the guild or in the channel's category.
            let in_category = match c.parent_id.and_then(find) {
                Some(category) => access.channel_permissions(category, &overwrites),
                None => Permissions::empty(),
            };
            if !(access.permissions | in_category).contains(Permissions::MANAGE_CHANNELS) {
                return Err(ApiError::MissingPermissions);
            }
        }
        moves.retain(|m| m.id != entry.id);
        moves.push(ChannelMove {
            id: entry.id,
            position: entry.position.map(|p| p as i32),
            parent_id: parent_change,
            overwrites: synced,
        });
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    match state.store.arrange_channels(guild_id, &moves).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::Unknown(Unknown::Channel)),
        Err(e) => return Err(e.into()),
    }
    let after = state.store.guild_channels(guild_id).await?;
    let after_overwrites = state.store.guild_overwrites(guild_id).await?;
    let before: HashMap<i64, Channel> = channels
        .iter()
        .map(|c| (c.id, views_guild::channel(c, &overwrites)))
        .collect();
    for c in &after {
        if !moves.iter().any(|m| m.id.as_i64() == c.id) {
            continue;
        }
        let object = views_guild::channel(c, &after_overwrites);
        if before.get(&c.id) != Some(&object) {
            state
                .dispatch("CHANNEL_UPDATE", Audience::Guild(guild_id), &object)
                .await;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
