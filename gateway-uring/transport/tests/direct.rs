//! Connections held as io_uring direct descriptors do not count against the process's
//! open-files limit: with the limit lowered below what the clients and the server's sockets
//! need together, every connection is still served, the server's sockets add no descriptors,
//! and the slots of closed connections are used again.
#![allow(unsafe_code)] // getrlimit/setrlimit

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use accord_gateway_transport::{Conn, Driver, Incoming, Server, TransportConfig};
use common::next_message;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

/// The open-files limit this test runs under (nextest runs each test in a process of its own).
const LIMIT: u64 = 700;
/// Connections per round: the clients' descriptors and the server's would be 1,000 > 700.
const CLIENTS: usize = 500;

fn lower_open_files_limit(soft: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = soft.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

async fn echo(mut conn: Conn) {
    while let Ok(Incoming::Text(t)) = conn.reader.next().await {
        if conn.writer.send_text(&t).await.is_err() {
            break;
        }
    }
}

async fn round(addr: SocketAddr, base: usize) {
    let url = format!("ws://127.0.0.1:{}/", addr.port());
    let mut clients = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(&url),
        )
        .await;
        match connected {
            Ok(Ok((ws, _))) => clients.push(ws),
            Ok(Err(e)) => panic!("connection {i} failed: {e}"),
            Err(_) => panic!("connection {i} got no upgrade (the server ran out of descriptors?)"),
        }
    }
    for (i, ws) in clients.iter_mut().enumerate() {
        let text = format!("message {i}");
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(next_message(ws).await, Message::text(text));
    }
    let added = open_descriptors().saturating_sub(base);
    assert!(
        added < CLIENTS + 20,
        "{added} descriptors opened for {CLIENTS} connections: the server's sockets use descriptors"
    );
    for mut ws in clients {
        ws.close(None).await.unwrap();
        while let Some(Ok(message)) = futures_util::StreamExt::next(&mut ws).await {
            if message.is_close() {
                break;
            }
        }
    }
}

#[test]
fn connections_beyond_the_open_files_limit() {
    assert!(
        monoio::utils::detect_uring(),
        "io_uring is needed for direct descriptors"
    );
    lower_open_files_limit(LIMIT);
    let config = TransportConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        // One thread: one table of LIMIT slots, so the second round needs the first's slots.
        threads: 1,
        driver: Driver::IoUring,
        max_message: 4096,
        handshake_timeout: Duration::from_secs(5),
        tls: None,
        direct_descriptors: true,
    };
    let server = Server::start(config, |_| echo).expect("server starts");
    let addr = server.local_addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let base = open_descriptors();
        round(addr, base).await;
        // The server closes its side through the ring; its slots come back.
        tokio::time::sleep(Duration::from_millis(300)).await;
        round(addr, base).await;
    });
    server.shutdown(Duration::from_secs(1));
}
