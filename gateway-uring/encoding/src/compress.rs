//! Transport compression for one gateway connection: `zlib-stream` and `zstd-stream`.
//!
//! Both are single streams that live as long as the connection. Each payload is compressed and
//! flushed so the client can decode it completely as soon as its WebSocket message arrives, but
//! the stream itself is never finished: the next payload continues it and can refer back to
//! earlier ones, which is where most of the savings on repetitive gateway events come from.

use std::fmt;
use std::io;

use flate2::{Compress, Compression, FlushCompress};
use zstd::zstd_safe::CCtx;

use crate::shared_zstd::{self, ZstdParams};

/// The four bytes every `zlib-stream` message ends with: the tail of the empty stored block a
/// sync flush writes. Clients inflate a message once it ends with them.
pub const ZLIB_SUFFIX: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// An empty, non-final stored deflate block written on a byte boundary. Appending it to a
/// stream that was just sync-flushed keeps the stream valid and adds nothing to its output.
const EMPTY_STORED_BLOCK: [u8; 5] = [0x00, 0x00, 0x00, 0xFF, 0xFF];

/// Transport compression requested by the `compress` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompressKind {
    /// None.
    #[default]
    None,
    /// `zlib-stream`.
    ZlibStream,
    /// `zstd-stream`.
    ZstdStream,
}

impl CompressKind {
    /// Parses the query value; `None` for an unknown one.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "zlib-stream" => Some(Self::ZlibStream),
            "zstd-stream" => Some(Self::ZstdStream),
            _ => None,
        }
    }
}

/// Tuning of the compression contexts; [`Default`] is what [`Compressor::new`] uses.
///
/// Memory per connection at the defaults (the context's own buffers; the output `Vec` is the
/// caller's):
///
/// * `zlib-stream` (zlib-rs backend, memLevel 8, level 6, `zlib_window_bits` 15): nothing until
///   the first message and nothing after [`Compressor::idle`]; while messages flow, a 2 × 32 KiB
///   sliding window, a 32 Ki-entry `prev` chain of `u16` (64 KiB), a fixed 64 Ki-entry hash
///   head of `u16` (128 KiB), a 64 KiB pending buffer and a 48 KiB symbol buffer: **368 KiB**.
///   The window is kept at Discord's 15 bits because smaller ones cost compression (10 bits
///   quadruples a typical MESSAGE_CREATE) while saving little: zlib-rs's hash head, pending and
///   symbol buffers do not shrink with it (12 bits: 256 KiB) and flate2 does not expose
///   memLevel. Idle connections get their memory back from [`Compressor::idle`] instead.
/// * `zstd-stream` (level 6, windowLog 13, hashLog 11, chainLog 11, maxBlockSize 1.5 KiB):
///   `ZSTD_sizeof_CCtx` measures **58 KiB** (59 102 bytes, zstd 1.5.7) once the first message
///   was compressed; nothing after [`Compressor::idle`] for a JSON connection while
///   `zstd_share_when_quiet` is on (an ETF connection keeps its context). The input buffer
///   holds the 8 KiB window and one block; the output buffer and the sequence and literal
///   stores are sized by the block, so capping blocks at 1.5 KiB (a MESSAGE_CREATE is about
///   1 KiB of JSON) leaves room for an 8 KiB window and 8 KiB hash and chain tables, where
///   zstd's own block size (the window, at most 128 KiB) would take 95 KiB with the same
///   window. Larger payloads pay for the small blocks: an 87 KB GUILD_CREATE comes out 29%
///   larger than with zstd's blocks. Discord's tuning (windowLog 18, hashLog 16, chainLog 16,
///   128 KiB blocks) measures 1 337 KiB.
///
/// A ~950-byte MESSAGE_CREATE as the 21st of similar ones (after READY and a large
/// GUILD_CREATE) compresses to 106 bytes with `zlib-stream` (Discord's level 6, windowBits 15:
/// the same) and 113 bytes with `zstd-stream` (Discord's level 6, windowLog 18: 110 bytes);
/// `tests/stream_decoders.rs` measures both against those baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressSettings {
    /// zlib compression level, 0..=9.
    pub zlib_level: u32,
    /// log2 of the deflate window, 9..=15.
    pub zlib_window_bits: u8,
    /// zstd compression level (1..=22; negative levels are zstd's fast modes).
    pub zstd_level: i32,
    /// zstd `windowLog`: log2 of the largest back-reference distance (10..=31).
    pub zstd_window_log: u32,
    /// zstd `hashLog`: log2 of the entries in the match finder's hash table (6..=30).
    pub zstd_hash_log: u32,
    /// zstd `chainLog`: log2 of the entries in the match finder's chain table (6..=30).
    pub zstd_chain_log: u32,
    /// zstd `maxBlockSize`: the largest block in bytes (1024..=131072), or 0 for zstd's own
    /// (128 KiB, or the window if that is smaller). A payload longer than a block is split.
    pub zstd_max_block_size: u32,
    /// Whether a quiet JSON `zstd-stream` connection gives its context back
    /// ([`Compressor::idle`]) and until it is busy again gets messages compressed alone, a
    /// dispatch's body once per thread for all such connections. Off, every connection keeps
    /// its context (about 58 KiB at the defaults) as long as it lives.
    pub zstd_share_when_quiet: bool,
}

