//! The two halves of an upgraded connection: [`WsReader`] decodes client messages from the read
//! half, and [`WsWriter`] queues whole frames for a per-connection writer task that owns the
//! write half, so frames from several tasks never interleave and a dropped `send` future never
//! leaves half a frame on the wire.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::codec::{self, Decoder, Message};
use crate::halves::{PendingRead, ReadHalf, WriteHalf};
use crate::{Incoming, WsError, WsReader, WsWriter};

/// How much the reader asks the socket for at a time once part of a message is in: a whole
/// gateway payload (4,096 bytes), not more; larger messages simply take several reads.
const READ_CHUNK: usize = 4 * 1024;
/// How much the reader asks for when nothing is buffered, i.e. between messages. Every idle
/// connection holds this buffer in its pending read, so it is small: enough for a heartbeat
/// (about 30 bytes on the wire) and most other client messages in one read; a longer message
/// (Identify) completes with [`READ_CHUNK`]-sized reads.
const IDLE_CHUNK: usize = 256;
/// How long the writer task keeps flushing queued frames after every handle was dropped.
const LINGER: Duration = Duration::from_secs(5);
/// How long the writer task keeps reading (and discarding) after sending a close frame, so
/// that unread client data does not make the kernel reset the connection before the client
/// has read the close frame.
const DRAIN: Duration = Duration::from_secs(2);
/// Pongs are dropped instead of queued once this many frames wait (a client flooding pings
/// without reading).
const MAX_QUEUED_FOR_PONG: usize = 64;

/// State shared between the [`WsWriter`] handles and the writer task.
#[derive(Default)]
pub(crate) struct WriterState {
    /// Encoded frames not yet handed to the socket.
    queue: VecDeque<Bytes>,
    /// Sequence number of the last queued frame.
    queued: u64,
    /// Sequence number of the last frame fully written.
    written: u64,
    /// Sequence number of the close frame once one was queued.
    close_seq: Option<u64>,
    /// Set when writing failed or the task ended; later sends fail with this kind.
    failed: Option<io::ErrorKind>,
    /// Every [`WsWriter`] is gone: flush what is queued (for at most [`LINGER`]) and stop.
    handles_gone: bool,
    /// The writer task, waiting for frames or for the handles to go.
    task: Option<Waker>,
    /// Senders waiting for their frame to be written.
    waiters: Vec<Waker>,
    /// The read side, parked here by a dropped [`WsReader`] for draining after the close.
    read_side: Option<ReadSide>,
}

/// The read side of a connection as a dropped [`WsReader`] leaves it.
pub(crate) enum ReadSide {
    /// No read in flight.
    Idle(ReadHalf),
    /// A read in flight.
    Reading(PendingRead),
}

impl WriterState {
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
}

/// One reference to the writer; when the last is dropped the writer task is told.
pub(crate) struct WriterHandle {
    state: Rc<RefCell<WriterState>>,
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        let mut s = self.state.borrow_mut();
        s.handles_gone = true;
        s.wake_task();
    }
}

/// Builds the reader/writer pair for an upgraded stream and spawns its writer task on the
/// current monoio thread. `leftover` holds bytes read past the handshake. `guard` is kept
/// alive by the writer task, which ends early (dropping the socket) when `stop` resolves.
pub(crate) fn split<G: 'static>(
    read: ReadHalf,
    write: WriteHalf,
    leftover: BytesMut,
    max_message: usize,
    guard: G,
    stop: impl Future<Output = ()> + 'static,
) -> (WsReader, WsWriter) {
    let state = Rc::new(RefCell::new(WriterState::default()));
    let task = write_loop(state.clone(), write, guard);
    monoio::spawn(async move {
        race(pin!(task), pin!(stop)).await;
    });
    let writer = WsWriter {
        handle: Rc::new(WriterHandle { state }),
    };
    let reader = WsReader {
        decoder: Decoder::new(max_message),
        buf: leftover,
        half: Some(read),
        pending: None,
        writer: writer.clone(),
        done: false,
    };
    (reader, writer)
}

