//! Accord's wire model: typed snowflake ids, the payload objects of Discord's REST API and
//! gateway with Discord's field names and types, opcodes, close codes, intents, permission bits,
//! instance rights and the JSON error body. No I/O lives here; every crate builds on it.
//!
//! Conventions of the object modules: Rust fields carry Discord's names (`type` is `kind`);
//! `field?` in Discord's tables is `Option<T>` left out when `None`; `field: ?type` is
//! `Option<T>` written as null (a missing key is read as null); `field?: ?type` is
//! `Option<Option<T>>` (see [`serde_util`]).
//! Timestamps are [`Timestamp`], strings checked as RFC 3339. Objects Accord does not model yet
//! (components, polls, interaction data) are kept as raw [`serde_json::Value`].

#[macro_use]
mod macros;

pub mod application;
pub mod attachment;
pub mod audit_log;
pub mod ban;
pub mod channel;
pub mod command;
pub mod embed;
pub mod emoji;
pub mod error;
pub mod gateway;
pub mod gateway_events;
pub mod guild;
pub mod id;
pub mod intents;
pub mod interaction;
pub mod invite;
pub mod member;
pub mod message;
pub mod permission_calc;
pub mod permissions;
pub mod rights;
pub mod role;
pub mod serde_util;
pub mod sticker;
pub mod timestamp;
pub mod user;
pub mod webhook;

pub use application::{
    Application, ApplicationEventWebhookStatus, ApplicationFlags, ApplicationIntegrationType,
    InstallParams, IntegrationTypeConfig, MembershipState, Team, TeamMember,
};
pub use attachment::{Attachment, AttachmentFlags};
pub use ban::Ban;
pub use channel::{
    Channel, ChannelFlags, ChannelType, DefaultReaction, FollowedChannel, ForumLayoutType,
    ForumTag, OverwriteType, PermissionOverwrite, SortOrderType, ThreadMember, ThreadMetadata,
    VideoQualityMode,
};
pub use command::{
    ApplicationCommand, ChoiceValue, CommandOption, CommandOptionChoice, CommandOptionType,
    CommandPermission, CommandPermissionType, CommandType, GuildCommandPermissions,
    InteractionContextType, Localizations,
};
pub use embed::{
    Embed, EmbedAuthor, EmbedField, EmbedFlags, EmbedFooter, EmbedImage, EmbedMediaFlags,
    EmbedProvider, EmbedVideo,
};
pub use emoji::Emoji;
pub use error::{ErrorBody, ErrorTree, FieldError};
pub use gateway::{CloseCode, GatewayPayload, Hello, OpCode};
pub use gateway_events::{Identify, IdentifyProperties, Ready, ReadyApplication, Resume};
pub use guild::{
    DefaultMessageNotificationLevel, ExplicitContentFilterLevel, Guild, IncidentsData, MfaLevel,
    NsfwLevel, PremiumTier, SystemChannelFlags, UnavailableGuild, VerificationLevel, WelcomeScreen,
    WelcomeScreenChannel,
};
pub use id::*;
pub use intents::Intents;
pub use interaction::{
    CallbackType, CommandData, CommandDataOption, Interaction, InteractionMetadata,
    InteractionStatus, InteractionType, MessageInteraction,
};
pub use invite::{
    Invite, InviteChannel, InviteFlags, InviteGuild, InviteRole, InviteTargetType, InviteType,
};
pub use member::{GuildMember, GuildMemberFlags};
pub use message::{
    AllowedMentionType, AllowedMentions, ChannelMention, Mention, Message, MessageActivity,
    MessageActivityType, MessageCall, MessageFlags, MessageReference, MessageReferenceType,
    MessageSnapshot, MessageType, Nonce, Reaction, ReactionCountDetails, RoleSubscriptionData,
    SnapshotMessage,
};
pub use permission_calc::{Hierarchy, MemberPermissionContext, Overwrite};
pub use permissions::Permissions;
pub use rights::Rights;
pub use role::{Role, RoleColors, RoleFlags, RoleTags};
pub use sticker::{Sticker, StickerFormatType, StickerItem, StickerType};
pub use timestamp::{ParseTimestampError, Timestamp};
pub use user::{
    AvatarDecorationData, Collectibles, Nameplate, PremiumType, User, UserFlags, UserPrimaryGuild,
};
pub use webhook::{Webhook, WebhookSourceChannel, WebhookSourceGuild, WebhookType};
