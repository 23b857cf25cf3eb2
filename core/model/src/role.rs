//! The role object (developers/topics/permissions.mdx, "Role Object") with its colors, tags
//! and flags.

use serde::{Deserialize, Serialize};

use crate::id::{GenericId, RoleId, UserId};
use crate::permissions::Permissions;
use crate::serde_util::{null_flag, nullable};

flags! {
    /// Flags on a role.
    pub struct RoleFlags: integer {
        /// The role can be picked in an onboarding prompt.
        const IN_PROMPT = 1 << 0;
    }
}

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// The role's id (the @everyone role's id is the guild's).
    pub id: RoleId,
    /// The role's name.
    pub name: String,
    /// Deprecated integer color; Discord still sends it, equal to `colors.primary_color`.
    pub color: u32,
    /// The role's colors.
    pub colors: RoleColors,
    /// Whether the role is shown separately in the member list.
    pub hoist: bool,
    /// The role icon hash.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<Option<String>>,
    /// The role's Unicode emoji.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub unicode_emoji: Option<Option<String>>,
    /// Sorting position (equal positions sort by id).
    pub position: i32,
    /// The permission bit set.
    pub permissions: Permissions,
    /// Whether an integration manages this role.
    pub managed: bool,
    /// Whether the role can be mentioned.
    pub mentionable: bool,
    /// The role's tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<RoleTags>,
    /// The role's flags.
    pub flags: RoleFlags,
}

/// A role's colors. `secondary_color` and `tertiary_color` are null unless the guild has the
/// `ENHANCED_ROLE_COLORS` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoleColors {
    /// The primary color (0 = no color).
    pub primary_color: u32,
    /// The gradient's second color.
    pub secondary_color: Option<u32>,
    /// The holographic style's third color.
    pub tertiary_color: Option<u32>,
}

impl RoleColors {
    /// Colors with only a primary color.
    pub const fn solid(primary_color: u32) -> Self {
        Self {
            primary_color,
            secondary_color: None,
            tertiary_color: None,
        }
    }
}

/// A role's tags. The `bool` fields are written as a `null` value when true and left out when
/// false, as Discord does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoleTags {
    /// The bot this role belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<UserId>,
    /// The integration this role belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<GenericId>,
    /// Whether this is the guild's Booster role.
    #[serde(
        default,
        with = "null_flag",
        skip_serializing_if = "null_flag::is_false"
    )]
    pub premium_subscriber: bool,
    /// The role's subscription SKU and listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_listing_id: Option<GenericId>,
    /// Whether the role is available for purchase.
    #[serde(
        default,
        with = "null_flag",
        skip_serializing_if = "null_flag::is_false"
    )]
    pub available_for_purchase: bool,
    /// Whether the role is a linked role.
    #[serde(
        default,
        with = "null_flag",
        skip_serializing_if = "null_flag::is_false"
    )]
    pub guild_connections: bool,
}
