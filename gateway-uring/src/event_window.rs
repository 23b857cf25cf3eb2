//! The client event limit (120 events per 60 seconds, then close 4008), counted per second in a
//! ring of 60 one-byte counters: 64 bytes inside the connection's task, where a queue of
//! timestamps would be a heap allocation per connection that grows with the heartbeat rate.

use std::sync::OnceLock;
use std::time::Instant;

/// Client events allowed per window.
pub const EVENT_LIMIT: u32 = 120;
/// The window, in seconds (one counter per second).
const WINDOW_SECS: u32 = 60;

/// Seconds since the first use in this process.
fn now_secs() -> u32 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_secs() as u32
}

/// Events of one connection in the last minute, to the second.
pub struct EventWindow {
    /// The second of the last event.
    last: u32,
    /// Events per second, indexed by second modulo the window.
    counts: [u8; WINDOW_SECS as usize],
}

impl EventWindow {
    /// No events yet.
    pub fn new() -> Self {
        EventWindow {
            last: now_secs(),
            counts: [0; WINDOW_SECS as usize],
        }
    }

    /// Counts one event now; `false` once more than [`EVENT_LIMIT`] fall within the window.
    pub fn admit(&mut self) -> bool {
        self.admit_at(now_secs())
    }

    fn admit_at(&mut self, sec: u32) -> bool {
        // Seconds that went by since the last event start from zero.
        let gap = sec.saturating_sub(self.last).min(WINDOW_SECS);
        for i in 1..=gap {
            self.counts[((self.last + i) % WINDOW_SECS) as usize] = 0;
        }
        self.last = self.last.max(sec);
        let slot = &mut self.counts[(self.last % WINDOW_SECS) as usize];
        *slot = slot.saturating_add(1);
        self.counts.iter().map(|&c| u32::from(c)).sum::<u32>() <= EVENT_LIMIT
    }
}

impl Default for EventWindow {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_121st_event_within_a_minute_is_refused() {
        let mut w = EventWindow {
            last: 1000,
            counts: [0; 60],
        };
        for i in 0..EVENT_LIMIT {
            assert!(w.admit_at(1000 + i / 3), "event {i}");
        }
        assert!(!w.admit_at(1040));
    }

    #[test]
    fn events_older_than_the_window_no_longer_count() {
        let mut w = EventWindow {
            last: 1000,
            counts: [0; 60],
        };
        for _ in 0..EVENT_LIMIT {
            assert!(w.admit_at(1000));
        }
        // Still inside the minute of the burst.
        assert!(!w.admit_at(1059));
        let mut w = EventWindow {
            last: 1000,
            counts: [0; 60],
        };
        for _ in 0..EVENT_LIMIT {
            assert!(w.admit_at(1000));
        }
        // A minute later the burst's second has left the window.
        assert!(w.admit_at(1060));
        // A long silence clears everything.
        for _ in 1..EVENT_LIMIT {
            assert!(w.admit_at(5000));
        }
        assert!(w.admit_at(5000));
        assert!(!w.admit_at(5000));
    }

    #[test]
    fn the_structure_is_small() {
        assert_eq!(std::mem::size_of::<EventWindow>(), 64);
    }
}
