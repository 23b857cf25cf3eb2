//! The throttle's counters: a generic cell rate algorithm (GCRA) charged over several keys at
//! once, all or nothing, behind [`Counters`], with two backends: [`MemoryCounters`] (this
//! process) and [`RedisCounters`] (shared by every edge process using the same Redis and key
//! prefix, atomic in one Lua script on Redis's own clock).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use dashmap::DashMap;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

/// One limit to charge a request against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The counter's key (without the backend's prefix).
    pub key: String,
    /// Microseconds after which one request comes back (`window / limit`).
    pub emission_us: u64,
    /// The window in microseconds.
    pub window_us: u64,
}

impl Limit {
    /// `limit` requests per `window_secs` under `key`.
    pub fn new(key: String, limit: u32, window_secs: u64) -> Self {
        let window_us = window_secs.saturating_mul(1_000_000).max(1);
        Self {
            key,
            emission_us: (window_us / u64::from(limit.max(1))).max(1),
            window_us,
        }
    }
}

/// One counter's state after a request was charged (or, if refused, left alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Check {
    /// Requests that can still be made now.
    pub remaining: u32,
    /// Microseconds until the counter is full again.
    pub reset_after_us: u64,
    /// Microseconds until one more request is allowed; 0 if this counter allowed it.
    pub retry_after_us: u64,
}

/// The outcome of charging a request against several limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The counters' clock (microseconds since the Unix epoch).
    pub now_us: u64,
    /// Whether every limit allowed the request (only then was anything charged).
    pub allowed: bool,
    /// One check per limit, in order.
    pub checks: Vec<Check>,
}

/// GCRA for one counter with theoretical arrival time `tat` at `now`: whether one more request
/// fits, the counter's state (charged if `charge` and it fits) and the arrival time if charged.
pub fn step(tat: u64, now: u64, limit: &Limit, charge: bool) -> (bool, Check, u64) {
    let tat = tat.max(now);
    let next = tat + limit.emission_us;
    let ok = next - now <= limit.window_us;
    let after = if charge && ok { next } else { tat };
    let remaining = limit.window_us.saturating_sub(after - now) / limit.emission_us;
    let check = Check {
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset_after_us: after - now,
        retry_after_us: if ok { 0 } else { next - limit.window_us - now },
    };
    (ok, check, next)
}

/// Microseconds since the Unix epoch by this machine's clock.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Where the counters live.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Charges one request against every limit, or against none if one refuses.
    async fn acquire(&self, limits: &[Limit]) -> anyhow::Result<Verdict>;
    /// Forgets counters that are full again (called periodically).
    fn sweep(&self) {}
}

/// Counters in this process: key → theoretical arrival time (µs).
#[derive(Debug, Default)]
pub struct MemoryCounters {
    tats: DashMap<String, u64>,
    /// Serializes multi-key charges so all-or-nothing holds between concurrent requests.
    lock: std::sync::Mutex<()>,
}

impl MemoryCounters {
    fn acquire_at(&self, limits: &[Limit], now: u64) -> Verdict {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let tat = |l: &Limit| self.tats.get(&l.key).map_or(0, |t| *t);
        let allowed = limits.iter().all(|l| step(tat(l), now, l, false).0);
        let checks = limits
            .iter()
            .map(|l| {
                let (_, check, next) = step(tat(l), now, l, allowed);
                if allowed {
                    self.tats.insert(l.key.clone(), next);
                }
                check
            })
            .collect();
        Verdict {
            now_us: now,
            allowed,
            checks,
        }
    }
}

#[async_trait]
impl Counters for MemoryCounters {
    async fn acquire(&self, limits: &[Limit]) -> anyhow::Result<Verdict> {
        Ok(self.acquire_at(limits, now_us()))
    }

    fn sweep(&self) {
        let now = now_us();
        self.tats.retain(|_, tat| *tat > now);
    }
}

/// KEYS: the counters; ARGV: emission and window (µs) of each key in order. Charges every key
/// or none; returns `{now, allowed, then remaining, reset_after, retry_after per key}`.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats, ok = {}, 1
for i = 1, #KEYS do
  local e, w = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or 0) or 0, now)
  tats[i] = tat
  if tat + e - now > w then ok = 0 end
