//! The throttle's counters behind [`Counters`]: the GCRA counters the REST API's limiter uses
//! too (`accord-ratelimit`), in this process ([`MemoryCounters`]) or in Redis, shared by every
//! edge process using the same Redis and key prefix ([`RedisCounters`]).

use async_trait::async_trait;

pub use accord_ratelimit::counters::{Check, Limit, Verdict, now_us};
pub use accord_ratelimit::memory::MemoryCounters;
pub use accord_ratelimit::redis::RedisCounters;

/// Where the counters live.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Charges one request against every limit, or against none if one refuses.
    async fn acquire(&self, limits: &[Limit]) -> anyhow::Result<Verdict>;
    /// Forgets counters that are full again (called periodically).
    fn sweep(&self) {}
}

#[async_trait]
impl Counters for MemoryCounters {
    async fn acquire(&self, limits: &[Limit]) -> anyhow::Result<Verdict> {
        Ok(MemoryCounters::acquire(self, now_us(), limits))
    }

    fn sweep(&self) {
        self.sweep_now(now_us());
    }
}

#[async_trait]
impl Counters for RedisCounters {
    async fn acquire(&self, limits: &[Limit]) -> anyhow::Result<Verdict> {
        Ok(RedisCounters::acquire(self, limits).await?)
    }
}

/// A limit of `limit` requests per `window_secs` under `key`.
pub fn limit(key: String, limit: u32, window_secs: u64) -> Limit {
    Limit::new(key, limit, window_secs.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_counters_charge_all_limits_or_none() {
        let m = MemoryCounters::new();
        let wide = limit("wide".into(), 10, 60);
        let narrow = limit("narrow".into(), 1, 60);
        let v = MemoryCounters::acquire(&m, 100, &[wide.clone(), narrow.clone()]);
        assert!(v.allowed);
        assert_eq!(v.checks[0].remaining, 9);
        let v = MemoryCounters::acquire(&m, 100, &[wide.clone(), narrow]);
        assert!(!v.allowed);
        assert_eq!(
            v.checks[0].remaining, 9,
            "the refused request charged nothing"
        );
        assert!(v.checks[1].retry_after_us > 0);
        assert!(MemoryCounters::acquire(&m, 100, &[wide]).allowed);
    }

    #[tokio::test]
    async fn redis_counters_share_a_limit_between_two_clients() {
        let prefix = format!("accord:edge-test:{}:", now_us());
        let a = RedisCounters::new("redis://127.0.0.1:6379", &prefix).unwrap();
        let b = RedisCounters::new("redis://127.0.0.1:6379", &prefix).unwrap();
        let l = [limit("ip:1".into(), 3, 60)];
        assert!(Counters::acquire(&a, &l).await.unwrap().allowed);
        assert!(Counters::acquire(&b, &l).await.unwrap().allowed);
        let v = Counters::acquire(&a, &l).await.unwrap();
        assert!(v.allowed);
        assert_eq!(v.checks[0].remaining, 0);
        let v = Counters::acquire(&b, &l).await.unwrap();
        assert!(!v.allowed);
        assert!(v.checks[0].retry_after_us > 0 && v.checks[0].retry_after_us <= 20_000_000);
        let other = [limit("ip:2".into(), 3, 60)];
        assert!(Counters::acquire(&b, &other).await.unwrap().allowed);
    }
}
