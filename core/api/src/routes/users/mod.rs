//! `/users/*`.

pub mod guilds;
pub mod me;
pub mod user;
