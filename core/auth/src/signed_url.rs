//! Signed attachment URLs in Discord's shape: `?ex=<expiry>&is=<issued>&hm=<signature>&`, the
//! times as Unix seconds in lowercase hexadecimal and the signature a hex HMAC-SHA256 over the
//! URL path, both times and (for URLs bound to one client) an IP address. Pure functions, shared
//! by the API (which signs) and the CDN (which verifies).

use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// What the URL key is derived for: HMAC(token secret, this label).
const KEY_LABEL: &[u8] = b"accord cdn url signing";

/// The key URLs are signed with, derived from the instance's token secret so that every process
/// holding that secret (API, CDN) agrees on it without a secret of its own.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlSigningKey([u8; 32]);

impl std::fmt::Debug for UrlSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigningKey(..)")
    }
}

impl UrlSigningKey {
    /// The URL key of the instance whose token secret is `token_secret`:
    /// HMAC-SHA256(`token_secret`, "accord cdn url signing").
    pub fn derive(token_secret: &[u8]) -> Self {
        Self(hmac(token_secret, &[KEY_LABEL]))
    }
}

/// What checking a URL's signature found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlCheck {
    /// Signed by us, for this client (or for anyone), and not yet expired.
    Valid,
    /// Signed by us, but its expiry has passed.
    Expired,
    /// No signature, a malformed one, one that does not match, or one bound to another client.
    Invalid,
}

/// The query string (without `?`) that signs `path` (e.g.
/// `/attachments/<channel>/<id>/<filename>`) from `issued` (Unix seconds) for `ttl_secs`,
/// optionally only for requests from `ip`: `ex=<hex>&is=<hex>&hm=<64 hex>&`, as Discord writes it.
pub fn sign(
    key: &UrlSigningKey,
    path: &str,
    issued: u64,
    ttl_secs: u64,
    ip: Option<IpAddr>,
) -> String {
    let expires = issued.saturating_add(ttl_secs);
    let ex = format!("{expires:x}");
    let is = format!("{issued:x}");
    let mac = url_mac(key, path, &ex, &is, &bound_ip(ip));
    format!("ex={ex}&is={is}&hm={}&", hex::encode(mac))
}

/// Checks the signature in `query` (the URL's query string, without `?`; other parameters are
/// ignored) for `path` at time `now` (Unix seconds), for a request from `peer`: first as a URL
/// for anyone, then as one bound to `peer`. The signature is compared in constant time and
/// checked before the expiry, so only genuine URLs are reported [`UrlCheck::Expired`].
pub fn verify(
    key: &UrlSigningKey,
    path: &str,
    query: &str,
    now: u64,
    peer: Option<IpAddr>,
) -> UrlCheck {
    let Some(params) = SignatureParams::parse(query) else {
        return UrlCheck::Invalid;
    };
    let (Some(expires), Some(issued)) = (hex_time(params.ex), hex_time(params.is)) else {
        return UrlCheck::Invalid;
    };
    let mut given = [0u8; 32];
    if params.hm.len() != 64 || hex::decode_to_slice(params.hm, &mut given).is_err() {
        return UrlCheck::Invalid;
    }
    // The MAC covers the canonical spelling, so `ex=0abc` and `ex=abc` are the same URL.
    let (ex, is) = (format!("{expires:x}"), format!("{issued:x}"));
    let unbound = url_mac(key, path, &ex, &is, "");
    let mut matched = unbound[..].ct_eq(&given[..]);
    if let Some(peer) = peer {
        let bound = url_mac(key, path, &ex, &is, &bound_ip(Some(peer)));
        matched |= bound[..].ct_eq(&given[..]);
    }
    if !bool::from(matched) || issued > expires {
        UrlCheck::Invalid
    } else if now >= expires {
        UrlCheck::Expired
    } else {
        UrlCheck::Valid
    }
}

/// `query` without its signature parameters (`ex`, `is`, `hm`), keeping the others in order.
pub fn strip_signature(query: &str) -> String {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split_once('=').map_or(*p, |(k, _)| k);
            !matches!(name, "ex" | "is" | "hm")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The address a signed URL is bound to for a request from `peer`: the peer itself, or when the
/// peer is a `trusted` proxy, the last `X-Forwarded-For` hop (values of every such header, in
/// order) that is not itself a trusted proxy.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: impl Fn(IpAddr) -> bool,
) -> IpAddr {
    if !trusted(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded_for
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted(*ip))
        .unwrap_or(peer)
}

