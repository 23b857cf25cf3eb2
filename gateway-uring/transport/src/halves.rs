//! The read and write halves of an accepted connection: plain TCP, a direct descriptor in the
//! thread's ring (`direct.rs`), or TLS. Enums rather than boxed trait objects, so the plain
//! paths stay direct calls: no allocation or dynamic dispatch per read or write.

use std::future::Future;
use std::io;
use std::pin::Pin;

use bytes::BytesMut;
use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use monoio::net::tcp::{TcpOwnedReadHalf, TcpOwnedWriteHalf};

use crate::direct;
use crate::tls::{TlsReader, TlsWriter};

/// The reading side of a connection.
pub(crate) enum ReadHalf {
    Plain(TcpOwnedReadHalf),
    Direct(direct::Half),
    /// Boxed: the half is part of every idle connection's pending read.
    Tls(Box<TlsReader>),
}

impl ReadHalf {
    /// Reads into `buf[buf.len()..end]` (`end` > `buf.len()`, at most its capacity); `Ok(0)` at
    /// end of stream.
    pub(crate) async fn read(
        &mut self,
        buf: BytesMut,
        end: usize,
    ) -> (io::Result<usize>, BytesMut) {
        match self {
            ReadHalf::Plain(half) => {
                let start = buf.len();
                let (result, slice) = half.read(buf.slice_mut(start..end)).await;
                (result, slice.into_inner())
            }
            ReadHalf::Direct(half) => half.read(buf, end).await,
            ReadHalf::Tls(half) => half.read(buf, end).await,
        }
    }

    /// Starts a read into `buf[buf.len()..end]` that owns the half and gives it back: the
    /// future an idle connection keeps. One allocation, as for plain TCP before TLS existed:
    /// each kind gets its own boxed future, so the plain one stays the size of a bare TCP read
    /// (the TLS one is larger).
    pub(crate) fn into_read(self, buf: BytesMut, end: usize) -> PendingRead {
        match self {
            ReadHalf::Plain(mut half) => {
                let start = buf.len();
                let slice = buf.slice_mut(start..end);
                Box::pin(async move {
                    let (result, slice) = half.read(slice).await;
                    (result, slice.into_inner(), ReadHalf::Plain(half))
                })
            }
            ReadHalf::Direct(half) => Box::pin(async move {
                let (result, buf) = half.read(buf, end).await;
                (result, buf, ReadHalf::Direct(half))
            }),
            ReadHalf::Tls(mut half) => Box::pin(async move {
                let (result, buf) = half.read(buf, end).await;
                (result, buf, ReadHalf::Tls(half))
            }),
        }
    }
}

/// A read in flight that owns its half, kept across calls so that dropping a `next()` future
/// loses no data.
pub(crate) type PendingRead =
    Pin<Box<dyn Future<Output = (io::Result<usize>, BytesMut, ReadHalf)>>>;

/// The writing side of a connection.
pub(crate) enum WriteHalf {
    Plain(TcpOwnedWriteHalf),
    Direct(direct::Half),
    Tls(TlsWriter),
}

impl WriteHalf {
    /// Writes all of `data`.
    pub(crate) async fn write_all<T: IoBuf + AsRef<[u8]> + 'static>(
        &mut self,
        data: T,
    ) -> (io::Result<usize>, T) {
        match self {
            WriteHalf::Plain(half) => half.write_all(data).await,
            WriteHalf::Direct(half) => half.write_all(data).await,
            // Boxed: the TLS write is about twice the plain one, and a connection's task holds
            // room for a write; plain connections should not pay for TLS.
            WriteHalf::Tls(half) => Box::pin(half.write_all(data)).await,
        }
    }

    /// Shuts the write side down (after TLS's close_notify).
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Plain(half) => half.shutdown().await,
            WriteHalf::Direct(half) => half.shutdown().await,
            WriteHalf::Tls(half) => half.shutdown().await,
        }
    }
}
