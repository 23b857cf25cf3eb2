//! The channel row and the values that create, change, arrange and delete channels (the
//! queries are in `channels`).

use accord_model::{ChannelId, GuildId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use crate::overwrites::NewOverwrite;

/// A channel row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ChannelRecord {
    /// Snowflake.
    pub id: i64,
    /// Channel type (Discord's numbering).
    #[sqlx(rename = "type")]
    pub kind: i32,
    /// Guild (None for DMs and group DMs).
    pub guild_id: Option<i64>,
    /// Sorting position.
    pub position: i32,
    /// Name (None for DMs).
    pub name: Option<String>,
    /// Topic.
    pub topic: Option<String>,
    /// Age-restricted.
    pub nsfw: bool,
    /// Newest message, if any.
    pub last_message_id: Option<i64>,
    /// Voice bitrate.
    pub bitrate: Option<i32>,
    /// Voice user limit.
    pub user_limit: Option<i32>,
    /// Slow mode in seconds.
    pub rate_limit_per_user: i32,
    /// Group DM icon hash.
    pub icon: Option<String>,
    /// Group DM owner (or thread creator).
    pub owner_id: Option<i64>,
    /// Application that created the group DM.
    pub application_id: Option<i64>,
    /// Category (or parent channel of a thread).
    pub parent_id: Option<i64>,
    /// When the newest pin was made.
    pub last_pin_timestamp: Option<DateTime<Utc>>,
    /// Voice region override.
    pub rtc_region: Option<String>,
    /// Voice video quality mode.
    pub video_quality_mode: Option<i32>,
    /// Default thread auto-archive duration in minutes.
    pub default_auto_archive_duration: Option<i32>,
    /// Channel flags.
    pub flags: i64,
    /// `"<low user id>:<high user id>"` for DMs, None otherwise.
    pub dm_key: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Threads: archived.
    pub archived: bool,
    /// Threads: minutes of inactivity before archiving.
    pub auto_archive_duration: Option<i32>,
    /// Threads: when the archive status last changed (creation, archive, unarchive, duration).
    pub archive_timestamp: Option<DateTime<Utc>>,
    /// Threads: only MANAGE_THREADS holders may unarchive.
    pub locked: bool,
    /// Private threads: whether non-moderators may add non-moderators.
    pub invitable: Option<bool>,
    /// Threads: messages now in the thread.
    pub message_count: i32,
    /// Threads: messages ever sent.
    pub total_message_sent: i32,
    /// Threads: members.
    pub member_count: i32,
    /// Threads: the webhook that started a forum post (then `owner_id` is empty).
    pub owner_webhook_id: Option<i64>,
    /// Forum and media channels: the tags their posts may carry.
    pub available_tags: Json<Vec<ForumTagRecord>>,
    /// Threads of a forum or media channel: the ids of the parent's tags applied to it.
    pub applied_tags: Json<Vec<i64>>,
    /// Forum and media channels: the default reaction's custom emoji.
    pub default_reaction_emoji_id: Option<i64>,
    /// Forum and media channels: the default reaction's Unicode emoji.
    pub default_reaction_emoji_name: Option<String>,
    /// Text, forum and media channels: the slow mode new threads start with.
    pub default_thread_rate_limit_per_user: Option<i32>,
    /// Forum and media channels: the default sort order of posts (None: not set).
    pub default_sort_order: Option<i32>,
    /// Forum channels: the default layout of posts (None: not set, 0).
    pub default_forum_layout: Option<i32>,
}

/// A tag of a forum or media channel, one element of `available_tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForumTagRecord {
    /// Snowflake, assigned by the server.
    pub id: i64,
    /// Name (0–20 characters).
    pub name: String,
    /// Only MANAGE_THREADS holders may add it to or remove it from a post.
    pub moderated: bool,
    /// A custom emoji of the guild.
    pub emoji_id: Option<i64>,
    /// A Unicode emoji.
    pub emoji_name: Option<String>,
}

impl ChannelRecord {
    /// Whether this is a thread (types 10, 11, 12).
    pub fn is_thread(&self) -> bool {
        matches!(self.kind, 10..=12)
    }

    /// The typed id.
    pub fn channel_id(&self) -> ChannelId {
        ChannelId::from_i64(self.id)
    }

    /// The typed guild id, for guild channels.
    pub fn guild(&self) -> Option<GuildId> {
        self.guild_id.map(GuildId::from_i64)
    }
}

