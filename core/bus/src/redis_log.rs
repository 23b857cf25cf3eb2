//! The Redis event log and gateway session records.
//!
//! The log is the stream `{prefix}:log`: the publishing Lua script appends every event there
//! before publishing it, trimming entries older than the retention (and beyond a length cap).
//! A gateway that lost its subscription, or that takes over a session another gateway held,
//! reads the events after a known position from it (and knows when they were trimmed).
//!
//! Session records are hashes `{prefix}:session:{id}` with fields `owner` (the gateway that
//! holds the session) and `data` (the gateway's own encoding of the session), expiring after a
//! TTL that every checkpoint renews.

use redis::Value;

use crate::redis_bus::{RedisBus, decode_envelope};
use crate::{BusError, Event, LogId};

/// Appends to the log, trims it, and publishes; returns the entry id.
/// KEYS[1] = log; ARGV = channel, body, retention ms, max length.
pub(crate) const PUBLISH_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minid = now - tonumber(ARGV[3])
if minid < 0 then minid = 0 end
local id = redis.call('XADD', KEYS[1], 'MINID', '~', string.format('%.0f', minid), '*', 'e', ARGV[2])
if redis.call('XLEN', KEYS[1]) > tonumber(ARGV[4]) then
  redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[1], id .. '\n' .. ARGV[2])
return id
"#;

/// Reads a session record and makes `owner` its holder, atomically. KEYS[1] = record;
/// ARGV = owner, TTL seconds. Returns the data, or nil.
const CLAIM_SCRIPT: &str = r#"
local data = redis.call('HGET', KEYS[1], 'data')
if not data then return false end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return data
"#;

/// Writes a session record unless another gateway holds it. KEYS[1] = record;
/// ARGV = owner, data, TTL seconds.
const PUT_SCRIPT: &str = r#"
local holder = redis.call('HGET', KEYS[1], 'owner')
if holder and holder ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'data', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"#;

/// Deletes a session record if `owner` holds it. KEYS[1] = record; ARGV[1] = owner.
const DELETE_SCRIPT: &str = r#"
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// How much of the log Redis keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// Entries older than this are trimmed (milliseconds).
    pub retention_ms: u64,
    /// At most about this many entries are kept.
    pub max_len: u64,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            retention_ms: 300_000,
            max_len: 1_000_000,
        }
    }
}

/// A session record to write.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The session id.
    pub id: String,
    /// The gateway's encoding of the session.
    pub data: Vec<u8>,
}

fn transport(context: &str, e: impl std::fmt::Display) -> BusError {
    BusError::Transport(format!("{context}: {e}"))
}

impl RedisBus {
    /// This bus instance's identifier (the owner of the session records it writes).
    pub fn origin(&self) -> u64 {
        self.inner.origin
    }

