//! The channel object (developers/resources/channel.mdx, "Channel Object"): guild channels,
//! DMs, group DMs and threads, with channel types, permission overwrites, thread metadata,
//! thread members and forum tags.

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::id::{
    ApplicationId, ChannelId, EmojiId, GenericId, GuildId, MessageId, UserId, WebhookId,
};
use crate::member::GuildMember;
use crate::permissions::Permissions;
use crate::serde_util::nullable;
use crate::timestamp::Timestamp;
use crate::user::User;

/// The kind of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum ChannelType {
    /// A text channel in a guild.
    GuildText = 0,
    /// A direct message between two users.
    Dm = 1,
    /// A voice channel in a guild.
    GuildVoice = 2,
    /// A direct message between several users.
    GroupDm = 3,
    /// A category holding up to 50 channels.
    GuildCategory = 4,
    /// A channel others can follow (formerly news).
    GuildAnnouncement = 5,
    /// A thread in an announcement channel.
    AnnouncementThread = 10,
    /// A thread in a text or forum channel.
    PublicThread = 11,
    /// An invite-only thread in a text channel.
    PrivateThread = 12,
    /// A stage channel.
    GuildStageVoice = 13,
    /// The channel in a hub listing its servers.
    GuildDirectory = 14,
    /// A channel that holds only threads.
    GuildForum = 15,
    /// Like a forum channel, for media.
    GuildMedia = 16,
}

impl ChannelType {
    /// Whether this is one of the three thread types.
    pub const fn is_thread(self) -> bool {
        matches!(
            self,
            Self::AnnouncementThread | Self::PublicThread | Self::PrivateThread
        )
    }

    /// Whether this is a DM or group DM.
    pub const fn is_private(self) -> bool {
        matches!(self, Self::Dm | Self::GroupDm)
    }

    /// Whether this belongs to a guild.
    pub const fn is_guild(self) -> bool {
        !self.is_private()
    }
}

/// Camera quality in a voice channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum VideoQualityMode {
    /// Discord chooses.
    Auto = 1,
    /// 720p.
    Full = 2,
}

/// How forum posts are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum SortOrderType {
    /// By activity.
    LatestActivity = 0,
    /// By creation time, newest first.
    CreationDate = 1,
}

/// How forum posts are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum ForumLayoutType {
    /// No default set.
    NotSet = 0,
    /// A list.
    ListView = 1,
    /// Tiles.
    GalleryView = 2,
}

flags! {
    /// Flags on a channel.
    pub struct ChannelFlags: integer {
        /// The thread is pinned at the top of its forum or media channel.
        const PINNED = 1 << 1;
        /// Threads in this forum or media channel need a tag.
        const REQUIRE_TAG = 1 << 4;
        /// Media download options are hidden (media channels).
        const HIDE_MEDIA_DOWNLOAD_OPTIONS = 1 << 15;
        /// Members must opt in to view the channel's contents.
        const IS_SPOILER_CHANNEL = 1 << 21;
    }
}

/// A channel of any type. Which optional fields are present depends on the type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// The channel's id.
    pub id: ChannelId,
    /// The channel's type.
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// The guild's id (may be missing inside guild dispatches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// Sorting position (equal positions sort by id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i32>,
    /// Permission overwrites for roles and members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_overwrites: Option<Vec<PermissionOverwrite>>,
    /// The name (1–100 characters).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<Option<String>>,
    /// The topic.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub topic: Option<Option<String>>,
    /// Whether the channel is age-restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsfw: Option<bool>,
    /// The last message's id (may point to a deleted message).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_message_id: Option<Option<MessageId>>,
    /// Voice bitrate in bits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u32>,
    /// Voice user limit (0 = none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_limit: Option<u32>,
    /// Slowmode in seconds (0–21600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_user: Option<u32>,
    /// The recipients of a DM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<User>>,
    /// A group DM's icon hash.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<Option<String>>,
    /// The creator of a group DM or thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// The application that created a group DM.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub application_id: Option<Option<ApplicationId>>,
    /// Whether an application manages this group DM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// The parent category, or a thread's parent channel.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_id: Option<Option<ChannelId>>,
    /// When the last message was pinned.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_pin_timestamp: Option<Option<Timestamp>>,
    /// Voice region id, null for automatic.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub rtc_region: Option<Option<String>>,
    /// Camera quality mode (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_quality_mode: Option<VideoQualityMode>,
    /// Messages in a thread (not counting the first or deleted ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u32>,
    /// Approximate users in a thread (stops at 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u32>,
    /// Thread-only fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_metadata: Option<ThreadMetadata>,
    /// The current user's thread membership, on some endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<ThreadMember>,
    /// Default auto-archive minutes for new threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_auto_archive_duration: Option<u32>,
    /// The invoking user's permissions (interaction `resolved` data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// The bot's permissions (interaction `resolved` data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_permissions: Option<Permissions>,
    /// The channel's flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<ChannelFlags>,
    /// Messages ever sent in a thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_message_sent: Option<u32>,
    /// Tags usable in a forum or media channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_tags: Option<Vec<ForumTag>>,
    /// Tag ids applied to a forum or media thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_tags: Option<Vec<GenericId>>,
    /// The default reaction emoji of a forum or media channel.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_reaction_emoji: Option<Option<DefaultReaction>>,
    /// Initial slowmode of new threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_thread_rate_limit_per_user: Option<u32>,
    /// Default sort order of a forum or media channel.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_sort_order: Option<Option<SortOrderType>>,
    /// Default layout of a forum channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_forum_layout: Option<ForumLayoutType>,
}

