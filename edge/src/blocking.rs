//! Error-based blocking (`edge.blocking`): responses with a counted status are tallied per
//! client address in a window that starts at the address's first counted error; one error past
//! `max_errors` blocks the address for `block_secs`. Blocks end by themselves, can be listed and
//! lifted (the admin listener), and are kept per edge process.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use accord_config::EdgeBlockingConfig;
use dashmap::DashMap;
use serde::Serialize;

/// What the edge knows about one address.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Start of the current counting window.
    window_start: Instant,
    /// Errors counted in the window.
    errors: u64,
    /// The block in force, if any.
    block: Option<Block>,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    since: SystemTime,
    until: Instant,
    until_wall: SystemTime,
    errors: u64,
}

/// A block as the admin listener shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockInfo {
    /// The blocked client address.
    pub address: String,
    /// When the block began (Unix seconds).
    pub since: u64,
    /// When it ends (Unix seconds).
    pub until: u64,
    /// Errors counted when it began.
    pub errors: u64,
}

/// The counters and blocks of every address.
#[derive(Debug)]
pub struct Blocker {
    enabled: bool,
    statuses: HashSet<u16>,
    max_errors: u64,
    window: Duration,
    block: Duration,
    entries: DashMap<IpAddr, Entry>,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Blocker {
    /// The blocker of `edge.blocking`.
    pub fn new(config: &EdgeBlockingConfig) -> Self {
        Self {
            enabled: config.enabled,
            statuses: config.statuses.iter().copied().collect(),
            max_errors: config.max_errors,
            window: Duration::from_secs(config.window_secs),
            block: Duration::from_secs(config.block_secs),
            entries: DashMap::new(),
        }
    }

    /// Whether `addr` is blocked now.
    pub fn is_blocked(&self, addr: IpAddr) -> bool {
        self.is_blocked_at(addr, Instant::now())
    }

    fn is_blocked_at(&self, addr: IpAddr, now: Instant) -> bool {
        if !self.enabled {
            return false;
        }
        let Some(mut entry) = self.entries.get_mut(&addr) else {
            return false;
        };
        match entry.block {
            Some(b) if b.until > now => true,
            Some(_) => {
                tracing::info!("edge: block of {addr} ended");
                entry.block = None;
                entry.errors = 0;
                entry.window_start = now;
                false
            }
            None => false,
        }
    }

    /// Counts a response with `status` sent to `addr`; returns true when it starts a block.
    pub fn record(&self, addr: IpAddr, status: u16) -> bool {
        self.record_at(addr, status, Instant::now())
    }

    fn record_at(&self, addr: IpAddr, status: u16, now: Instant) -> bool {
        if !self.enabled || !self.statuses.contains(&status) || self.is_blocked_at(addr, now) {
            return false;
        }
        let mut entry = self.entries.entry(addr).or_insert(Entry {
            window_start: now,
            errors: 0,
            block: None,
        });
        if now.duration_since(entry.window_start) >= self.window {
            entry.window_start = now;
            entry.errors = 0;
        }
        entry.errors += 1;
        if entry.errors <= self.max_errors {
            return false;
        }
        let since = SystemTime::now();
        entry.block = Some(Block {
            since,
            until: now + self.block,
            until_wall: since + self.block,
            errors: entry.errors,
        });
        tracing::warn!(
            address = %addr,
            errors = entry.errors,
            window_secs = self.window.as_secs(),
            block_secs = self.block.as_secs(),
            "edge: blocked {addr} after {} error responses in {} s",
            entry.errors,
            self.window.as_secs()
        );
        true
    }

    /// The blocks in force, oldest first.
    pub fn list(&self) -> Vec<BlockInfo> {
        let now = Instant::now();
        let mut out: Vec<BlockInfo> = self
            .entries
            .iter()
            .filter_map(|e| {
                let b = e.block.filter(|b| b.until > now)?;
                Some(BlockInfo {
                    address: e.key().to_string(),
                    since: unix(b.since),
                    until: unix(b.until_wall),
                    errors: b.errors,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.since, &a.address).cmp(&(b.since, &b.address)));
        out
    }

    /// Lifts the block of `addr` (and forgets its errors); false if it was not blocked.
    pub fn lift(&self, addr: IpAddr) -> bool {
        let now = Instant::now();
        let lifted = self
            .entries
            .remove_if(&addr, |_, e| e.block.is_some_and(|b| b.until > now))
            .is_some();
        if lifted {
            tracing::warn!(address = %addr, "edge: block of {addr} lifted by the admin");
        }
        lifted
    }

    /// Forgets addresses whose window and block are both over (called periodically).
    pub fn sweep(&self) {
        let now = Instant::now();
        self.entries.retain(|_, e| {
            e.block.is_some_and(|b| b.until > now)
                || now.duration_since(e.window_start) < self.window
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocker(max: u64, window: u64, block: u64) -> Blocker {
        Blocker::new(&EdgeBlockingConfig {
            enabled: true,
            statuses: vec![401, 404],
            max_errors: max,
            window_secs: window,
            block_secs: block,
        })
    }

    #[test]
    fn more_than_max_errors_in_the_window_blocks_until_the_block_ends() {
        let b = blocker(3, 10, 60);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(!b.record_at(ip, 404, t0));
        }
        assert!(!b.record_at(ip, 200, t0), "a success does not count");
        assert!(
            !b.record_at(ip, 500, t0),
            "an uncounted status does not count"
        );
        assert!(!b.is_blocked_at(ip, t0));
        assert!(b.record_at(ip, 401, t0 + Duration::from_secs(9)));
        assert!(b.is_blocked_at(ip, t0 + Duration::from_secs(10)));
        assert_eq!(b.list().len(), 1);
        assert_eq!(b.list()[0].errors, 4);
        assert!(
            !b.is_blocked_at(ip, t0 + Duration::from_secs(70)),
            "expired"
        );
        assert!(!b.is_blocked_at("192.0.2.2".parse().unwrap(), t0));
    }

    #[test]
    fn the_window_restarts_and_blocks_can_be_lifted() {
        let b = blocker(2, 10, 60);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let t0 = Instant::now();
        b.record_at(ip, 404, t0);
        b.record_at(ip, 404, t0);
        assert!(
            !b.record_at(ip, 404, t0 + Duration::from_secs(11)),
            "new window"
        );
        assert!(!b.record_at(ip, 404, t0 + Duration::from_secs(12)));
        assert!(b.record_at(ip, 404, t0 + Duration::from_secs(12)));
        assert!(b.lift(ip));
        assert!(!b.lift(ip));
        assert!(!b.is_blocked(ip));
        assert!(b.list().is_empty());
    }
}
