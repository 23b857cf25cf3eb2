//! The reading half of an upgraded connection ([`WsReader`] decodes client messages, answers
//! pings and the client's close) and [`split`], which pairs it with its [`WsWriter`]
//! (`writer.rs`); also [`race`], the two-future select the transport uses.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::task::Poll;

use bytes::BytesMut;

use crate::codec::{self, Decoder, Message};
use crate::halves::{ReadHalf, WriteHalf};
use crate::signal::Abort;
use crate::writer::{Kind, ReadSide, WriterHandle, WriterState};
use crate::{Incoming, WsError, WsReader, WsWriter};

/// How much the reader asks the socket for at a time once part of a message is in: a whole
/// gateway payload (4,096 bytes), not more; larger messages simply take several reads.
pub(crate) const READ_CHUNK: usize = 4 * 1024;
/// How much the reader asks for when nothing is buffered, i.e. between messages. Every idle
/// connection holds this buffer in its pending read, so it is small: enough for a heartbeat
/// (about 30 bytes on the wire) in one read; a longer message (Identify, a presence update)
/// completes with [`READ_CHUNK`]-sized reads.
const IDLE_CHUNK: usize = 128;

/// Builds the reader/writer pair for an upgraded stream. `leftover` holds bytes read past the
/// handshake. `guard` is kept until nothing more can be written; `abort` ends any writing at once.
pub(crate) fn split(
    read: ReadHalf,
    write: WriteHalf,
    leftover: BytesMut,
    max_message: usize,
    guard: Rc<dyn Any>,
    abort: Rc<Abort>,
) -> (WsReader, WsWriter) {
    let state = Rc::new(RefCell::new(WriterState::new(write, abort, guard)));
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

impl Drop for WsReader {
    fn drop(&mut self) {
        let side = match (self.pending.take(), self.half.take()) {
            (Some(pending), _) => ReadSide::Reading(pending),
            (None, Some(half)) => ReadSide::Idle(half),
            (None, None) => return,
        };
        self.writer.park_read_side(side);
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
                        .enqueue(codec::encode_pong(&payload), Kind::Pong, true);
                }
                Message::Close(close) => {
                    self.done = true;
                    let code = close.map(|(code, _)| code);
                    let _ = self.writer.enqueue(
                        codec::encode_close(code.map(|c| (c, ""))),
                        Kind::Close,
                        true,
                    );
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
                if !(32..=IDLE_CHUNK).contains(&buf.capacity()) {
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
