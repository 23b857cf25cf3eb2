//! `/guilds/*`.

pub mod bans;
pub mod create;
pub mod guild;
pub mod members;
pub mod preview;
pub mod roles;
