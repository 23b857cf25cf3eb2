//! The write side of an upgraded connection. [`WsWriter`] queues whole frames; the sender that
//! finds the socket free writes the queue itself, so a connection has no writer task of its own
//! (an idle connection holds no task state for writing, and a frame costs no extra task wake-up).
//! A short-lived flush task writes only what no sender waits for: pongs, the answer to the
//! client's close, frames still queued when every handle is gone; and after a close frame one
//! keeps draining the socket so that the client reads the close before the connection goes.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::WsWriter;
use crate::codec;
use crate::conn::{Either, READ_CHUNK, race};
use crate::halves::{PendingRead, ReadHalf, WriteHalf};
use crate::signal::Abort;

/// How long a flush task keeps writing queued frames after every handle was dropped.
const LINGER: Duration = Duration::from_secs(5);
/// How long to keep reading (and discarding) after sending a close frame, so that unread client
/// data does not make the kernel reset the connection before the client has read the close.
const DRAIN: Duration = Duration::from_secs(2);
/// Pongs are dropped instead of queued once this many frames wait (a client flooding pings
/// without reading).
const MAX_QUEUED_FOR_PONG: usize = 64;

/// State shared by the [`WsWriter`] handles, the reader and any flush task.
pub(crate) struct WriterState {
    /// Encoded frames not yet handed to the socket.
    queue: VecDeque<Bytes>,
    /// Sequence number of the last queued frame.
    queued: u64,
    /// Sequence number of the last frame fully written.
    written: u64,
    /// Sequence number of the close frame once one was queued.
    close_seq: Option<u64>,
    /// Set when writing failed or ended; later sends fail with this kind.
    failed: Option<io::ErrorKind>,
    /// Every [`WsWriter`] is gone: what is queued is flushed (for at most [`LINGER`]).
    handles_gone: bool,
    /// The write half while nobody writes: a writer takes it and gives it back.
    half: Option<WriteHalf>,
    /// Senders waiting for their frame to be written or for the half to come back.
    waiters: Vec<Waker>,
    /// A flush task waiting for the handles to go or for the read side.
    task: Option<Waker>,
    /// The read side, parked here by a dropped reader for draining after the close.
    read_side: Option<ReadSide>,
    /// Ends flush tasks at once when the server aborts.
    abort: Rc<Abort>,
    /// Kept as long as anything may still be written (counts the connection as open).
    _guard: Rc<dyn Any>,
}

/// The read side of a connection as a dropped reader leaves it.
pub(crate) enum ReadSide {
    /// No read in flight.
    Idle(ReadHalf),
    /// A read in flight.
    Reading(PendingRead),
}

impl WriterState {
    pub(crate) fn new(half: WriteHalf, abort: Rc<Abort>, guard: Rc<dyn Any>) -> Self {
        WriterState {
            queue: VecDeque::new(),
            queued: 0,
            written: 0,
            close_seq: None,
            failed: None,
            handles_gone: false,
            half: Some(half),
            waiters: Vec::new(),
            task: None,
            read_side: None,
            abort,
            _guard: guard,
        }
    }

    fn wake_task(&mut self) {
        if let Some(w) = self.task.take() {
            w.wake();
        }
    }

    fn wake_waiters(&mut self) {
        for w in self.waiters.drain(..) {
            w.wake();
        }
    }

    /// The queued frames as one buffer (the frame itself when only one waits), the sequence
    /// number of the last and whether it is the close frame.
    fn take_batch(&mut self) -> Option<(Bytes, u64, bool)> {
        let batch = match self.queue.len() {
            0 => return None,
            1 => self.queue.pop_front()?,
            _ => {
                let total = self.queue.iter().map(Bytes::len).sum();
                let mut batch = Vec::with_capacity(total);
                for frame in self.queue.drain(..) {
                    batch.extend_from_slice(&frame);
                }
                batch.into()
            }
        };
        Some((batch, self.queued, self.close_seq == Some(self.queued)))
    }
}

type State = Rc<RefCell<WriterState>>;

/// One reference to the writer; when the last is dropped, what is still queued is flushed.
pub(crate) struct WriterHandle {
    pub(crate) state: State,
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        let mut s = self.state.borrow_mut();
        s.handles_gone = true;
        s.wake_task();
        let flush = !s.queue.is_empty() && s.half.is_some();
        drop(s);
        if flush {
            spawn_flush(&self.state);
        }
    }
}

/// How a run of writes ended.
enum Outcome {
    /// The queue is empty; the half can be given back.
    Idle,
    /// The close frame went out: the half is shut down and the socket drained.
    Closed,
    /// Writing failed (or timed out); the half is dropped.
    Failed,
}

