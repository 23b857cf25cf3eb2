//! The invite object (developers/resources/invite.mdx) with its types, target types, flags and
//! the invite metadata fields, plus the partial guild, channel and role it embeds.

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::channel::ChannelType;
use crate::guild::{NsfwLevel, VerificationLevel, WelcomeScreen};
use crate::id::{ChannelId, GuildId, RoleId};
use crate::role::RoleColors;
use crate::serde_util::nullable;
use crate::timestamp::Timestamp;
use crate::user::User;

/// What an invite leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum InviteType {
    /// A guild.
    Guild = 0,
    /// A group DM.
    GroupDm = 1,
    /// A friend request.
    Friend = 2,
}

/// What a voice channel invite shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum InviteTargetType {
    /// A user's stream.
    Stream = 1,
    /// An embedded application.
    EmbeddedApplication = 2,
}

flags! {
    /// Flags on a guild invite.
    pub struct InviteFlags: integer {
        /// A guest invite for a voice channel.
        const IS_GUEST_INVITE = 1 << 0;
    }
}

/// An invite code. The metadata fields (`uses`, `max_uses`, `max_age`, `temporary`,
/// `created_at`) are present where Discord returns the invite with metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    /// The invite's type.
    #[serde(rename = "type")]
    pub kind: InviteType,
    /// The code.
    pub code: String,
    /// The guild (partial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild: Option<InviteGuild>,
    /// The channel (partial; always written, may be null).
    pub channel: Option<InviteChannel>,
    /// Who created the invite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<User>,
    /// What a voice channel invite shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<InviteTargetType>,
    /// Whose stream a stream invite shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user: Option<User>,
    /// The embedded application (partial application, kept as raw JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_application: Option<serde_json::Value>,
    /// Approximate online members (`with_counts=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_presence_count: Option<u32>,
    /// Approximate members (`with_counts=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_member_count: Option<u32>,
    /// When the invite expires (always written, null for never).
    pub expires_at: Option<Timestamp>,
    /// The scheduled event, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_scheduled_event: Option<serde_json::Value>,
    /// Guild invite flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<InviteFlags>,
    /// Roles given on accepting (partial roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<InviteRole>>,
    /// Metadata: times used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<u32>,
    /// Metadata: maximum uses (0 = unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// Metadata: lifetime in seconds (0 = never expires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
    /// Metadata: whether membership is temporary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary: Option<bool>,
    /// Metadata: when the invite was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
}

/// The partial guild in an invite (the fields of the docs' example invite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteGuild {
    /// The guild's id.
    pub id: GuildId,
    /// The name.
    pub name: String,
    /// The splash hash.
    pub splash: Option<String>,
    /// The banner hash.
    pub banner: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The icon hash.
    pub icon: Option<String>,
    /// Enabled features.
    pub features: Vec<String>,
    /// The verification level.
    pub verification_level: VerificationLevel,
    /// The vanity code.
    pub vanity_url_code: Option<String>,
    /// The age-restriction level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsfw_level: Option<NsfwLevel>,
    /// The number of boosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_subscription_count: Option<u32>,
    /// The welcome screen of a Community guild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_screen: Option<WelcomeScreen>,
}

/// The partial channel in an invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteChannel {
    /// The channel's id.
    pub id: ChannelId,
    /// The name.
    pub name: Option<String>,
    /// The channel's type.
    #[serde(rename = "type")]
    pub kind: ChannelType,
}

/// The partial role in an invite: `id, name, position, color, colors, icon, unicode_emoji`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRole {
    /// The role's id.
    pub id: RoleId,
    /// The name.
    pub name: String,
    /// The position.
    pub position: i32,
    /// Deprecated integer color.
    pub color: u32,
    /// The colors.
    pub colors: RoleColors,
    /// The icon hash.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<Option<String>>,
    /// The Unicode emoji.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub unicode_emoji: Option<Option<String>>,
}
