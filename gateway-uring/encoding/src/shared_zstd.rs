//! zstd contexts that a thread's quiet `zstd-stream` connections share: a JSON connection that
//! gave its own context back ([`crate::Compressor::idle`]) still sends compressed messages,
//! each compressed alone with the thread's context for its settings, and a dispatch's body
//! once per thread for every quiet connection it reaches (as `shared_deflate` does for
//! `zlib-stream`).
//!
//! A `zstd-stream` connection is one zstd frame that is never ended, so blocks made by another
//! context (or by a new context of the connection's own, when it gets busy again) must continue
//! that frame. A context that starts afresh writes a frame header first (cut off here) and its
//! blocks then depend on three things the client's decoder has to agree with:
//!
//! * the window: the blocks refer only to what they hold themselves, which the decoder has at
//!   the same distances whatever came before;
//! * entropy tables: a context's first block never reuses a previous block's tables;
//! * the three repeat offsets, which every frame starts at 1, 4 and 8 and which each match
//!   changes: a fresh context may well use them (a run of zeros in a timestamp is a match at
//!   distance 1), but the decoder holds whatever the connection's earlier blocks left.
//!
//! So every such restart is preceded by [`RESYNC`]: two tiny blocks made here by hand whose
//! matches (at distances 8, 4 and 1) leave the decoder's repeat offsets at 1, 4 and 8. They
//! decode to 17 spaces in front of the message: JSON allows whitespace before a value, and
//! every client parses the decoded message as JSON text (which is why only JSON connections
//! give their context back; an ETF message must start with its version byte).

use std::cell::RefCell;
use std::io;

use zstd::zstd_safe::{self, CCtx, CParameter, InBuffer, OutBuffer, ResetDirective};

use crate::CompressSettings;
use crate::shared::{Recent, shared_split};

/// A zstd context's settings (see [`CompressSettings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ZstdParams {
    level: i32,
    window_log: u32,
    hash_log: u32,
    chain_log: u32,
    max_block: u32,
}

impl ZstdParams {
    pub(crate) fn of(s: &CompressSettings) -> Self {
        Self {
            level: s.zstd_level,
            window_log: s.zstd_window_log,
            hash_log: s.zstd_hash_log,
            chain_log: s.zstd_chain_log,
            max_block: s.zstd_max_block_size,
        }
    }

    /// A new context with these settings; [`io::ErrorKind::InvalidInput`] names the setting
    /// zstd refused.
    pub(crate) fn context(&self) -> io::Result<CCtx<'static>> {
        let mut cctx = CCtx::try_create()
            .ok_or_else(|| io::Error::other("zstd could not allocate a context"))?;
        for param in [
            CParameter::CompressionLevel(self.level),
            CParameter::WindowLog(self.window_log),
            CParameter::HashLog(self.hash_log),
            CParameter::ChainLog(self.chain_log),
            CParameter::MaxBlockSize(self.max_block),
        ] {
            cctx.set_parameter(param).map_err(|code| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("zstd {param:?}: {}", zstd_error(code)),
                )
            })?;
        }
        Ok(cctx)
    }
}

/// Two compressed blocks that leave a zstd decoder's repeat offsets at a frame's start values
/// (1, 4, 8) and decode to 17 spaces (RFC 8878, 3.1.1.3 and 3.1.1.5):
///
/// * `44 00 00`: a compressed block of 8 bytes, not the last. Literals: RLE, 8 × `20`
///   (`41 20`). One sequence (`01`), all three symbol codes in RLE mode (`54`): literal-length
///   code 8 (8 literals), offset code 3, match-length code 0 (3 bytes). The bit stream `0B`
///   holds the offset's 3 extra bits, `011`: offset value 8 + 3 = 11, a new offset of 11 − 3
///   = 8, and above them the end mark. Out come 8 spaces and 3 copied from 8 back.
/// * `3C 00 00`: a compressed block of 7 bytes. No literals (`00`). Two sequences (`02`), RLE
///   codes 0 / 2 / 0: no literals, offset code 2, 3 bytes each. The bit stream `1C` holds the
///   extra bits `11` (value 7: offset 4) for the first and `00` (value 4: offset 1) for the
///   second. 6 more spaces; the offsets are pushed 8, 4, 1, so they now stand at 1, 4, 8.
pub const RESYNC: [u8; 21] = [
    0x44, 0x00, 0x00, 0x41, 0x20, 0x01, 0x54, 0x08, 0x03, 0x00, 0x0B, //
    0x3C, 0x00, 0x00, 0x00, 0x02, 0x54, 0x00, 0x02, 0x00, 0x1C,
];

