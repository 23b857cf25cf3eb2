//! PROXY protocol (v1 text and v2 binary, HAProxy's specification) on the edge's listener, for
//! `edge.proxy_protocol = true`: every connection must start with a PROXY header, whose source
//! address then stands for the connection's peer address (filtering, `X-Forwarded-For`).
//!
//! Pingora has no hook before HTTP on plain TCP listeners, so [`ProxyProtocolApp`] wraps the
//! HTTP proxy app: it reads exactly the header from the new connection, replaces the socket
//! digest's peer address, and hands the connection (and its keep-alive reuses) to the proxy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::protocols::SocketDigest;
use pingora::protocols::Stream;
use pingora::protocols::l4::socket::SocketAddr as PingoraAddr;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::server::ShutdownWatch;
use tokio::io::AsyncReadExt;

/// The v2 signature.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 line, CRLF included.
const V1_MAX: usize = 107;
/// How long a client may take to send the header.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses a v1 line (without its CRLF): `PROXY TCP4|TCP6 src dst sport dport` or
/// `PROXY UNKNOWN ...`. `Ok(None)` means "keep the connection's own address".
pub fn parse_v1(line: &str) -> Result<Option<SocketAddr>, String> {
    let mut parts = line.split(' ');
    if parts.next() != Some("PROXY") {
        return Err("not a PROXY v1 line".into());
    }
    let family = parts.next().ok_or("missing protocol family")?;
    if family == "UNKNOWN" {
        return Ok(None);
    }
    let fields: Vec<&str> = parts.collect();
    let [src, _dst, sport, _dport] = fields[..] else {
        return Err(format!(
            "expected 4 fields after {family}, got {}",
            fields.len()
        ));
    };
    let ip: IpAddr = src
        .parse()
        .map_err(|_| format!("bad source address `{src}`"))?;
    let port: u16 = sport
        .parse()
        .map_err(|_| format!("bad source port `{sport}`"))?;
    match (family, ip) {
        ("TCP4", IpAddr::V4(_)) | ("TCP6", IpAddr::V6(_)) => Ok(Some(SocketAddr::new(ip, port))),
        _ => Err(format!("family {family} does not match address {src}")),
    }
}

/// Parses a v2 header: its fixed 16 bytes and the `len` bytes after them. `Ok(None)` means
/// "keep the connection's own address" (LOCAL command, or a family without an IP source).
pub fn parse_v2(head: &[u8; 16], body: &[u8]) -> Result<Option<SocketAddr>, String> {
    if head[..12] != V2_SIGNATURE {
        return Err("bad PROXY v2 signature".into());
    }
    if head[12] >> 4 != 2 {
        return Err(format!("unsupported PROXY version {}", head[12] >> 4));
    }
    match head[12] & 0x0f {
        0 => return Ok(None),
        1 => {}
        cmd => return Err(format!("unknown PROXY v2 command {cmd}")),
    }
    let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
    match head[13] >> 4 {
        1 if body.len() >= 12 => {
            let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            Ok(Some(SocketAddr::new(ip.into(), port(8))))
        }
        2 if body.len() >= 36 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&body[..16]);
            Ok(Some(SocketAddr::new(
                Ipv6Addr::from(octets).into(),
                port(32),
            )))
        }
        1 | 2 => Err("PROXY v2 address block too short".into()),
        _ => Ok(None),
    }
}

/// Reads exactly one PROXY header (v1 or v2) from the start of `stream`.
async fn read_header(stream: &mut Stream) -> Result<Option<SocketAddr>, String> {
    let io = |e: std::io::Error| e.to_string();
    let mut start = [0u8; 5];
    stream.read_exact(&mut start).await.map_err(io)?;
    if &start == b"PROXY" {
        let mut line = start.to_vec();
        while !line.ends_with(b"\r\n") {
            if line.len() >= V1_MAX {
                return Err("PROXY v1 line too long".into());
            }
            line.push(stream.read_u8().await.map_err(io)?);
        }
        let text = std::str::from_utf8(&line[..line.len() - 2]).map_err(|e| e.to_string())?;
        return parse_v1(text);
    }
    if start != V2_SIGNATURE[..5] {
        return Err("the connection did not start with a PROXY header".into());
    }
    let mut head = [0u8; 16];
    head[..5].copy_from_slice(&start);
    stream.read_exact(&mut head[5..]).await.map_err(io)?;
    let len = usize::from(u16::from_be_bytes([head[14], head[15]]));
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.map_err(io)?;
    parse_v2(&head, &body)
}

