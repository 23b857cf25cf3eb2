//! Raw-deflate states that a thread's quiet `zlib-stream` connections share: a connection that
//! gave its own deflate state back ([`crate::Compressor::idle`]) still sends compressed
//! messages, each deflated on its own with the thread's state for its settings.
//!
//! Why: a fan-out to thousands of quiet connections would otherwise build thousands of fresh
//! deflate states (368 KiB each, most of the cost page faults on new memory) at the same
//! moment; one warm state per thread, reset before each message, costs a few microseconds per
//! message instead.
//!
//! A dispatch's body is more: the same bytes for every recipient, only the envelope's start
//! (`{"op":0,"s":N`) differs. So a JSON dispatch goes out as a stored (uncompressed) deflate
//! block holding that start, followed by the rest deflated once per thread and reused for
//! every quiet connection the same dispatch reaches ([`deflate_quiet`]): deflate blocks may
//! follow each other at any byte boundary, and the reused part refers to nothing outside
//! itself.

use std::cell::RefCell;
use std::io;

use flate2::{Compress, Compression};

use crate::compress::deflate_sync;
use crate::shared::{Recent, shared_split};

/// One shared state: its level, its window bits and the state.
type Shared = (u32, u8, Box<Compress>);

thread_local! {
    /// This thread's shared states, one per (level, window bits) in use.
    static STATES: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
    /// This thread's most recently deflated dispatch bodies, by (level, window bits).
    static RECENT: RefCell<Recent<(u32, u8)>> = const { RefCell::new(Recent::new()) };
}

/// Deflates `payload` into `out` like [`deflate_alone`], reusing what this thread already
/// deflated for another quiet connection: for a JSON dispatch, a stored block with the
/// envelope's start (it differs per connection) and then the body's shared blocks; any other
/// JSON payload (a heartbeat ACK, the same for everyone) whole. ETF payloads are deflated
/// alone and not kept (see [`shared_split`]).
pub(crate) fn deflate_quiet(
    level: Compression,
    window_bits: u8,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let Some(split) = shared_split(payload) else {
        return deflate_alone(level, window_bits, payload, out);
    };
    let (head, body) = payload.split_at(split);
    if !head.is_empty() {
        // A stored block (BFINAL 0, BTYPE 00) on the byte boundary the previous message's
        // sync flush left: the header byte, LEN and its complement, the bytes. The head is a
        // few dozen bytes, far under a stored block's 65,535.
        let len = u16::try_from(head.len()).map_err(io::Error::other)?;
        out.reserve(5 + head.len());
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(head);
    }
    RECENT.with(|recent| {
        recent
            .borrow_mut()
            .append((level.level(), window_bits), body, out, |packed| {
                deflate_alone(level, window_bits, body, packed)
            })
    })
}

/// Deflates `payload` into `out` as raw deflate blocks ending in a sync flush that refer to
/// nothing before them, so they can follow any sync-flushed point of a stream: the thread's
/// state for (`level`, `window_bits`) is reset first.
pub(crate) fn deflate_alone(
    level: Compression,
    window_bits: u8,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    STATES.with(|states| {
        let mut states = states.borrow_mut();
        let found = states
            .iter()
            .position(|(l, b, _)| *l == level.level() && *b == window_bits);
        let at = match found {
            Some(at) => at,
            None => {
                let state = Compress::new_with_window_bits(level, false, window_bits);
                states.push((level.level(), window_bits, Box::new(state)));
                states.len() - 1
            }
        };
        let state = &mut states[at].2;
        state.reset();
        deflate_sync(state, payload, out)
    })
}

#[cfg(test)]
mod tests {
    use flate2::{Decompress, FlushDecompress};

    use crate::{CompressKind, Compressor, ZLIB_SUFFIX};

    fn inflate(d: &mut Decompress, msg: &[u8]) -> Vec<u8> {
        assert!(msg.ends_with(&ZLIB_SUFFIX));
        let mut plain = Vec::with_capacity(64 * 1024);
        d.decompress_vec(msg, &mut plain, FlushDecompress::Sync)
            .unwrap();
        plain
    }

