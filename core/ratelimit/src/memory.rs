//! In-process counters: one GCRA arrival time per key in a `DashMap`, swept of full (idle)
//! buckets every few seconds.

use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

use crate::counters::{Limit, Verdict, step};

/// Microseconds between sweeps of idle keys.
const SWEEP_EVERY_US: u64 = 10_000_000;

/// Counters kept in this process.
#[derive(Debug, Default)]
pub struct MemoryCounters {
    tats: DashMap<String, u64>,
    last_sweep: AtomicU64,
}

impl MemoryCounters {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.tats.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.tats.is_empty()
    }

    /// Charges one request against every limit at `now_us`, or against none if any refuses.
    pub fn acquire(&self, now_us: u64, limits: &[Limit]) -> Verdict {
        self.sweep(now_us);
        let mut charged: Vec<usize> = Vec::with_capacity(limits.len());
        let mut allowed = true;
        for (i, limit) in limits.iter().enumerate() {
            // One entry guard at a time: holding two could deadlock on a shared shard.
            let mut tat = self.tats.entry(limit.key.clone()).or_insert(0);
            let (ok, _, next) = step(*tat, now_us, limit, true);
            if ok {
                *tat = next;
                charged.push(i);
            } else {
                allowed = false;
                break;
            }
        }
        if !allowed {
            for &i in &charged {
                let limit = &limits[i];
                if let Some(mut tat) = self.tats.get_mut(&limit.key) {
                    *tat = tat.saturating_sub(limit.emission_us);
                }
            }
        }
        let checks = limits
            .iter()
            .map(|limit| {
                let tat = self.tats.get(&limit.key).map_or(0, |t| *t);
                let current = step(tat, now_us, limit, false).1;
                if allowed {
                    // Already charged: report the state after this request, without a retry.
                    super::counters::Check {
                        retry_after_us: 0,
                        ..current
                    }
                } else {
                    current
                }
            })
            .collect();
        Verdict {
            now_us,
            allowed,
            checks,
        }
    }

    /// Drops keys whose bucket is full again (equivalent to absent), at most every few seconds.
    fn sweep(&self, now_us: u64) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now_us.saturating_sub(last) < SWEEP_EVERY_US
            || self
                .last_sweep
                .compare_exchange(last, now_us, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.tats.retain(|_, tat| *tat > now_us);
    }

    /// Removes idle keys now, whatever the time of the last sweep.
    pub fn sweep_now(&self, now_us: u64) {
        self.tats.retain(|_, tat| *tat > now_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_or_nothing_and_sweep() {
        let c = MemoryCounters::new();
        let wide = Limit::new("wide".into(), 10, 1000);
        let narrow = Limit::new("narrow".into(), 1, 1000);
        let v = c.acquire(1, &[wide.clone(), narrow.clone()]);
        assert!(v.allowed);
        assert_eq!(v.checks[0].remaining, 9);
        assert_eq!(v.checks[1].remaining, 0);
        let v = c.acquire(2, &[wide.clone(), narrow.clone()]);
        assert!(!v.allowed);
        // The refused request did not consume the wide limit.
        assert_eq!(v.checks[0].remaining, 9);
        assert!(v.checks[1].retry_after_us > 900_000);
        assert_eq!(c.len(), 2);
        c.sweep_now(2_000_000);
        assert!(c.is_empty());
    }
}
