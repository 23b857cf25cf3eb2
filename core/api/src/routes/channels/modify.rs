//! `PATCH /channels/{channel.id}`: guild channel settings and overwrites (MANAGE_CHANNELS, and
//! MANAGE_ROLES for overwrites), a group DM's name and icon (any recipient), or a thread's
//! settings (`modify_thread`).

use accord_bus::Audience;
use accord_model::{Channel, ChannelId, ErrorTree, Permissions};
use accord_store::ChannelPatch;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use super::private::{dispatch_each, recipient_users, view_for};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::ChannelAccess;
use crate::services::channels::{
    ChannelFieldsBody, OverwriteBody, apply_fields, changed_bits, check_grantable, check_position,
    has_manage_roles_overwrite, has_parent, parent_permissions, resolve_overwrites,
    validate_fields,
};
use crate::services::images::{self, Change};
use crate::services::{forum, ids, validate};
use crate::state::AppState;
use crate::views_guild;

/// `PATCH /channels/{id}` body; absent = unchanged, `null` = cleared or reset.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyChannelBody {
    /// Name (1–100 characters; a group DM's may be cleared with null).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// Type: only text (0) ↔ announcement (5).
    #[serde(default, rename = "type")]
    pub kind: Option<i64>,
    /// Sorting position.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub position: Option<Option<i64>>,
    /// Category (null leaves it).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<ChannelId>>,
    /// Every overwrite of the channel (replaces the current ones; null removes them all).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    pub permission_overwrites: Option<Option<Vec<OverwriteBody>>>,
    /// Group DM icon as a data URI (PNG, JPEG, GIF or WebP), or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub icon: Option<Option<String>>,
    /// Threads: archive or unarchive.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Threads: minutes of inactivity before archiving (60, 1440, 4320, 10080).
    #[serde(default)]
    pub auto_archive_duration: Option<i64>,
    /// Threads: lock or unlock.
    #[serde(default)]
    pub locked: Option<bool>,
    /// Private threads: whether non-moderators may add non-moderators.
    #[serde(default)]
    pub invitable: Option<bool>,
    /// Forum and media posts: the ids of the parent's tags applied (up to 5).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub applied_tags: Option<Vec<accord_model::GenericId>>,
    /// The type-dependent fields.
    #[serde(flatten)]
    pub fields: ChannelFieldsBody,
}

/// Modify a channel.
#[utoipa::path(patch, path = "/channels/{channel_id}", tag = "channels", params(("channel_id" = String, Path)), request_body = ModifyChannelBody,
    responses((status = 200, description = "The updated channel"), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Missing permissions (50013), DM channel (50003)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(channel_id): Path<String>,
    Json(body): Json<ModifyChannelBody>,
) -> ApiResult<axum::Json<Channel>> {
    let access = ChannelAccess::load(
        &state,
        ids::parse(&channel_id, Unknown::Channel)?,
        auth.user_id,
    )
    .await?;
    match access.channel.kind {
        1 => Err(ApiError::DmChannel),
        3 => patch_group_dm(&state, &access, &body, &auth).await,
        10..=12 => {
            let reason = crate::services::moderation::audit_reason(&headers);
            super::modify_thread::patch(&state, &access, &body, reason.as_deref()).await
        }
        _ => {
            let reason = crate::services::moderation::audit_reason(&headers);
            patch_guild_channel(&state, &access, body, reason.as_deref()).await
        }
    }
}

/// A group DM: name and icon, CHANNEL_UPDATE to every recipient.
async fn patch_group_dm(
    state: &AppState,
    access: &ChannelAccess,
    body: &ModifyChannelBody,
    auth: &Auth,
) -> ApiResult<axum::Json<Channel>> {
    let c = &access.channel;
    let mut tree = ErrorTree::new();
    if let Some(Some(name)) = &body.name {
        validate::display_name(&mut tree, "name", name, 1, 100);
    }
    let icon = Change::of(
        &mut tree,
        "icon",
        body.icon.as_ref(),
        &images::upload_limits(state),
    );
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let icon = icon
        .apply(state, &format!("channel-icons/{}", c.id))
        .await?;
    let patch = ChannelPatch {
        name: body
            .name
            .as_ref()
            .map(|n| n.as_ref().map(|n| n.trim().to_owned())),
        icon,
        ..ChannelPatch::default()
    };
    let updated = state.store.update_channel(c.channel_id(), &patch).await?;
    let users = recipient_users(state, c.channel_id()).await?;
    if updated != *c {
        let audience: Vec<_> = users.iter().map(|u| u.user_id()).collect();
        dispatch_each(state, "CHANNEL_UPDATE", &updated, &users, &audience).await;
    }
    Ok(axum::Json(view_for(&updated, &users, auth.user_id)))
}

