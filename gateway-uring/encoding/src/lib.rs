//! The gateway's encodings: transport compression (`zlib-stream`, `zstd-stream`) and Erlang
//! External Term Format (`encoding=etf`).
//!
//! [`Compressor`] holds one connection's compression context: every payload the gateway sends
//! goes through it and comes out as one WebSocket message body. [`etf`] turns JSON values into
//! ETF for `encoding=etf` connections and decodes what such clients send.

mod compress;
pub mod etf;
mod shared;
mod shared_deflate;
mod shared_zstd;

pub use compress::{CompressKind, CompressSettings, Compressor, ZLIB_SUFFIX};
pub use shared_zstd::{RESYNC as ZSTD_RESYNC, RESYNC_TEXT as ZSTD_RESYNC_TEXT};
