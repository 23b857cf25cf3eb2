//! The emoji object (developers/resources/emoji.mdx): custom guild and application emojis, and
//! the partial `{id, name, animated?}` form used in reactions.

use serde::{Deserialize, Serialize};

use crate::id::{EmojiId, RoleId};
use crate::user::User;

/// An emoji. A standard (Unicode) emoji has a null `id`; a reaction emoji whose custom emoji is
/// gone may have a null `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emoji {
    /// The emoji id, null for standard emojis.
    pub id: Option<EmojiId>,
    /// The emoji name (the character itself for standard emojis).
    pub name: Option<String>,
    /// Roles allowed to use this emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<RoleId>>,
    /// The user that created this emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// Whether the emoji must be wrapped in colons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_colons: Option<bool>,
    /// Whether the emoji is managed by an integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// Whether the emoji is animated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animated: Option<bool>,
    /// Whether the emoji can be used (may be false after losing boosts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
}

impl Emoji {
    /// A standard emoji: `{"id": null, "name": "🔥"}`.
    pub fn unicode(name: impl Into<String>) -> Self {
        Self::partial(None, Some(name.into()))
    }

    /// A partial emoji with only `id` and `name`.
    pub fn partial(id: Option<EmojiId>, name: Option<String>) -> Self {
        Self {
            id,
            name,
            roles: None,
            user: None,
            require_colons: None,
            managed: None,
            animated: None,
            available: None,
        }
    }
}