/// Makes `source` the peer address Pingora reports for `stream`.
fn set_peer(stream: &mut Stream, source: SocketAddr) {
    let Some(l4) = stream.as_any().downcast_ref::<L4Stream>() else {
        return;
    };
    use std::os::unix::io::AsRawFd;
    let digest = SocketDigest::from_raw_fd(l4.as_raw_fd());
    let _ = digest.peer_addr.set(Some(PingoraAddr::Inet(source)));
    stream.set_socket_digest(digest);
}

/// An app reading a PROXY header before handing the connection to `inner`.
pub struct ProxyProtocolApp<A> {
    inner: Arc<A>,
}

impl<A> ProxyProtocolApp<A> {
    /// Wraps `inner`.
    pub fn new(inner: A) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for ProxyProtocolApp<A> {
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        match tokio::time::timeout(HEADER_TIMEOUT, read_header(&mut stream)).await {
            Ok(Ok(Some(source))) => set_peer(&mut stream, source),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::debug!("edge: closing a connection: {e}");
                return None;
            }
            Err(_) => {
                tracing::debug!("edge: closing a connection: no PROXY header in time");
                return None;
            }
        }
        // The header comes once per connection: serve its keep-alive requests here rather
        // than letting the listener call this again.
        let mut next = self.inner.process_new(stream, shutdown).await;
        while let Some(stream) = next {
            next = self.inner.process_new(stream, shutdown).await;
        }
        None
    }

    async fn cleanup(&self) {
        self.inner.cleanup().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn v1_lines_parse() {
        assert_eq!(
            parse_v1("PROXY TCP4 198.51.100.9 10.0.0.1 5555 80").unwrap(),
            addr("198.51.100.9:5555")
        );
        assert_eq!(
            parse_v1("PROXY TCP6 2001:db8::1 ::1 443 3000").unwrap(),
            addr("[2001:db8::1]:443")
        );
        assert_eq!(parse_v1("PROXY UNKNOWN").unwrap(), None);
        assert_eq!(parse_v1("PROXY UNKNOWN ffff::1 ::1 1 2").unwrap(), None);
        for bad in [
            "GET / HTTP/1.1",
            "PROXY TCP4 2001:db8::1 ::1 1 2",
            "PROXY TCP4 1.2.3.4 5.6.7.8 99999 1",
            "PROXY TCP4 1.2.3.4",
            "PROXY",
        ] {
            assert!(parse_v1(bad).is_err(), "{bad}");
        }
    }

    fn v2(cmd: u8, fam: u8, body: &[u8]) -> ([u8; 16], Vec<u8>) {
        let mut head = [0u8; 16];
        head[..12].copy_from_slice(&V2_SIGNATURE);
        head[12] = 0x20 | cmd;
        head[13] = fam;
        head[14..].copy_from_slice(&(body.len() as u16).to_be_bytes());
        (head, body.to_vec())
    }

    #[test]
    fn v2_headers_parse() {
        let (h, b) = v2(1, 0x11, &[203, 0, 113, 7, 10, 0, 0, 1, 0x15, 0xb3, 0, 80]);
        assert_eq!(parse_v2(&h, &b).unwrap(), addr("203.0.113.7:5555"));
        let mut six = vec![0x20, 0x01, 0x0d, 0xb8];
        six.extend([0; 11]);
        six.push(9);
        six.extend([0; 16]);
        six.extend([0x01, 0xbb, 0, 80]);
        let (h, b) = v2(1, 0x21, &six);
        assert_eq!(parse_v2(&h, &b).unwrap(), addr("[2001:db8::9]:443"));
        // LOCAL (a load balancer's own health check) and UNSPEC keep the connection's address.
        let (h, b) = v2(0, 0x11, &[0; 12]);
        assert_eq!(parse_v2(&h, &b).unwrap(), None);
        let (h, b) = v2(1, 0x00, &[]);
        assert_eq!(parse_v2(&h, &b).unwrap(), None);
        let (h, b) = v2(1, 0x11, &[1, 2, 3]);
        assert!(parse_v2(&h, &b).is_err(), "short address block");
        let (mut h, b) = v2(1, 0x11, &[0; 12]);
        h[12] = 0x11;
        assert!(parse_v2(&h, &b).is_err(), "version 1 in a v2 header");
        h[12] = 0x21;
        h[0] = b'X';
        assert!(parse_v2(&h, &b).is_err(), "bad signature");
    }
}
