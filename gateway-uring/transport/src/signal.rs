//! Small signals used to stop a gateway thread: [`Control`], set from any thread by
//! `Server::shutdown`, and [`Abort`], a single-thread broadcast that ends every connection task
//! of one thread when the shutdown grace period is over.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How often a gateway thread looks at the cross-thread stop flag.
const STOP_POLL: Duration = Duration::from_millis(25);

/// Shared by the [`crate::Server`] and its threads.
#[derive(Debug, Default)]
pub(crate) struct Control {
    stop: AtomicBool,
    deadline: Mutex<Option<Instant>>,
}

impl Control {
    /// Tells every thread to stop accepting and to end its connections by `deadline`.
    pub(crate) fn stop(&self, deadline: Instant) {
        if let Ok(mut d) = self.deadline.lock() {
            *d = Some(deadline);
        }
        self.stop.store(true, Ordering::Release);
    }

    /// When open connections are dropped (only meaningful once stopped).
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
            .lock()
            .ok()
            .and_then(|d| *d)
            .unwrap_or_else(Instant::now)
    }

    /// Resolves once [`Control::stop`] was called (checked every [`STOP_POLL`]).
    pub(crate) async fn stopped(&self) {
        while !self.stop.load(Ordering::Acquire) {
            monoio::time::sleep(STOP_POLL).await;
        }
    }
}

/// Waiters registered on an [`Abort`]; slots are reused.
#[derive(Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

/// A one-shot broadcast on one thread.
#[derive(Default)]
pub(crate) struct Abort {
    fired: Cell<bool>,
    waiters: RefCell<Waiters>,
}

impl Abort {
    /// Wakes every [`Fired`] future, now and later.
    pub(crate) fn fire(&self) {
        self.fired.set(true);
        let wakers: Vec<Waker> = {
            let mut w = self.waiters.borrow_mut();
            w.slots.iter_mut().filter_map(Option::take).collect()
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// A future resolving when [`Abort::fire`] is called.
    pub(crate) fn fired(self: &Rc<Self>) -> Fired {
        Fired {
            abort: self.clone(),
            slot: None,
        }
    }
}

/// See [`Abort::fired`].
pub(crate) struct Fired {
    abort: Rc<Abort>,
    slot: Option<usize>,
}

impl Future for Fired {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.abort.fired.get() {
            return Poll::Ready(());
        }
        let abort = self.abort.clone();
        let mut w = abort.waiters.borrow_mut();
        let slot = match self.slot {
            Some(slot) => slot,
            None => {
                let slot = match w.free.pop() {
                    Some(slot) => slot,
                    None => {
                        w.slots.push(None);
                        w.slots.len() - 1
                    }
                };
                self.slot = Some(slot);
                slot
            }
        };
        w.slots[slot] = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Fired {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let mut w = self.abort.waiters.borrow_mut();
            w.slots[slot] = None;
            w.free.push(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn abort_wakes_waiters_and_reuses_slots() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let abort = Rc::new(Abort::default());
        let mut a = Box::pin(abort.fired());
        let b = Box::pin(abort.fired());
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert!(a.as_mut().poll(&mut cx).is_pending());
        let mut b = b;
        assert!(b.as_mut().poll(&mut cx).is_pending());
        drop(b);
        assert_eq!(abort.waiters.borrow().free, vec![1]);
        abort.fire();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(a.as_mut().poll(&mut cx).is_ready());
        assert!(Box::pin(abort.fired()).as_mut().poll(&mut cx).is_ready());
    }
}
