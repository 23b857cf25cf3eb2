//! The message object (developers/resources/message.mdx, "Message Object") with the
//! MESSAGE_CREATE extra fields (developers/events/gateway-events.mdx): message types and flags,
//! references, snapshots, mentions, reactions, activity, call and allowed mentions.
//! Embeds and attachments live in their own modules.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::attachment::Attachment;
use crate::channel::{Channel, ChannelType};
use crate::embed::Embed;
use crate::emoji::Emoji;
use crate::id::{
    ApplicationId, ChannelId, GenericId, GuildId, MessageId, RoleId, UserId, WebhookId,
};
use crate::member::GuildMember;
use crate::serde_util::nullable;
use crate::sticker::{Sticker, StickerItem};
use crate::timestamp::Timestamp;
use crate::user::User;

/// The kind of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum MessageType {
    Default = 0,
    RecipientAdd = 1,
    RecipientRemove = 2,
    Call = 3,
    ChannelNameChange = 4,
    ChannelIconChange = 5,
    ChannelPinnedMessage = 6,
    UserJoin = 7,
    GuildBoost = 8,
    GuildBoostTier1 = 9,
    GuildBoostTier2 = 10,
    GuildBoostTier3 = 11,
    ChannelFollowAdd = 12,
    GuildDiscoveryDisqualified = 14,
    GuildDiscoveryRequalified = 15,
    GuildDiscoveryGracePeriodInitialWarning = 16,
    GuildDiscoveryGracePeriodFinalWarning = 17,
    ThreadCreated = 18,
    Reply = 19,
    ChatInputCommand = 20,
    ThreadStarterMessage = 21,
    GuildInviteReminder = 22,
    ContextMenuCommand = 23,
    AutoModerationAction = 24,
    RoleSubscriptionPurchase = 25,
    InteractionPremiumUpsell = 26,
    StageStart = 27,
    StageEnd = 28,
    StageSpeaker = 29,
    StageTopic = 31,
    GuildApplicationPremiumSubscription = 32,
    GuildIncidentAlertModeEnabled = 36,
    GuildIncidentAlertModeDisabled = 37,
    GuildIncidentReportRaid = 38,
    GuildIncidentReportFalseAlarm = 39,
    PurchaseNotification = 44,
    PollResult = 46,
}

impl MessageType {
    /// The "Deletable" column of Discord's table (AUTO_MODERATION_ACTION needs MANAGE_MESSAGES).
    pub const fn deletable(self) -> bool {
        !matches!(
            self,
            Self::RecipientAdd
                | Self::RecipientRemove
                | Self::Call
                | Self::ChannelNameChange
                | Self::ChannelIconChange
                | Self::ThreadStarterMessage
        )
    }
}

flags! {
    /// Flags on a message.
    pub struct MessageFlags: integer {
        /// Published to following channels.
        const CROSSPOSTED = 1 << 0;
        /// Came from a followed channel.
        const IS_CROSSPOST = 1 << 1;
        /// Embeds are not shown.
        const SUPPRESS_EMBEDS = 1 << 2;
        /// The crossposted source was deleted.
        const SOURCE_MESSAGE_DELETED = 1 << 3;
        /// From the urgent message system.
        const URGENT = 1 << 4;
        /// Has a thread with the message's id.
        const HAS_THREAD = 1 << 5;
        /// Only visible to the interaction's user.
        const EPHEMERAL = 1 << 6;
        /// An interaction response that is "thinking".
        const LOADING = 1 << 7;
        /// Some roles could not be mentioned and added to the thread.
        const FAILED_TO_MENTION_SOME_ROLES_IN_THREAD = 1 << 8;
        /// Does not trigger push or desktop notifications.
        const SUPPRESS_NOTIFICATIONS = 1 << 12;
        /// A voice message.
        const IS_VOICE_MESSAGE = 1 << 13;
        /// Has a snapshot (a forward).
        const HAS_SNAPSHOT = 1 << 14;
        /// Fully component-driven; cannot be removed once set.
        const IS_COMPONENTS_V2 = 1 << 15;
    }
}

/// `nonce`: an integer or a string, written back as it came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Nonce {
    /// An integer nonce.
    Integer(i64),
    /// A string nonce.
    String(String),
}