/// What creating a guild channel writes.
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// Snowflake.
    pub id: ChannelId,
    /// Channel type.
    pub kind: i32,
    /// Name.
    pub name: String,
    /// Topic.
    pub topic: Option<String>,
    /// Sorting position.
    pub position: i32,
    /// Age-restricted.
    pub nsfw: bool,
    /// Category.
    pub parent_id: Option<ChannelId>,
    /// Voice bitrate.
    pub bitrate: Option<i32>,
    /// Voice user limit.
    pub user_limit: Option<i32>,
    /// Slow mode in seconds.
    pub rate_limit_per_user: i32,
    /// Voice region override.
    pub rtc_region: Option<String>,
    /// Voice video quality mode.
    pub video_quality_mode: Option<i32>,
    /// Default thread auto-archive duration in minutes.
    pub default_auto_archive_duration: Option<i32>,
    /// Channel flags.
    pub flags: i64,
    /// Forum and media channels: their tags.
    pub available_tags: Vec<ForumTagRecord>,
    /// Forum and media channels: the default reaction (custom emoji id, Unicode emoji).
    pub default_reaction: (Option<i64>, Option<String>),
    /// The slow mode new threads start with.
    pub default_thread_rate_limit_per_user: Option<i32>,
    /// Default sort order of posts.
    pub default_sort_order: Option<i32>,
    /// Default layout of posts.
    pub default_forum_layout: Option<i32>,
    /// Permission overwrites written with the channel.
    pub overwrites: Vec<NewOverwrite>,
}

impl NewChannel {
    /// A channel of `kind` named `name` with every other field at its default.
    pub fn new(id: ChannelId, kind: i32, name: impl Into<String>) -> Self {
        Self {
            id,
            kind,
            name: name.into(),
            topic: None,
            position: 0,
            nsfw: false,
            parent_id: None,
            bitrate: None,
            user_limit: None,
            rate_limit_per_user: 0,
            rtc_region: None,
            video_quality_mode: None,
            default_auto_archive_duration: None,
            flags: 0,
            available_tags: Vec::new(),
            default_reaction: (None, None),
            default_thread_rate_limit_per_user: None,
            default_sort_order: None,
            default_forum_layout: None,
            overwrites: Vec::new(),
        }
    }
}

/// A partial update; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    /// Type (text ↔ announcement conversion).
    pub kind: Option<i32>,
    /// Name.
    pub name: Option<Option<String>>,
    /// Topic.
    pub topic: Option<Option<String>>,
    /// Sorting position.
    pub position: Option<i32>,
    /// Age-restricted.
    pub nsfw: Option<bool>,
    /// Category.
    pub parent_id: Option<Option<ChannelId>>,
    /// Voice bitrate.
    pub bitrate: Option<Option<i32>>,
    /// Voice user limit.
    pub user_limit: Option<Option<i32>>,
    /// Slow mode in seconds.
    pub rate_limit_per_user: Option<i32>,
    /// Group DM icon.
    pub icon: Option<Option<String>>,
    /// Group DM owner.
    pub owner_id: Option<UserId>,
    /// Voice region override.
    pub rtc_region: Option<Option<String>>,
    /// Voice video quality mode.
    pub video_quality_mode: Option<Option<i32>>,
    /// Default thread auto-archive duration.
    pub default_auto_archive_duration: Option<Option<i32>>,
    /// Channel flags.
    pub flags: Option<i64>,
    /// Forum and media channels: every tag (replacing the current ones).
    pub available_tags: Option<Vec<ForumTagRecord>>,
    /// Forum and media channels: the default reaction (custom emoji id, Unicode emoji);
    /// `Some((None, None))` clears it.
    pub default_reaction: Option<(Option<i64>, Option<String>)>,
    /// The slow mode new threads start with.
    pub default_thread_rate_limit_per_user: Option<Option<i32>>,
    /// Default sort order of posts.
    pub default_sort_order: Option<Option<i32>>,
    /// Default layout of posts.
    pub default_forum_layout: Option<Option<i32>>,
}

/// One entry of a guild's channel arrangement: a new position, parent or set of overwrites.
#[derive(Debug, Clone)]
pub struct ChannelMove {
    /// The channel.
    pub id: ChannelId,
    /// New position.
    pub position: Option<i32>,
    /// New category (`Some(None)` leaves any category).
    pub parent_id: Option<Option<ChannelId>>,
    /// Overwrites replacing the channel's own (permissions synced with a new category).
    pub overwrites: Option<Vec<NewOverwrite>>,
}

/// What deleting a guild channel changed besides the channel itself.
#[derive(Debug, Clone)]
pub struct DeletedChannel {
    /// Channels of the deleted category, now without a parent.
    pub orphans: Vec<ChannelRecord>,
    /// Whether one of the guild's channel references (AFK, system, rules, public updates) named
    /// the channel and was cleared.
    pub guild_changed: bool,
}
