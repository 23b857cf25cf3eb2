//! WebSocket tunnels: HTTP/1.1 upgrade requests are carried by the edge itself instead of
//! Pingora's proxy loop.
//!
//! Why not Pingora's own upgrade path: in pingora-proxy 0.9.1 an upgrade request's (empty)
//! request body ends as one "body done" task that the upstream half may process *after* it has
//! already read the upstream's `101`; it then takes the end of that empty body for the end of
//! the tunnel and closes both sides right after the handshake (cloudflare/pingora#946, fixes
//! proposed in #947/#1016, not released). Accord's gateway speaks first (Hello follows the `101`
//! at once), which is exactly when that ordering happens, so clients behind the edge saw a
//! reset before Hello every few dozen connections under load.
//!
//! Here the edge connects to an upstream address itself (round-robin over the healthy ones, the
//! next on a connect failure), forwards the request head with the `X-Forwarded-*` headers,
//! relays the response head through Pingora's downstream session (so the downstream turns into
//! an upgraded, close-delimited stream on a `101`) and then copies bytes both ways until either
//! side closes. A refused upgrade (any status but `101`) is relayed as an ordinary response.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::{Error, ErrorType, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::downstream::Downstream;
use crate::forward::Forwarded;
use crate::health::Balancer;

/// A tunnel's timeouts (from `[edge.timeouts]`).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Connecting to one upstream address.
    pub connect: Duration,
    /// The upstream's answer to the upgrade request (and each read of a refused upgrade's body).
    pub response: Duration,
    /// An upgraded tunnel with no bytes either way for this long is closed; `None`: never.
    pub idle: Option<Duration>,
}
/// Largest upstream response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Most response headers accepted.
const MAX_HEADERS: usize = 64;
/// Size of the buffer upstream bytes are read into.
const READ_BUF: usize = 16 * 1024;

/// Why a tunnel could not be set up; the caller answers the client with it.
#[derive(Debug)]
pub enum TunnelError {
    /// No upstream address accepted a connection (502).
    NoUpstream(String),
    /// The upstream did not answer the upgrade request in time (504).
    Timeout,
    /// The upstream's answer was not a usable HTTP response (502).
    BadResponse(String),
}

/// Picks a healthy address not tried yet and connects to it, trying the next on failure.
/// Every address tried is added to `tried`.
pub async fn connect(
    lb: &Balancer,
    tried: &mut Vec<SocketAddr>,
    limit: Duration,
) -> std::result::Result<TcpStream, TunnelError> {
    loop {
        let backend = lb.select_with(b"", 256, |b, healthy| {
            healthy && b.addr.as_inet().is_some_and(|a| !tried.contains(a))
        });
        let Some(addr) = backend.and_then(|b| b.addr.as_inet().copied()) else {
            return Err(TunnelError::NoUpstream(
                "no healthy upstream address left".into(),
            ));
        };
        tried.push(addr);
        match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => tracing::warn!("edge: cannot connect to {addr} for a WebSocket: {e}"),
            Err(_) => tracing::warn!("edge: connecting to {addr} for a WebSocket timed out"),
        }
    }
}