impl Serialize for Nonce {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Nonce::Integer(n) => s.serialize_i64(*n),
            Nonce::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for Nonce {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NonceVisitor;
        impl Visitor<'_> for NonceVisitor {
            type Value = Nonce;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Nonce, E> {
                Ok(Nonce::Integer(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Nonce, E> {
                i64::try_from(v)
                    .map(Nonce::Integer)
                    .map_err(|_| E::custom("nonce out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Nonce, E> {
                Ok(Nonce::String(v.to_owned()))
            }
        }
        d.deserialize_any(NonceVisitor)
    }
}

/// A message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The message's id.
    pub id: MessageId,
    /// The channel's id.
    pub channel_id: ChannelId,
    /// The author (for webhook messages: the webhook's id, username and avatar).
    pub author: User,
    /// The text.
    pub content: String,
    /// When the message was sent.
    pub timestamp: Timestamp,
    /// When it was last edited (null if never).
    pub edited_timestamp: Option<Timestamp>,
    /// Whether it is a TTS message.
    pub tts: bool,
    /// Whether it mentions everyone.
    pub mention_everyone: bool,
    /// Mentioned users; in MESSAGE_CREATE each may carry a partial `member`.
    pub mentions: Vec<Mention>,
    /// Mentioned role ids.
    pub mention_roles: Vec<RoleId>,
    /// Mentioned channels (crossposts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_channels: Option<Vec<ChannelMention>>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// Embedded content.
    pub embeds: Vec<Embed>,
    /// Reactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Vec<Reaction>>,
    /// The sender's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Nonce>,
    /// Whether it is pinned.
    pub pinned: bool,
    /// The webhook that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<WebhookId>,
    /// The message type.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// Rich Presence activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<MessageActivity>,
    /// Rich Presence application (a partial application, kept as raw JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<serde_json::Value>,
    /// The application, for interaction and application-owned webhook messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<ApplicationId>,
    /// Message flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<MessageFlags>,
    /// Source of a crosspost, channel follow add, pin, reply or forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    /// The forwarded message(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_snapshots: Option<Vec<MessageSnapshot>>,
    /// The message replied to; null when it was deleted.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub referenced_message: Option<Option<Box<Message>>>,
    /// Interaction metadata, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_metadata: Option<serde_json::Value>,
    /// Deprecated interaction object, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<serde_json::Value>,
    /// The thread started from this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Box<Channel>>,
    /// Message components, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<serde_json::Value>>,
    /// Stickers sent with the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker_items: Option<Vec<StickerItem>>,
    /// Deprecated full stickers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickers: Option<Vec<Sticker>>,
    /// Approximate position in a thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// Data of a ROLE_SUBSCRIPTION_PURCHASE message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_subscription_data: Option<RoleSubscriptionData>,
    /// Resolved users, members, channels and roles, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<serde_json::Value>,
    /// A poll, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<serde_json::Value>,
    /// The call in a private channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<MessageCall>,
    /// A shared client theme, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_client_theme: Option<serde_json::Value>,
    /// MESSAGE_CREATE/UPDATE: the guild's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// MESSAGE_CREATE/UPDATE: the author's partial member (no `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<GuildMember>,
    /// MESSAGE_CREATE/UPDATE: the channel's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_type: Option<ChannelType>,
}

/// A mentioned user, with the partial member MESSAGE_CREATE adds in guilds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    /// The user's fields.
    #[serde(flatten)]
    pub user: User,
    /// The partial member (no `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<GuildMember>,
}

impl From<User> for Mention {
    fn from(user: User) -> Self {
        Self { user, member: None }
    }
}

/// A channel mentioned in a crossposted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelMention {
    /// The channel's id.
    pub id: ChannelId,
    /// The guild's id.
    pub guild_id: GuildId,
    /// The channel's type.
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// The channel's name.
    pub name: String,
}

/// How a message reference is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum MessageReferenceType {
    /// A reply (or crosspost, pin, ...); `referenced_message` is filled.
    #[default]
    Default = 0,
    /// A forward; `message_snapshots` is filled.
    Forward = 1,
}

/// Points at another message. Ids accept JSON integers (discord.py sends them so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageReference {
    /// The reference's type (absent means DEFAULT).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MessageReferenceType>,
    /// The referenced message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// Its channel (optional when creating a reply, always present when received).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    /// Its guild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// When sending: fail if the message does not exist (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_if_not_exists: Option<bool>,
}

/// A forwarded message's frozen copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSnapshot {
    /// The subset of the message's fields.
    pub message: SnapshotMessage,
}

/// The fields a message snapshot keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMessage {
    /// The message type.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The text.
    pub content: String,
    /// Embeds.
    pub embeds: Vec<Embed>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// When it was edited.
    pub edited_timestamp: Option<Timestamp>,
    /// Flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<MessageFlags>,
    /// Mentioned users.
    pub mentions: Vec<User>,
    /// Mentioned roles.
    pub mention_roles: Vec<RoleId>,
    /// Deprecated stickers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickers: Option<Vec<Sticker>>,
    /// Sticker items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker_items: Option<Vec<StickerItem>>,
    /// Components, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<serde_json::Value>>,
}

/// A reaction on a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reaction {
    /// Total uses of this emoji, super reactions included.
    pub count: u32,
    /// Normal and super reaction counts.
    pub count_details: ReactionCountDetails,
    /// Whether the current user reacted.
    pub me: bool,
    /// Whether the current user super-reacted.
    pub me_burst: bool,
    /// The emoji (partial).
    pub emoji: Emoji,
    /// Hex colors of super reactions.
    pub burst_colors: Vec<String>,
}

/// The split of a reaction's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReactionCountDetails {
    /// Super reactions.
    pub burst: u32,
    /// Normal reactions.
    pub normal: u32,
}

/// The kind of a Rich Presence message activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum MessageActivityType {
    Join = 1,
    Spectate = 2,
    Listen = 3,
    JoinRequest = 5,
    StreamRequest = 6,
}

/// Rich Presence data on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageActivity {
    /// The activity's type.
    #[serde(rename = "type")]
    pub kind: MessageActivityType,
    /// The party id from Rich Presence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
}

/// A call in a private channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCall {
    /// Users who took part.
    pub participants: Vec<UserId>,
    /// When the call ended.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended_timestamp: Option<Option<Timestamp>>,
}

/// Data of a role subscription purchase message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSubscriptionData {
    /// The SKU and listing id.
    pub role_subscription_listing_id: GenericId,
    /// The tier's name.
    pub tier_name: String,
    /// Months subscribed in total.
    pub total_months_subscribed: u32,
    /// Whether this is a renewal.
    pub is_renewal: bool,
}

/// A mention type to parse from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllowedMentionType {
    /// Role mentions.
    Roles,
    /// User mentions.
    Users,
    /// `@everyone` and `@here`.
    Everyone,
}

/// Which mentions in a message may notify (request bodies).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllowedMentions {
    /// Mention types to parse from the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse: Option<Vec<AllowedMentionType>>,
    /// Roles that may be mentioned (up to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<RoleId>>,
    /// Users that may be mentioned (up to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<UserId>>,
    /// For replies, whether the replied-to author is mentioned (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_user: Option<bool>,
}
