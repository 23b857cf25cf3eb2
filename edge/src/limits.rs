//! The limits and timeouts of `[edge.limits]` and `[edge.timeouts]`: the request head's size and
//! header count (431), the body's size (413, from `Content-Length` up front and counted while
//! streaming for chunked bodies), the client connection's read/write/keep-alive timeouts, the
//! upstream connection's connect/read/write/idle timeouts, and the HTTPS listener's HTTP/2
//! settings. WebSocket connections get `websocket_idle_secs` in place of the HTTP read
//! timeouts, so a gateway session idle between heartbeats (41.25 s) is not cut.
//!
//! Pingora itself answers 400 (without a body) to heads past 1 MiB or 256 headers: the
//! configuration keeps the limits below that.

use std::time::Duration;

use accord_config::EdgeConfig;
use bytes::Bytes;
use pingora::apps::HttpServerOptions;
use pingora::http::RequestHeader;
use pingora::prelude::HttpPeer;
use pingora::protocols::http::ServerSession;
use pingora::protocols::http::v2::server::{H2Options, default_h2_options};
use pingora::{Error, ErrorType, Result};

/// How long the edge keeps reading (and discarding) a refused request's body after answering,
/// so the client reads the answer instead of a connection reset.
const LINGER: Duration = Duration::from_secs(2);
/// The most bytes read while lingering.
const LINGER_BYTES: usize = 64 * 1024 * 1024;

/// The limits and timeouts in force.
#[derive(Debug, Clone)]
pub struct Limits {
    max_header_bytes: usize,
    max_header_count: usize,
    /// `None`: no limit.
    max_body_bytes: Option<u64>,
    connect: Duration,
    read: Duration,
    write: Duration,
    upstream_idle: Duration,
    client_read: Duration,
    client_write: Duration,
    client_keepalive_secs: u64,
    /// `None`: WebSockets never time out.
    websocket_idle: Option<Duration>,
}

/// Why a request is refused before it is proxied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The head is too large or has too many headers (431).
    HeaderTooLarge,
    /// The announced body is too large (413).
    BodyTooLarge,
}

impl Refusal {
    /// The HTTP status of the refusal.
    pub fn status(self) -> u16 {
        match self {
            Self::HeaderTooLarge => 431,
            Self::BodyTooLarge => 413,
        }
    }

    /// The refusal as a Pingora error, answered by `fail_to_proxy` (see [`crate::errors`]).
    pub fn error(self) -> Box<Error> {
        let mut e = Error::explain(
            ErrorType::HTTPStatus(self.status()),
            match self {
                Self::HeaderTooLarge => "request head past edge.limits",
                Self::BodyTooLarge => "request body past edge.limits.max_body_bytes",
            },
        );
        e.as_down();
        e
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s.max(1))
}

impl Limits {
    /// The limits of `edge.limits` and `edge.timeouts`.
    pub fn from_config(edge: &EdgeConfig) -> Self {
        let (l, t) = (&edge.limits, &edge.timeouts);
        Self {
            max_header_bytes: l.max_header_bytes,
            max_header_count: l.max_header_count,
            max_body_bytes: (l.max_body_bytes > 0).then_some(l.max_body_bytes),
            connect: secs(t.connect_secs),
            read: secs(t.read_secs),
            write: secs(t.write_secs),
            upstream_idle: secs(t.upstream_idle_secs),
            client_read: secs(t.client_read_secs),
            client_write: secs(t.client_write_secs),
            client_keepalive_secs: t.client_keepalive_secs.max(1),
            websocket_idle: (t.websocket_idle_secs > 0)
                .then(|| Duration::from_secs(t.websocket_idle_secs)),
        }
    }

    /// Checks a request head: its size (request line and header lines as sent, CRLFs
    /// included), its number of headers, and its announced `Content-Length`.
    pub fn check_head(&self, req: &RequestHeader) -> Option<Refusal> {
        if req.headers.len() > self.max_header_count {
            return Some(Refusal::HeaderTooLarge);
        }
        // "METHOD URI HTTP/1.1\r\n" + "name: value\r\n"... + "\r\n"
        let target = req.uri.authority().map_or(0, |a| a.as_str().len() + 8)
            + req
                .uri
                .path_and_query()
                .map_or(req.uri.path().len(), |p| p.as_str().len());
        let line = req.method.as_str().len() + target + 11;
        let headers: usize = req
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        if line + headers + 2 > self.max_header_bytes {
            return Some(Refusal::HeaderTooLarge);
        }
        let announced = req
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match (self.max_body_bytes, announced) {
            (Some(max), Some(len)) if len > max => Some(Refusal::BodyTooLarge),
            _ => None,
        }
    }

    /// Counts `chunk` into `*seen` (the body bytes so far); past the limit, the error that
    /// aborts the request with 413.
    pub fn count_body(&self, seen: &mut u64, chunk: Option<&Bytes>) -> Result<()> {
        *seen += chunk.map_or(0, |c| c.len() as u64);
        match self.max_body_bytes {
            Some(max) if *seen > max => Err(Refusal::BodyTooLarge.error()),
            _ => Ok(()),
        }
    }

    /// The timeouts of a WebSocket tunnel ([`crate::websocket`]).
    pub fn tunnel(&self) -> crate::websocket::Timeouts {
        crate::websocket::Timeouts {
            connect: self.connect,
            response: self.read,
            idle: self.websocket_idle,
        }
    }