/// The request head sent upstream: the client's, with `X-Forwarded-For`/`-Proto` replaced by
/// `forwarded`.
pub fn request_head(req: &RequestHeader, forwarded: &Forwarded) -> Vec<u8> {
    let target = req
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(req.method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &req.headers {
        if forwarded.iter().any(|(n, _)| name.as_str() == *n) {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    for (name, value) in forwarded {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// A parsed response head and the bytes that followed it in the same reads.
#[derive(Debug)]
pub struct Head {
    /// The response header, ready for the downstream.
    pub header: ResponseHeader,
    /// Bytes after the head (the start of the body or of the upgraded stream).
    pub rest: Bytes,
}

/// Reads and parses the upstream's response head.
pub async fn read_head(
    upstream: &mut TcpStream,
    limit: Duration,
) -> std::result::Result<Head, TunnelError> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        loop {
            let mut chunk = [0u8; 2048];
            let n = upstream
                .read(&mut chunk)
                .await
                .map_err(|e| TunnelError::BadResponse(format!("reading the response: {e}")))?;
            if n == 0 {
                return Err(TunnelError::BadResponse(
                    "the upstream closed before answering".into(),
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(head) = parse_head(&buf)? {
                return Ok(head);
            }
            if buf.len() > MAX_HEAD {
                return Err(TunnelError::BadResponse("response head too large".into()));
            }
        }
    };
    match tokio::time::timeout(limit, read).await {
        Ok(result) => result,
        Err(_) => Err(TunnelError::Timeout),
    }
}

/// Parses a complete response head at the start of `buf`; `None` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> std::result::Result<Option<Head>, TunnelError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(TunnelError::BadResponse(format!("bad response head: {e}"))),
    };
    let bad = |e: Box<Error>| TunnelError::BadResponse(e.to_string());
    let status = resp.code.unwrap_or(502);
    let mut header = ResponseHeader::build(status, Some(resp.headers.len())).map_err(bad)?;
    if let Some(reason) = resp.reason {
        header.set_reason_phrase(Some(reason)).map_err(bad)?;
    }
    for h in resp.headers.iter() {
        header
            .append_header(h.name.to_owned(), h.value)
            .map_err(bad)?;
    }
    Ok(Some(Head {
        header,
        rest: Bytes::copy_from_slice(&buf[len..]),
    }))
}

/// Relays `head` to the client, then (on a `101`) copies bytes both ways until either side
/// closes; a refused upgrade's body is relayed until the upstream closes or its
/// `Content-Length` is reached.
pub async fn relay(
    session: &mut Downstream,
    mut upstream: TcpStream,
    head: Head,
    timeouts: Timeouts,
) -> Result<()> {
    let upgraded = head.header.status.as_u16() == 101;
    let content_length = head
        .header
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let no_body = !upgraded && content_length == Some(0);
    session
        .write_response_header(Box::new(head.header), no_body)
        .await?;
    if no_body {
        return Ok(());
    }
    let mut sent = 0usize;
    if !head.rest.is_empty() {
        sent += head.rest.len();
        session.write_response_body(Some(head.rest), false).await?;
    }
    if !upgraded {
        return relay_body(
            session,
            &mut upstream,
            content_length,
            sent,
            timeouts.response,
        )
        .await;
    }
    // The upgraded stream: one side may stay quiet while the other talks, so the only
    // timeout is `idle`, with no bytes either way.
    session.set_read_timeout(None);
    let (mut up_read, mut up_write) = upstream.into_split();
    let mut buf = vec![0u8; READ_BUF];
    let quiet = async |idle: Option<Duration>| match idle {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    };
    loop {
        tokio::select! {
            () = quiet(timeouts.idle) => {
                tracing::debug!("edge: closing a WebSocket tunnel idle for {:?}", timeouts.idle);
                break;
            }
            body = session.read_request_body() => match body {
                Ok(Some(data)) => {
                    if up_write.write_all(&data).await.is_err() {
                        break;
                    }
                }
                Ok(None) | Err(_) => {
                    let _ = up_write.shutdown().await;
                    break;
                }
            },
            read = up_read.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    session
                        .write_response_body(Some(Bytes::copy_from_slice(&buf[..n])), false)
                        .await?;
                }
            },
        }
    }
    session.write_response_body(None, true).await
}

/// Relays a non-upgrade response body: `Content-Length` bytes, or until the upstream closes.
async fn relay_body(
    session: &mut Downstream,
    upstream: &mut TcpStream,
    content_length: Option<usize>,
    mut sent: usize,
    limit: Duration,
) -> Result<()> {
    let mut buf = vec![0u8; READ_BUF];
    while content_length.is_none_or(|len| sent < len) {
        let n = match tokio::time::timeout(limit, upstream.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                return Error::e_explain(ErrorType::ReadError, format!("upstream body: {e}"));
            }
            Err(_) => return Error::e_explain(ErrorType::ReadTimedout, "upstream body"),
        };
        if n == 0 {
            break;
        }
        let take = content_length.map_or(n, |len| n.min(len - sent));
        sent += take;
        session
            .write_response_body(Some(Bytes::copy_from_slice(&buf[..take])), false)
            .await?;
    }
    session.write_response_body(None, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_split_over_reads_is_parsed_once_complete() {
        let full = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc\r\n\r\n\x81\x05hello";
        assert!(parse_head(&full[..20]).unwrap().is_none());
        let head = parse_head(full).unwrap().expect("complete");
        assert_eq!(head.header.status.as_u16(), 101);
        assert_eq!(head.header.headers["upgrade"], "websocket");
        assert_eq!(head.header.headers["sec-websocket-accept"], "abc");
        assert_eq!(&head.rest[..], b"\x81\x05hello");
    }

    #[test]
    fn garbage_is_a_bad_response() {
        assert!(matches!(
            parse_head(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(TunnelError::BadResponse(_))
        ));
    }

    #[test]
    fn the_request_head_replaces_forwarded_headers() {
        let mut req = RequestHeader::build("GET", b"/?v=10&encoding=json", None).unwrap();
        req.insert_header("host", "chat.example").unwrap();
        req.insert_header("upgrade", "websocket").unwrap();
        req.insert_header("x-forwarded-for", "6.6.6.6").unwrap();
        let head = request_head(
            &req,
            &[
                ("x-forwarded-for", "10.0.0.1".into()),
                ("x-forwarded-proto", "http".into()),
            ],
        );
        let text = String::from_utf8(head).unwrap();
        assert!(text.starts_with("GET /?v=10&encoding=json HTTP/1.1\r\n"));
        assert!(text.contains("host: chat.example\r\n"));
        assert!(text.contains("upgrade: websocket\r\n"));
        assert!(text.contains("x-forwarded-for: 10.0.0.1\r\n"));
        assert!(!text.contains("6.6.6.6"));
        assert!(text.ends_with("\r\n\r\n"));
    }
}
