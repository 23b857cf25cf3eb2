//! The bounded queue from a session to its connection: the hub pushes (under the session's
//! lock, from the tokio side), the connection's gateway thread takes. It replaces a tokio
//! `mpsc` channel, which allocates a block of 32 slots (1.5 KiB) per connection up front; this
//! queue costs about 80 bytes while empty and grows only while frames are waiting.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use crate::core::Out;

/// Capacity kept by a queue that has been drained (larger ones are given back).
const KEEP: usize = 8;

#[derive(Debug)]
struct State {
    queue: VecDeque<Out>,
    waker: Option<Waker>,
    cap: usize,
    sender_gone: bool,
}

#[derive(Debug)]
struct Shared(Mutex<State>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A new queue holding at most `cap` items.
pub fn outbox(cap: usize) -> (OutboxSender, OutboxReceiver) {
    let shared = Arc::new(Shared(Mutex::new(State {
        queue: VecDeque::new(),
        waker: None,
        cap: cap.max(1),
        sender_gone: false,
    })));
    (OutboxSender(shared.clone()), OutboxReceiver(shared))
}

/// The session's end. Dropping it ends the queue once the receiver took what is in it.
#[derive(Debug)]
pub struct OutboxSender(Arc<Shared>);

/// The queue is full.
#[derive(Debug, PartialEq, Eq)]
pub struct Full(pub Out);

impl OutboxSender {
    /// Queues `item` unless the queue is full.
    pub fn try_send(&self, item: Out) -> Result<(), Full> {
        let waker = {
            let mut s = self.0.lock();
            if s.queue.len() >= s.cap {
                return Err(Full(item));
            }
            s.queue.push_back(item);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl Drop for OutboxSender {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.lock();
            s.sender_gone = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The connection's end.
#[derive(Debug)]
pub struct OutboxReceiver(Arc<Shared>);

impl OutboxReceiver {
    /// The next item; `None` once the sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Out> {
        poll_fn(|cx| {
            let mut s = self.0.lock();
            if let Some(item) = s.queue.pop_front() {
                if s.queue.is_empty() && s.queue.capacity() > KEEP {
                    s.queue = VecDeque::new();
                }
                return Poll::Ready(Some(item));
            }
            if s.sender_gone {
                return Poll::Ready(None);
            }
            if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                s.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// The next item if one is waiting.
    pub fn try_recv(&mut self) -> Option<Out> {
        self.0.lock().queue.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Kept;
    use bytes::Bytes;

    fn frame(n: u8) -> Out {
        Out::Dispatch(u64::from(n), Kept::Frame(Box::new(Bytes::from(vec![n]))))
    }

    #[tokio::test]
    async fn items_arrive_in_order_up_to_the_bound_and_end_with_the_sender() {
        let (tx, mut rx) = outbox(2);
        tx.try_send(frame(1)).unwrap();
        tx.try_send(frame(2)).unwrap();
        assert_eq!(tx.try_send(frame(3)), Err(Full(frame(3))));
        assert_eq!(rx.recv().await, Some(frame(1)));
        tx.try_send(frame(3)).unwrap();
        drop(tx);
        assert_eq!(rx.recv().await, Some(frame(2)));
        assert_eq!(rx.recv().await, Some(frame(3)));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_from_another_thread() {
        let (tx, mut rx) = outbox(4);
        let waiter = tokio::spawn(async move { (rx.recv().await, rx.recv().await) });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        std::thread::spawn(move || {
            tx.try_send(frame(7)).unwrap();
        })
        .join()
        .unwrap();
        assert_eq!(waiter.await.unwrap(), (Some(frame(7)), None));
    }

    #[test]
    fn a_drained_queue_gives_its_memory_back() {
        let (tx, mut rx) = outbox(1000);
        for n in 0..100 {
            tx.try_send(frame(n)).unwrap();
        }
        while rx.try_recv().is_some() {}
        // try_recv keeps capacity; recv releases it once empty.
        tx.try_send(frame(1)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rx.recv()), Some(frame(1)));
        assert_eq!(rx.0.lock().queue.capacity(), 0);
    }
}
