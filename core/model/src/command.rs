//! Application commands (developers/interactions/application-commands.mdx): the command object
//! with its options, choices and localizations, and the guild command permissions object.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::application::ApplicationIntegrationType;
use crate::channel::ChannelType;
use crate::id::{ApplicationId, CommandId, GenericId, GuildId};
use crate::permissions::Permissions;
use crate::serde_util::nullable;

/// A localization dictionary: locale → text.
pub type Localizations = BTreeMap<String, String>;

/// The locales Discord accepts as localization keys (developers/reference.mdx, Locales).
pub const LOCALES: [&str; 32] = [
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW", "ko",
];

/// Where a command shows up.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize_repr, Deserialize_repr,
)]
#[repr(u8)]
pub enum CommandType {
    /// Slash commands, typed after `/`.
    ChatInput = 1,
    /// A command in a user's context menu.
    User = 2,
    /// A command in a message's context menu.
    Message = 3,
    /// The primary way to launch an app's Activity.
    PrimaryEntryPoint = 4,
}

/// The type of a command option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum CommandOptionType {
    /// A subcommand.
    SubCommand = 1,
    /// A group of subcommands.
    SubCommandGroup = 2,
    /// A string.
    String = 3,
    /// An integer between -2^53+1 and 2^53-1.
    Integer = 4,
    /// A boolean.
    Boolean = 5,
    /// A user.
    User = 6,
    /// A channel (all types, categories included).
    Channel = 7,
    /// A role.
    Role = 8,
    /// A user or a role.
    Mentionable = 9,
    /// A double between -2^53 and 2^53.
    Number = 10,
    /// An attachment.
    Attachment = 11,
}

impl CommandOptionType {
    /// Whether this is a subcommand or a subcommand group.
    pub fn is_subcommand(self) -> bool {
        matches!(self, Self::SubCommand | Self::SubCommandGroup)
    }
}

/// A choice's value: a string, an integer or a double, after the option's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChoiceValue {
    /// For STRING options.
    String(String),
    /// For INTEGER (and NUMBER) options.
    Integer(i64),
    /// For NUMBER options.
    Number(f64),
}

/// One of the values an option allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandOptionChoice {
    /// 1–100 characters.
    pub name: String,
    /// Localized names.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub name_localizations: Option<Option<Localizations>>,
    /// The value.
    pub value: ChoiceValue,
}

/// A parameter of a command (or a subcommand or group of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandOption {
    /// The option's type.
    #[serde(rename = "type")]
    pub kind: CommandOptionType,
    /// 1–32 characters.
    pub name: String,
    /// Localized names.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub name_localizations: Option<Option<Localizations>>,
    /// The name in the caller's locale (lists without `with_localizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_localized: Option<String>,
    /// 1–100 characters.
    #[serde(default)]
    pub description: String,
    /// Localized descriptions.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub description_localizations: Option<Option<Localizations>>,
    /// The description in the caller's locale (lists without `with_localizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_localized: Option<String>,
    /// Whether the option must be given (not for subcommands and groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The only values allowed (STRING, INTEGER, NUMBER), at most 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<CommandOptionChoice>>,
    /// Nested options of a subcommand or group, at most 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<CommandOption>>,
    /// Channel types a CHANNEL option offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_types: Option<Vec<ChannelType>>,
    /// Smallest value (INTEGER, NUMBER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<serde_json::Number>,
    /// Largest value (INTEGER, NUMBER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<serde_json::Number>,
    /// Shortest string (0–6000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u16>,
    /// Longest string (1–6000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u16>,
    /// Whether autocomplete interactions are sent for it (STRING, INTEGER, NUMBER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<bool>,
}

