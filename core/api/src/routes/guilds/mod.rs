//! `/guilds/*`.

pub mod audit_logs;
pub mod bans;
pub mod channels;
pub mod create;
pub mod emojis;
pub mod guild;
pub mod members;
pub mod preview;
pub mod prune;
pub mod roles;
pub mod stickers;
pub mod threads;
