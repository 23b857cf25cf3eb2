//! Forum and media channels (channel.mdx: forum tag object, default reaction, sort order and
//! layout types, REQUIRE_TAG): checking their settings on creation and edits, the tags applied
//! to their posts, and the channel object fields they add.

use std::collections::HashSet;

use accord_model::channel::{DefaultReaction, ForumLayoutType, ForumTag, SortOrderType};
use accord_model::{Channel, ChannelFlags, EmojiId, ErrorTree, GenericId, GuildId};
use accord_store::{ChannelPatch, ChannelRecord, ForumTagRecord};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::services::channels::ChannelFieldsBody;
use crate::state::AppState;

/// Most tags a forum or media channel has.
pub const MAX_TAGS: usize = 20;
/// Longest tag name, in characters.
pub const MAX_TAG_NAME: usize = 20;
/// Most tags applied to one post.
pub const MAX_APPLIED_TAGS: usize = 5;
/// Longest slow mode, in seconds.
const MAX_SLOWMODE: i64 = 21_600;

/// Forum (15) and media (16) channels.
pub fn is_forum(kind: i32) -> bool {
    matches!(kind, 15 | 16)
}

/// Types with `default_thread_rate_limit_per_user`: text, forum and media.
fn has_thread_slowmode(kind: i32) -> bool {
    matches!(kind, 0 | 15 | 16)
}

/// A tag in `available_tags`: only `name` is required; a known `id` keeps that tag (renamed or
/// changed), anything else is a new tag and gets an id from the server.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TagBody {
    /// The id of a tag the channel has (absent for a new tag).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub id: Option<GenericId>,
    /// 0–20 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Only MANAGE_THREADS holders may add it to or remove it from posts.
    #[serde(default)]
    pub moderated: Option<bool>,
    /// A custom emoji of the guild.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub emoji_id: Option<EmojiId>,
    /// A Unicode emoji.
    #[serde(default)]
    pub emoji_name: Option<String>,
}

/// `default_reaction_emoji`: exactly one of the two is set.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct DefaultReactionBody {
    /// A custom emoji of the guild.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub emoji_id: Option<EmojiId>,
    /// A Unicode emoji.
    #[serde(default)]
    pub emoji_name: Option<String>,
}

/// An emoji id sent as `0` means none (Discord's own payloads use it so).
fn some_emoji(id: Option<EmojiId>) -> Option<EmojiId> {
    id.filter(|e| e.get() != 0)
}

/// An emoji name sent as `""` means none.
fn some_text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Fails with 10014 unless `id` is a custom emoji of `guild`.
async fn check_emoji(state: &AppState, guild: GuildId, id: Option<EmojiId>) -> ApiResult<()> {
    if let Some(id) = id
        && state.store.emoji(guild, id).await?.is_none()
    {
        return Err(ApiError::Unknown(Unknown::Emoji));
    }
    Ok(())
}

