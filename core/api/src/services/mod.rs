//! Operations shared by the REST routes and the `accord admin` command: creating accounts,
//! applications and bots, issuing and revoking tokens.

pub mod accounts;
pub mod applications;
pub mod validate;
