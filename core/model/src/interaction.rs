//! Interactions (developers/interactions/receiving-and-responding.mdx): the interaction object an
//! application receives, the data of an invoked command, the callback an application answers
//! with, and the gateway events the invoking user's client gets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::command::{CommandOptionType, CommandType, InteractionContextType};
use crate::id::{ApplicationId, ChannelId, CommandId, GenericId, GuildId, InteractionId};
use crate::permissions::Permissions;

/// What kind of interaction it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum InteractionType {
    /// A ping (HTTP endpoint verification).
    Ping = 1,
    /// A command invoked.
    ApplicationCommand = 2,
    /// A button pressed or a select menu used.
    MessageComponent = 3,
    /// A command option being typed, for suggestions.
    ApplicationCommandAutocomplete = 4,
    /// A modal submitted.
    ModalSubmit = 5,
}

/// One option value (or subcommand) of an invoked command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandDataOption {
    /// The option's name.
    pub name: String,
    /// The option's type.
    #[serde(rename = "type")]
    pub kind: CommandOptionType,
    /// The value (string, integer, double or boolean; ids as strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The options of a subcommand or group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<CommandDataOption>>,
    /// The option being typed (autocomplete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focused: Option<bool>,
}

/// The data of an APPLICATION_COMMAND or APPLICATION_COMMAND_AUTOCOMPLETE interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandData {
    /// The command invoked.
    pub id: CommandId,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: CommandType,
    /// The users, members, roles, channels, messages named by the options or the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<serde_json::Value>,
    /// The values given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<CommandDataOption>>,
    /// The guild of a guild command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// The user or message a context menu command was used on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<GenericId>,
    /// The command's version the client knew (sent by clients, not by Discord to apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<GenericId>,
}

/// An interaction as its application receives it (INTERACTION_CREATE, or the body POSTed to its
/// interactions endpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// The interaction's id.
    pub id: InteractionId,
    /// The application it is for.
    pub application_id: ApplicationId,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: InteractionType,
    /// Its data (every type but PING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// The guild it was sent from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// The partial guild it was sent from (`id`, `locale`, `features`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild: Option<serde_json::Value>,
    /// The partial channel it was sent from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<serde_json::Value>,
    /// The channel it was sent from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    /// The invoking member, with `permissions` (in a guild).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<serde_json::Value>,
    /// The invoking user (outside guilds; inside, it is `member.user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<serde_json::Value>,
    /// The continuation token for responding.
    pub token: String,
    /// Always 1.
    pub version: u8,
    /// The message a component was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<serde_json::Value>,
    /// What the application may do where the interaction happened.
    pub app_permissions: Permissions,
    /// The invoking user's locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The guild's preferred locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_locale: Option<String>,
    /// Entitlements of the invoking user (none on this instance).
    pub entitlements: Vec<serde_json::Value>,
    /// Installation context → guild id (or "0" in the bot's DM) or user id.
    pub authorizing_integration_owners: BTreeMap<String, String>,
    /// Where it was triggered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<InteractionContextType>,
    /// Largest attachment in bytes.
    pub attachment_size_limit: u64,
}

/// What an application answers an interaction with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum CallbackType {
    /// ACK a PING.
    Pong = 1,
    /// Answer with a message.
    ChannelMessageWithSource = 4,
    /// ACK now, send the message later (the user sees a loading state).
    DeferredChannelMessageWithSource = 5,
    /// For components: ACK now, edit the message later.
    DeferredUpdateMessage = 6,
    /// For components: edit the message the component is on.
    UpdateMessage = 7,
    /// Suggestions for an option being typed.
    ApplicationCommandAutocompleteResult = 8,
    /// Show a modal.
    Modal = 9,
    /// Deprecated: an upgrade button.
    PremiumRequired = 10,
    /// Launch the app's Activity.
    LaunchActivity = 12,
}

/// The interaction of a message sent in answer to a command (`interaction_metadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionMetadata {
    /// The interaction's id.
    pub id: InteractionId,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: InteractionType,
    /// Who triggered it.
    pub user: serde_json::Value,
    /// Installation context → owner id.
    pub authorizing_integration_owners: BTreeMap<String, String>,
    /// The original response's id (on follow-ups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_response_message_id: Option<crate::id::MessageId>,
    /// The user a USER command was used on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user: Option<serde_json::Value>,
    /// The message a MESSAGE command was used on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_message_id: Option<crate::id::MessageId>,
}

/// The deprecated `interaction` field of such messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageInteraction {
    /// The interaction's id.
    pub id: InteractionId,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: InteractionType,
    /// The command's name with its subcommand group and subcommand.
    pub name: String,
    /// Who triggered it.
    pub user: serde_json::Value,
}

/// INTERACTION_CREATE / INTERACTION_SUCCESS / INTERACTION_FAILURE as the invoking user's session
/// receives them: which of its interactions, and the nonce it sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionStatus {
    /// The interaction.
    pub id: InteractionId,
    /// The nonce the client sent with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}