/// Waits until `state` has something to write; `None` once the handles are gone and the
/// queue is empty. Returns the queued frames joined, the sequence number of the last one and
/// whether it ends with the close frame.
async fn next_batch(state: &RefCell<WriterState>) -> Option<(Vec<u8>, u64, bool)> {
    poll_fn(|cx| {
        let mut s = state.borrow_mut();
        if !s.queue.is_empty() {
            let total = s.queue.iter().map(Bytes::len).sum();
            let mut batch = Vec::with_capacity(total);
            for frame in s.queue.drain(..) {
                batch.extend_from_slice(&frame);
            }
            let closes = s.close_seq == Some(s.queued);
            return Poll::Ready(Some((batch, s.queued, closes)));
        }
        if s.handles_gone {
            return Poll::Ready(None);
        }
        s.task = Some(cx.waker().clone());
        Poll::Pending
    })
    .await
}

/// Resolves [`LINGER`] after every handle is gone.
async fn linger(state: &RefCell<WriterState>) {
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
    // Boxed: a monoio `Sleep` is 640 bytes, which every connection's writer task would
    // otherwise carry in its state for its whole life.
    Box::pin(monoio::time::sleep(LINGER)).await;
}

/// The writer task: writes queued frames in order until the close frame, an error, or the
/// handles going away.
async fn write_loop<G>(state: Rc<RefCell<WriterState>>, mut half: WriteHalf, guard: G) {
    while let Some((batch, seq, closes)) = next_batch(&state).await {
        let result = match race(pin!(half.write_all(batch)), pin!(linger(&state))).await {
            Either::Left((result, _)) => result,
            Either::Right(()) => Err(io::ErrorKind::TimedOut.into()),
        };
        let ok = {
            let mut s = state.borrow_mut();
            match result {
                Ok(_) => s.written = seq,
                Err(e) => s.failed = Some(e.kind()),
            }
            s.wake_waiters();
            s.failed.is_none()
        };
        if !ok {
            break;
        }
        if closes {
            let _ = half.shutdown().await;
            race(pin!(drain(&state)), Box::pin(monoio::time::sleep(DRAIN))).await;
            break;
        }
    }
    let mut s = state.borrow_mut();
    s.failed.get_or_insert(io::ErrorKind::BrokenPipe);
    s.queue.clear();
    s.wake_waiters();
    drop(s);
    drop(guard);
}

/// After the close frame: waits for the reader to be dropped, then reads and discards until
/// the client closes its side.
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

/// Result of [`race`].
pub(crate) enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Polls both futures until one completes (the left one first). Both are taken already pinned
/// (`pin!(…)` in the caller, or a `Pin<Box<_>>`), so each lives once, in the caller's state: an
/// `async fn` taking them by value would hold a second copy of each (its arguments and its
/// pinned locals get separate slots), which for a connection's long-lived futures is paid per
/// connection.
pub(crate) fn race<A, B>(a: A, b: B) -> Race<A, B>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    Race { a, b }
}

/// The future of [`race`].
pub(crate) struct Race<A, B> {
    a: A,
    b: B,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for Race<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Self::Output> {
        if let Poll::Ready(x) = std::pin::Pin::new(&mut self.a).poll(cx) {
            return Poll::Ready(Either::Left(x));
        }
        if let Poll::Ready(y) = std::pin::Pin::new(&mut self.b).poll(cx) {
            return Poll::Ready(Either::Right(y));
        }
        Poll::Pending
    }
}

/// What to do with a frame queued while a close frame was already sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A data frame from the application: refused with `BrokenPipe`.
    Data,
    /// A pong: silently dropped.
    Pong,
    /// A close frame: only the first is sent.
    Close,
}

impl WsWriter {
    /// Queues `frame`; the sequence number to wait for, or `None` when nothing was queued.
    fn enqueue(&self, frame: Bytes, kind: Kind) -> io::Result<Option<u64>> {
        let mut s = self.handle.state.borrow_mut();
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
        s.wake_task();
        Ok(Some(seq))
    }

