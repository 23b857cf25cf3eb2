//! The webhook object (developers/resources/webhook.mdx) with its types and the partial source
//! guild and channel of channel follower webhooks.

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::id::{ApplicationId, ChannelId, GuildId, WebhookId};
use crate::serde_util::nullable;
use crate::user::User;

/// The kind of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum WebhookType {
    /// Posts messages with a token.
    Incoming = 1,
    /// Posts a followed announcement channel's messages.
    ChannelFollower = 2,
    /// Used with interactions.
    Application = 3,
}

/// A webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// The webhook's id.
    pub id: WebhookId,
    /// The webhook's type.
    #[serde(rename = "type")]
    pub kind: WebhookType,
    /// The guild it is for.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub guild_id: Option<Option<GuildId>>,
    /// The channel it is for.
    pub channel_id: Option<ChannelId>,
    /// Who created it (not returned when fetched with its token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The default name.
    pub name: Option<String>,
    /// The default avatar hash.
    pub avatar: Option<String>,
    /// The secure token (incoming webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The application that created it.
    pub application_id: Option<ApplicationId>,
    /// The followed channel's guild (channel follower webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_guild: Option<WebhookSourceGuild>,
    /// The followed channel (channel follower webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_channel: Option<WebhookSourceChannel>,
    /// The URL to execute it (OAuth2 webhook flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The partial guild a channel follower webhook follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSourceGuild {
    /// The guild's id.
    pub id: GuildId,
    /// The name.
    pub name: String,
    /// The icon hash.
    pub icon: Option<String>,
}

/// The partial channel a channel follower webhook follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSourceChannel {
    /// The channel's id.
    pub id: ChannelId,
    /// The name.
    pub name: String,
}