/// Writes queued frames with `half` until the queue is empty, the close frame is written or a
/// write fails. With `linger`, a write still pending [`LINGER`] after the handles went fails.
async fn write_queued(state: &RefCell<WriterState>, half: &mut WriteHalf, linger: bool) -> Outcome {
    loop {
        let Some((batch, seq, closes)) = state.borrow_mut().take_batch() else {
            return Outcome::Idle;
        };
        let result = if linger {
            match race(pin!(half.write_all(batch)), pin!(lingered(state))).await {
                Either::Left((result, _)) => result,
                Either::Right(()) => Err(io::ErrorKind::TimedOut.into()),
            }
        } else {
            half.write_all(batch).await.0
        };
        let mut s = state.borrow_mut();
        s.wake_waiters();
        match result {
            Ok(_) => s.written = seq,
            Err(e) => {
                s.failed = Some(e.kind());
                s.queue.clear();
                return Outcome::Failed;
            }
        }
        if closes {
            return Outcome::Closed;
        }
    }
}

/// Resolves [`LINGER`] after every handle is gone.
async fn lingered(state: &RefCell<WriterState>) {
    poll_fn(|cx| {
        let mut s = state.borrow_mut();
        if s.handles_gone {
            Poll::Ready(())
        } else {
            s.task = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await;
    // Boxed: a monoio `Sleep` is 640 bytes; only a lingering flush task needs one.
    Box::pin(monoio::time::sleep(LINGER)).await;
}

/// After a run of writes: gives the half back, or hands it to the drain after a close.
fn settle(state: &State, outcome: Outcome, half: WriteHalf) {
    let mut s = state.borrow_mut();
    s.wake_waiters();
    match outcome {
        Outcome::Idle if !s.handles_gone => s.half = Some(half),
        Outcome::Idle => {}
        Outcome::Closed => {
            drop(s);
            let state = state.clone();
            monoio::spawn(until_abort(state.clone(), async move {
                closed(&state, half).await;
            }));
        }
        Outcome::Failed => {}
    }
}

/// Runs `work` (on its own task) unless the server aborts first, which ends the writer for
/// anyone still waiting.
async fn until_abort(state: State, work: impl std::future::Future<Output = ()>) {
    let abort = state.borrow().abort.clone();
    if let Either::Right(()) = race(pin!(work), pin!(abort.fired())).await {
        let mut s = state.borrow_mut();
        s.failed.get_or_insert(io::ErrorKind::BrokenPipe);
        s.queue.clear();
        s.wake_waiters();
    }
}

/// Starts a task that writes what is queued (the half must be free).
fn spawn_flush(state: &State) {
    let task_state = state.clone();
    monoio::spawn(until_abort(state.clone(), async move {
        let Some(mut half) = task_state.borrow_mut().half.take() else {
            return;
        };
        let outcome = write_queued(&task_state, &mut half, true).await;
        match outcome {
            Outcome::Closed => closed(&task_state, half).await,
            outcome => settle(&task_state, outcome, half),
        }
    }));
}

/// After the close frame: shuts the write side down, then reads and discards until the client
/// closes its side (at most [`DRAIN`]).
async fn closed(state: &RefCell<WriterState>, mut half: WriteHalf) {
    let _ = half.shutdown().await;
    race(pin!(drain(state)), Box::pin(monoio::time::sleep(DRAIN))).await;
    let mut s = state.borrow_mut();
    s.failed.get_or_insert(io::ErrorKind::BrokenPipe);
    s.wake_waiters();
}

/// Waits for the reader to be dropped, then reads and discards until end of stream.
async fn drain(state: &RefCell<WriterState>) {
    let side = poll_fn(|cx| {
        let mut s = state.borrow_mut();
        match s.read_side.take() {
            Some(side) => Poll::Ready(side),
            None => {
                s.task = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await;
    let mut half = match side {
        ReadSide::Idle(half) => half,
        ReadSide::Reading(pending) => match pending.await {
            (Ok(n), _, half) if n > 0 => half,
            _ => return,
        },
    };
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        buf.clear();
        let end = buf.capacity();
        let (result, back) = half.read(buf, end).await;
        buf = back;
        if !matches!(result, Ok(n) if n > 0) {
            return;
        }
    }
}

/// While a sender writes: if its future is dropped mid-write, the half goes with it, so the
/// connection is marked failed for everyone else.
struct Holding<'a> {
    state: &'a RefCell<WriterState>,
    armed: bool,
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut s = self.state.borrow_mut();
            s.failed.get_or_insert(io::ErrorKind::BrokenPipe);
            s.queue.clear();
            s.wake_waiters();
        }
    }
}

/// What to do with a frame queued while a close frame was already sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A data frame from the application: refused with `BrokenPipe`.
    Data,
    /// A pong: silently dropped.
    Pong,
    /// A close frame: only the first is sent.
    Close,
}

impl WsWriter {
    /// Queues `frame`; the sequence number to wait for, or `None` when nothing was queued.
    /// With `flush`, a free socket gets a flush task (nobody will wait for this frame).
    pub(crate) fn enqueue(&self, frame: Bytes, kind: Kind, flush: bool) -> io::Result<Option<u64>> {
        let state = &self.handle.state;
        let mut s = state.borrow_mut();
        if s.close_seq.is_some() {
            return match kind {
                Kind::Data => Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the connection was closed",
                )),
                Kind::Pong | Kind::Close => Ok(None),
            };
        }
        if let Some(kind) = s.failed {
            return Err(kind.into());
        }
        if kind == Kind::Pong && s.queue.len() >= MAX_QUEUED_FOR_PONG {
            return Ok(None);
        }
        s.queue.push_back(frame);
        s.queued += 1;
        let seq = s.queued;
        if kind == Kind::Close {
            s.close_seq = Some(seq);
        }
        let start = flush && s.half.is_some();
        drop(s);
        if start {
            spawn_flush(state);
        }
        Ok(Some(seq))
    }

    /// Queues `frame` and returns once it is written: written by this call when the socket is
    /// free (with whatever else is queued), otherwise by whoever is writing. Dropping the future
    /// while it writes ends the connection (the socket's write half goes with it), so a frame
    /// is never left half-written on a connection that goes on.
    async fn send(&self, frame: Bytes, kind: Kind) -> io::Result<()> {
        let Some(seq) = self.enqueue(frame, kind, false)? else {
            return Ok(());
        };
        let state = &self.handle.state;
        loop {
            let half = poll_fn(|cx| {
                let mut s = state.borrow_mut();
                if s.written >= seq {
                    Poll::Ready(Ok(None))
                } else if let Some(kind) = s.failed {
                    Poll::Ready(Err(io::Error::from(kind)))
                } else if let Some(half) = s.half.take() {
                    Poll::Ready(Ok(Some(half)))
                } else {
                    s.waiters.push(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await?;
            let Some(mut half) = half else {
                return Ok(());
            };
            let mut holding = Holding { state, armed: true };
            // Boxed: the write is the largest part of a send, and a sender (a connection's
            // task) would otherwise keep room for it while idle; one allocation per write.
            let outcome = Box::pin(write_queued(state, &mut half, false)).await;
            holding.armed = false;
            settle(state, outcome, half);
        }
    }

    /// Sends a text message.
    pub async fn send_text(&self, payload: &[u8]) -> io::Result<()> {
        self.send(codec::encode_text(payload), Kind::Data).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, payload: &[u8]) -> io::Result<()> {
        self.send(codec::encode_binary(payload), Kind::Data).await
    }

    /// Sends a data frame already encoded whole, e.g. by [`codec::seal`] (text or binary,
    /// unmasked, final). The frame's bytes are queued as they are, without a copy.
    pub async fn send_frame(&self, frame: Bytes) -> io::Result<()> {
        self.send(frame, Kind::Data).await
    }

    /// Sends a ping (payload cut to 125 bytes).
    pub async fn send_ping(&self, payload: &[u8]) -> io::Result<()> {
        self.send(codec::encode_ping(payload), Kind::Data).await
    }

    /// Sends a close frame with `code` and `reason` (cut to fit 125 bytes), then shuts the
    /// connection's write side down. Only the first close is sent; later calls return `Ok`
    /// at once and later sends fail with `BrokenPipe`.
    pub async fn close(&self, code: u16, reason: &str) -> io::Result<()> {
        self.send(codec::encode_close(Some((code, reason))), Kind::Close)
            .await
    }

    /// Whether a close frame was already queued (by [`WsWriter::close`] or in reply to the
    /// client's close).
    pub fn is_closed(&self) -> bool {
        self.handle.state.borrow().close_seq.is_some()
    }

    /// Parks a dropped reader's read side for the drain after the close.
    pub(crate) fn park_read_side(&self, side: ReadSide) {
        let mut s = self.handle.state.borrow_mut();
        s.read_side = Some(side);
        s.wake_task();
    }
}