    /// Sets the client connection's timeouts for this request (and the keep-alive wait for the
    /// next one). A WebSocket upgrade gets `websocket_idle_secs` as its read timeout.
    pub fn apply_to_client(&self, session: &mut ServerSession, websocket: bool) {
        let read = if websocket {
            self.websocket_idle
        } else {
            Some(self.client_read)
        };
        session.set_read_timeout(read);
        session.set_write_timeout(Some(self.client_write));
        // Only when the client keeps the connection (Pingora turns keep-alive off for
        // `Connection: close` and HTTP/1.0).
        if session.get_keepalive().is_some() {
            session.set_keepalive(Some(self.client_keepalive_secs));
        }
    }

    /// The HTTP/2 settings of the HTTPS listener (`edge.tls.http2`): an idle connection is
    /// closed after the keep-alive time, and the header list a client may send (HPACK-decoded,
    /// 32 bytes counted per header on top of name and value) holds any head
    /// [`Self::check_head`] could accept, so a head too large is answered 431 by that check
    /// as over HTTP/1.1. Pingora's bounded defaults (100 concurrent streams) stay.
    pub fn http2(&self) -> (HttpServerOptions, H2Options) {
        let mut options = HttpServerOptions::default();
        options.h2_idle_timeout = Some(Duration::from_secs(self.client_keepalive_secs));
        let mut h2 = default_h2_options();
        let list = self.max_header_bytes + 32 * self.max_header_count;
        h2.max_header_list_size(u32::try_from(list.max(64 * 1024)).unwrap_or(u32::MAX));
        (options, h2)
    }

    /// How long an idle upstream connection is kept for reuse (`upstream_idle_secs`).
    pub fn upstream_idle(&self) -> Duration {
        self.upstream_idle
    }

    /// Sets the upstream connection's timeouts. WebSockets get `websocket_idle_secs` in place
    /// of the read and write timeouts.
    pub fn apply_to_peer(&self, peer: &mut HttpPeer, websocket: bool) {
        let o = &mut peer.options;
        o.connection_timeout = Some(self.connect);
        o.idle_timeout = Some(self.upstream_idle);
        if websocket {
            o.read_timeout = self.websocket_idle;
            o.write_timeout = self.websocket_idle;
        } else {
            o.read_timeout = Some(self.read);
            o.write_timeout = Some(self.write);
        }
    }
}

/// After a refusal was answered, reads and discards what is left of the request body for a
/// moment, so a client still sending it gets to read the answer (closing a socket with unread
/// data makes the kernel reset the connection).
pub async fn linger(session: &mut ServerSession) {
    let drain = async {
        let mut read = 0;
        while read < LINGER_BYTES {
            match session.read_request_body().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(f: impl FnOnce(&mut EdgeConfig)) -> Limits {
        let mut edge = EdgeConfig::default();
        f(&mut edge);
        Limits::from_config(&edge)
    }

    fn request(headers: &[(&str, String)]) -> RequestHeader {
        let mut req = RequestHeader::build("GET", b"/api/v10/gateway", None).unwrap();
        for (name, value) in headers {
            req.append_header(name.to_string(), value.as_str()).unwrap();
        }
        req
    }

    #[test]
    fn heads_past_the_size_or_count_and_announced_bodies_past_the_limit_are_refused() {
        let l = limits(|e| {
            e.limits.max_header_bytes = 1024;
            e.limits.max_header_count = 3;
            e.limits.max_body_bytes = 100;
        });
        assert_eq!(l.check_head(&request(&[("host", "a".into())])), None);
        let big = request(&[("x-big", "a".repeat(1000))]);
        assert_eq!(l.check_head(&big), Some(Refusal::HeaderTooLarge));
        let fits = request(&[("x-big", "a".repeat(900))]);
        assert_eq!(l.check_head(&fits), None);
        let many: Vec<_> = (0..4)
            .map(|i| (["a", "b", "c", "d"][i], "1".into()))
            .collect();
        assert_eq!(l.check_head(&request(&many)), Some(Refusal::HeaderTooLarge));
        let body = request(&[("content-length", "101".into())]);
        assert_eq!(l.check_head(&body), Some(Refusal::BodyTooLarge));
        assert_eq!(Refusal::BodyTooLarge.status(), 413);
        let body = request(&[("content-length", "100".into())]);
        assert_eq!(l.check_head(&body), None);
    }

    #[test]
    fn streamed_bodies_are_counted_and_zero_means_no_limit() {
        let l = limits(|e| e.limits.max_body_bytes = 10);
        let mut seen = 0;
        assert!(
            l.count_body(&mut seen, Some(&Bytes::from_static(b"12345")))
                .is_ok()
        );
        assert!(l.count_body(&mut seen, None).is_ok());
        assert!(
            l.count_body(&mut seen, Some(&Bytes::from_static(b"12345")))
                .is_ok()
        );
        let e = l
            .count_body(&mut seen, Some(&Bytes::from_static(b"1")))
            .unwrap_err();
        assert_eq!(e.etype(), &ErrorType::HTTPStatus(413));
        let l = limits(|e| e.limits.max_body_bytes = 0);
        let mut seen = u64::MAX / 2;
        assert!(
            l.count_body(&mut seen, Some(&Bytes::from_static(b"1")))
                .is_ok()
        );
    }

    #[test]
    fn websockets_get_the_websocket_idle_timeout_on_the_upstream() {
        let l = limits(|e| {
            e.timeouts.read_secs = 2;
            e.timeouts.websocket_idle_secs = 0;
        });
        let mut peer = HttpPeer::new("127.0.0.1:1", false, String::new());
        l.apply_to_peer(&mut peer, false);
        assert_eq!(peer.options.read_timeout, Some(Duration::from_secs(2)));
        assert_eq!(
            peer.options.connection_timeout,
            Some(Duration::from_secs(5))
        );
        l.apply_to_peer(&mut peer, true);
        assert_eq!(peer.options.read_timeout, None);
        assert_eq!(peer.options.write_timeout, None);
    }
}