impl Channel {
    /// A channel with only `id` and `type`.
    pub fn new(id: ChannelId, kind: ChannelType) -> Self {
        Self {
            id,
            kind,
            guild_id: None,
            position: None,
            permission_overwrites: None,
            name: None,
            topic: None,
            nsfw: None,
            last_message_id: None,
            bitrate: None,
            user_limit: None,
            rate_limit_per_user: None,
            recipients: None,
            icon: None,
            owner_id: None,
            application_id: None,
            managed: None,
            parent_id: None,
            last_pin_timestamp: None,
            rtc_region: None,
            video_quality_mode: None,
            message_count: None,
            member_count: None,
            thread_metadata: None,
            member: None,
            default_auto_archive_duration: None,
            permissions: None,
            app_permissions: None,
            flags: None,
            total_message_sent: None,
            available_tags: None,
            applied_tags: None,
            default_reaction_emoji: None,
            default_thread_rate_limit_per_user: None,
            default_sort_order: None,
            default_forum_layout: None,
        }
    }
}

/// Whom an overwrite applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum OverwriteType {
    /// A role.
    Role = 0,
    /// A member.
    Member = 1,
}

/// A channel permission overwrite for a role or member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionOverwrite {
    /// The role or user id.
    pub id: GenericId,
    /// Whether `id` names a role or a member.
    #[serde(rename = "type")]
    pub kind: OverwriteType,
    /// Permissions granted.
    pub allow: Permissions,
    /// Permissions denied.
    pub deny: Permissions,
}

/// Thread-only channel fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadMetadata {
    /// Whether the thread is archived.
    pub archived: bool,
    /// Minutes of inactivity before archiving: 60, 1440, 4320 or 10080.
    pub auto_archive_duration: u32,
    /// When the archive status last changed.
    pub archive_timestamp: Timestamp,
    /// Whether only MANAGE_THREADS holders may unarchive it.
    pub locked: bool,
    /// Whether non-moderators may add non-moderators (private threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitable: Option<bool>,
    /// When the thread was created.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_timestamp: Option<Option<Timestamp>>,
}

/// A user's membership in a thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadMember {
    /// The thread's id (absent inside GUILD_CREATE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ChannelId>,
    /// The user's id (absent inside GUILD_CREATE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// When the user last joined.
    pub join_timestamp: Timestamp,
    /// User-thread settings (notifications).
    pub flags: u64,
    /// The guild member, with `with_member=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<GuildMember>,
}

/// The default reaction of a forum post; exactly one field is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultReaction {
    /// A custom emoji's id.
    pub emoji_id: Option<EmojiId>,
    /// A Unicode emoji.
    pub emoji_name: Option<String>,
}

/// A tag of a forum or media channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForumTag {
    /// The tag's id.
    pub id: GenericId,
    /// The name (0–20 characters).
    pub name: String,
    /// Whether only MANAGE_THREADS holders may apply it.
    pub moderated: bool,
    /// A custom emoji's id.
    pub emoji_id: Option<EmojiId>,
    /// A Unicode emoji.
    pub emoji_name: Option<String>,
}

/// The result of following an announcement channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowedChannel {
    /// The source channel's id.
    pub channel_id: ChannelId,
    /// The created webhook's id.
    pub webhook_id: WebhookId,
}