impl CompressSettings {
    /// Discord's tuning (zlib level 6, windowBits 15; zstd level 6, windowLog 18, hashLog 16,
    /// chainLog 16, zstd's own block size, a context kept for the connection's life): the
    /// baseline the defaults are measured against.
    pub fn discord() -> Self {
        Self {
            zstd_window_log: 18,
            zstd_hash_log: 16,
            zstd_chain_log: 16,
            zstd_max_block_size: 0,
            zstd_share_when_quiet: false,
            ..Self::default()
        }
    }
}

impl Default for CompressSettings {
    /// Level 6 for both; a 32 KiB zlib window; a small zstd context (windowLog 13, hashLog 11,
    /// chainLog 11, 1.5 KiB blocks).
    fn default() -> Self {
        Self {
            zlib_level: 6,
            zlib_window_bits: 15,
            zstd_level: 6,
            zstd_window_log: 13,
            zstd_hash_log: 11,
            zstd_chain_log: 11,
            zstd_max_block_size: 1536,
            zstd_share_when_quiet: true,
        }
    }
}

/// The per-kind state.
enum Inner {
    None,
    Zlib {
        /// The deflate state; `None` until the first message and after [`Compressor::idle`].
        deflate: Option<Box<Compress>>,
        level: Compression,
        window_bits: u8,
        /// Whether the zlib header went out: every later deflate state is raw deflate.
        header_sent: bool,
    },
    Zstd {
        /// The connection's own context; `None` while quiet (see [`Compressor::idle`]).
        cctx: Option<Box<CCtx<'static>>>,
        params: ZstdParams,
        /// Whether the context is new in the middle of the frame: its first message must be
        /// fitted onto the frame (see `shared_zstd`).
        restarted: bool,
        /// Whether the settings let a quiet connection give its context back.
        share_when_quiet: bool,
        /// Whether the connection's payloads are JSON (see [`Compressor::json`]).
        json: bool,
    },
}

/// One connection's compression context.
pub struct Compressor {
    kind: CompressKind,
    inner: Inner,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A fresh context for one connection.
    pub fn new(kind: CompressKind) -> Self {
        Self::with_settings(kind, CompressSettings::default())
            .expect("the default compression settings are within zlib's and zstd's ranges")
    }

    /// A fresh context for one connection with explicit tuning. Fails with
    /// [`io::ErrorKind::InvalidInput`] when a setting the chosen kind uses is out of range.
    pub fn with_settings(kind: CompressKind, settings: CompressSettings) -> io::Result<Self> {
        let inner = match kind {
            CompressKind::None => Inner::None,
            CompressKind::ZlibStream => {
                let bits = settings.zlib_window_bits;
                if !(9..=15).contains(&bits) {
                    return Err(invalid(format!("zlib window bits {bits} is not in 9..=15")));
                }
                if settings.zlib_level > 9 {
                    let level = settings.zlib_level;
                    return Err(invalid(format!("zlib level {level} is not in 0..=9")));
                }
                Inner::Zlib {
                    deflate: None,
                    level: Compression::new(settings.zlib_level),
                    window_bits: bits,
                    header_sent: false,
                }
            }
            CompressKind::ZstdStream => {
                let params = ZstdParams::of(&settings);
                Inner::Zstd {
                    cctx: Some(Box::new(params.context()?)),
                    params,
                    restarted: false,
                    share_when_quiet: settings.zstd_share_when_quiet,
                    json: false,
                }
            }
        };
        Ok(Self { kind, inner })
    }

    /// Marks the connection's payloads as JSON text, which a quiet `zstd-stream` connection
    /// needs to give its context back (see [`Compressor::idle`]); whether it does then is
    /// [`CompressSettings::zstd_share_when_quiet`]. Call it before the first message.
    #[must_use]
    pub fn json(mut self) -> Self {
        if let Inner::Zstd { json, .. } = &mut self.inner {
            *json = true;
        }
        self
    }

