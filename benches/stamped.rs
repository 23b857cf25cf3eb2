//! A client TCP stream that remembers when the kernel received the bytes it last read
//! (`SO_TIMESTAMPNS`), so the load generator can tell when a frame reached the client's socket
//! apart from when the client, sharing the machine's cores with the server, got round to it.
//!
//! The time is that of the newest data in what was read, and more than that: TCP merges a
//! segment that arrives while earlier data waits unread into that data's buffer, and the merged
//! buffer takes the newer segment's time. So a frame that waited in the socket while the
//! client sent something the server answers (a heartbeat, answered by its ACK within ~50 µs)
//! is dated by the answer's arrival. The client therefore holds a heartbeat back while its
//! socket has unread data ([`Unread`]).

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream whose reads record the kernel's receive time of the data.
#[derive(Debug)]
pub struct Stamped {
    stream: TcpStream,
    /// Microseconds since the Unix epoch at which the kernel received the bytes of the last
    /// read, or 0 when it gave no time.
    last: Arc<AtomicU64>,
}

impl Stamped {
    /// Asks the kernel for receive times on `stream`.
    pub fn new(stream: TcpStream) -> io::Result<Self> {
        setsockopt(&stream, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
        Ok(Self {
            stream,
            last: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A way to ask whether the socket holds data not read yet.
    pub fn unread(&self) -> Unread {
        Unread(self.stream.as_raw_fd())
    }

    /// Where the receive time of the last read is kept.
    pub fn clock(&self) -> Arc<AtomicU64> {
        self.last.clone()
    }
}

/// Asks a [`Stamped`] stream's socket whether data waits unread; valid while the stream lives.
#[derive(Debug, Clone, Copy)]
pub struct Unread(i32);

impl Unread {
    /// Whether at least one byte waits in the socket (a non-blocking peek).
    pub fn any(self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            nix::sys::socket::recv(self.0, &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT),
            Ok(n) if n > 0
        )
    }
}

/// One `recvmsg` into `buf`: the byte count and the receive time (µs since the epoch), if the
/// kernel attached one.
fn receive(fd: i32, buf: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    let mut iov = [io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let mut stamp = None;
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmTimestampns(ts) = cmsg {
            stamp = Some(ts.tv_sec() as u64 * 1_000_000 + ts.tv_nsec() as u64 / 1_000);
        }
    }
    Ok((msg.bytes, stamp))
}

impl AsyncRead for Stamped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.stream.poll_read_ready(cx))?;
            let fd = this.stream.as_raw_fd();
            let unfilled = buf.initialize_unfilled();
            match this
                .stream
                .try_io(Interest::READABLE, || receive(fd, unfilled))
            {
                Ok((n, stamp)) => {
                    if let Some(us) = stamp {
                        this.last.store(us, Ordering::Relaxed);
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Stamped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