end
local out = {now, ok}
for i = 1, #KEYS do
  local e, w = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local after, retry = tats[i], 0
  if ok == 1 then
    after = tats[i] + e
    redis.call('SET', KEYS[i], string.format('%d', after), 'PX', math.floor((after - now) / 1000) + 1)
  end
  if tats[i] + e - now > w then retry = tats[i] + e - w - now end
  table.insert(out, math.max(0, math.floor((w - (after - now)) / e)))
  table.insert(out, after - now)
  table.insert(out, retry)
end
return out
";

/// Counters in Redis, every key starting with a prefix.
pub struct RedisCounters {
    client: redis::Client,
    prefix: String,
    script: redis::Script,
    conn: OnceCell<ConnectionManager>,
}

impl RedisCounters {
    /// Counters at `url` (connected on first use) under `prefix`.
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
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
}

#[async_trait]
impl Counters for RedisCounters {
    async fn acquire(&self, limits: &[Limit]) -> anyhow::Result<Verdict> {
        let mut conn = self.connection().await?;
        let mut call = self.script.prepare_invoke();
        for limit in limits {
            call.key(format!("{}{}", self.prefix, limit.key));
        }
        for limit in limits {
            call.arg(limit.emission_us).arg(limit.window_us);
        }
        let out: Vec<i64> = call.invoke_async(&mut conn).await?;
        parse(&out, limits.len()).ok_or_else(|| anyhow::anyhow!("unexpected throttle reply"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_the_quota_at_once_then_one_per_emission() {
        let l = Limit::new("k".into(), 5, 5);
        assert_eq!(l.emission_us, 1_000_000);
        let mut tat = 0;
        for left in (0..5).rev() {
            let (ok, c, next) = step(tat, 10, &l, true);
            assert!(ok);
            assert_eq!(c.remaining, left);
            tat = next;
        }
        let (ok, c, _) = step(tat, 10, &l, true);
        assert!(!ok);
        assert_eq!(
            (c.remaining, c.retry_after_us, c.reset_after_us),
            (0, 1_000_000, 5_000_000)
        );
        assert!(step(tat, 10 + 1_000_000, &l, true).0, "one came back");
        assert_eq!(step(tat, 10 + 5_000_000, &l, true).1.remaining, 4);
    }

    #[test]
    fn memory_counters_charge_all_limits_or_none() {
        let m = MemoryCounters::default();
        let wide = Limit::new("wide".into(), 10, 60);
        let narrow = Limit::new("narrow".into(), 1, 60);
        let v = m.acquire_at(&[wide.clone(), narrow.clone()], 100);
        assert!(v.allowed);
        assert_eq!(v.checks[0].remaining, 9);
        let v = m.acquire_at(&[wide.clone(), narrow], 100);
        assert!(!v.allowed);
        assert_eq!(
            v.checks[0].remaining, 9,
            "the refused request charged nothing"
        );
        assert!(v.checks[1].retry_after_us > 0);
        assert!(m.acquire_at(&[wide], 100).allowed);
    }

    #[tokio::test]
    async fn redis_counters_share_a_limit_between_two_clients() {
        let prefix = format!("accord:edge-test:{}:", now_us());
        let a = RedisCounters::new("redis://127.0.0.1:6379", &prefix).unwrap();
        let b = RedisCounters::new("redis://127.0.0.1:6379", &prefix).unwrap();
        let l = [Limit::new("ip:1".into(), 3, 60)];
        assert!(a.acquire(&l).await.unwrap().allowed);
        assert!(b.acquire(&l).await.unwrap().allowed);
        let v = a.acquire(&l).await.unwrap();
        assert!(v.allowed);
        assert_eq!(v.checks[0].remaining, 0);
        let v = b.acquire(&l).await.unwrap();
        assert!(!v.allowed);
        assert!(v.checks[0].retry_after_us > 0 && v.checks[0].retry_after_us <= 20_000_000);
        let other = [Limit::new("ip:2".into(), 3, 60)];
        assert!(b.acquire(&other).await.unwrap().allowed);
    }
}
