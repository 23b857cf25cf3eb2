//! `/applications/{application.id}/guilds/{guild.id}/commands`: an application's commands in one
//! guild, and the command permissions there.

pub mod command;
pub mod commands;
pub mod permissions;
