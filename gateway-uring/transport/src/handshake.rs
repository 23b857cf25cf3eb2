//! The HTTP/1.1 → WebSocket upgrade (RFC 6455 §4.2): parsing the client's request from the
//! bytes read so far, checking it, and writing the `101 Switching Protocols` answer or the
//! refusal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// Largest upgrade request (request line and headers) accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Most headers accepted in an upgrade request.
pub const MAX_HEADERS: usize = 48;

/// The GUID RFC 6455 appends to the client's key before hashing.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A valid upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// Request path without the query.
    pub path: String,
    /// Raw query string (without `?`), possibly empty.
    pub query: String,
    /// The client's `Sec-WebSocket-Key`.
    pub key: String,
    /// Bytes of the input taken by the request; anything after it is WebSocket data.
    pub consumed: usize,
}

/// Why an upgrade request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// Not parseable as HTTP/1.1.
    #[error("malformed HTTP request: {0}")]
    Malformed(String),
    /// Request line and headers over [`MAX_REQUEST_BYTES`] (or over [`MAX_HEADERS`] headers).
    #[error("request headers too large")]
    TooLarge,
    /// Method other than GET.
    #[error("method is not GET")]
    Method,
    /// A header required for the upgrade is missing or wrong.
    #[error("not a WebSocket upgrade: {0}")]
    NotUpgrade(&'static str),
    /// `Sec-WebSocket-Version` other than 13.
    #[error("unsupported WebSocket version")]
    Version,
}

impl HandshakeError {
    /// The HTTP response to send before closing the connection.
    pub fn response(&self) -> &'static [u8] {
        match self {
            HandshakeError::Version => {
                b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\
                  Connection: close\r\nContent-Length: 0\r\n\r\n"
            }
            _ => b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        }
    }
}

/// Parses the upgrade request at the start of `buf`.
///
/// `Ok(None)`: incomplete, read more (unless `buf` already holds [`MAX_REQUEST_BYTES`], which
/// gives [`HandshakeError::TooLarge`]).
pub fn parse_request(buf: &[u8]) -> Result<Option<UpgradeRequest>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let consumed = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= MAX_REQUEST_BYTES {
                Err(HandshakeError::TooLarge)
            } else {
                Ok(None)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::TooLarge),
        Err(e) => return Err(HandshakeError::Malformed(e.to_string())),
    };
    if consumed > MAX_REQUEST_BYTES {
        return Err(HandshakeError::TooLarge);
    }
    if req.method != Some("GET") {
        return Err(HandshakeError::Method);
    }
    if req.version != Some(1) {
        return Err(HandshakeError::Malformed("HTTP version below 1.1".into()));
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));

    let mut upgrade = false;
    let mut connection = false;
    let mut version = None;
    let mut key = None;
    for header in req.headers.iter() {
        let name = header.name;
        let value = std::str::from_utf8(header.value).unwrap_or("");
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(value, "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(value, "upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            version = Some(value.trim());
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            if key.is_some() {
                return Err(HandshakeError::NotUpgrade("repeated Sec-WebSocket-Key"));
            }
            key = Some(value.trim());
        }
    }
    if !upgrade {
        return Err(HandshakeError::NotUpgrade("Upgrade: websocket missing"));
    }
    if !connection {
        return Err(HandshakeError::NotUpgrade("Connection: upgrade missing"));
    }
    if version != Some("13") {
        return Err(HandshakeError::Version);
    }
    let key = key.ok_or(HandshakeError::NotUpgrade("Sec-WebSocket-Key missing"))?;
    match STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(HandshakeError::NotUpgrade("bad Sec-WebSocket-Key")),
    }
    Ok(Some(UpgradeRequest {
        path: path.to_owned(),
        query: query.to_owned(),
        key: key.to_owned(),
        consumed,
    }))
}

/// Whether a comma-separated header value lists `token` (compared case-insensitively).
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The `Sec-WebSocket-Accept` value for a client key.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// The `101 Switching Protocols` response accepting `key`.
pub fn switching_protocols(key: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "GET /gateway?v=10&encoding=json HTTP/1.1\r\nHost: localhost\r\n\
        Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn rfc_example_accept_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn parses_a_good_request() {
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(&[0x81, 0x80]);
        let req = parse_request(&bytes).unwrap().unwrap();
        assert_eq!(req.path, "/gateway");
        assert_eq!(req.query, "v=10&encoding=json");
        assert_eq!(req.key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(req.consumed, GOOD.len());
        let response = String::from_utf8(switching_protocols(&req.key)).unwrap();
        assert!(response.starts_with("HTTP/1.1 101 "));
        assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(response.ends_with("\r\n\r\n"));
    }

    #[test]
    fn query_is_empty_without_question_mark() {
        let req = parse_request(GOOD.replace("/gateway?v=10&encoding=json", "/").as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!((req.path.as_str(), req.query.as_str()), ("/", ""));
    }

    #[test]
    fn incomplete_request_needs_more() {
        assert_eq!(parse_request(&GOOD.as_bytes()[..40]), Ok(None));
        assert_eq!(parse_request(b""), Ok(None));
    }

    #[test]
    fn oversized_request_is_refused() {
        let mut bytes = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        bytes.resize(MAX_REQUEST_BYTES + 10, b'a');
        assert_eq!(parse_request(&bytes), Err(HandshakeError::TooLarge));
    }

    #[test]
    fn too_many_headers_are_refused() {
        let mut text = String::from("GET / HTTP/1.1\r\n");
        for i in 0..(MAX_HEADERS + 1) {
            text.push_str(&format!("X-H{i}: v\r\n"));
        }
        text.push_str("\r\n");
        assert_eq!(
            parse_request(text.as_bytes()),
            Err(HandshakeError::TooLarge)
        );
    }

    #[test]
    fn refusals() {
        let cases: [(&str, &str, HandshakeError); 6] = [
            ("GET /gateway", "POST /gateway", HandshakeError::Method),
            (
                "Upgrade: WebSocket\r\n",
                "Upgrade: h2c\r\n",
                HandshakeError::NotUpgrade("Upgrade: websocket missing"),
            ),
            (
                "Connection: keep-alive, Upgrade\r\n",
                "Connection: keep-alive\r\n",
                HandshakeError::NotUpgrade("Connection: upgrade missing"),
            ),
            (
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Version: 8",
                HandshakeError::Version,
            ),
            (
                "dGhlIHNhbXBsZSBub25jZQ==",
                "c2hvcnQ=",
                HandshakeError::NotUpgrade("bad Sec-WebSocket-Key"),
            ),
            (
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                "",
                HandshakeError::NotUpgrade("Sec-WebSocket-Key missing"),
            ),
        ];
        for (from, to, want) in cases {
            let text = GOOD.replace(from, to);
            assert_ne!(text, GOOD, "replacement of {from:?} did nothing");
            assert_eq!(parse_request(text.as_bytes()), Err(want));
        }
        assert!(matches!(
            parse_request(b"\x16\x03\x01garbage\r\n\r\n"),
            Err(HandshakeError::Malformed(_))
        ));
    }

    #[test]
    fn refusal_responses() {
        assert!(
            HandshakeError::Method
                .response()
                .starts_with(b"HTTP/1.1 400 ")
        );
        let upgrade = String::from_utf8_lossy(HandshakeError::Version.response()).into_owned();
        assert!(upgrade.starts_with("HTTP/1.1 426 "));
        assert!(upgrade.contains("Sec-WebSocket-Version: 13\r\n"));
    }
}
