//! The application object (developers/resources/application.mdx) with its flags, install
//! params and integration type configuration, and the team object
//! (developers/topics/teams.mdx) it may carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::id::{ApplicationId, GenericId, GuildId, UserId};
use crate::permissions::Permissions;
use crate::serde_util::nullable;
use crate::user::User;

flags! {
    /// An application's public flags (`flags`; `flags_new` carries the same bits as a string).
    pub struct ApplicationFlags: integer {
        /// The app uses the Auto Moderation API.
        const APPLICATION_AUTO_MODERATION_RULE_CREATE_BADGE = 1 << 6;
        /// Presence intent, for bots in 100 or more servers.
        const GATEWAY_PRESENCE = 1 << 12;
        /// Presence intent, for bots in under 100 servers.
        const GATEWAY_PRESENCE_LIMITED = 1 << 13;
        /// Guild members intent, for bots in 100 or more servers.
        const GATEWAY_GUILD_MEMBERS = 1 << 14;
        /// Guild members intent, for bots in under 100 servers.
        const GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15;
        /// Unusual growth prevents verification.
        const VERIFICATION_PENDING_GUILD_LIMIT = 1 << 16;
        /// The app is embedded in the client.
        const EMBEDDED = 1 << 17;
        /// Message content intent, for bots in 100 or more servers.
        const GATEWAY_MESSAGE_CONTENT = 1 << 18;
        /// Message content intent, for bots in under 100 servers.
        const GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19;
        /// The app has global application commands.
        const APPLICATION_COMMAND_BADGE = 1 << 23;
    }
}

/// Where an app can be installed (keys of `integration_types_config`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize_repr, Deserialize_repr,
)]
#[repr(u8)]
pub enum ApplicationIntegrationType {
    /// Installable to servers.
    GuildInstall = 0,
    /// Installable to users.
    UserInstall = 1,
}

/// Whether webhook events are enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum ApplicationEventWebhookStatus {
    /// Disabled by the developer (the default).
    Disabled = 1,
    /// Enabled by the developer.
    Enabled = 2,
    /// Disabled by Discord, usually for inactivity.
    DisabledByDiscord = 3,
}

/// An application (app), as GET /oauth2/applications/@me and /applications/@me return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// The app's id.
    pub id: ApplicationId,
    /// The app's name.
    pub name: String,
    /// The icon hash.
    pub icon: Option<String>,
    /// The description.
    pub description: String,
    /// RPC origin URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_origins: Option<Vec<String>>,
    /// When false, only the owner can add the app to guilds.
    pub bot_public: bool,
    /// When true, the bot joins only after the full OAuth2 code grant.
    pub bot_require_code_grant: bool,
    /// The app's bot user (partial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<User>,
    /// Terms of Service URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service_url: Option<String>,
    /// Privacy Policy URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_policy_url: Option<String>,
    /// The owner (partial user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<User>,
    /// Deprecated; an empty string in every API version since Discord emptied it, to be removed
    /// in v11 (developers/change-log.mdx). Not in the structure table any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Hex-encoded key for interaction verification.
    pub verify_key: String,
    /// The owning team (always written, null when none).
    pub team: Option<Team>,
    /// The associated guild (e.g. a support server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// A game's SKU id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_sku_id: Option<GenericId>,
    /// A game's store slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// The rich presence cover image hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover_image: Option<String>,
    /// Legacy public flags as an integer (31 bits at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<ApplicationFlags>,
    /// Every public flag, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags_new: Option<String>,
    /// Approximate guilds the app is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_guild_count: Option<u64>,
    /// Approximate users that installed the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_user_install_count: Option<u64>,
    /// Approximate users with OAuth2 authorizations for the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_user_authorization_count: Option<u64>,
    /// Redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Interactions endpoint URL.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub interactions_endpoint_url: Option<Option<String>>,
    /// Role connection verification URL.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub role_connections_verification_url: Option<Option<String>>,
    /// Event webhooks URL.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_webhooks_url: Option<Option<String>>,
    /// Whether event webhooks are enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_webhooks_status: Option<ApplicationEventWebhookStatus>,
    /// Subscribed webhook event types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_webhooks_types: Option<Vec<String>>,
    /// Up to 5 descriptive tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Settings of the default in-app authorization link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_params: Option<InstallParams>,
    /// Default scopes and permissions per installation context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_types_config:
        Option<BTreeMap<ApplicationIntegrationType, IntegrationTypeConfig>>,
    /// Default custom authorization URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_install_url: Option<String>,
}

/// Scopes and bot permissions of an authorization link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallParams {
    /// OAuth2 scopes.
    pub scopes: Vec<String>,
    /// Permissions requested for the bot role.
    pub permissions: Permissions,
}

/// The configuration of one installation context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationTypeConfig {
    /// Install params of the context's default authorization link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2_install_params: Option<InstallParams>,
}

/// A developer team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// The team icon hash.
    pub icon: Option<String>,
    /// The team's id.
    pub id: GenericId,
    /// The members.
    pub members: Vec<TeamMember>,
    /// The team's name.
    pub name: String,
    /// The owner's user id.
    pub owner_user_id: UserId,
}

/// A member's state on a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum MembershipState {
    /// Invited.
    Invited = 1,
    /// Accepted.
    Accepted = 2,
}

/// A member of a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMember {
    /// The membership state.
    pub membership_state: MembershipState,
    /// The team's id.
    pub team_id: GenericId,
    /// Avatar, discriminator, id and username of the user.
    pub user: User,
    /// The member's role (`admin`, `developer`, `read_only`).
    pub role: String,
    /// Legacy permissions list (`["*"]`), still shown in the docs' example application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}
