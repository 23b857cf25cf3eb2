//! Heartbeat deadlines for every connection of a gateway thread, checked by one ticker task per
//! thread. A monoio `Sleep` is 640 bytes (two cache-padded fields) and a connection would hold
//! one for its whole life; here a connection holds a small entry in its thread's table, and the
//! ticker wakes the connections whose deadline passed, `TICK` late at most. When the gateway
//! shuts down, every alarm of the thread rings (so a connection needs no shutdown future of its
//! own).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::Duration;

use monoio::time::Instant;
use tokio::sync::watch;

/// How often the ticker looks at the deadlines.
pub const TICK: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Table {
    next_id: u64,
    entries: HashMap<u64, (Instant, Option<Waker>)>,
    ticking: bool,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
    static STOP: RefCell<Option<watch::Receiver<bool>>> = const { RefCell::new(None) };
}

/// Makes every alarm of this thread ring once `stop` turns true (the gateway shutting down).
pub fn ring_all_on(stop: watch::Receiver<bool>) {
    STOP.with(|s| *s.borrow_mut() = Some(stop));
}

/// Whether this thread's gateway is shutting down.
pub fn stopping() -> bool {
    STOP.with(|s| s.borrow().as_ref().is_some_and(|r| *r.borrow()))
}

/// A connection's place in its thread's table; removed when dropped.
#[derive(Debug)]
pub struct Alarm {
    id: u64,
}

impl Alarm {
    /// Registers a connection on this thread (a gateway thread: the ticker is a monoio task).
    pub fn new() -> Self {
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            t.next_id += 1;
            Alarm { id: t.next_id }
        })
    }

    /// Resolves once `at` has passed, or the gateway is shutting down.
    pub async fn at(&self, at: Instant) {
        poll_fn(|cx| {
            if Instant::now() >= at || stopping() {
                return Poll::Ready(());
            }
            let start = TABLE.with(|t| {
                let mut t = t.borrow_mut();
                let entry = t.entries.entry(self.id).or_insert((at, None));
                entry.0 = at;
                if !entry.1.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    entry.1 = Some(cx.waker().clone());
                }
                !std::mem::replace(&mut t.ticking, true)
            });
            if start {
                monoio::spawn(tick());
            }
            Poll::Pending
        })
        .await
    }
}

impl Default for Alarm {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        let _ = TABLE.try_with(|t| t.borrow_mut().entries.remove(&self.id));
    }
}

/// Wakes due connections every `TICK` while any connection of this thread waits.
async fn tick() {
    loop {
        monoio::time::sleep(TICK).await;
        let now = Instant::now();
        let stop = stopping();
        let (due, idle) = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            let due: Vec<Waker> = t
                .entries
                .values_mut()
                .filter(|(at, _)| stop || *at <= now)
                .filter_map(|(_, w)| w.take())
                .collect();
            let idle = t.entries.is_empty();
            if idle {
                t.ticking = false;
                t.entries.shrink_to_fit();
            }
            (due, idle)
        });
        for w in due {
            w.wake();
        }
        if idle {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_ring_after_their_time_and_not_before() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .unwrap();
        rt.block_on(async {
            let (a, b) = (Alarm::new(), Alarm::new());
            let start = Instant::now();
            let early = start + Duration::from_millis(150);
            let late = start + Duration::from_millis(450);
            let first = monoio::select! {
                _ = a.at(late) => "late",
                _ = b.at(early) => "early",
            };
            assert_eq!(first, "early");
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(150), "{waited:?}");
            a.at(late).await;
            assert!(start.elapsed() >= Duration::from_millis(450));
            drop((a, b));
            // The ticker stops once no connection waits.
            monoio::time::sleep(TICK * 2).await;
            assert!(!TABLE.with(|t| t.borrow().ticking));
        });
    }
}