/// What [`RESYNC`] decodes to.
pub const RESYNC_TEXT: &[u8; 17] = b"                 ";

thread_local! {
    /// This thread's shared contexts, one per settings in use.
    static CONTEXTS: RefCell<Vec<(ZstdParams, Box<CCtx<'static>>)>> =
        const { RefCell::new(Vec::new()) };
    /// This thread's most recently compressed dispatch bodies.
    static RECENT: RefCell<Recent<ZstdParams>> = const { RefCell::new(Recent::new()) };
}

/// Appends the message for `payload` of a quiet connection to `out`: [`RESYNC`], then for a
/// JSON dispatch a raw block with the envelope's start (`{"op":0,"s":N`, different for every
/// connection), then the rest compressed alone, reused from the last connection this thread
/// sent the same payload to.
pub(crate) fn compress_quiet(
    params: ZstdParams,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    // Only JSON connections give their context back (`Compressor::idle`): every payload here
    // splits.
    let split = shared_split(payload).unwrap_or(0);
    let (head, body) = payload.split_at(split);
    out.extend_from_slice(&RESYNC);
    if !head.is_empty() {
        // Raw block, not the last: 3-byte little-endian header (size << 3 | type 0 << 1).
        // The head is a few dozen bytes, under any block size limit.
        let header = u32::try_from(head.len() << 3).map_err(io::Error::other)?;
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(head);
    }
    RECENT.with(|recent| {
        recent.borrow_mut().append(params, body, out, |packed| {
            CONTEXTS.with(|contexts| {
                let mut contexts = contexts.borrow_mut();
                let at = match contexts.iter().position(|(p, _)| *p == params) {
                    Some(at) => at,
                    None => {
                        contexts.push((params, Box::new(params.context()?)));
                        contexts.len() - 1
                    }
                };
                let cctx = &mut contexts[at].1;
                cctx.reset(ResetDirective::SessionOnly)
                    .map_err(|code| io::Error::other(zstd_error(code)))?;
                flush_headless(cctx, body, packed).map(drop)
            })
        })
    })
}

/// Compresses `payload` with `cctx`, a context that has not written anything since it was
/// made or reset, into `out` as blocks that continue another frame: zstd's frame header is
/// cut off. Returns whether it was; an empty payload writes nothing at all, so the header is
/// still to come.
pub(crate) fn flush_headless(
    cctx: &mut CCtx<'static>,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<bool> {
    let start = out.len();
    flush(cctx, payload, out)?;
    if out.len() == start {
        return Ok(false);
    }
    let header = frame_header_len(&out[start..])?;
    out.drain(start..start + header);
    Ok(true)
}

/// The length of the zstd frame header `b` starts with (RFC 8878, 3.1.1.1).
fn frame_header_len(b: &[u8]) -> io::Result<usize> {
    const MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
    let (Some(&MAGIC), Some(&descriptor)) = (b.first_chunk::<4>(), b.get(4)) else {
        return Err(io::Error::other("a new zstd context wrote no frame header"));
    };
    let single_segment = descriptor & 0x20 != 0;
    let content_size = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let dictionary_id = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let len = 5 + usize::from(!single_segment) + dictionary_id + content_size;
    if b.len() < len {
        return Err(io::Error::other("a zstd frame header was cut short"));
    }
    Ok(len)
}

/// Compresses `payload` into `out` and flushes the current block without ending the frame.
pub(crate) fn flush(cctx: &mut CCtx<'static>, payload: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let mut input = InBuffer::around(payload);
    loop {
        let want = zstd_safe::compress_bound(payload.len() - input.pos()) + 32;
        out.reserve(want);
        let pos = out.len();
        let mut output = OutBuffer::around_pos(out, pos);
        let remaining = cctx
            .compress_stream2(
                &mut output,
                &mut input,
                zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_flush,
            )
            .map_err(|code| io::Error::other(format!("zstd failed: {}", zstd_error(code))))?;
        // With ZSTD_e_flush, 0 means all input was taken and everything is written out.
        if remaining == 0 && input.pos() == payload.len() {
            return Ok(());
        }
    }
}

fn zstd_error(code: zstd_safe::ErrorCode) -> &'static str {
    zstd_safe::get_error_name(code)
}

