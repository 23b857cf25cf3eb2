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
    /// Commands an application may create per scope (each guild, and its global commands) over
    /// a rolling day, by `POST` or as the new commands of a bulk overwrite; replacing or
    /// editing an existing command does not count (Discord: 200; error 30034).
    pub daily_command_creates: u32,
    /// Let applications' interactions endpoint URLs name loopback, private (RFC 1918,
    /// unique-local), link-local and other non-public addresses. Leave off on a server reachable
    /// from the internet: anyone who creates an application could make this server send
    /// requests to services on its own network. Useful for local bot development.
    pub endpoint_allow_private_addresses: bool,
    /// Seconds an interactions endpoint has to answer (Discord: 3).
    pub endpoint_timeout_secs: u64,
}

impl Default for InteractionsConfig {
    fn default() -> Self {
        Self {
            chat_input_commands: 100,
            user_commands: 15,
            message_commands: 15,
            command_permissions: 100,
            daily_command_creates: 200,
            endpoint_allow_private_addresses: false,
            endpoint_timeout_secs: 3,
        }
    }
}