    fn message(i: usize) -> Vec<u8> {
        format!(
            r#"{{"op":0,"s":{i},"t":"MESSAGE_CREATE","d":{{"content":"message number {i} to the guild","author":{{"id":"1234567890","username":"someone"}}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_dispatch_to_quiet_connections_reuses_its_deflated_body() {
        // Two quiet connections with different histories and sequence numbers receive the
        // same dispatch: both decode it, and both messages end in the same deflated body.
        let mut conns: Vec<(Compressor, Decompress)> = (0..2)
            .map(|n| {
                let mut c = Compressor::new(CompressKind::ZlibStream);
                let mut d = Decompress::new(true);
                for i in 0..=n {
                    let mut out = Vec::new();
                    c.compress(&message(100 + i), &mut out).unwrap();
                    assert_eq!(inflate(&mut d, &out), message(100 + i));
                }
                c.idle();
                (c, d)
            })
            .collect();
        let body = r#","t":"MESSAGE_CREATE","d":{"content":"the same for everyone","id":"42"}}"#;
        let mut sent = Vec::new();
        for (n, (c, d)) in conns.iter_mut().enumerate() {
            let payload = format!(r#"{{"op":0,"s":{}{body}"#, 7 + n * 1000);
            let mut out = Vec::new();
            c.compress(payload.as_bytes(), &mut out).unwrap();
            assert_eq!(inflate(d, &out), payload.as_bytes());
            // A stored block first: header byte 0, then LEN and NLEN.
            assert_eq!(out[0], 0);
            let len = usize::from(u16::from_le_bytes([out[1], out[2]]));
            assert_eq!(u16::from_le_bytes([out[3], out[4]]), !(len as u16));
            assert_eq!(&out[5..5 + len], &payload.as_bytes()[..len]);
            sent.push(out[5 + len..].to_vec());
        }
        assert_eq!(sent[0], sent[1], "the deflated body is shared");
        // Another body is deflated anew and still decodes, and so does the first again.
        for (c, d) in &mut conns {
            for payload in [message(5), message(6), message(5)] {
                let mut out = Vec::new();
                c.compress(&payload, &mut out).unwrap();
                assert_eq!(inflate(d, &out), payload);
            }
        }
    }

    #[test]
    fn etf_payloads_to_quiet_connections_do_not_push_shared_bodies_out() {
        // On one thread: a quiet JSON connection and quiet ETF connections, each after its
        // first message (which wrote the zlib header).
        let quiet = || {
            let mut c = Compressor::new(CompressKind::ZlibStream);
            let mut d = Decompress::new(true);
            let mut out = Vec::new();
            c.compress(&message(1), &mut out).unwrap();
            assert_eq!(inflate(&mut d, &out), message(1));
            c.idle();
            (c, d)
        };
        let (mut json, mut json_d) = quiet();
        let mut out = Vec::new();
        json.compress(&message(2), &mut out).unwrap();
        assert_eq!(inflate(&mut json_d, &out), message(2));
        let body = &message(2)[super::shared_split(&message(2)).unwrap()..];
        let settings = crate::CompressSettings::default();
        let key = (settings.zlib_level, settings.zlib_window_bits);
        assert!(super::RECENT.with(|r| r.borrow().holds(&key, body)));
        // More ETF payloads than the thread keeps bodies, each different (the sequence number
        // is inside): each decodes, and none takes the JSON body's place.
        for n in 0..10u8 {
            let (mut etf, mut etf_d) = quiet();
            let payload = [131, 116, 0, 0, 0, 2, 100, 0, 1, b'a', 97, n];
            let mut out = Vec::new();
            etf.compress(&payload, &mut out).unwrap();
            assert_eq!(inflate(&mut etf_d, &out), payload);
        }
        assert!(
            super::RECENT.with(|r| r.borrow().holds(&key, body)),
            "the JSON body is still kept"
        );
    }

    #[test]
    fn quiet_connections_interleave_on_the_shared_state_and_busy_ones_regain_history() {
        // Three connections on one thread: each sent its Hello (own state, zlib header) and
        // went quiet.
        let mut conns: Vec<(Compressor, Decompress)> = (0..3)
            .map(|_| {
                let mut c = Compressor::new(CompressKind::ZlibStream);
                let mut d = Decompress::new(true);
                let mut out = Vec::new();
                c.compress(br#"{"op":10,"d":{"heartbeat_interval":41250}}"#, &mut out)
                    .unwrap();
                assert_eq!(
                    inflate(&mut d, &out),
                    br#"{"op":10,"d":{"heartbeat_interval":41250}}"#
                );
                c.idle();
                (c, d)
            })
            .collect();
        // Messages to them interleaved: each stream stays valid and holds no state.
        let mut alone = 0;
        for i in 0..12 {
            let (c, d) = &mut conns[i % 3];
            let mut out = Vec::new();
            c.compress(&message(i), &mut out).unwrap();
            assert_eq!(c.context_bytes(), 0, "message {i}");
            assert_eq!(inflate(d, &out), message(i), "message {i}");
            alone = out.len();
        }
        // Connection 0 got busy: with its own state again, a message like the last ones
        // refers back to them and comes out much smaller than one deflated alone.
        let (c, d) = &mut conns[0];
        c.keep_history();
        assert!(c.context_bytes() > 0);
        let mut sizes = Vec::new();
        for i in 12..15 {
            let mut out = Vec::new();
            c.compress(&message(i), &mut out).unwrap();
            assert_eq!(inflate(d, &out), message(i), "message {i}");
            sizes.push(out.len());
        }
        assert!(
            sizes[2] * 2 < alone,
            "with history {sizes:?} bytes, alone {alone} bytes"
        );
        // The others still decode after it.
        let (c, d) = &mut conns[1];
        let mut out = Vec::new();
        c.compress(&message(99), &mut out).unwrap();
        assert_eq!(inflate(d, &out), message(99));
    }
}