    /// Whether messages go out as binary frames (compressed) or text (`None` with JSON).
    pub fn kind(&self) -> CompressKind {
        self.kind
    }

    /// Heap memory the compression context holds now: measured by zstd for `zstd-stream` (it
    /// grows to its full size with the first message), computed from zlib-rs's buffer layout
    /// for `zlib-stream` (0 before the first message and after [`Compressor::idle`]), 0
    /// without compression.
    pub fn context_bytes(&self) -> usize {
        match &self.inner {
            Inner::None | Inner::Zlib { deflate: None, .. } | Inner::Zstd { cctx: None, .. } => 0,
            Inner::Zlib { window_bits, .. } => {
                let window = 1usize << window_bits;
                // Sliding window (2 windows), prev chain (u16 per window byte), hash head
                // (64 Ki u16), pending buffer (4 × 16 Ki) and symbol buffer (3 × 16 Ki).
                2 * window + 2 * window + 2 * 65_536 + 4 * 16_384 + 3 * 16_384
            }
            Inner::Zstd {
                cctx: Some(cctx), ..
            } => cctx.sizeof(),
        }
    }

    /// Appends the WebSocket message body for `payload` to `out` (the payload itself for
    /// `None`; a sync-flushed deflate chunk ending in 00 00 FF FF for zlib-stream; a flushed,
    /// never-ended zstd frame chunk for zstd-stream).
    ///
    /// After an error the stream is unusable: the connection has to be closed.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        match &mut self.inner {
            Inner::None => {
                out.extend_from_slice(payload);
                Ok(())
            }
            Inner::Zlib {
                deflate,
                level,
                window_bits,
                header_sent,
            } => match deflate {
                Some(deflate) => deflate_sync(deflate, payload, out),
                // Quiet since `idle`: deflated alone, with the thread's shared state.
                None if *header_sent => {
                    crate::shared_deflate::deflate_quiet(*level, *window_bits, payload, out)
                }
                // The connection's first message: its own state, which writes the zlib header.
                None => {
                    let deflate = deflate.insert(Box::new(Compress::new_with_window_bits(
                        *level,
                        true,
                        *window_bits,
                    )));
                    *header_sent = true;
                    deflate_sync(deflate, payload, out)
                }
            },
            Inner::Zstd {
                cctx,
                params,
                restarted,
                ..
            } => match cctx {
                Some(cctx) if *restarted => {
                    // A new context's first message, fitted onto the frame.
                    out.extend_from_slice(&shared_zstd::RESYNC);
                    *restarted = !shared_zstd::flush_headless(cctx, payload, out)?;
                    Ok(())
                }
                Some(cctx) => shared_zstd::flush(cctx, payload, out),
                // Quiet since `idle`: compressed alone, with the thread's shared context.
                None => shared_zstd::compress_quiet(*params, payload, out),
            },
        }
    }

    /// Tells the compressor the connection is quiet, so it may give back memory: call it when
    /// nothing was sent for a while (e.g. a whole heartbeat interval), between messages.
    ///
    /// `zlib-stream` drops its deflate state (`context_bytes` becomes 0). Every message ends in
    /// a sync flush, which leaves the stream on a byte boundary after a complete block, so a
    /// message can follow as raw deflate blocks from another state (no second zlib header)
    /// and the client's one inflate context reads on unchanged: the new blocks simply never
    /// refer back past the restart. Until [`Compressor::keep_history`] each message is
    /// deflated alone with a state the thread shares, so a burst to many quiet connections
    /// builds no state per connection; the cost is that those messages cannot refer to
    /// earlier ones.
    ///
    /// `zstd-stream` does the same for a JSON connection ([`Compressor::json`]) when
    /// [`CompressSettings::zstd_share_when_quiet`] allows: the frame is never ended (clients
    /// decode one frame per connection), so messages compressed alone are fitted onto it, each
    /// behind 17 bytes of whitespace that set the decoder's repeat offsets back to a frame's
    /// start values (see `shared_zstd`). Otherwise, and for ETF, it keeps its context, whose
    /// memory [`CompressSettings`] bounds. Without compression this does nothing.
    pub fn idle(&mut self) {
        match &mut self.inner {
            Inner::Zlib { deflate, .. } => *deflate = None,
            Inner::Zstd {
                cctx,
                share_when_quiet: true,
                json: true,
                ..
            } => *cctx = None,
            _ => {}
        }
    }

    /// Gives a quiet connection (see [`Compressor::idle`]) its own deflate state or zstd
    /// context again, so that its next messages can refer back to each other: call it between
    /// messages when the connection has become busy (e.g. several messages in a heartbeat
    /// interval). Each thread builds at most 100 such states a second; past that the
    /// connection stays quiet until it is asked again. It does nothing for a connection that
    /// has its state, or for other kinds.
    pub fn keep_history(&mut self) {
        if let Inner::Zlib {
            deflate: deflate @ None,
            level,
            window_bits,
            header_sent: true,
        } = &mut self.inner
            && crate::shared::may_build_state()
        {
            *deflate = Some(Box::new(Compress::new_with_window_bits(
                *level,
                false,
                *window_bits,
            )));
        }
        if let Inner::Zstd {
            cctx: cctx @ None,
            params,
            restarted,
            ..
        } = &mut self.inner
            && crate::shared::may_build_state()
            && let Ok(new) = params.context()
        {
            // Settings were checked when the connection's first context was made; a failed
            // allocation leaves the connection quiet.
            *cctx = Some(Box::new(new));
            *restarted = true;
        }
    }
}

