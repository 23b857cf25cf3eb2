//! `/guilds/*`.

pub mod create;
pub mod guild;
pub mod preview;