#[cfg(test)]
mod tests {
    use zstd::zstd_safe::{DCtx, InBuffer, OutBuffer};

    use super::{RESYNC, RESYNC_TEXT, frame_header_len};
    use crate::{CompressKind, CompressSettings, Compressor};

    /// A client's end of a stream: libzstd's streaming decoder, and everything received, for
    /// an independent decoder at the end.
    struct Client {
        dctx: DCtx<'static>,
        received: Vec<u8>,
        expected: Vec<u8>,
    }

    impl Client {
        fn new() -> Self {
            Self {
                dctx: DCtx::create(),
                received: Vec::new(),
                expected: Vec::new(),
            }
        }

        /// Decodes one message with libzstd and checks it; `resynced`: the whitespace of a
        /// resync comes first.
        fn take(&mut self, msg: &[u8], payload: &[u8], resynced: bool, what: &str) {
            let mut plain: Vec<u8> = Vec::with_capacity(64 * 1024);
            let mut input = InBuffer::around(msg);
            let mut output = OutBuffer::around(&mut plain);
            while input.pos() < msg.len() {
                self.dctx
                    .decompress_stream(&mut output, &mut input)
                    .unwrap_or_else(|e| panic!("{what}: {}", zstd::zstd_safe::get_error_name(e)));
            }
            let mut want = if resynced {
                RESYNC_TEXT.to_vec()
            } else {
                Vec::new()
            };
            want.extend_from_slice(payload);
            assert_eq!(
                String::from_utf8_lossy(&plain),
                String::from_utf8_lossy(&want),
                "{what}"
            );
            self.received.extend_from_slice(msg);
            self.expected.extend_from_slice(&want);
        }

        /// Decodes the whole stream again with ruzstd (ended here with an empty last block).
        fn check_independently(&self) {
            let mut stream = self.received.clone();
            stream.extend_from_slice(&[0x01, 0x00, 0x00]);
            let mut frame = ruzstd::decoding::FrameDecoder::new();
            let mut source = stream.as_slice();
            frame.init(&mut source).unwrap();
            let finished = frame
                .decode_blocks(&mut source, ruzstd::decoding::BlockDecodingStrategy::All)
                .unwrap();
            assert!(finished && source.is_empty());
            assert_eq!(
                String::from_utf8_lossy(&frame.collect().unwrap()),
                String::from_utf8_lossy(&self.expected)
            );
        }
    }

    /// A MESSAGE_CREATE-like dispatch, with runs and repeats a fresh context encodes with its
    /// starting repeat offsets (distances 1, 4 and 8).
    fn dispatch(seq: usize, n: usize) -> Vec<u8> {
        format!(
            r#"{{"op":0,"s":{seq},"t":"MESSAGE_CREATE","d":{{"id":"13{n:05}0000000000","content":"message {n}: 0000000000 aaaa aaaa bbbbbbbb bbbbbbbb","timestamp":"2026-12-05T21:00:00.000000+00:00","author":{{"id":"1234567890","username":"someone"}}}}}}"#
        )
        .into_bytes()
    }

    fn connection() -> (Compressor, Client) {
        let mut c = Compressor::new(CompressKind::ZstdStream).json();
        let mut client = Client::new();
        let hello = br#"{"op":10,"d":{"heartbeat_interval":41250}}"#;
        let mut out = Vec::new();
        c.compress(hello, &mut out).unwrap();
        client.take(&out, hello, false, "hello");
        (c, client)
    }

    #[test]
    fn the_resync_blocks_decode_to_their_spaces_in_any_decoder() {
        // After a frame header and one block of other text, as in a connection.
        let (mut c, mut client) = connection();
        let mut out = Vec::new();
        c.compress(b"{\"op\":11}", &mut out).unwrap();
        client.take(&out, b"{\"op\":11}", false, "ack");
        client.take(&RESYNC, b"", true, "resync alone");
        client.check_independently();
    }

