//! `/applications/*`: applications, their bots, privileged-intent flags and commands.

pub mod application;
pub mod bot;
pub mod collection;
pub mod commands;
pub mod common;
pub mod guilds;
pub mod me;