/// Deflates `payload` into `out` and sync-flushes, so `out` ends in [`ZLIB_SUFFIX`].
pub(crate) fn deflate_sync(
    deflate: &mut Compress,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let start = out.len();
    let mut consumed = 0;
    loop {
        // Deflate's worst case is a little over the input; 64 bytes more covers the block
        // headers and the flush marker, so the first round almost always finishes.
        out.reserve(payload.len() - consumed + payload.len() / 1000 + 64);
        let before = deflate.total_in();
        deflate
            .compress_vec(&payload[consumed..], out, FlushCompress::Sync)
            .map_err(|e| io::Error::other(format!("deflate failed: {e}")))?;
        consumed += usize::try_from(deflate.total_in() - before).map_err(io::Error::other)?;
        // Done when all input is in and deflate stopped with output space left over: it only
        // stops early when it ran out of room.
        if consumed == payload.len() && out.len() < out.capacity() {
            break;
        }
    }
    if out.len() == start {
        // zlib writes nothing for a second flush in a row with no new input (an empty
        // payload). The stream is byte-aligned after the previous flush, so an empty stored
        // block written here keeps it valid and gives the message its suffix.
        out.extend_from_slice(&EMPTY_STORED_BLOCK);
    }
    if !out[start..].ends_with(&ZLIB_SUFFIX) {
        return Err(io::Error::other(
            "deflate sync flush did not end in 00 00 FF FF",
        ));
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use zstd::zstd_safe::{self, InBuffer, OutBuffer};

    use super::*;

    #[test]
    fn parse_kinds() {
        assert_eq!(
            CompressKind::parse("zlib-stream"),
            Some(CompressKind::ZlibStream)
        );
        assert_eq!(
            CompressKind::parse("zstd-stream"),
            Some(CompressKind::ZstdStream)
        );
        assert_eq!(CompressKind::parse("zlib"), None);
        assert_eq!(CompressKind::default(), CompressKind::None);
    }

    #[test]
    fn none_passes_payload_through() {
        let mut c = Compressor::new(CompressKind::None);
        let mut out = b"x".to_vec();
        c.compress(b"{\"op\":11}", &mut out).unwrap();
        assert_eq!(out, b"x{\"op\":11}");
        assert_eq!(c.kind(), CompressKind::None);
        assert_eq!(c.context_bytes(), 0);
    }

    #[test]
    fn zlib_messages_end_with_suffix_and_inflate_in_one_context() {
        let mut c = Compressor::new(CompressKind::ZlibStream);
        let mut inflate = flate2::Decompress::new(true);
        for (i, payload) in [&b"{\"op\":10}"[..], b"", b"", b"{\"op\":11}"]
            .iter()
            .enumerate()
        {
            let mut out = Vec::new();
            c.compress(payload, &mut out).unwrap();
            assert!(out.ends_with(&ZLIB_SUFFIX), "message {i}");
            if i == 0 {
                assert_eq!(
                    out[0] & 0x0F,
                    8,
                    "zlib header (deflate method) on the first message"
                );
                assert_eq!(u16::from_be_bytes([out[0], out[1]]) % 31, 0);
            }
            let mut plain = Vec::with_capacity(1024);
            inflate
                .decompress_vec(&out, &mut plain, flate2::FlushDecompress::Sync)
                .unwrap();
            assert_eq!(plain, *payload, "message {i}");
        }
    }

    #[test]
    fn zstd_messages_decode_in_one_context() {
        let mut c = Compressor::new(CompressKind::ZstdStream);
        let mut dctx = zstd_safe::DCtx::create();
        for payload in [
            &b"{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}"[..],
            b"{\"op\":11}",
        ] {
            let mut out = Vec::new();
            c.compress(payload, &mut out).unwrap();
            let mut plain: Vec<u8> = Vec::with_capacity(4096);
            let mut input = InBuffer::around(&out);
            let mut output = OutBuffer::around(&mut plain);
            while input.pos() < out.len() {
                dctx.decompress_stream(&mut output, &mut input).unwrap();
            }
            assert_eq!(plain, payload);
        }
        let bytes = c.context_bytes();
        assert!(
            (4 * 1024..64 * 1024).contains(&bytes),
            "holds the 8 KiB window and stays under 64 KiB: {bytes}"
        );
        let mut discord =
            Compressor::with_settings(CompressKind::ZstdStream, CompressSettings::discord())
                .unwrap();
        discord.compress(b"{\"op\":11}", &mut Vec::new()).unwrap();
        assert!(
            discord.context_bytes() > 1024 * 1024,
            "windowLog 18 holds over 1 MiB"
        );
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let bad_zlib = CompressSettings {
            zlib_window_bits: 16,
            ..CompressSettings::default()
        };
        let err = Compressor::with_settings(CompressKind::ZlibStream, bad_zlib).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let bad_zstd = CompressSettings {
            zstd_window_log: 40,
            ..CompressSettings::default()
        };
        let err = Compressor::with_settings(CompressKind::ZstdStream, bad_zstd).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        // Settings a kind does not use are not checked for it.
        assert!(Compressor::with_settings(CompressKind::None, bad_zstd).is_ok());
    }

    #[test]
    fn smaller_zlib_window_takes_less_memory() {
        let small = CompressSettings {
            zlib_window_bits: 12,
            ..CompressSettings::default()
        };
        let mut small = Compressor::with_settings(CompressKind::ZlibStream, small).unwrap();
        let mut big = Compressor::new(CompressKind::ZlibStream);
        // Nothing is allocated before the first message.
        assert_eq!((big.context_bytes(), small.context_bytes()), (0, 0));
        let mut out = Vec::new();
        big.compress(b"{\"op\":10}", &mut out).unwrap();
        small.compress(b"{\"op\":10}", &mut out).unwrap();
        assert_eq!(big.context_bytes(), 368 * 1024);
        assert_eq!(small.context_bytes(), 256 * 1024);
    }

    #[test]
    fn zlib_idle_drops_the_state_and_the_stream_goes_on_as_raw_deflate() {
        let mut c = Compressor::new(CompressKind::ZlibStream);
        let mut inflate = flate2::Decompress::new(true);
        let payloads: [&[u8]; 5] = [
            b"{\"op\":10}",
            b"{\"op\":11}",
            b"",
            b"{\"op\":11}",
            b"{\"op\":0}",
        ];
        for (i, payload) in payloads.iter().enumerate() {
            let mut out = Vec::new();
            c.compress(payload, &mut out).unwrap();
            // Only the first message (with the zlib header) builds a state of its own; after
            // `idle` messages use the thread's shared one.
            assert_eq!(c.context_bytes() > 0, i == 0, "message {i}");
            assert!(out.ends_with(&ZLIB_SUFFIX), "message {i}");
            if i > 0 {
                // No second zlib header: a fresh raw block (BFINAL 0) starts the message.
                assert_eq!(out[0] & 1, 0, "message {i} starts a non-final block");
            }
            let mut plain = Vec::with_capacity(1024);
            inflate
                .decompress_vec(&out, &mut plain, flate2::FlushDecompress::Sync)
                .unwrap();
            assert_eq!(plain, *payload, "message {i}");
            c.idle();
            assert_eq!(c.context_bytes(), 0, "idle after message {i}");
        }
    }

    #[test]
    fn idle_keeps_zstd_context_and_none_unchanged() {
        let mut c = Compressor::new(CompressKind::ZstdStream);
        let mut out = Vec::new();
        c.compress(b"{\"op\":10}", &mut out).unwrap();
        let before = c.context_bytes();
        c.idle();
        assert_eq!(c.context_bytes(), before);
        let mut none = Compressor::new(CompressKind::None);
        none.idle();
        assert_eq!(none.context_bytes(), 0);
    }
}
