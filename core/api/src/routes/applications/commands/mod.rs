//! `/applications/{application.id}/commands`: an application's global commands.

pub mod collection;
pub mod command;