    /// Waits until frame `seq` is written (or writing failed).
    async fn written(&self, seq: u64) -> io::Result<()> {
        poll_fn(|cx| {
            let mut s = self.handle.state.borrow_mut();
            if s.written >= seq {
                Poll::Ready(Ok(()))
            } else if let Some(kind) = s.failed {
                Poll::Ready(Err(kind.into()))
            } else {
                s.waiters.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    async fn send(&self, frame: Bytes, kind: Kind) -> io::Result<()> {
        match self.enqueue(frame, kind)? {
            Some(seq) => self.written(seq).await,
            None => Ok(()),
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
}

impl Drop for WsReader {
    fn drop(&mut self) {
        let side = match (self.pending.take(), self.half.take()) {
            (Some(pending), _) => ReadSide::Reading(pending),
            (None, Some(half)) => ReadSide::Idle(half),
            (None, None) => return,
        };
        let mut s = self.writer.handle.state.borrow_mut();
        s.read_side = Some(side);
        s.wake_task();
    }
}

impl WsReader {
    /// The next message. Pings are answered (through the connection's writer) and pongs
    /// dropped without returning; a close frame from the client is answered and returned as
    /// [`Incoming::Close`].
    ///
    /// Cancel-safe: dropping the future before it completes loses no data. After an error or
    /// [`Incoming::Close`] the connection is finished and further calls fail.
    pub async fn next(&mut self) -> Result<Incoming, WsError> {
        loop {
            if self.done {
                return Err(WsError::Io(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the connection already ended",
                )));
            }
            let decoded = self.decoder.decode(&mut self.buf);
            let message = match decoded {
                Ok(Some(m)) => m,
                Ok(None) => {
                    self.fill().await?;
                    continue;
                }
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            };
            match message {
                Message::Text(b) => return Ok(Incoming::Text(b)),
                Message::Binary(b) => return Ok(Incoming::Binary(b)),
                Message::Pong(_) => {}
                Message::Ping(payload) => {
                    // A failed write shows up on the next send; reading goes on.
                    let _ = self
                        .writer
                        .enqueue(codec::encode_pong(&payload), Kind::Pong);
                }
                Message::Close(close) => {
                    self.done = true;
                    let code = close.map(|(code, _)| code);
                    let _ = self
                        .writer
                        .enqueue(codec::encode_close(code.map(|c| (c, ""))), Kind::Close);
                    return Ok(Incoming::Close(code));
                }
            }
        }
    }

    /// Reads more bytes from the socket into the buffer; EOF is an error.
    async fn fill(&mut self) -> Result<(), WsError> {
        if self.pending.is_none() {
            let Some(half) = self.half.take() else {
                self.done = true;
                return Err(WsError::Io(io::ErrorKind::NotConnected.into()));
            };
            let mut buf = std::mem::take(&mut self.buf);
            if buf.is_empty() {
                // Between messages: a small buffer of its own, so an idle connection neither
                // holds a large one nor keeps alive one shared with the last message (or the
                // handshake). A few bytes left in the current one are not worth a read.
                if !(64..=IDLE_CHUNK).contains(&buf.capacity()) {
                    buf = BytesMut::with_capacity(IDLE_CHUNK);
                }
            } else {
                buf.reserve(READ_CHUNK);
            }
            let end = buf.capacity();
            self.pending = Some(half.into_read(buf, end));
        }
        let Some(pending) = self.pending.as_mut() else {
            return Err(WsError::Io(io::ErrorKind::NotConnected.into()));
        };
        let (result, buf, half) = pending.await;
        self.pending = None;
        self.buf = buf;
        self.half = Some(half);
        match result {
            Ok(0) => {
                self.done = true;
                Err(WsError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the socket without a close frame",
                )))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                self.done = true;
                Err(WsError::Io(e))
            }
        }
    }
}
