//! Request extractors that answer failures with Discord's error bodies.

pub mod auth;
pub mod json;
pub mod multipart;

pub use auth::Auth;
pub use json::Json;
