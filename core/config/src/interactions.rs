//! The `[interactions]` section: application command limits and how interactions reach
//! applications.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Application commands and interactions (slash commands, context menu commands, components).
/// The command counts apply per application, separately to its global commands and to its
/// commands in each guild (Discord: 100 CHAT_INPUT, 15 USER, 15 MESSAGE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InteractionsConfig {
    /// CHAT_INPUT (slash) commands per application and scope.
    pub chat_input_commands: u32,
    /// USER (user context menu) commands per application and scope.
    pub user_commands: u32,
    /// MESSAGE (message context menu) commands per application and scope.
    pub message_commands: u32,
    /// Permission overwrites (users, roles, channels) per command and guild.
    pub command_permissions: u32,
}

impl Default for InteractionsConfig {
    fn default() -> Self {
        Self {
            chat_input_commands: 100,
            user_commands: 15,
            message_commands: 15,
            command_permissions: 100,
        }
    }
}