/// An application command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationCommand {
    /// The command's id.
    pub id: CommandId,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: CommandType,
    /// The application it belongs to.
    pub application_id: ApplicationId,
    /// The guild of a guild command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// The name.
    pub name: String,
    /// Localized names.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub name_localizations: Option<Option<Localizations>>,
    /// The name in the caller's locale (lists without `with_localizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_localized: Option<String>,
    /// The description (empty for USER and MESSAGE commands).
    pub description: String,
    /// Localized descriptions.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub description_localizations: Option<Option<Localizations>>,
    /// The description in the caller's locale (lists without `with_localizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_localized: Option<String>,
    /// The parameters (CHAT_INPUT only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<CommandOption>>,
    /// Permissions a member needs to use it (null: everyone; "0": administrators only).
    pub default_member_permissions: Option<Permissions>,
    /// Deprecated: whether the command is available in DMs (global commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm_permission: Option<bool>,
    /// Deprecated: whether the command is enabled by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_permission: Option<bool>,
    /// Whether the command is age-restricted.
    #[serde(default)]
    pub nsfw: bool,
    /// Installation contexts where it is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_types: Option<Vec<ApplicationIntegrationType>>,
    /// Interaction contexts where it can be used (null: all).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub contexts: Option<Option<Vec<InteractionContextType>>>,
    /// Changes when the command changes substantially.
    pub version: GenericId,
}

/// Where an interaction can happen (developers/interactions/receiving-and-responding.mdx).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize_repr, Deserialize_repr,
)]
#[repr(u8)]
pub enum InteractionContextType {
    /// In a guild.
    Guild = 0,
    /// In the DM with the app's bot user.
    BotDm = 1,
    /// In a DM or group DM other than the app's bot user's.
    PrivateChannel = 2,
}

/// What a command permission names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum CommandPermissionType {
    /// A role (the guild id: @everyone).
    Role = 1,
    /// A user.
    User = 2,
    /// A channel (the guild id minus 1: every channel).
    Channel = 3,
}

/// One allow or deny of a command for a role, user or channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandPermission {
    /// The role, user or channel (or a permission constant).
    pub id: GenericId,
    /// What `id` names.
    #[serde(rename = "type")]
    pub kind: CommandPermissionType,
    /// True to allow, false to deny.
    pub permission: bool,
}

/// A command's (or, when `id` is the application's id, every command's) permissions in a guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildCommandPermissions {
    /// The command, or the application for app-wide permissions.
    pub id: GenericId,
    /// The application.
    pub application_id: ApplicationId,
    /// The guild.
    pub guild_id: GuildId,
    /// At most 100 entries.
    pub permissions: Vec<CommandPermission>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_and_choices_round_trip() {
        let raw = json!({
            "type": 3, "name": "animal", "description": "The type of animal", "required": true,
            "choices": [{"name": "Dog", "value": "animal_dog"}],
            "name_localizations": null
        });
        let option: CommandOption = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(option.kind, CommandOptionType::String);
        assert_eq!(option.name_localizations, Some(None));
        assert_eq!(serde_json::to_value(&option).unwrap(), raw);
        let int: CommandOptionChoice =
            serde_json::from_value(json!({"name": "one", "value": 1})).unwrap();
        assert_eq!(int.value, ChoiceValue::Integer(1));
        let double: CommandOptionChoice =
            serde_json::from_value(json!({"name": "half", "value": 0.5})).unwrap();
        assert_eq!(double.value, ChoiceValue::Number(0.5));
    }

    #[test]
    fn command_writes_default_member_permissions_as_a_string_or_null() {
        let command = ApplicationCommand {
            id: CommandId::new(5),
            kind: CommandType::User,
            application_id: ApplicationId::new(6),
            guild_id: None,
            name: "High Five".into(),
            name_localizations: None,
            name_localized: None,
            description: String::new(),
            description_localizations: None,
            description_localized: None,
            options: None,
            default_member_permissions: Some(Permissions::MANAGE_GUILD),
            dm_permission: Some(true),
            default_permission: None,
            nsfw: false,
            integration_types: Some(vec![ApplicationIntegrationType::GuildInstall]),
            contexts: Some(None),
            version: GenericId::new(7),
        };
        let v = serde_json::to_value(&command).unwrap();
        assert_eq!(v["default_member_permissions"], "32");
        assert_eq!(v["type"], 2);
        assert_eq!(v["contexts"], serde_json::Value::Null);
        assert!(v.get("guild_id").is_none());
        assert_eq!(v["version"], "7");
    }
}
