//! The sticker and sticker item objects (developers/resources/sticker.mdx), which guilds and
//! messages carry.

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::id::{GenericId, GuildId, StickerId};
use crate::user::User;

/// Where a sticker comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum StickerType {
    /// An official sticker in a pack.
    Standard = 1,
    /// A sticker uploaded to a guild.
    Guild = 2,
}

/// A sticker's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum StickerFormatType {
    /// PNG.
    Png = 1,
    /// Animated PNG.
    Apng = 2,
    /// Lottie JSON.
    Lottie = 3,
    /// GIF.
    Gif = 4,
}

/// A sticker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sticker {
    /// The sticker's id.
    pub id: StickerId,
    /// For standard stickers, the pack's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_id: Option<GenericId>,
    /// The sticker's name.
    pub name: String,
    /// The description (always written, may be null).
    pub description: Option<String>,
    /// Autocomplete tags (comma separated by convention).
    pub tags: String,
    /// The sticker's type.
    #[serde(rename = "type")]
    pub kind: StickerType,
    /// The file format.
    pub format_type: StickerFormatType,
    /// Whether this guild sticker can be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    /// The owning guild's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// The user that uploaded the guild sticker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// A standard sticker's sort order in its pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_value: Option<i32>,
}

/// The least needed to render a sticker (in messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickerItem {
    /// The sticker's id.
    pub id: StickerId,
    /// The sticker's name.
    pub name: String,
    /// The file format.
    pub format_type: StickerFormatType,
}