/// Checks the forum settings of a request for a channel of `kind` in `guild` and writes them
/// into `patch`; `current` is the channel before the request (None when creating it). Field
/// errors go into `tree`; more than 20 tags is 30048, two tags of the same name 40061, an
/// emoji not of the guild 10014, and REQUIRE_TAG without a tag non-moderators may apply 40066.
/// Fields the type does not carry are ignored, as Discord does.
pub async fn apply(
    state: &AppState,
    guild: GuildId,
    tree: &mut ErrorTree,
    kind: i32,
    current: Option<&ChannelRecord>,
    f: &ChannelFieldsBody,
    patch: &mut ChannelPatch,
) -> ApiResult<()> {
    if has_thread_slowmode(kind)
        && let Some(value) = f.default_thread_rate_limit_per_user
    {
        if let Some(v) = value
            && !(0..=MAX_SLOWMODE).contains(&v)
        {
            tree.add(
                &["default_thread_rate_limit_per_user"],
                if v < 0 {
                    "NUMBER_TYPE_MIN"
                } else {
                    "NUMBER_TYPE_MAX"
                },
                format!("Value should be between 0 and {MAX_SLOWMODE}."),
            );
        }
        patch.default_thread_rate_limit_per_user = Some(value.map(|v| v as i32));
    }
    if !is_forum(kind) {
        return Ok(());
    }
    if let Some(order) = f.default_sort_order {
        if order.is_some_and(|o| !matches!(o, 0 | 1)) {
            tree.add(
                &["default_sort_order"],
                "BASE_TYPE_CHOICES",
                "Value must be one of {0, 1}.",
            );
        }
        patch.default_sort_order = Some(order.map(|o| o as i32));
    }
    if kind == 15
        && let Some(layout) = f.default_forum_layout
    {
        if layout.is_some_and(|l| !matches!(l, 0..=2)) {
            tree.add(
                &["default_forum_layout"],
                "BASE_TYPE_CHOICES",
                "Value must be one of {0, 1, 2}.",
            );
        }
        patch.default_forum_layout = Some(layout.map(|l| l as i32));
    }
    if let Some(reaction) = &f.default_reaction_emoji {
        let value = match reaction {
            None => (None, None),
            Some(r) => {
                let name = some_text(&r.emoji_name);
                let emoji_id = some_emoji(r.emoji_id);
                if emoji_id.is_some() == name.is_some() {
                    tree.add(
                        &["default_reaction_emoji"],
                        "BASE_TYPE_INVALID",
                        "Exactly one of emoji_id and emoji_name must be set.",
                    );
                } else {
                    check_emoji(state, guild, emoji_id).await?;
                }
                (emoji_id.map(|e| e.as_i64()), name)
            }
        };
        patch.default_reaction = Some(value);
    }
    if let Some(list) = &f.available_tags {
        let list = list.as_deref().unwrap_or_default();
        if list.len() > MAX_TAGS {
            return Err(ApiError::Maximum(Maximum::ForumTags, MAX_TAGS as u32));
        }
        let existing: &[ForumTagRecord] = current.map_or(&[], |c| &c.available_tags.0);
        let mut tags: Vec<ForumTagRecord> = Vec::with_capacity(list.len());
        let mut names = HashSet::new();
        for (i, t) in list.iter().enumerate() {
            let index = i.to_string();
            let name = t.name.as_deref().unwrap_or_default().trim().to_owned();
            if t.name.is_none() {
                tree.add(
                    &["available_tags", &index, "name"],
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                );
            } else if name.chars().count() > MAX_TAG_NAME {
                tree.add(
                    &["available_tags", &index, "name"],
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {MAX_TAG_NAME} or fewer in length."),
                );
            }
            let emoji_name = some_text(&t.emoji_name);
            let emoji_id = some_emoji(t.emoji_id);
            if emoji_id.is_some() && emoji_name.is_some() {
                tree.add(
                    &["available_tags", &index],
                    "BASE_TYPE_INVALID",
                    "At most one of emoji_id and emoji_name may be set.",
                );
            } else {
                check_emoji(state, guild, emoji_id).await?;
            }
            if t.name.is_some() && !names.insert(name.clone()) {
                return Err(ApiError::TagNamesNotUnique);
            }
            // A known id keeps its tag (once); any other tag gets a new id.
            let id = t
                .id
                .map(|id| id.as_i64())
                .filter(|id| existing.iter().any(|e| e.id == *id))
                .filter(|id| !tags.iter().any(|e| e.id == *id))
                .unwrap_or_else(|| state.ids.next::<accord_model::id::GenericMarker>().as_i64());
            tags.push(ForumTagRecord {
                id,
                name,
                moderated: t.moderated.unwrap_or(false),
                emoji_id: emoji_id.map(|e| e.as_i64()),
                emoji_name,
            });
        }
        patch.available_tags = Some(tags);
    }
    // REQUIRE_TAG needs a tag that everyone may apply.
    let flags = patch.flags.or(current.map(|c| c.flags)).unwrap_or(0);
    if flags as u64 & ChannelFlags::REQUIRE_TAG.bits() != 0 && tree.is_empty() {
        let tags = match (&patch.available_tags, current) {
            (Some(tags), _) => tags.as_slice(),
            (None, Some(c)) => c.available_tags.0.as_slice(),
            (None, None) => &[],
        };
        if tags.iter().all(|t| t.moderated) {
            return Err(ApiError::NoUnmoderatedTags);
        }
    }
    Ok(())
}

