//! Rules shared by every way a guild channel comes to exist or change (guild creation, channel
//! creation, channel edits): type defaults, which fields each channel type carries, their
//! ranges, and who may set which permission overwrites.

use accord_model::{ChannelFlags, ChannelId, ErrorTree, GenericId, Permissions, UserId};
use accord_store::{ChannelPatch, GuildRecord, NewChannel, NewOverwrite, OverwriteRecord};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::access::GuildAccess;
use crate::services::forum::{DefaultReactionBody, TagBody};
use crate::state::AppState;

/// Guild channel types that can be created: text, voice, category, announcement, stage, forum,
/// media.
pub const CREATABLE_TYPES: [i32; 7] = [0, 2, 4, 5, 13, 15, 16];

/// Fills the fields Discord always has for the channel's type (voice channels carry a bitrate
/// and a user limit, which clients such as discord.py read unconditionally).
pub fn apply_type_defaults(new: &mut NewChannel) {
    if matches!(new.kind, 2 | 13) {
        new.bitrate.get_or_insert(64_000);
        new.user_limit.get_or_insert(0);
    }
}

/// Text, announcement, forum and media channels: they have a topic and a default thread
/// auto-archive duration.
pub fn is_textual(kind: i32) -> bool {
    matches!(kind, 0 | 5 | 15 | 16)
}

/// Voice and stage channels: bitrate, user limit, region, video quality.
pub fn is_voice(kind: i32) -> bool {
    matches!(kind, 2 | 13)
}

/// Types with slow mode (the docs list text, voice, stage, forum and media, not announcement).
pub fn has_slowmode(kind: i32) -> bool {
    matches!(kind, 0 | 2 | 13 | 15 | 16)
}

/// Types that may sit in a category (everything but categories).
pub fn has_parent(kind: i32) -> bool {
    kind != 4
}

/// Highest bitrate for a channel of `kind` in `guild` (boost tiers and `VIP_REGIONS` raise the
/// voice ceiling; stage channels stop at 64000).
pub fn max_bitrate(kind: i32, guild: &GuildRecord) -> i64 {
    if kind == 13 {
        return 64_000;
    }
    if guild.features.0.iter().any(|f| f == "VIP_REGIONS") {
        return 384_000;
    }
    match guild.premium_tier {
        1 => 128_000,
        2 => 256_000,
        3 => 384_000,
        _ => 96_000,
    }
}

/// The flags a channel of `kind` may carry.
fn allowed_flags(kind: i32) -> ChannelFlags {
    let mut allowed = ChannelFlags::empty();
    if matches!(kind, 0 | 2 | 5 | 15 | 16) {
        allowed |= ChannelFlags::IS_SPOILER_CHANNEL;
    }
    if matches!(kind, 15 | 16) {
        allowed |= ChannelFlags::REQUIRE_TAG;
    }
    if kind == 16 {
        allowed |= ChannelFlags::HIDE_MEDIA_DOWNLOAD_OPTIONS;
    }
    allowed
}

/// The type-dependent fields of a create or modify request. Absent = unchanged; `null` resets
/// the field (to no value, or to its default for fields that always have one).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ChannelFieldsBody {
    /// Topic (0–1024 characters, 0–4096 for forum and media channels).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub topic: Option<Option<String>>,
    /// Age-restricted.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<bool>)]
    pub nsfw: Option<Option<bool>>,
    /// Slow mode in seconds (0–21600).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub rate_limit_per_user: Option<Option<i64>>,
    /// Voice bitrate (min 8000).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub bitrate: Option<Option<i64>>,
    /// Voice user limit (0–99 for voice, 0–10000 for stage; 0 = none).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub user_limit: Option<Option<i64>>,
    /// Voice region id, null for automatic.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub rtc_region: Option<Option<String>>,
    /// Camera quality (1 auto, 2 full).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub video_quality_mode: Option<Option<i64>>,
    /// Default thread auto-archive duration (60, 1440, 4320 or 10080 minutes).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub default_auto_archive_duration: Option<Option<i64>>,
    /// Channel flags.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub flags: Option<Option<i64>>,
    /// Forum and media channels: every tag (up to 20; null removes them all).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    pub available_tags: Option<Option<Vec<TagBody>>>,
    /// Forum and media channels: the default reaction, or null.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    pub default_reaction_emoji: Option<Option<DefaultReactionBody>>,
    /// Text, forum and media channels: the slow mode new threads start with (0–21600).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub default_thread_rate_limit_per_user: Option<Option<i64>>,
    /// Forum and media channels: 0 latest activity, 1 creation date, or null.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub default_sort_order: Option<Option<i64>>,
    /// Forum channels: 0 not set, 1 list, 2 gallery.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub default_forum_layout: Option<Option<i64>>,
}

