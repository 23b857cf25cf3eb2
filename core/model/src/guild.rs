//! The guild object (developers/resources/guild.mdx, "Guild Object") with its level enums and
//! system channel flags, the unavailable guild, the welcome screen and incidents data.

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::emoji::Emoji;
use crate::id::{ApplicationId, ChannelId, EmojiId, GuildId, UserId};
use crate::permissions::Permissions;
use crate::role::Role;
use crate::serde_util::nullable;
use crate::sticker::Sticker;
use crate::timestamp::Timestamp;

/// Whose messages notify members by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum DefaultMessageNotificationLevel {
    /// Every message.
    #[default]
    AllMessages = 0,
    /// Only messages that mention the member.
    OnlyMentions = 1,
}

/// Whose media is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum ExplicitContentFilterLevel {
    /// Nobody's.
    #[default]
    Disabled = 0,
    /// Members without roles.
    MembersWithoutRoles = 1,
    /// Every member.
    AllMembers = 2,
}

/// Whether moderation actions need two-factor authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum MfaLevel {
    /// No requirement.
    #[default]
    None = 0,
    /// 2FA required for moderation actions.
    Elevated = 1,
}

/// What a member needs before taking part.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize_repr,
    Deserialize_repr,
)]
#[repr(u8)]
pub enum VerificationLevel {
    /// Unrestricted.
    #[default]
    None = 0,
    /// A verified email.
    Low = 1,
    /// Registered for more than 5 minutes.
    Medium = 2,
    /// A member for more than 10 minutes.
    High = 3,
    /// A verified phone number.
    VeryHigh = 4,
}

/// The guild's age-restriction level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum NsfwLevel {
    /// Default.
    #[default]
    Default = 0,
    /// Explicit.
    Explicit = 1,
    /// Safe.
    Safe = 2,
    /// Age-restricted.
    AgeRestricted = 3,
}

/// The Server Boost level.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize_repr,
    Deserialize_repr,
)]
#[repr(u8)]
pub enum PremiumTier {
    /// No perks.
    #[default]
    None = 0,
    /// Level 1.
    Tier1 = 1,
    /// Level 2.
    Tier2 = 2,
    /// Level 3.
    Tier3 = 3,
}

flags! {
    /// Which notices the system channel suppresses.
    pub struct SystemChannelFlags: integer {
        /// Member join notifications.
        const SUPPRESS_JOIN_NOTIFICATIONS = 1 << 0;
        /// Server boost notifications.
        const SUPPRESS_PREMIUM_SUBSCRIPTIONS = 1 << 1;
        /// Server setup tips.
        const SUPPRESS_GUILD_REMINDER_NOTIFICATIONS = 1 << 2;
        /// Sticker reply buttons on join notifications.
        const SUPPRESS_JOIN_NOTIFICATION_REPLIES = 1 << 3;
        /// Role subscription purchase and renewal notifications.
        const SUPPRESS_ROLE_SUBSCRIPTION_PURCHASE_NOTIFICATIONS = 1 << 4;
        /// Sticker reply buttons on role subscription notifications.
        const SUPPRESS_ROLE_SUBSCRIPTION_PURCHASE_NOTIFICATION_REPLIES = 1 << 5;
    }
}

