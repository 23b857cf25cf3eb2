//! The guild member object (developers/resources/guild.mdx, "Guild Member Object") and its
//! flags. The same type carries the partial member of MESSAGE_CREATE (no `user`).

use serde::{Deserialize, Serialize};

use crate::id::RoleId;
use crate::permissions::Permissions;
use crate::serde_util::nullable;
use crate::timestamp::Timestamp;
use crate::user::{AvatarDecorationData, Collectibles, User};

flags! {
    /// Flags on a guild member.
    pub struct GuildMemberFlags: integer {
        /// Left and rejoined the guild.
        const DID_REJOIN = 1 << 0;
        /// Completed onboarding.
        const COMPLETED_ONBOARDING = 1 << 1;
        /// Exempt from the guild's verification requirements.
        const BYPASSES_VERIFICATION = 1 << 2;
        /// Started onboarding.
        const STARTED_ONBOARDING = 1 << 3;
        /// A guest, limited to the voice channel they were invited to.
        const IS_GUEST = 1 << 4;
        /// Started the Server Guide new member actions.
        const STARTED_HOME_ACTIONS = 1 << 5;
        /// Completed the Server Guide new member actions.
        const COMPLETED_HOME_ACTIONS = 1 << 6;
        /// Username, display name or nickname blocked by AutoMod.
        const AUTOMOD_QUARANTINED_USERNAME = 1 << 7;
        /// Dismissed the DM settings upsell.
        const DM_SETTINGS_UPSELL_ACKNOWLEDGED = 1 << 9;
        /// Guild tag blocked by AutoMod.
        const AUTOMOD_QUARANTINED_GUILD_TAG = 1 << 10;
    }
}

/// A member of a guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuildMember {
    /// The user (absent in MESSAGE_CREATE/MESSAGE_UPDATE's `member`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The guild nickname.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub nick: Option<Option<String>>,
    /// The guild avatar hash.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub avatar: Option<Option<String>>,
    /// The guild banner hash.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub banner: Option<Option<String>>,
    /// The member's role ids.
    pub roles: Vec<RoleId>,
    /// When the user joined (null for voice guests).
    pub joined_at: Option<Timestamp>,
    /// When the user started boosting.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub premium_since: Option<Option<Timestamp>>,
    /// Whether the user is deafened in voice channels.
    pub deaf: bool,
    /// Whether the user is muted in voice channels.
    pub mute: bool,
    /// The member's flags.
    pub flags: GuildMemberFlags,
    /// Whether the user has not yet passed membership screening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<bool>,
    /// Total permissions in a channel (interactions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// When the member's timeout ends (null or past when not timed out).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub communication_disabled_until: Option<Option<Timestamp>>,
    /// The member's guild avatar decoration.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub avatar_decoration_data: Option<Option<AvatarDecorationData>>,
    /// The member's collectibles.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub collectibles: Option<Option<Collectibles>>,
}
