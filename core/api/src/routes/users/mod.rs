//! `/users/*`.

pub mod channels;
pub mod guilds;
pub mod me;
pub mod user;