/// The three signature parameters of a query string, each present exactly once.
struct SignatureParams<'a> {
    ex: &'a str,
    is: &'a str,
    hm: &'a str,
}

impl<'a> SignatureParams<'a> {
    fn parse(query: &'a str) -> Option<Self> {
        let (mut ex, mut is, mut hm) = (None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "ex" => &mut ex,
                "is" => &mut is,
                "hm" => &mut hm,
                _ => continue,
            };
            // A repeated parameter could mean different things to different readers: refuse it.
            if slot.replace(value).is_some() {
                return None;
            }
        }
        Some(Self {
            ex: ex?,
            is: is?,
            hm: hm?,
        })
    }
}

/// Unix seconds written as 1 to 16 hex digits.
fn hex_time(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// How a bound address is written into the MAC (empty when unbound); IPv4-mapped IPv6
/// addresses count as their IPv4 address, so a dual-stack listener sees the same client.
fn bound_ip(ip: Option<IpAddr>) -> String {
    ip.map(|ip| ip.to_canonical().to_string())
        .unwrap_or_default()
}

/// The MAC of one URL: its fields separated by NUL bytes, which none of them can contain.
fn url_mac(key: &UrlSigningKey, path: &str, ex: &str, is: &str, ip: &str) -> [u8; 32] {
    hmac(
        &key.0,
        &[
            b"v1",
            b"\0",
            path.as_bytes(),
            b"\0",
            ex.as_bytes(),
            b"\0",
            is.as_bytes(),
            b"\0",
            ip.as_bytes(),
        ],
    )
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for part in parts {
        mac.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/attachments/1/2/cat.png";

    fn key() -> UrlSigningKey {
        UrlSigningKey::derive(b"0123456789abcdef0123456789abcdef")
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn discord_shape() {
        let q = sign(&key(), PATH, 0x65f0_5133, 86_400, None);
        let parts: Vec<&str> = q.split('&').collect();
        assert_eq!(parts.len(), 4, "{q}");
        assert_eq!(parts[0], "ex=65f1a2b3");
        assert_eq!(parts[1], "is=65f05133");
        let hm = parts[2].strip_prefix("hm=").unwrap();
        assert_eq!(hm.len(), 64);
        assert!(
            hm.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(parts[3], "", "ends with & as Discord's do");
        // Deterministic, and different per path, time and binding.
        assert_eq!(q, sign(&key(), PATH, 0x65f0_5133, 86_400, None));
        assert_ne!(
            q,
            sign(
                &key(),
                "/attachments/1/2/dog.png",
                0x65f0_5133,
                86_400,
                None
            )
        );
        assert_ne!(q, sign(&key(), PATH, 0x65f0_5134, 86_400, None));
        assert_ne!(q, sign(&key(), PATH, 0x65f0_5133, 86_400, ip("10.0.0.1")));
        assert_ne!(
            q,
            sign(
                &UrlSigningKey::derive(b"other"),
                PATH,
                0x65f0_5133,
                86_400,
                None
            )
        );
    }

    #[test]
    fn valid_until_expiry() {
        let q = sign(&key(), PATH, 1000, 100, None);
        assert_eq!(verify(&key(), PATH, &q, 1000, None), UrlCheck::Valid);
        assert_eq!(
            verify(&key(), PATH, &q, 1099, ip("1.2.3.4")),
            UrlCheck::Valid
        );
        assert_eq!(verify(&key(), PATH, &q, 1100, None), UrlCheck::Expired);
        assert_eq!(verify(&key(), PATH, &q, u64::MAX, None), UrlCheck::Expired);
        // Other parameters, in any order, do not matter.
        let shuffled = format!("size=64&{}&format=webp", q.trim_end_matches('&'));
        assert_eq!(verify(&key(), PATH, &shuffled, 1050, None), UrlCheck::Valid);
        // Leading zeros spell the same times.
        let padded = q.replacen("ex=", "ex=000", 1).replacen("is=", "is=0", 1);
        assert_eq!(verify(&key(), PATH, &padded, 1050, None), UrlCheck::Valid);
    }

    #[test]
    fn tampering_is_invalid() {
        let q = sign(&key(), PATH, 1000, 100, None);
        let at = 1050;
        assert_eq!(verify(&key(), PATH, "", at, None), UrlCheck::Invalid);
        assert_eq!(
            verify(&key(), "/attachments/1/2/dog.png", &q, at, None),
            UrlCheck::Invalid
        );
        assert_eq!(
            verify(&UrlSigningKey::derive(b"x"), PATH, &q, at, None),
            UrlCheck::Invalid
        );
        // A later expiry with the old signature.
        let later = q.replacen("ex=44c", "ex=fffff", 1);
        assert_ne!(later, q);
        assert_eq!(verify(&key(), PATH, &later, at, None), UrlCheck::Invalid);
        // An expired URL with a forged expiry stays invalid, not merely expired.
        assert_eq!(
            verify(&key(), PATH, &later, 1_000_000, None),
            UrlCheck::Invalid
        );
        // One flipped signature digit, a short one, a non-hex one, a missing one.
        let hm_at = q.find("hm=").unwrap() + 3;
        let mut flipped = q.clone().into_bytes();
        flipped[hm_at] = if flipped[hm_at] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(verify(&key(), PATH, &flipped, at, None), UrlCheck::Invalid);
        let short = format!("{}{}", &q[..hm_at], &q[hm_at + 2..]);
        assert_eq!(verify(&key(), PATH, &short, at, None), UrlCheck::Invalid);
        let nonhex = format!("{}&hm={}", &q[..hm_at - 4], "z".repeat(64));
        assert_eq!(verify(&key(), PATH, &nonhex, at, None), UrlCheck::Invalid);
        assert_eq!(
            verify(&key(), PATH, &strip_signature(&q), at, None),
            UrlCheck::Invalid
        );
        // A parameter given twice.
        let doubled = format!("{q}ex=44c&");
        assert_eq!(verify(&key(), PATH, &doubled, at, None), UrlCheck::Invalid);
        // Times that are not hex.
        for bad in ["ex=-44c", "ex=", "ex=44c44c44c44c44c44c"] {
            let t = q.replacen("ex=44c", bad, 1);
            assert_eq!(verify(&key(), PATH, &t, at, None), UrlCheck::Invalid, "{t}");
        }
    }

    #[test]
    fn bound_to_one_address() {
        let q = sign(&key(), PATH, 1000, 100, ip("203.0.113.7"));
        assert_eq!(
            verify(&key(), PATH, &q, 1050, ip("203.0.113.7")),
            UrlCheck::Valid
        );
        assert_eq!(
            verify(&key(), PATH, &q, 1050, ip("::ffff:203.0.113.7")),
            UrlCheck::Valid
        );
        assert_eq!(
            verify(&key(), PATH, &q, 1200, ip("203.0.113.7")),
            UrlCheck::Expired
        );
        assert_eq!(
            verify(&key(), PATH, &q, 1050, ip("203.0.113.8")),
            UrlCheck::Invalid
        );
        assert_eq!(verify(&key(), PATH, &q, 1050, None), UrlCheck::Invalid);
        let v6 = sign(&key(), PATH, 1000, 100, ip("2001:db8::1"));
        assert_eq!(
            verify(&key(), PATH, &v6, 1050, ip("2001:db8::1")),
            UrlCheck::Valid
        );
        assert_eq!(
            verify(&key(), PATH, &v6, 1050, ip("2001:db8::2")),
            UrlCheck::Invalid
        );
    }

    #[test]
    fn client_address() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let proxy = |ip: IpAddr| ip.to_string().starts_with("10.");
        let nobody = |_: IpAddr| false;
        let hops = ["198.51.100.1, 203.0.113.9", "10.0.0.9"];
        assert_eq!(client_ip(peer, hops, nobody), peer);
        assert_eq!(client_ip(peer, hops, proxy), ip("203.0.113.9").unwrap());
        assert_eq!(client_ip(peer, ["junk", "10.1.1.1"], proxy), peer);
        assert_eq!(client_ip(peer, std::iter::empty(), proxy), peer);
    }

    #[test]
    fn stripping() {
        assert_eq!(strip_signature("ex=1&is=2&hm=3&"), "");
        assert_eq!(
            strip_signature("size=64&ex=1&is=2&hm=3&format=png"),
            "size=64&format=png"
        );
        assert_eq!(strip_signature(""), "");
        assert_eq!(strip_signature("hmm=1&exx=2"), "hmm=1&exx=2");
    }

    #[test]
    fn key_derivation() {
        let a = UrlSigningKey::derive(b"secret one");
        assert_eq!(a, UrlSigningKey::derive(b"secret one"));
        assert_ne!(a, UrlSigningKey::derive(b"secret two"));
        assert_eq!(format!("{a:?}"), "UrlSigningKey(..)");
    }
}
