//! End-to-end tests of the transport: an echo server on 127.0.0.1 (two threads, each driver)
//! driven by tokio-tungstenite clients and raw TCP.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord_gateway_transport::{Conn, Driver, Incoming, Server, TransportConfig, WsError};
use common::next_message;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// What the echo handlers observed: (thread, path, query) per connection.
type Seen = Arc<Mutex<Vec<(usize, String, String)>>>;

const MAX_MESSAGE: usize = 4096;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Echoes text and binary; "close" makes it close with 4000; an oversized message with 4002.
async fn echo(thread: usize, mut conn: Conn, seen: Seen) {
    seen.lock()
        .unwrap()
        .push((thread, conn.path.clone(), conn.query.clone()));
    loop {
        match conn.reader.next().await {
            Ok(Incoming::Text(t)) if &t[..] == b"close" => {
                conn.writer.close(4000, "bye").await.unwrap();
                assert!(conn.writer.send_text(b"late").await.is_err());
            }
            Ok(Incoming::Text(t)) => conn.writer.send_text(&t).await.unwrap(),
            Ok(Incoming::Binary(b)) => conn.writer.send_binary(&b).await.unwrap(),
            Ok(Incoming::Close(_)) => break,
            Err(WsError::TooLarge) => {
                let _ = conn.writer.close(4002, "message too large").await;
                break;
            }
            Err(_) => break,
        }
    }
}

fn start(driver: Driver) -> (Server, Seen) {
    start_with(driver, false)
}

/// Two threads; `direct`: connections held as io_uring direct descriptors.
fn start_with(driver: Driver, direct: bool) -> (Server, Seen) {
    let seen: Seen = Arc::default();
    let for_threads = seen.clone();
    let config = TransportConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        threads: 2,
        driver,
        max_message: MAX_MESSAGE,
        handshake_timeout: Duration::from_secs(5),
        tls: None,
        direct_descriptors: direct,
    };
    let server = Server::start(config, move |thread| {
        let seen = for_threads.clone();
        move |conn: Conn| echo(thread, conn, seen.clone())
    })
    .expect("server starts");
    (server, seen)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr) -> Ws {
    let url = format!("ws://127.0.0.1:{}/?v=10&encoding=json", addr.port());
    let (ws, response) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    assert_eq!(response.status().as_u16(), 101);
    ws
}

fn close_code(message: Message) -> u16 {
    match message {
        Message::Close(Some(frame)) => u16::from(frame.code),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

async fn echoes_text_and_binary(addr: SocketAddr) {
    let mut ws = connect(addr).await;
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text("hello"));
    let blob: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    ws.send(Message::binary(blob.clone())).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::binary(blob));
    ws.close(None).await.unwrap();
}

async fn ping_gets_pong(addr: SocketAddr) {
    let mut ws = connect(addr).await;
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(TIMEOUT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"are you there".to_vec().into()));
    ws.close(None).await.unwrap();
}

async fn server_close_reaches_client(addr: SocketAddr) {
    let mut ws = connect(addr).await;
    ws.send(Message::text("close")).await.unwrap();
    let message = next_message(&mut ws).await;
    match &message {
        Message::Close(Some(frame)) => assert_eq!(frame.reason.as_str(), "bye"),
        other => panic!("expected close, got {other:?}"),
    }
    assert_eq!(close_code(message), 4000);
}

async fn too_large_closes_with_4002(addr: SocketAddr) {
    let mut ws = connect(addr).await;
    ws.send(Message::text("x".repeat(MAX_MESSAGE + 1)))
        .await
        .unwrap();
    assert_eq!(close_code(next_message(&mut ws).await), 4002);
    // A message of exactly the limit is fine on a fresh connection.
    let mut ws = connect(addr).await;
    ws.send(Message::text("y".repeat(MAX_MESSAGE)))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut ws).await,
        Message::text("y".repeat(MAX_MESSAGE))
    );
    ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
    .await
    .unwrap();
}

async fn many_clients(addr: SocketAddr, seen: &Seen) {
    let before = seen.lock().unwrap().len();
    let mut tasks = Vec::new();
    for i in 0..200 {
        tasks.push(tokio::spawn(async move {
            let mut ws = connect(addr).await;
            for j in 0..3 {
                let text = format!("client {i} message {j}");
                ws.send(Message::text(text.clone())).await.unwrap();
                assert_eq!(next_message(&mut ws).await, Message::text(text));
            }
            ws.close(None).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() - before, 200);
    let threads: BTreeSet<usize> = seen[before..].iter().map(|(t, _, _)| *t).collect();
    assert_eq!(threads, BTreeSet::from([0, 1]), "both threads accepted");
}

async fn bad_handshake_gets_400(addr: SocketAddr) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(TIMEOUT, tcp.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(
        response.starts_with(b"HTTP/1.1 400 "),
        "{}",
        String::from_utf8_lossy(&response)
    );

    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await
    .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(TIMEOUT, tcp.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 426 "), "{text}");
    assert!(text.contains("Sec-WebSocket-Version: 13\r\n"), "{text}");
}

fn exercise(driver: Driver, direct: bool, expect: &str) {
    let (server, seen) = start_with(driver, direct);
    assert_eq!(server.driver_name(), expect);
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        echoes_text_and_binary(addr).await;
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen[0].1, "/");
            assert_eq!(seen[0].2, "v=10&encoding=json");
        }
        ping_gets_pong(addr).await;
        server_close_reaches_client(addr).await;
        too_large_closes_with_4002(addr).await;
        many_clients(addr, &seen).await;
        bad_handshake_gets_400(addr).await;
    });
    server.shutdown(Duration::from_secs(2));
}

#[test]
fn epoll() {
    exercise(Driver::Epoll, true, "epoll");
}

#[test]
fn auto() {
    let expected = if monoio::utils::detect_uring() {
        "io_uring"
    } else {
        "epoll"
    };
    exercise(Driver::Auto, true, expected);
}

#[test]
fn io_uring() {
    exercise(Driver::IoUring, false, "io_uring");
}

#[test]
fn io_uring_direct_descriptors() {
    exercise(Driver::IoUring, true, "io_uring");
}

#[test]
fn shutdown_refuses_new_connections() {
    for (driver, direct) in [
        (Driver::Epoll, false),
        (Driver::IoUring, false),
        (Driver::IoUring, true),
    ] {
        let (server, _) = start_with(driver, direct);
        let addr = server.local_addr();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // An open connection that never closes: shutdown drops it after the grace period.
        let ws = rt.block_on(connect(addr));
        let started = std::time::Instant::now();
        server.shutdown(Duration::from_secs(2));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(2), "waited {waited:?}");
        assert!(waited < Duration::from_secs(5), "waited {waited:?}");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "still accepting"
        );
        drop(ws);
    }
}

#[test]
fn shutdown_returns_early_when_connections_end() {
    let (server, _) = start(Driver::Epoll);
    let started = std::time::Instant::now();
    server.shutdown(Duration::from_secs(30));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn bind_conflict_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = TransportConfig {
        addr: taken.local_addr().unwrap(),
        threads: 1,
        driver: Driver::Epoll,
        max_message: MAX_MESSAGE,
        handshake_timeout: Duration::from_secs(5),
        tls: None,
        direct_descriptors: false,
    };
    let result = Server::start(config, |_| |_conn: Conn| async {});
    assert!(result.is_err(), "binding an address in use must fail");
}