/// A guild. The GUILD_CREATE-only fields (`members`, `channels`, ...) are not part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guild {
    /// The guild's id.
    pub id: GuildId,
    /// The name (2–100 characters).
    pub name: String,
    /// The icon hash.
    pub icon: Option<String>,
    /// The icon hash, in template objects.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon_hash: Option<Option<String>>,
    /// The splash hash.
    pub splash: Option<String>,
    /// The discovery splash hash.
    pub discovery_splash: Option<String>,
    /// Whether the current user owns the guild (GET /users/@me/guilds only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<bool>,
    /// The owner's id.
    pub owner_id: UserId,
    /// The current user's permissions, without overwrites (GET /users/@me/guilds only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// Deprecated voice region id.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub region: Option<Option<String>>,
    /// The AFK channel's id.
    pub afk_channel_id: Option<ChannelId>,
    /// AFK timeout in seconds.
    pub afk_timeout: u32,
    /// Whether the widget is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widget_enabled: Option<bool>,
    /// The channel the widget invites to.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub widget_channel_id: Option<Option<ChannelId>>,
    /// The verification level.
    pub verification_level: VerificationLevel,
    /// The default notification level.
    pub default_message_notifications: DefaultMessageNotificationLevel,
    /// The explicit content filter level.
    pub explicit_content_filter: ExplicitContentFilterLevel,
    /// The guild's roles.
    pub roles: Vec<Role>,
    /// The guild's custom emojis.
    pub emojis: Vec<Emoji>,
    /// Enabled guild features (`COMMUNITY`, `NEWS`, ...); open-ended, so plain strings.
    pub features: Vec<String>,
    /// The MFA level.
    pub mfa_level: MfaLevel,
    /// The creating application, for bot-created guilds.
    pub application_id: Option<ApplicationId>,
    /// The system channel's id.
    pub system_channel_id: Option<ChannelId>,
    /// The system channel's flags.
    pub system_channel_flags: SystemChannelFlags,
    /// The rules channel's id.
    pub rules_channel_id: Option<ChannelId>,
    /// The maximum number of presences.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_presences: Option<Option<u32>>,
    /// The maximum number of members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_members: Option<u32>,
    /// The vanity invite code.
    pub vanity_url_code: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The banner hash.
    pub banner: Option<String>,
    /// The boost level.
    pub premium_tier: PremiumTier,
    /// The number of boosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_subscription_count: Option<u32>,
    /// The preferred locale (default `en-US`).
    pub preferred_locale: String,
    /// The channel where moderators get notices from Discord.
    pub public_updates_channel_id: Option<ChannelId>,
    /// Maximum users in a video channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_video_channel_users: Option<u32>,
    /// Maximum users in a stage video channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stage_video_channel_users: Option<u32>,
    /// Approximate member count (`with_counts=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_member_count: Option<u32>,
    /// Approximate online member count (`with_counts=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_presence_count: Option<u32>,
    /// The welcome screen of a Community guild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_screen: Option<WelcomeScreen>,
    /// The age-restriction level.
    pub nsfw_level: NsfwLevel,
    /// The guild's custom stickers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickers: Option<Vec<Sticker>>,
    /// Whether the boost progress bar is shown.
    pub premium_progress_bar_enabled: bool,
    /// The channel where moderators get safety alerts.
    pub safety_alerts_channel_id: Option<ChannelId>,
    /// Incidents data.
    pub incidents_data: Option<IncidentsData>,
}

/// A guild that is not (yet) available: READY's `guilds`, GUILD_DELETE during outages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnavailableGuild {
    /// The guild's id.
    pub id: GuildId,
    /// Always true in READY.
    pub unavailable: bool,
}

/// The welcome screen of a Community guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeScreen {
    /// The description shown.
    pub description: Option<String>,
    /// Up to 5 channels shown.
    pub welcome_channels: Vec<WelcomeScreenChannel>,
}

/// A channel on the welcome screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeScreenChannel {
    /// The channel's id.
    pub channel_id: ChannelId,
    /// The description shown.
    pub description: String,
    /// The custom emoji's id.
    pub emoji_id: Option<EmojiId>,
    /// The emoji's name or character, null when none.
    pub emoji_name: Option<String>,
}

/// A guild's incident actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentsData {
    /// When invites get enabled again.
    pub invites_disabled_until: Option<Timestamp>,
    /// When direct messages get enabled again.
    pub dms_disabled_until: Option<Timestamp>,
    /// When DM spam was detected.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub dm_spam_detected_at: Option<Option<Timestamp>>,
    /// When a raid was detected.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub raid_detected_at: Option<Option<Timestamp>>,
}
