//! Recently read user rows, for showing authors (message create reads the sender's row on every
//! message). An entry lives at most [`TTL`]; USER_UPDATE drops it at once in the process that
//! publishes it and, through the bus listener, in every other one. Only display data is taken
//! from here: access decisions (rights, tokens, bans) never read it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_model::UserId;
use accord_store::UserRecord;
use dashmap::DashMap;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::state::AppState;

/// How long a cached row is used before it is read again: the bound on how stale an author's
/// name or avatar can be where an update's event has not arrived.
pub const TTL: Duration = Duration::from_secs(5);
/// Most rows kept before the cache starts over (a bound on memory).
const MAX_ENTRIES: usize = 200_000;

/// The cache.
#[derive(Debug, Default)]
pub struct UserCache {
    rows: DashMap<UserId, (Arc<UserRecord>, Instant)>,
}

impl UserCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached row of `user`, if read less than [`TTL`] ago.
    pub fn get(&self, user: UserId) -> Option<Arc<UserRecord>> {
        let entry = self.rows.get(&user)?;
        (entry.1.elapsed() < TTL).then(|| entry.0.clone())
    }

    /// Caches a row read just now.
    pub fn put(&self, row: Arc<UserRecord>) {
        if self.rows.len() >= MAX_ENTRIES {
            self.rows.clear();
        }
        self.rows.insert(row.user_id(), (row, Instant::now()));
    }

    /// Drops the rows of `users` (they changed).
    pub fn forget(&self, users: &[UserId]) {
        for u in users {
            self.rows.remove(u);
        }
    }

    /// Drops every row (after missed events).
    pub fn clear(&self) {
        self.rows.clear();
    }
}

/// The row of `user` for display, from the cache when fresh; 10013 if there is no such user.
pub async fn author(state: &AppState, user: UserId) -> ApiResult<Arc<UserRecord>> {
    if let Some(row) = state.users.get(user) {
        return Ok(row);
    }
    let row = Arc::new(
        state
            .store
            .user(user)
            .await?
            .ok_or(ApiError::Unknown(Unknown::User))?,
    );
    state.users.put(row.clone());
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, name: &str) -> Arc<UserRecord> {
        Arc::new(UserRecord {
            id,
            username: name.into(),
            discriminator: "0".into(),
            global_name: None,
            avatar: None,
            banner: None,
            accent_color: None,
            bio: String::new(),
            pronouns: String::new(),
            bot: false,
            system: false,
            email: None,
            verified: false,
            mfa_enabled: false,
            locale: "en-US".into(),
            flags: 0,
            public_flags: 0,
            premium_type: 0,
            rights: 0,
            date_of_birth: None,
            disabled: false,
            deleted: false,
            created_at: chrono::Utc::now(),
        })
    }

    #[test]
    fn rows_are_kept_and_forgotten() {
        let cache = UserCache::new();
        let (a, b) = (UserId::new(1), UserId::new(2));
        assert!(cache.get(a).is_none());
        cache.put(row(1, "ann"));
        cache.put(row(2, "bob"));
        assert_eq!(cache.get(a).unwrap().username, "ann");
        cache.forget(&[a]);
        assert!(cache.get(a).is_none());
        assert_eq!(cache.get(b).unwrap().username, "bob");
        cache.clear();
        assert!(cache.get(b).is_none());
    }

    #[test]
    fn rows_expire() {
        let cache = UserCache::new();
        let r = row(3, "cat");
        cache.rows.insert(
            r.user_id(),
            (r, Instant::now() - TTL - Duration::from_millis(1)),
        );
        assert!(cache.get(UserId::new(3)).is_none());
    }
}