    #[test]
    fn quiet_connections_share_bodies_and_busy_ones_continue_the_frame() {
        let mut conns: Vec<(Compressor, Client)> = (0..3).map(|_| connection()).collect();
        // Connection 2 receives a few messages of its own first: different history and
        // repeat offsets from the others.
        for n in 0..3 {
            let (c, client) = &mut conns[2];
            let mut out = Vec::new();
            c.compress(&dispatch(n + 1, n), &mut out).unwrap();
            client.take(&out, &dispatch(n + 1, n), false, "own context");
        }
        for (c, _) in &mut conns {
            c.idle();
            assert_eq!(c.context_bytes(), 0, "a quiet connection holds no context");
        }
        // The same dispatches to all of them while quiet, each with its own sequence number.
        for n in 10..16 {
            let mut bodies = Vec::new();
            for (i, (c, client)) in conns.iter_mut().enumerate() {
                let payload = dispatch(100 * i + n, n);
                let mut out = Vec::new();
                c.compress(&payload, &mut out).unwrap();
                client.take(&out, &payload, true, &format!("quiet {i}, message {n}"));
                assert_eq!(&out[..RESYNC.len()], RESYNC);
                let head = crate::shared::body_start(&payload).unwrap();
                bodies.push(out[RESYNC.len() + 3 + head..].to_vec());
            }
            assert!(bodies.windows(2).all(|w| w[0] == w[1]), "one body for all");
            // A heartbeat ACK is compressed alone too.
            let (c, client) = &mut conns[n % 3];
            let mut out = Vec::new();
            c.compress(b"{\"op\":11}", &mut out).unwrap();
            client.take(&out, b"{\"op\":11}", true, "quiet ack");
        }
        // Connection 0 gets busy: a context of its own again, whose first message is fitted
        // onto the frame and whose later ones refer back to it.
        let (c, client) = &mut conns[0];
        c.keep_history();
        assert!(c.context_bytes() > 0);
        let mut sizes = Vec::new();
        for n in 20..24 {
            let mut out = Vec::new();
            c.compress(&dispatch(n, n), &mut out).unwrap();
            client.take(&out, &dispatch(n, n), n == 20, &format!("busy again, {n}"));
            sizes.push(out.len());
        }
        assert!(sizes[3] * 2 < sizes[0], "history pays again: {sizes:?}");
        // Quiet again, and back.
        c.idle();
        let mut out = Vec::new();
        c.compress(&dispatch(30, 30), &mut out).unwrap();
        client.take(&out, &dispatch(30, 30), true, "quiet again");
        for (_, client) in &conns {
            client.check_independently();
        }
    }

    #[test]
    fn contexts_are_kept_for_etf_and_when_sharing_is_off() {
        let settings = CompressSettings::default();
        let off = CompressSettings {
            zstd_share_when_quiet: false,
            ..settings
        };
        for mut c in [
            // Not marked JSON (ETF).
            Compressor::with_settings(CompressKind::ZstdStream, settings).unwrap(),
            Compressor::with_settings(CompressKind::ZstdStream, off)
                .unwrap()
                .json(),
        ] {
            c.compress(b"{\"op\":10}", &mut Vec::new()).unwrap();
            let before = c.context_bytes();
            c.idle();
            assert_eq!(c.context_bytes(), before);
        }
    }

    #[test]
    fn frame_headers_are_measured_by_their_descriptor() {
        let magic = [0x28, 0xB5, 0x2F, 0xFD];
        let with = |rest: &[u8]| [&magic[..], rest].concat();
        // Window descriptor, nothing else.
        assert_eq!(frame_header_len(&with(&[0x00, 0x58])).unwrap(), 6);
        // Single segment with a 1-byte content size.
        assert_eq!(frame_header_len(&with(&[0x20, 0x05])).unwrap(), 6);
        // 4-byte content size, 2-byte dictionary id, window descriptor.
        assert_eq!(
            frame_header_len(&with(&[0x82, 0x58, 1, 2, 3, 4, 5, 6])).unwrap(),
            12
        );
        assert!(frame_header_len(&with(&[0x82, 0x58])).is_err(), "cut short");
        assert!(
            frame_header_len(&[0x44, 0, 0, 0x41, 0x20]).is_err(),
            "no magic"
        );
    }
}
