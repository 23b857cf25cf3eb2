//! The daily identify budget of each account (`session_start_limit`): how many sessions it may
//! still start in the current 24-hour window, shared by `GET /gateway/bot` and the gateway in
//! this process.

use std::time::{Duration, Instant};

use accord_model::UserId;
use dashmap::DashMap;

/// The window the budget covers.
pub const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Per-account counts of identifies in the running window.
#[derive(Debug)]
pub struct IdentifyBudget {
    total: u32,
    used: DashMap<UserId, (Instant, u32)>,
}

/// An account's budget as `session_start_limit` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    /// Identifies allowed per window.
    pub total: u32,
    /// Identifies left.
    pub remaining: u32,
    /// Milliseconds until the window restarts.
    pub reset_after_ms: u64,
}

impl IdentifyBudget {
    /// A budget of `total` identifies per window.
    pub fn new(total: u32) -> Self {
        Self {
            total,
            used: DashMap::new(),
        }
    }

    /// What `user` has left.
    pub fn remaining(&self, user: UserId) -> Remaining {
        let now = Instant::now();
        match self.used.get(&user).map(|e| *e) {
            Some((start, used)) if now.duration_since(start) < WINDOW => Remaining {
                total: self.total,
                remaining: self.total.saturating_sub(used),
                reset_after_ms: (WINDOW - now.duration_since(start)).as_millis() as u64,
            },
            _ => Remaining {
                total: self.total,
                remaining: self.total,
                reset_after_ms: WINDOW.as_millis() as u64,
            },
        }
    }

    /// Takes one identify from `user`'s budget; false when none is left.
    pub fn take(&self, user: UserId) -> bool {
        let now = Instant::now();
        let mut entry = self.used.entry(user).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= self.total {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out_per_user() {
        let b = IdentifyBudget::new(2);
        let (a, c) = (UserId::new(1), UserId::new(2));
        assert_eq!(b.remaining(a).remaining, 2);
        assert!(b.take(a));
        assert!(b.take(a));
        assert!(!b.take(a));
        assert_eq!(b.remaining(a).remaining, 0);
        assert!(b.remaining(a).reset_after_ms <= WINDOW.as_millis() as u64);
        assert!(b.take(c));
        assert_eq!(b.remaining(c).remaining, 1);
    }
}
