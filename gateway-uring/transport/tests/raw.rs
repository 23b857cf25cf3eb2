//! Transport tests with a hand-written client over blocking TCP on 127.0.0.1: bytes sent right
//! behind the upgrade request, the handshake timeout, and shutdown with connections that end
//! in time or are dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use accord_gateway_transport::{Conn, Driver, Incoming, Server, TransportConfig};

const UPGRADE: &[u8] = b"GET /raw?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn start(driver: Driver, handshake_timeout: Duration) -> Server {
    let config = TransportConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        threads: 2,
        driver,
        max_message: 1024,
        handshake_timeout,
        tls: None,
        direct_descriptors: true,
    };
    Server::start(config, |_| {
        |mut conn: Conn| async move {
            while let Ok(message) = conn.reader.next().await {
                match message {
                    Incoming::Text(t) => {
                        let mut reply = format!("{}?{}:", conn.path, conn.query).into_bytes();
                        reply.extend_from_slice(&t);
                        if conn.writer.send_text(&reply).await.is_err() {
                            break;
                        }
                    }
                    Incoming::Binary(_) => {}
                    Incoming::Close(_) => break,
                }
            }
        }
    })
    .unwrap()
}

/// A masked client text frame.
fn masked_text(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    frame
}

fn read_until(stream: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    while got.len() < want {
        let n = stream.read(&mut chunk).unwrap();
        assert_ne!(n, 0, "EOF after {got:?}");
        got.extend_from_slice(&chunk[..n]);
    }
    got
}

#[test]
fn frame_sent_with_the_request_is_decoded() {
    for driver in [Driver::Epoll, Driver::IoUring] {
        let server = start(driver, Duration::from_secs(5));
        let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut bytes = UPGRADE.to_vec();
        bytes.extend(masked_text(b"early"));
        tcp.write_all(&bytes).unwrap();
        let head = b"HTTP/1.1 101 Switching Protocols\r\n";
        let expected_reply = b"/raw?x=1:early";
        let mut got = Vec::new();
        while !got.ends_with(expected_reply) {
            got.extend(read_until(&mut tcp, 1));
            assert!(got.len() < 4096, "{}", String::from_utf8_lossy(&got));
        }
        assert!(got.starts_with(head));
        let text = String::from_utf8_lossy(&got).into_owned();
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        let frame_at = text.find("\r\n\r\n").unwrap() + 4;
        assert_eq!(
            &got[frame_at..frame_at + 2],
            &[0x81, expected_reply.len() as u8]
        );
        server.shutdown(Duration::from_secs(1));
    }
}

#[test]
fn silent_client_is_dropped_after_the_handshake_timeout() {
    let server = start(Driver::Epoll, Duration::from_millis(300));
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest);
    assert!(rest.is_empty());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    server.shutdown(Duration::from_secs(1));
}

#[test]
fn shutdown_returns_once_connections_end() {
    let server = start(Driver::IoUring, Duration::from_secs(5));
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(UPGRADE).unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\n") {
        got.extend(read_until(&mut tcp, 1));
    }
    // The client goes away 300 ms into the shutdown; the server must not wait the full grace.
    let closer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(tcp);
    });
    let started = Instant::now();
    server.shutdown(Duration::from_secs(20));
    let waited = started.elapsed();
    closer.join().unwrap();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn connections_still_open_after_the_grace_are_dropped() {
    for driver in [Driver::Epoll, Driver::IoUring] {
        let server = start(driver, Duration::from_secs(5));
        let addr = server.local_addr();
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp.write_all(UPGRADE).unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"\r\n\r\n") {
            got.extend(read_until(&mut tcp, 1));
        }
        server.shutdown(Duration::from_millis(200));
        // The server side is gone: reading ends (EOF or reset) instead of timing out.
        let mut rest = Vec::new();
        match tcp.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "still open: {e}"
            ),
        }
        assert!(TcpStream::connect(addr).is_err(), "still accepting");
    }
}
