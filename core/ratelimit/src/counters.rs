//! The counter interface shared by the in-process and Redis backends: a generic cell rate
//! algorithm (GCRA) over several keys at once, all or nothing.

use std::time::{SystemTime, UNIX_EPOCH};

/// One limit to charge a request against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The counter's key (without the backend's prefix).
    pub key: String,
    /// Microseconds after which one request comes back (`window / requests`).
    pub emission_us: u64,
    /// The window in microseconds: a full quota is `window / emission` requests.
    pub window_us: u64,
}

impl Limit {
    /// `requests` per `window_ms` under `key`.
    pub fn new(key: String, requests: u32, window_ms: u64) -> Self {
        let window_us = window_ms.saturating_mul(1000).max(1);
        Self {
            key,
            emission_us: (window_us / u64::from(requests.max(1))).max(1),
            window_us,
        }
    }
}

/// The state of one counter after a request was charged (or, if refused, left alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Requests that can still be made right now.
    pub remaining: u32,
    /// Microseconds until the counter is full again.
    pub reset_after_us: u64,
    /// Microseconds until one more request is allowed; 0 if this counter allowed the request.
    pub retry_after_us: u64,
}

/// The outcome of charging a request against several limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The clock the counters used (microseconds since the Unix epoch).
    pub now_us: u64,
    /// Whether every limit allowed the request (only then was anything charged).
    pub allowed: bool,
    /// One check per limit, in the order given.
    pub checks: Vec<Check>,
}

/// The GCRA step for one counter with theoretical arrival time `tat` at `now`: whether it
/// allows one more request, its state if charged (`charged == true`) or left alone, and the new
/// arrival time when charged.
pub fn step(tat: u64, now: u64, limit: &Limit, charged: bool) -> (bool, Check, u64) {
    let tat = tat.max(now);
    let next = tat + limit.emission_us;
    let ok = next - now <= limit.window_us;
    let retry_after_us = if ok { 0 } else { next - limit.window_us - now };
    let after = if charged && ok { next } else { tat };
    let remaining = limit.window_us.saturating_sub(after - now) / limit.emission_us;
    let check = Check {
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset_after_us: after - now,
        retry_after_us,
    };
    (ok, check, next)
}

/// Microseconds since the Unix epoch by this machine's clock.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_a_burst_then_one_per_emission() {
        let l = Limit::new("k".into(), 5, 5000);
        assert_eq!(l.emission_us, 1_000_000);
        let (ok, c, tat) = step(0, 10, &l, true);
        assert!(ok);
        assert_eq!((c.remaining, c.reset_after_us), (4, 1_000_000));
        let mut tat = tat;
        for left in (0..4).rev() {
            let (ok, c, next) = step(tat, 10, &l, true);
            assert!(ok);
            assert_eq!(c.remaining, left);
            tat = next;
        }
        let (ok, c, _) = step(tat, 10, &l, true);
        assert!(!ok);
        assert_eq!((c.remaining, c.retry_after_us), (0, 1_000_000));
        assert_eq!(c.reset_after_us, 5_000_000);
        // Waiting the full reset restores the whole quota.
        let (ok, c, _) = step(tat, 10 + 5_000_000, &l, true);
        assert!(ok);
        assert_eq!(c.remaining, 4);
    }
}
