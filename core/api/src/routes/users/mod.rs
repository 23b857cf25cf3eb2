//! `/users/*`.

pub mod me;
pub mod user;
