//! What a thread's quiet connections share, whatever their compression: where a dispatch's
//! shared body starts, the thread's allowance for building states of their own again, and the
//! bodies compressed most recently, kept for the next quiet connection the same dispatch
//! reaches (`shared_deflate` for `zlib-stream`, `shared_zstd` for `zstd-stream`).

use std::cell::RefCell;
use std::io;
use std::time::Instant;

/// How many recently compressed dispatch bodies a thread keeps per compression kind.
const BODIES: usize = 4;

/// How many compression states of their own quiet connections may take again per second per
/// thread ([`crate::Compressor::keep_history`]): building a deflate state costs ~600 µs, a zstd
/// context less, mostly page faults on new memory, so a guild of thousands turning busy at
/// once would otherwise spend seconds of a thread on it within one heartbeat interval.
/// Connections refused now try at their next busy heartbeat.
pub(crate) const STATE_BUILDS_PER_SEC: u32 = 100;

/// A thread's allowance of state builds: (tokens left, when it was last refilled).
struct Builds {
    tokens: f64,
    at: Option<Instant>,
}

thread_local! {
    static BUILDS: RefCell<Builds> = const { RefCell::new(Builds { tokens: 0.0, at: None }) };
}

/// Takes one state build from this thread's allowance (a token bucket refilled at
/// [`STATE_BUILDS_PER_SEC`], holding at most a second's worth).
pub(crate) fn may_build_state() -> bool {
    BUILDS.with(|b| {
        let mut b = b.borrow_mut();
        let now = Instant::now();
        let rate = f64::from(STATE_BUILDS_PER_SEC);
        let refill =
            b.at.map_or(rate, |at| now.duration_since(at).as_secs_f64() * rate);
        b.tokens = (b.tokens + refill).min(rate);
        b.at = Some(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    })
}

/// Where a JSON dispatch's shared body starts: at `,"t":` right after `{"op":0,"s":<digits>`
/// (the envelope `Framer::dispatch` writes); `None` for anything else.
pub(crate) fn body_start(payload: &[u8]) -> Option<usize> {
    const OPEN: &[u8] = b"{\"op\":0,\"s\":";
    let rest = payload.strip_prefix(OPEN)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let at = OPEN.len() + digits;
    (digits > 0 && payload[at..].starts_with(b",\"t\":")).then_some(at)
}

/// Where a quiet connection's payload splits into a head of its own and a part that other
/// quiet connections may be sent too, worth keeping in [`Recent`]: a JSON dispatch at its body
/// ([`body_start`]), any other JSON payload (a heartbeat ACK, the same for everyone) at 0.
/// `None` for ETF: its dispatches carry the connection's sequence number inside, so they are
/// never the same twice, and keeping them would only push the shared JSON bodies out.
pub(crate) fn shared_split(payload: &[u8]) -> Option<usize> {
    (payload.first() == Some(&b'{')).then(|| body_start(payload).unwrap_or(0))
}

/// A payload compressed alone under settings `K`, for reuse.
struct Body<K> {
    key: K,
    /// The payload as sent (compared whole before reuse).
    plain: Vec<u8>,
    /// Its compressed form.
    packed: Vec<u8>,
}

/// A thread's most recently compressed bodies, newest last.
pub(crate) struct Recent<K>(Vec<Body<K>>);

impl<K: PartialEq> Recent<K> {
    /// An empty cache.
    pub(crate) const fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends to `out` the compressed form of `plain` under `key`: the one kept from an
    /// earlier call, or made now by `pack` (which appends it to the `Vec` it is given) and
    /// kept in place of the oldest.
    pub(crate) fn append(
        &mut self,
        key: K,
        plain: &[u8],
        out: &mut Vec<u8>,
        pack: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
    ) -> io::Result<()> {
        let found = self
            .0
            .iter()
            .rposition(|b| b.key == key && b.plain == plain);
        let at = match found {
            Some(at) => at,
            None => {
                let mut packed = Vec::new();
                pack(&mut packed)?;
                if self.0.len() == BODIES {
                    self.0.remove(0);
                }
                self.0.push(Body {
                    key,
                    plain: plain.to_vec(),
                    packed,
                });
                self.0.len() - 1
            }
        };
        out.extend_from_slice(&self.0[at].packed);
        Ok(())
    }

    /// Whether the compressed form of `plain` under `key` is kept.
    #[cfg(test)]
    pub(crate) fn holds(&self, key: &K, plain: &[u8]) -> bool {
        self.0.iter().any(|b| b.key == *key && b.plain == plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_builds_are_limited_per_thread() {
        // A fresh thread, so the allowance starts full.
        std::thread::spawn(|| {
            let granted = (0..1000).filter(|_| may_build_state()).count();
            let max = STATE_BUILDS_PER_SEC as usize;
            assert!(
                (max..=max + 5).contains(&granted),
                "{granted} of 1000 at once, allowance {max}/s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(may_build_state(), "refilled after 100 ms");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn body_start_finds_the_envelope_of_json_dispatches_only() {
        assert_eq!(body_start(br#"{"op":0,"s":12,"t":"X","d":{}}"#), Some(14));
        assert_eq!(body_start(br#"{"op":0,"s":,"t":"X","d":{}}"#), None);
        assert_eq!(body_start(br#"{"op":11,"d":null,"s":null,"t":null}"#), None);
        assert_eq!(body_start(br#"{"op":0,"s":12}"#), None);
        assert_eq!(body_start(b"\x83t\x00\x00\x00\x04"), None);
    }

    #[test]
    fn only_json_payloads_are_split_for_sharing() {
        assert_eq!(shared_split(br#"{"op":0,"s":12,"t":"X","d":{}}"#), Some(14));
        assert_eq!(shared_split(br#"{"op":11}"#), Some(0));
        assert_eq!(shared_split(b"\x83t\x00\x00\x00\x04"), None);
        assert_eq!(shared_split(b""), None);
    }

    #[test]
    fn recent_bodies_are_packed_once_per_key_and_the_oldest_leave() {
        let mut recent = Recent::new();
        let mut packs = 0;
        let mut out = Vec::new();
        for (key, plain) in [(1, "a"), (1, "a"), (2, "a"), (1, "b"), (1, "a")] {
            recent
                .append(key, plain.as_bytes(), &mut out, |p| {
                    packs += 1;
                    p.extend_from_slice(format!("<{key}{plain}>").as_bytes());
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(out, b"<1a><1a><2a><1b><1a>");
        assert_eq!(packs, 3, "(1, a) again and again is packed once");
        for n in 0..BODIES {
            recent
                .append(9, n.to_string().as_bytes(), &mut out, |_| Ok(()))
                .unwrap();
        }
        recent
            .append(1, b"a", &mut out, |_| {
                packs += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(
            packs, 4,
            "pushed out by newer bodies, (1, a) is packed again"
        );
    }
}