/// Checks the `applied_tags` of a post in `parent` (a forum or media channel): at most five
/// (else a field error in `tree`), each one of the parent's tags (10087), and — unless the
/// caller is a `moderator` (MANAGE_THREADS) — no moderated tag added or removed compared with
/// `before` (50013). Returns the ids, without repeats, in the order given.
pub fn check_applied(
    tree: &mut ErrorTree,
    parent: &ChannelRecord,
    requested: &[GenericId],
    before: &[i64],
    moderator: bool,
) -> ApiResult<Vec<i64>> {
    if requested.len() > MAX_APPLIED_TAGS {
        tree.add(
            &["applied_tags"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_APPLIED_TAGS} or fewer in length."),
        );
        return Ok(Vec::new());
    }
    let tags = &parent.available_tags.0;
    let mut out: Vec<i64> = Vec::with_capacity(requested.len());
    for id in requested {
        let id = id.as_i64();
        if !tags.iter().any(|t| t.id == id) {
            return Err(ApiError::Unknown(Unknown::Tag));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    if !moderator {
        let changed = out
            .iter()
            .filter(|id| !before.contains(id))
            .chain(before.iter().filter(|id| !out.contains(id)));
        for id in changed {
            if tags.iter().any(|t| t.id == *id && t.moderated) {
                return Err(ApiError::MissingPermissions);
            }
        }
    }
    Ok(out)
}

/// Refuses a new post without a tag in a channel with REQUIRE_TAG (40067).
pub fn require_tag(parent: &ChannelRecord, applied: &[i64]) -> ApiResult<()> {
    if parent.flags as u64 & ChannelFlags::REQUIRE_TAG.bits() != 0 && applied.is_empty() {
        return Err(ApiError::TagRequired);
    }
    Ok(())
}

/// The tags of a post in `parent` as checked for its creation: `applied_tags` in a forum or
/// media channel (REQUIRE_TAG enforced), nothing elsewhere (ignored there).
pub fn post_tags(
    tree: &mut ErrorTree,
    parent: &ChannelRecord,
    requested: Option<&[GenericId]>,
    moderator: bool,
) -> ApiResult<Vec<i64>> {
    if !is_forum(parent.kind) {
        return Ok(Vec::new());
    }
    let applied = check_applied(tree, parent, requested.unwrap_or_default(), &[], moderator)?;
    if tree.is_empty() {
        require_tag(parent, &applied)?;
    }
    Ok(applied)
}

/// Adds the fields of forum and media channels (and text channels' thread slow mode) to the
/// channel object of `c`.
pub fn add_to_view(c: &ChannelRecord, ch: &mut Channel) {
    if has_thread_slowmode(c.kind) {
        ch.default_thread_rate_limit_per_user = match c.default_thread_rate_limit_per_user {
            Some(v) => Some(v.max(0) as u32),
            None if is_forum(c.kind) => Some(0),
            None => None,
        };
    }
    if !is_forum(c.kind) {
        return;
    }
    ch.available_tags = Some(
        c.available_tags
            .0
            .iter()
            .map(|t| ForumTag {
                id: GenericId::from_i64(t.id),
                name: t.name.clone(),
                moderated: t.moderated,
                emoji_id: t.emoji_id.map(EmojiId::from_i64),
                emoji_name: t.emoji_name.clone(),
            })
            .collect(),
    );
    ch.default_reaction_emoji = Some(
        (c.default_reaction_emoji_id.is_some() || c.default_reaction_emoji_name.is_some()).then(
            || DefaultReaction {
                emoji_id: c.default_reaction_emoji_id.map(EmojiId::from_i64),
                emoji_name: c.default_reaction_emoji_name.clone(),
            },
        ),
    );
    ch.default_sort_order = Some(c.default_sort_order.and_then(|o| match o {
        0 => Some(SortOrderType::LatestActivity),
        1 => Some(SortOrderType::CreationDate),
        _ => None,
    }));
    if c.kind == 15 {
        ch.default_forum_layout = Some(match c.default_forum_layout {
            Some(1) => ForumLayoutType::ListView,
            Some(2) => ForumLayoutType::GalleryView,
            _ => ForumLayoutType::NotSet,
        });
    }
}