fn range(tree: &mut ErrorTree, field: &str, value: Option<Option<i64>>, min: i64, max: i64) {
    range_at(tree, &[field], value.flatten(), min, max);
}

/// Checks a channel position (0 up to the largest stored integer) at `path`.
pub fn check_position(tree: &mut ErrorTree, path: &[&str], position: Option<i64>) {
    range_at(tree, path, position, 0, i64::from(i32::MAX));
}

fn range_at(tree: &mut ErrorTree, path: &[&str], value: Option<i64>, min: i64, max: i64) {
    if let Some(v) = value {
        if v < min {
            tree.add(
                path,
                "NUMBER_TYPE_MIN",
                format!("Value should be greater than or equal to {min}."),
            );
        } else if v > max {
            tree.add(
                path,
                "NUMBER_TYPE_MAX",
                format!("Value should be less than or equal to {max}."),
            );
        }
    }
}

/// Checks the fields for a channel of `kind` in `guild`; `nsfw_after` is whether the channel is
/// age-restricted once the request applies. Fields the type does not carry are not checked (they
/// are ignored, as Discord does).
pub fn validate_fields(
    tree: &mut ErrorTree,
    kind: i32,
    guild: &GuildRecord,
    f: &ChannelFieldsBody,
    nsfw_after: bool,
) {
    if is_textual(kind)
        && let Some(Some(topic)) = &f.topic
    {
        let max = if matches!(kind, 15 | 16) { 4096 } else { 1024 };
        if topic.chars().count() > max {
            tree.add(
                &["topic"],
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
    }
    if has_slowmode(kind) {
        range(
            tree,
            "rate_limit_per_user",
            f.rate_limit_per_user,
            0,
            21_600,
        );
    }
    if is_voice(kind) {
        range(tree, "bitrate", f.bitrate, 8_000, max_bitrate(kind, guild));
        let max_users = if kind == 13 { 10_000 } else { 99 };
        range(tree, "user_limit", f.user_limit, 0, max_users);
        if let Some(Some(m)) = f.video_quality_mode
            && !matches!(m, 1 | 2)
        {
            tree.add(
                &["video_quality_mode"],
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2}.",
            );
        }
        if let Some(Some(region)) = &f.rtc_region
            && (region.is_empty() || region.chars().count() > 100)
        {
            tree.add(
                &["rtc_region"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            );
        }
    }
    if is_textual(kind)
        && let Some(Some(d)) = f.default_auto_archive_duration
        && ![60, 1440, 4320, 10080].contains(&d)
    {
        tree.add(
            &["default_auto_archive_duration"],
            "BASE_TYPE_CHOICES",
            "Value must be one of {60, 1440, 4320, 10080}.",
        );
    }
    if let Some(Some(bits)) = f.flags {
        let flags = ChannelFlags::from_bits(bits.max(0) as u64);
        if bits < 0 || !allowed_flags(kind).contains(flags) {
            tree.add(
                &["flags"],
                "BASE_TYPE_CHOICES",
                "These flags cannot be set on this channel type.",
            );
        } else if nsfw_after && flags.contains(ChannelFlags::IS_SPOILER_CHANNEL) {
            tree.add(
                &["flags"],
                "BASE_TYPE_CHOICES",
                "IS_SPOILER_CHANNEL can only be set on channels that are not age-restricted.",
            );
        }
    }
}

/// Writes the fields a channel of `kind` carries into `patch` (call after [`validate_fields`]).
pub fn apply_fields(kind: i32, f: &ChannelFieldsBody, patch: &mut ChannelPatch) {
    if is_textual(kind) {
        if let Some(topic) = &f.topic {
            patch.topic = Some(topic.clone().filter(|t| !t.is_empty()));
        }
        if let Some(d) = f.default_auto_archive_duration {
            patch.default_auto_archive_duration = Some(d.map(|d| d as i32));
        }
    }
    if kind != 4
        && let Some(nsfw) = f.nsfw
    {
        patch.nsfw = Some(nsfw.unwrap_or(false));
    }
    if has_slowmode(kind)
        && let Some(r) = f.rate_limit_per_user
    {
        patch.rate_limit_per_user = Some(r.unwrap_or(0) as i32);
    }
    if is_voice(kind) {
        if let Some(b) = f.bitrate {
            patch.bitrate = Some(Some(b.unwrap_or(64_000) as i32));
        }
        if let Some(u) = f.user_limit {
            patch.user_limit = Some(Some(u.unwrap_or(0) as i32));
        }
        if let Some(r) = &f.rtc_region {
            patch.rtc_region = Some(r.clone());
        }
        if let Some(m) = f.video_quality_mode {
            patch.video_quality_mode = Some(m.map(|m| m as i32));
        }
    }
    if let Some(flags) = f.flags {
        patch.flags = Some(flags.unwrap_or(0));
    }
}

/// Copies the fields of a patch built by [`apply_fields`] into a new channel.
pub fn patch_into_new(patch: ChannelPatch, new: &mut NewChannel) {
    new.topic = patch.topic.flatten();
    new.nsfw = patch.nsfw.unwrap_or(false);
    new.rate_limit_per_user = patch.rate_limit_per_user.unwrap_or(0);
    new.bitrate = patch.bitrate.flatten();
    new.user_limit = patch.user_limit.flatten();
    new.rtc_region = patch.rtc_region.flatten();
    new.video_quality_mode = patch.video_quality_mode.flatten();
    new.default_auto_archive_duration = patch.default_auto_archive_duration.flatten();
    new.flags = patch.flags.unwrap_or(0);
    new.available_tags = patch.available_tags.unwrap_or_default();
    new.default_reaction = patch.default_reaction.unwrap_or((None, None));
    new.default_thread_rate_limit_per_user = patch.default_thread_rate_limit_per_user.flatten();
    new.default_sort_order = patch.default_sort_order.flatten();
    new.default_forum_layout = patch.default_forum_layout.flatten();
}

/// A permission overwrite in a request body (`allow` and `deny` default to "0").
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OverwriteBody {
    /// Role or user id.
    #[schema(value_type = String)]
    pub id: GenericId,
    /// 0 for a role, 1 for a member.
    #[serde(rename = "type")]
    pub kind: i64,
    /// Allowed permissions.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub allow: Option<Permissions>,
    /// Denied permissions.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub deny: Option<Permissions>,
}

/// Checks an overwrite target: its type is 0 or 1 (else a field error at `path`), and the role
/// (10011) or member (10007) exists in the guild.
pub async fn check_target(
    state: &AppState,
    access: &GuildAccess,
    tree: &mut ErrorTree,
    path: &[&str],
    id: GenericId,
    kind: i64,
) -> ApiResult<()> {
    match kind {
        0 => {
            if access.role(id.as_i64()).is_none() {
                return Err(ApiError::Unknown(Unknown::Role));
            }
        }
        1 => {
            let user: UserId = id.cast();
            if state.store.member(access.guild_id(), user).await?.is_none() {
                return Err(ApiError::Unknown(Unknown::Member));
            }
        }
        _ => {
            let mut at = path.to_vec();
            at.push("type");
            tree.add(&at, "BASE_TYPE_CHOICES", "Value must be one of {0, 1}.");
        }
    }
    Ok(())
}

/// Resolves the `permission_overwrites` of a request into the overwrites to store (a later
/// entry for the same target replaces an earlier one), checking every target.
pub async fn resolve_overwrites(
    state: &AppState,
    access: &GuildAccess,
    tree: &mut ErrorTree,
    list: &[OverwriteBody],
) -> ApiResult<Vec<NewOverwrite>> {
    let mut out: Vec<NewOverwrite> = Vec::with_capacity(list.len());
    for (i, o) in list.iter().enumerate() {
        let index = i.to_string();
        check_target(
            state,
            access,
            tree,
            &["permission_overwrites", &index],
            o.id,
            o.kind,
        )
        .await?;
        let new = NewOverwrite {
            target_id: o.id,
            kind: o.kind.clamp(0, 1) as i32,
            allow: defined(o.allow),
            deny: defined(o.deny),
        };
        out.retain(|x| x.target_id != new.target_id);
        out.push(new);
    }
    Ok(out)
}

/// Only the defined bits of a requested permission set (unset = none).
pub fn defined(p: Option<Permissions>) -> Permissions {
    p.map_or(Permissions::empty(), |p| {
        Permissions::from_bits_truncate(p.bits())
    })
}

/// The bits whose state changes for some target when a channel's overwrites `old` become `new`
/// (targets missing from `new` lose their overwrite).
pub fn changed_bits(old: &[OverwriteRecord], new: &[NewOverwrite]) -> Permissions {
    let mut changed = Permissions::empty();
    for o in old {
        let (allow, deny) = new
            .iter()
            .find(|n| n.target_id.as_i64() == o.target_id)
            .map_or((Permissions::empty(), Permissions::empty()), |n| {
                (n.allow, n.deny)
            });
        changed |= (o.allow() ^ allow) | (o.deny() ^ deny);
    }
    for n in new {
        if !old.iter().any(|o| o.target_id == n.target_id.as_i64()) {
            changed |= n.allow | n.deny;
        }
    }
    changed
}

/// Whether an overwrite of the channel that applies to the caller (@everyone, one of their
/// roles, or themselves) allows MANAGE_ROLES: such callers may set any permission there.
pub fn has_manage_roles_overwrite(access: &GuildAccess, overwrites: &[OverwriteRecord]) -> bool {
    overwrites.iter().any(|o| {
        let applies = if o.kind == 1 {
            o.target_id == access.user_id.as_i64()
        } else {
            o.target_id == access.guild.id || access.member.roles.contains(&o.target_id)
        };
        applies && o.allow().contains(Permissions::MANAGE_ROLES)
    })
}

/// Fails with 50013 unless the caller may allow or deny every bit of `changed` through an
/// overwrite: owners and administrators may set anything; others only what they hold
/// (`held`) unless `bypass` (a MANAGE_ROLES overwrite in the channel).
pub fn check_grantable(
    access: &GuildAccess,
    held: Permissions,
    changed: Permissions,
    bypass: bool,
) -> ApiResult<()> {
    if access.permissions.contains(Permissions::ADMINISTRATOR) || bypass || held.contains(changed) {
        Ok(())
    } else {
        Err(ApiError::MissingPermissions)
    }
}

/// The caller's permissions where a channel would sit with `parent`: in that category, or at
/// guild level without one. `None` (with a field error at `path`) when `parent` is not a
/// category of this guild.
pub async fn parent_permissions(
    state: &AppState,
    access: &GuildAccess,
    tree: &mut ErrorTree,
    path: &[&str],
    parent: Option<ChannelId>,
) -> ApiResult<Option<Permissions>> {
    let Some(parent) = parent else {
        return Ok(Some(access.permissions));
    };
    let category = state
        .store
        .channel(parent)
        .await?
        .filter(|p| p.guild_id == Some(access.guild.id) && p.kind == 4);
    match category {
        Some(category) => {
            let overwrites = state.store.channel_overwrites(parent).await?;
            Ok(Some(access.channel_permissions(&category, &overwrites)))
        }
        None => {
            tree.add(
                path,
                "CHANNEL_PARENT_INVALID",
                "The parent must be a category of this guild.",
            );
            Ok(None)
        }
    }
}