    pub(crate) fn log_key(&self) -> String {
        format!("{}:log", self.inner.prefix)
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}:session:{id}", self.inner.prefix)
    }

    /// The newest position in the log (`LogId::ZERO` when it is empty).
    pub async fn log_head(&self) -> Result<LogId, BusError> {
        let mut conn = self.inner.publisher.clone();
        let reply: Value = redis::cmd("XREVRANGE")
            .arg(self.log_key())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await
            .map_err(|e| transport("cannot read the event log", e))?;
        Ok(entries(reply)?
            .into_iter()
            .next()
            .map_or(LogId::ZERO, |(id, _)| id))
    }

    /// Whether entries after `after` may have been trimmed from the log (events since then
    /// can no longer all be read). `after` is a position this log handed out: an entry's id,
    /// or `LogId::ZERO` for a log that was empty. Trimming removes the oldest entries first, so
    /// nothing after an entry is gone while the entry itself is still there.
    pub async fn log_trimmed_after(&self, after: LogId) -> Result<bool, BusError> {
        let mut conn = self.inner.publisher.clone();
        if after == LogId::ZERO {
            let reply: redis::RedisResult<Value> = redis::cmd("XINFO")
                .arg("STREAM")
                .arg(self.log_key())
                .query_async(&mut conn)
                .await;
            let reply = match reply {
                Ok(v) => v,
                // No stream: nothing was ever trimmed from it.
                Err(e) if e.to_string().contains("no such key") => return Ok(false),
                Err(e) => return Err(transport("cannot inspect the event log", e)),
            };
            let fields = pairs(reply)?;
            let number = |name: &str| -> Result<u64, BusError> {
                let v = fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .ok_or_else(|| BusError::Transport(format!("Redis reports no {name}")))?;
                text(&v.1)?
                    .parse()
                    .map_err(|e| transport("bad stream info", e))
            };
            return Ok(number("entries-added")? > number("length")?);
        }
        let reply: Value = redis::cmd("XRANGE")
            .arg(self.log_key())
            .arg(after.to_string())
            .arg(after.to_string())
            .query_async(&mut conn)
            .await
            .map_err(|e| transport("cannot read the event log", e))?;
        Ok(entries(reply)?.is_empty())
    }

    /// Events after `after`, up to and including `upto`, oldest first, at most `limit`.
    pub async fn log_range(
        &self,
        after: LogId,
        upto: LogId,
        limit: usize,
    ) -> Result<Vec<(LogId, Event)>, BusError> {
        if upto <= after {
            return Ok(Vec::new());
        }
        let mut conn = self.inner.publisher.clone();
        let reply: Value = redis::cmd("XRANGE")
            .arg(self.log_key())
            .arg(format!("({after}"))
            .arg(upto.to_string())
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(|e| transport("cannot read the event log", e))?;
        entries(reply)?
            .into_iter()
            .map(|(id, body)| {
                decode_envelope(&body)
                    .map(|e| (id, e))
                    .map_err(|e| transport("undecodable event in the log", e))
            })
            .collect()
    }

    /// Writes session records held by this bus instance, renewing them for `ttl_secs`; a record
    /// another instance claimed meanwhile is left alone. One round trip for all of them.
    pub async fn put_sessions(
        &self,
        records: &[SessionRecord],
        ttl_secs: u64,
    ) -> Result<(), BusError> {
        if records.is_empty() {
            return Ok(());
        }
        let script = redis::Script::new(PUT_SCRIPT);
        let mut pipe = redis::pipe();
        for r in records {
            pipe.invoke_script(
                script
                    .key(self.session_key(&r.id))
                    .arg(self.inner.origin)
                    .arg(&r.data[..])
                    .arg(ttl_secs),
            );
        }
        let mut conn = self.inner.publisher.clone();
        // Load the script first: a pipeline's EVALSHA cannot fall back to EVAL by itself.
        script
            .prepare_invoke()
            .load_async(&mut conn)
            .await
            .map_err(|e| transport("cannot load a script", e))?;
        pipe.query_async::<Value>(&mut conn)
            .await
            .map_err(|e| transport("cannot write session records", e))?;
        Ok(())
    }

    /// Extends the life of session records by `ttl_secs` (their sessions did not change).
    pub async fn touch_sessions(&self, ids: &[String], ttl_secs: u64) -> Result<(), BusError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("EXPIRE")
                .arg(self.session_key(id))
                .arg(ttl_secs)
                .ignore();
        }
        let mut conn = self.inner.publisher.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| transport("cannot renew session records", e))
    }

    /// A session record's data, without taking it over.
    pub async fn read_session(&self, id: &str) -> Result<Option<Vec<u8>>, BusError> {
        let mut conn = self.inner.publisher.clone();
        redis::cmd("HGET")
            .arg(self.session_key(id))
            .arg("data")
            .query_async::<Option<Vec<u8>>>(&mut conn)
            .await
            .map_err(|e| transport("cannot read a session record", e))
    }

    /// Takes a session record over: returns its data with this instance recorded as its
    /// holder, or `None` if there is no such record.
    pub async fn claim_session(
        &self,
        id: &str,
        ttl_secs: u64,
    ) -> Result<Option<Vec<u8>>, BusError> {
        let mut conn = self.inner.publisher.clone();
        redis::Script::new(CLAIM_SCRIPT)
            .key(self.session_key(id))
            .arg(self.inner.origin)
            .arg(ttl_secs)
            .invoke_async::<Option<Vec<u8>>>(&mut conn)
            .await
            .map_err(|e| transport("cannot claim a session record", e))
    }

    /// Deletes a session record if this instance holds it (the session ended for good).
    pub async fn delete_session(&self, id: &str) -> Result<(), BusError> {
        let mut conn = self.inner.publisher.clone();
        redis::Script::new(DELETE_SCRIPT)
            .key(self.session_key(id))
            .arg(self.inner.origin)
            .invoke_async::<i64>(&mut conn)
            .await
            .map_err(|e| transport("cannot delete a session record", e))?;
        Ok(())
    }
}

fn text(v: &Value) -> Result<String, BusError> {
    match v {
        Value::BulkString(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        other => Err(BusError::Transport(format!(
            "unexpected Redis reply: {other:?}"
        ))),
    }
}

/// A flat `[k, v, k, v, ...]` array (or a RESP3 map) as pairs with text keys.
fn pairs(v: Value) -> Result<Vec<(String, Value)>, BusError> {
    match v {
        Value::Map(m) => m.into_iter().map(|(k, v)| Ok((text(&k)?, v))).collect(),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((text(&k)?, v));
            }
            Ok(out)
        }
        other => Err(BusError::Transport(format!(
            "unexpected Redis reply: {other:?}"
        ))),
    }
}

/// An XRANGE/XREVRANGE reply as (id, field `e`) pairs.
fn entries(v: Value) -> Result<Vec<(LogId, Vec<u8>)>, BusError> {
    let Value::Array(items) = v else {
        return Err(BusError::Transport(format!(
            "unexpected Redis reply: {v:?}"
        )));
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Array(mut parts) = item else {
                return Err(BusError::Transport("bad stream entry".into()));
            };
            if parts.len() != 2 {
                return Err(BusError::Transport("bad stream entry".into()));
            }
            let fields = pairs(parts.pop().unwrap_or(Value::Nil))?;
            let id: LogId = text(&parts[0])?
                .parse()
                .map_err(|e| transport("bad stream id", e))?;
            let body = fields
                .into_iter()
                .find(|(k, _)| k == "e")
                .and_then(|(_, v)| match v {
                    Value::BulkString(b) => Some(b),
                    _ => None,
                })
                .ok_or_else(|| BusError::Transport("stream entry without an event".into()))?;
            Ok((id, body))
        })
        .collect()
}
