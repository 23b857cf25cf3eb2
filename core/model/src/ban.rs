//! The ban object (developers/resources/guild.mdx, "Ban Object").

use serde::{Deserialize, Serialize};

use crate::user::User;

/// A ban in a guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ban {
    /// The reason for the ban (always written, null when none was given).
    pub reason: Option<String>,
    /// The banned user.
    pub user: User,
}
