//! Redis counters: the same GCRA as the in-process counters, run atomically over all of a
//! request's keys by one Lua script that reads Redis's own clock (`TIME`), so every API process
//! shares the counters and the clock.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::counters::{Check, Limit, Verdict};

/// KEYS: the counters. ARGV: emission and window (µs) of each key, in order. Charges every key
/// or none; returns `{now, allowed, then remaining, reset_after, retry_after per key}`.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats = {}
local ok = 1
for i = 1, #KEYS do
  local e = tonumber(ARGV[2 * i - 1])
  local w = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or 0) or 0
  if tat < now then tat = now end
  tats[i] = tat
  if tat + e - now > w then ok = 0 end
end
local out = {now, ok}
for i = 1, #KEYS do
  local e = tonumber(ARGV[2 * i - 1])
  local w = tonumber(ARGV[2 * i])
  local before = tats[i]
  local after = before
  if ok == 1 then
    after = before + e
    redis.call('SET', KEYS[i], string.format('%d', after), 'PX',
      math.floor((after - now) / 1000) + 1)
  end
  local retry = 0
  if before + e - now > w then retry = before + e - w - now end
  out[#out + 1] = math.max(0, math.floor((w - (after - now)) / e))
  out[#out + 1] = after - now
  out[#out + 1] = retry
end
return out
";

/// Counters in Redis.
pub struct RedisCounters {
    client: redis::Client,
    prefix: String,
    script: redis::Script,
    conn: OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisCounters {
    /// Counters at `url` (connected on first use), every key starting with `prefix`.
    pub fn new(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Ok(Self {
            client: redis::Client::open(url)?,
            prefix: prefix.to_owned(),
            script: redis::Script::new(SCRIPT),
            conn: OnceCell::new(),
        })
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_millis(500)))
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await
            .cloned()
    }

    /// Charges one request against every limit, or against none if any refuses.
    pub async fn acquire(&self, limits: &[Limit]) -> redis::RedisResult<Verdict> {
        let mut conn = self.connection().await?;
        let mut call = self.script.prepare_invoke();
        for limit in limits {
            call.key(format!("{}{}", self.prefix, limit.key));
        }
        for limit in limits {
            call.arg(limit.emission_us).arg(limit.window_us);
        }
        let out: Vec<i64> = call.invoke_async(&mut conn).await?;
        parse(&out, limits.len()).ok_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::Client,
                "unexpected rate-limit script reply",
            ))
        })
    }
}

fn parse(out: &[i64], keys: usize) -> Option<Verdict> {
    if out.len() != 2 + 3 * keys {
        return None;
    }
    let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
    let checks = out[2..]
        .chunks_exact(3)
        .map(|c| Check {
            remaining: u32::try_from(c[0]).unwrap_or(0),
            reset_after_us: unsigned(c[1]),
            retry_after_us: unsigned(c[2]),
        })
        .collect();
    Some(Verdict {
        now_us: unsigned(out[0]),
        allowed: out[1] == 1,
        checks,
    })
}
