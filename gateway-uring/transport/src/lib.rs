//! The gateway's transport: a sans-I/O RFC 6455 WebSocket codec (server side) and monoio
//! thread-per-core listeners sharing one port through `SO_REUSEPORT`, io_uring with an epoll
//! fallback, optionally behind TLS (rustls). Knows nothing about Discord: it hands upgraded
//! connections to a per-thread handler.
//!
//! Modules: [`codec`] (frames, sans-I/O), [`handshake`] (the HTTP upgrade), and the monoio
//! side: the server's threads and listeners (`server`), plain, direct-descriptor or TLS socket
//! halves (`halves`, `direct`, `tls`) and the WebSocket connection halves (`conn`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

pub mod codec;
mod conn;
mod direct;
mod halves;
pub mod handshake;
mod server;
mod signal;
mod tls;
mod writer;

pub use server::Server;

/// Which I/O driver the gateway threads use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Driver {
    /// io_uring when the kernel offers it, epoll otherwise.
    #[default]
    Auto,
    /// io_uring only (fails to start without it).
    IoUring,
    /// epoll only.
    Epoll,
}

/// Listener settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Address to listen on (port 0 picks one; every thread then shares that port).
    pub addr: SocketAddr,
    /// Threads (one runtime and one `SO_REUSEPORT` listener each); 0 = one per core.
    pub threads: usize,
    /// I/O driver.
    pub driver: Driver,
    /// Largest client message (after reassembling fragments) in bytes; larger ones fail with
    /// [`WsError::TooLarge`] (the gateway closes with 4002).
    pub max_message: usize,
    /// Time a client has to complete the TLS handshake (when TLS is on) and the HTTP upgrade,
    /// both together.
    pub handshake_timeout: Duration,
    /// Serve `wss://` (TLS) instead of plain `ws://`.
    pub tls: Option<TlsSettings>,
    /// With the io_uring driver and without TLS, hold connections as io_uring direct
    /// descriptors (a per-thread table of registered files) instead of file descriptors, so
    /// that they do not count against the process's open-files limit. A thread whose table
    /// cannot be set up, or is full, uses plain descriptors.
    pub direct_descriptors: bool,
}

/// TLS settings of the listeners. The files are read once, by [`Server::start`], which fails
/// with an error naming the file when one is unreadable or invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain, the server's certificate first.
    pub cert_path: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) of that certificate.
    pub key_path: PathBuf,
}

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A text message (valid UTF-8).
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// The client closed, with its close code if it sent one.
    Close(Option<u16>),
}

/// Why reading failed.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// A message over the configured limit.
    #[error("message too large")]
    TooLarge,
    /// A violation of RFC 6455 (unmasked client frame, bad opcode, bad UTF-8, ...).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The socket failed or reached EOF without a close frame.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The read half of an upgraded connection.
///
/// Errors are not answered on the wire: after [`WsError::TooLarge`] or [`WsError::Protocol`]
/// the handler decides which close code to send through its [`WsWriter`]. Dropping the reader
/// after a close frame was sent keeps draining the socket for a moment so that the client
/// still receives the close frame.
pub struct WsReader {
    decoder: codec::Decoder,
    /// Received bytes not yet decoded (empty while a read is in flight).
    buf: bytes::BytesMut,
    /// The socket's read half, when no read is in flight.
    half: Option<halves::ReadHalf>,
    /// The read in flight, kept across `next()` calls.
    pending: Option<halves::PendingRead>,
    /// Used for pongs and for answering the client's close.
    writer: WsWriter,
    /// The connection ended (close, EOF or error).
    done: bool,
}

/// The write half of an upgraded connection (cheap to clone; writes are whole frames, in order).
///
/// Frames go through a queue that the sender finding the socket free writes itself
/// (`writer.rs`), so frames from several tasks never interleave. `!Send`: it stays on its thread.
#[derive(Clone)]
pub struct WsWriter {
    handle: std::rc::Rc<writer::WriterHandle>,
}

/// One upgraded connection, handed to the handler on the thread that accepted it.
pub struct Conn {
    /// Client address.
    pub peer: SocketAddr,
    /// Request path (without the query).
    pub path: String,
    /// Raw query string (without `?`), possibly empty.
    pub query: String,
    /// Read half.
    pub reader: WsReader,
    /// Write half.
    pub writer: WsWriter,
}
