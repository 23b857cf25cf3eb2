//! Presences shared by every process on one Redis (the gateway's, see
//! `gateway-uring/src/presence.rs`): a hash per user, `{prefix}:presence:{user}`, with one field
//! per session holding that session's presence as JSON (which carries its own expiry, so a
//! dead process's sessions stop counting), and `{prefix}:presence_seen:{user}`, what others were
//! last told, so that of several processes noticing one change only the first announces it.

use crate::BusError;
use crate::redis_bus::RedisBus;

/// Sets the key to ARGV[1] and returns 1, or returns 0 when it already held it (no key counts
/// as holding ARGV[3]).
const SWAP_SCRIPT: &str = r#"
local current = redis.call('GET', KEYS[1])
if current == false then current = ARGV[3] end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"#;

/// One user's presences as this process writes them (see [`RedisBus::put_presences`]).
#[derive(Debug, Clone, Default)]
pub struct PresenceWrite {
    /// The user.
    pub user: u64,
    /// `(session id, presence JSON)` of the user's sessions held here.
    pub sessions: Vec<(String, String)>,
    /// Session ids of the user that ended here since the last write.
    pub gone: Vec<String>,
}

fn transport(context: &str, e: impl std::fmt::Display) -> BusError {
    BusError::Transport(format!("{context}: {e}"))
}

impl RedisBus {
    fn presence_key(&self, user: u64) -> String {
        format!("{}:presence:{user}", self.inner.prefix)
    }

    fn presence_seen_key(&self, user: u64) -> String {
        format!("{}:presence_seen:{user}", self.inner.prefix)
    }

    /// For each write: sets the user's sessions held here (`(session id, presence JSON)`),
    /// removes its `gone` ones, and keeps the user's hash for `ttl_ms` after the last write.
    /// One round trip for all of them.
    pub async fn put_presences(
        &self,
        writes: &[PresenceWrite],
        ttl_ms: u64,
    ) -> Result<(), BusError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for w in writes {
            let key = self.presence_key(w.user);
            if !w.gone.is_empty() {
                pipe.cmd("HDEL").arg(&key).arg(&w.gone).ignore();
            }
            if !w.sessions.is_empty() {
                pipe.cmd("HSET").arg(&key);
                for (id, json) in &w.sessions {
                    pipe.arg(id).arg(json);
                }
                pipe.ignore();
                pipe.cmd("PEXPIRE").arg(&key).arg(ttl_ms).ignore();
            }
        }
        let mut conn = self.inner.publisher.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| transport("cannot write presences", e))
    }

    /// The session presences (JSON) of each of `users`, in order. One round trip.
    pub async fn presences(&self, users: &[u64]) -> Result<Vec<Vec<String>>, BusError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for user in users {
            pipe.cmd("HVALS").arg(self.presence_key(*user));
        }
        let mut conn = self.inner.publisher.clone();
        pipe.query_async::<Vec<Vec<String>>>(&mut conn)
            .await
            .map_err(|e| transport("cannot read presences", e))
    }

    /// Records `seen` as what others were last told of `user`; `true` when it differs from what
    /// was recorded (then the caller announces it), `false` when another process already did.
    /// With no record, `absent` is what was last told.
    pub async fn swap_presence_seen(
        &self,
        user: u64,
        seen: &str,
        absent: &str,
        ttl_ms: u64,
    ) -> Result<bool, BusError> {
        let mut conn = self.inner.publisher.clone();
        redis::Script::new(SWAP_SCRIPT)
            .key(self.presence_seen_key(user))
            .arg(seen)
            .arg(ttl_ms)
            .arg(absent)
            .invoke_async::<i64>(&mut conn)
            .await
            .map(|changed| changed == 1)
            .map_err(|e| transport("cannot record a presence", e))
    }
}