/// A guild channel: MANAGE_CHANNELS in the channel (and MANAGE_ROLES to change overwrites).
async fn patch_guild_channel(
    state: &AppState,
    access: &ChannelAccess,
    body: ModifyChannelBody,
    reason: Option<&str>,
) -> ApiResult<axum::Json<Channel>> {
    access.require(Permissions::MANAGE_CHANNELS)?;
    if body.permission_overwrites.is_some() {
        access.require(Permissions::MANAGE_ROLES)?;
    }
    let guild = access.guild()?;
    let c = &access.channel;
    let mut tree = ErrorTree::new();
    let kind = match body.kind {
        Some(k) if k != i64::from(c.kind) => {
            if matches!((c.kind, k), (0, 5) | (5, 0)) {
                k as i32
            } else {
                tree.add(
                    &["type"],
                    "BASE_TYPE_CHOICES",
                    "Only text (0) and announcement (5) channels can be converted into each other.",
                );
                c.kind
            }
        }
        _ => c.kind,
    };
    match &body.name {
        Some(Some(name)) => validate::display_name(&mut tree, "name", name, 1, 100),
        Some(None) => {
            tree.add(&["name"], "BASE_TYPE_REQUIRED", "This field is required");
        }
        None => {}
    }
    check_position(&mut tree, &["position"], body.position.flatten());
    let parent = match body.parent_id {
        Some(parent) if has_parent(kind) && parent != c.parent_id.map(ChannelId::from_i64) => {
            // Moving needs MANAGE_CHANNELS where the channel lands too.
            let at = parent_permissions(state, guild, &mut tree, &["parent_id"], parent).await?;
            if at.is_some_and(|p| !p.contains(Permissions::MANAGE_CHANNELS)) {
                return Err(ApiError::MissingAccess);
            }
            Some(parent)
        }
        Some(Some(_)) if !has_parent(kind) => {
            tree.add(
                &["parent_id"],
                "CHANNEL_PARENT_INVALID",
                "Categories cannot have a parent.",
            );
            None
        }
        _ => None,
    };
    let nsfw_after = match body.fields.nsfw {
        Some(n) => n.unwrap_or(false),
        None => c.nsfw,
    };
    validate_fields(&mut tree, kind, &guild.guild, &body.fields, nsfw_after);
    let mut patch = ChannelPatch {
        kind: (kind != c.kind).then_some(kind),
        name: match &body.name {
            Some(Some(n)) => Some(Some(n.trim().to_owned())),
            _ => None,
        },
        position: body.position.flatten().map(|p| p as i32),
        parent_id: parent,
        ..ChannelPatch::default()
    };
    apply_fields(kind, &body.fields, &mut patch);
    forum::apply(
        state,
        guild.guild_id(),
        &mut tree,
        kind,
        Some(c),
        &body.fields,
        &mut patch,
    )
    .await?;
    let current = state.store.channel_overwrites(c.channel_id()).await?;
    let overwrites = match &body.permission_overwrites {
        Some(list) => {
            let list = list.as_deref().unwrap_or_default();
            let resolved = resolve_overwrites(state, guild, &mut tree, list).await?;
            if tree.is_empty() {
                check_grantable(
                    guild,
                    access.permissions,
                    changed_bits(&current, &resolved),
                    has_manage_roles_overwrite(guild, &current),
                )?;
            }
            Some(resolved)
        }
        None => None,
    };
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let updated = state
        .store
        .modify_channel(c.channel_id(), &patch, overwrites.as_deref())
        .await?;
    let after = state.store.channel_overwrites(c.channel_id()).await?;
    let object = views_guild::channel(&updated, &after);
    if updated != *c || after != current {
        state
            .dispatch("CHANNEL_UPDATE", Audience::Guild(guild.guild_id()), &object)
            .await;
        let before = views_guild::channel(c, &current);
        crate::services::audit_log::channel(
            state,
            guild,
            reason,
            accord_model::audit_log::action::CHANNEL_UPDATE,
            Some(&before),
            Some(&object),
        )
        .await;
    }
    Ok(axum::Json(object))
}
