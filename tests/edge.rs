//! The edge proxy in the `accord` binary: `accord edge` in front of a third-party HTTP +
//! WebSocket backend this test runs itself (routing, round-robin past a dead address, IP
//! filtering from the configuration and from a file edited at runtime, `X-Forwarded-For` from
//! untrusted and trusted peers, WebSocket echo), and the default `accord` with `edge.enabled`
//! (REST and the gateway's Hello through the edge).

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use support::{accord, edge_cmd, free_port, start, stop};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// What the backend saw: requests (HTTP and WebSocket) and the last forwarding headers.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    last_xff: Mutex<Option<String>>,
}

/// The value of header `name` in a raw request head.
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// Serves one connection: a WebSocket echo for upgrade requests, else one HTTP response whose
/// JSON body echoes the path and forwarding headers.
async fn serve_conn(mut stream: TcpStream, seen: Arc<Seen>) {
    // Peek at the head without consuming it, so a WebSocket handshake can read it again.
    let mut buf = vec![0u8; 8192];
    let head = loop {
        let n = match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.contains("\r\n\r\n") {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    seen.requests.fetch_add(1, Ordering::SeqCst);
    *seen.last_xff.lock().unwrap() = header(&head, "x-forwarded-for");
    let upgrade = header(&head, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if upgrade {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        while let Some(Ok(msg)) = ws.next().await {
            let echo = matches!(msg, Message::Text(_) | Message::Binary(_));
            if msg.is_close() || (echo && ws.send(msg).await.is_err()) {
                return;
            }
        }
        return;
    }
    let end = head.find("\r\n\r\n").unwrap() + 4;
    let mut consumed = vec![0u8; end];
    if stream.read_exact(&mut consumed).await.is_err() {
        return;
    }
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let body = serde_json::json!({
        "path": path,
        "x_forwarded_for": header(&head, "x-forwarded-for"),
        "x_forwarded_proto": header(&head, "x-forwarded-proto"),
    })
    .to_string();
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Starts the backend on 127.0.0.1; returns its port and what it sees.
async fn backend() -> (u16, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let shared = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_conn(stream, shared.clone()));
        }
    });
    (port, seen)
}

/// Writes `accord.toml` with an `[edge]` section in front of `app` (the given addresses), plus
/// `extra` TOML (top-level tables such as `[security]`).
fn write_config(dir: &Path, edge_port: u16, app: &[String], ip_filter: &str, extra: &str) {
    let app = app
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let admin = free_port();
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:{edge_port}\"\naccord_routes = false\n\
         admin_listen = \"127.0.0.1:{admin}\"\n\
         health_check_secs = 1\n\
         routes = [{{ path_prefix = \"/\", upstream = \"app\" }}]\n\
         [edge.upstreams]\napp = [{app}]\n[edge.ip_filter]\n{ip_filter}\n{extra}\n"
    );
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
}

/// GET through the edge with an optional `X-Forwarded-For`; returns status and JSON body.
async fn get(url: &str, xff: Option<&str>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut req = http.get(url);
    if let Some(xff) = xff {
        req = req.header("x-forwarded-for", xff);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn assert_blocked(status: u16, body: &Value) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], 40333, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn edge_proxies_a_third_party_backend_past_a_dead_address_and_reloads_its_deny_file() {
    let (port, seen) = backend().await;
    let dead = format!("127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let deny_file = dir.path().join("deny.txt");
    std::fs::write(&deny_file, "# nobody blocked yet\n").unwrap();
    let edge = free_port();
    write_config(
        dir.path(),
        edge,
        &[dead, format!("127.0.0.1:{port}")],
        &format!(
            "deny = [\"203.0.113.0/24\"]\ndeny_files = [\"{}\"]",
            deny_file.display()
        ),
        "",
    );
    let (child, banner) = start(edge_cmd(dir.path()));
    assert!(banner.contains("edge only"), "{banner}");
    assert!(
        banner.contains(&format!("Edge:      http://127.0.0.1:{edge}")),
        "{banner}"
    );
    assert!(banner.contains("*/ -> app"), "{banner}");
    let base = format!("http://127.0.0.1:{edge}");

    // Every request succeeds although one of the two addresses is dead.
    for i in 0..6 {
        let (status, body) = get(&format!("{base}/hello/{i}"), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["path"], format!("/hello/{i}"));
        assert_eq!(body["x_forwarded_proto"], "http");
        assert_eq!(body["x_forwarded_for"], "127.0.0.1");
    }
    assert_eq!(seen.requests.load(Ordering::SeqCst), 6);

    // From an untrusted peer, X-Forwarded-For is neither believed (a denied address in it does
    // not block) nor passed on.
    let (status, body) = get(&format!("{base}/spoof"), Some("203.0.113.7")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["x_forwarded_for"], "127.0.0.1");

    // WebSocket upgrades pass through, both ways.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{edge}/socket"))
        .await
        .expect("WebSocket through the edge");
    ws.send(Message::text("ping through the edge"))
        .await
        .unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("echo in time")
        .expect("a message")
        .unwrap();
    assert_eq!(echoed, Message::text("ping through the edge"));
    assert_eq!(
        seen.last_xff.lock().unwrap().as_deref(),
        Some("127.0.0.1"),
        "the handshake carried X-Forwarded-For"
    );
    ws.close(None).await.unwrap();

    // Denying 127.0.0.1 in the file takes effect without a restart.
    std::fs::write(&deny_file, "# blocked at runtime\n127.0.0.1/32\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let before = loop {
        let count = seen.requests.load(Ordering::SeqCst);
        let (status, body) = get(&format!("{base}/after-edit"), None).await;
        if status == 403 {
            assert_blocked(status, &body);
            break count;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "the deny file was not reloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        before,
        "the backend never saw the denied request"
    );
    let ws_denied = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{edge}/socket")).await;
    assert!(ws_denied.is_err(), "WebSocket upgrades are filtered too");
    assert_eq!(seen.requests.load(Ordering::SeqCst), before);
    assert!(stop(child).success());
}

#[tokio::test]
async fn edge_believes_x_forwarded_for_only_from_trusted_proxies() {
    let (port, seen) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = free_port();
    write_config(
        dir.path(),
        edge,
        &[format!("127.0.0.1:{port}")],
        "deny = [\"203.0.113.0/24\"]",
        "[security]\ntrusted_proxies = [\"127.0.0.1\"]",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    let base = format!("http://127.0.0.1:{edge}");
    // The peer 127.0.0.1 is a trusted proxy: the client is the right-most untrusted hop.
    let (status, body) = get(&format!("{base}/x"), Some("198.51.100.1, 203.0.113.7")).await;
    assert_blocked(status, &body);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    let (status, body) = get(&format!("{base}/x"), Some("203.0.113.7, 198.51.100.1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["x_forwarded_for"], "203.0.113.7, 198.51.100.1, 127.0.0.1",
        "the chain is passed on with the peer appended"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 1);
    assert!(stop(child).success());
}

#[tokio::test]
async fn edge_with_an_allow_list_refuses_everyone_else() {
    let (port, seen) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = free_port();
    write_config(
        dir.path(),
        edge,
        &[format!("127.0.0.1:{port}")],
        "allow = [\"127.0.0.2\", \"::1\"]",
        "",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    let (status, body) = get(&format!("http://127.0.0.1:{edge}/x"), None).await;
    assert_blocked(status, &body);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    assert!(stop(child).success());
}

#[tokio::test]
async fn the_default_accord_runs_the_edge_in_front_of_api_and_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let edge = free_port();
    let mut cmd = accord(dir.path(), free_port(), None);
    cmd.env("ACCORD_EDGE__ENABLED", "true")
        .env("ACCORD_EDGE__LISTEN", format!("127.0.0.1:{edge}"))
        .env(
            "ACCORD_EDGE__ADMIN_LISTEN",
            format!("127.0.0.1:{}", free_port()),
        );
    let (child, banner) = start(cmd);
    assert!(
        banner.contains(&format!("Edge:      http://127.0.0.1:{edge}")),
        "{banner}"
    );
    assert!(banner.contains("*/api -> api"), "{banner}");

    let (status, body) = get(&format!("http://127.0.0.1:{edge}/api/v10/gateway"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["url"].as_str().is_some_and(|u| u.starts_with("ws")),
        "{body}"
    );

    // The gateway's Hello, through the edge, on `/gateway` and on the bare path.
    for path in ["/gateway", "/"] {
        let url = format!("ws://127.0.0.1:{edge}{path}?v=10&encoding=json");
        let (mut ws, _) = tokio_tungstenite::connect_async(&url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let hello = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("Hello in time")
            .expect("a message")
            .unwrap_or_else(|e| panic!("{url}: no Hello: {e}"));
        let Message::Text(text) = hello else {
            panic!("not text: {hello:?}")
        };
        let hello: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(hello["op"], 10, "{hello}");
        assert!(
            hello["d"]["heartbeat_interval"].as_u64().is_some(),
            "{hello}"
        );
        ws.close(None).await.unwrap();
    }
    // A path no route takes.
    let (status, body) = get(&format!("http://127.0.0.1:{edge}/nowhere"), None).await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, Value::from(0)),
        "{body}"
    );
    assert!(stop(child).success());
}

/// A WebSocket backend that speaks first: its `101` and a first text frame leave in one write,
/// the way Accord's gateway sends Hello straight after the handshake.
async fn server_first_backend() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let key = header(&head, "sec-websocket-key").unwrap_or_default();
                let accept =
                    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
                let mut out = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
                .into_bytes();
                out.extend_from_slice(b"\x81\x05hello");
                if stream.write_all(&out).await.is_err() {
                    return;
                }
                // Hold the connection until the client goes.
                while let Ok(n) = stream.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Opens a WebSocket through the edge with raw bytes and returns everything received until the
/// first frame is complete (or the connection ends or 5 s pass).
async fn first_frame_through(edge: u16) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", edge)).await.unwrap();
    stream
        .write_all(
            b"GET /socket HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
            if got.ends_with(b"\x81\x05hello") {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
    got
}

/// Pingora 0.9.1's own upgrade path closes a tunnel right after the `101` when the upstream's
/// answer is read before the request's empty body (cloudflare/pingora#946); the edge tunnels
/// WebSockets itself. Hundreds of server-first handshakes, four at a time: every one gets its
/// first frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_first_websocket_gets_its_first_frame_through_the_edge() {
    let port = server_first_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = free_port();
    // 400 handshakes from one address: past the default per-address throttle.
    write_config(
        dir.path(),
        edge,
        &[format!("127.0.0.1:{port}")],
        "",
        "[edge.throttle]\nenabled = false\n",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    let mut lost = 0;
    for _ in 0..100 {
        let rounds: Vec<_> = (0..4)
            .map(|_| tokio::spawn(first_frame_through(edge)))
            .collect();
        for round in rounds {
            let got = round.await.unwrap();
            let text = String::from_utf8_lossy(&got);
            assert!(text.starts_with("HTTP/1.1 101"), "{text}");
            if !got.ends_with(b"\x81\x05hello") {
                lost += 1;
            }
        }
    }
    assert_eq!(
        lost, 0,
        "connections closed before their first frame, of 400"
    );
    assert!(stop(child).success());
}

/// Sends raw bytes to the edge and reads until it closes the connection.
async fn raw_exchange(port: u16, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A PROXY protocol v2 header for a TCP over IPv4 connection from `src`.
fn proxy_v2(src: [u8; 4], sport: u16) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend([0x21, 0x11, 0, 12]);
    header.extend(src);
    header.extend([127, 0, 0, 1]);
    header.extend(sport.to_be_bytes());
    header.extend(80u16.to_be_bytes());
    header
}

#[tokio::test]
async fn edge_takes_the_client_address_from_the_proxy_protocol() {
    let (port, seen) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = free_port();
    write_config(
        dir.path(),
        edge,
        &[format!("127.0.0.1:{port}")],
        "deny = [\"203.0.113.0/24\"]",
        "",
    );
    let mut cmd = edge_cmd(dir.path());
    cmd.env("ACCORD_EDGE__PROXY_PROTOCOL", "true");
    let (child, _) = start(cmd);
    let request = b"GET /pp HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n";

    let mut v1 = b"PROXY TCP4 198.51.100.9 127.0.0.1 5555 80\r\n".to_vec();
    v1.extend(request);
    let response = raw_exchange(edge, &v1).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(r#""x_forwarded_for":"198.51.100.9""#),
        "{response}"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 1);

    // The header comes once; the connection's next request keeps its address.
    let mut stream = TcpStream::connect(("127.0.0.1", edge)).await.unwrap();
    let mut first = b"PROXY TCP4 198.51.100.10 127.0.0.1 5555 80\r\n".to_vec();
    first.extend(b"GET /first HTTP/1.1\r\nHost: edge\r\n\r\n");
    stream.write_all(&first).await.unwrap();
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).ends_with("\"http\"}") {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("first response in time")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend(&chunk[..n]);
    }
    stream.write_all(request).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut got)).await;
    let response = String::from_utf8_lossy(&got);
    assert_eq!(response.matches("HTTP/1.1 200").count(), 2, "{response}");
    assert_eq!(
        response
            .matches(r#""x_forwarded_for":"198.51.100.10""#)
            .count(),
        2,
        "{response}"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 3);

    // The source in a v2 header decides the IP filter.
    let mut v2 = proxy_v2([203, 0, 113, 7], 4444);
    v2.extend(request);
    let response = raw_exchange(edge, &v2).await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(response.contains("40333"), "{response}");
    let mut v2 = proxy_v2([192, 0, 2, 1], 4444);
    v2.extend(request);
    let response = raw_exchange(edge, &v2).await;
    assert!(
        response.contains(r#""x_forwarded_for":"192.0.2.1""#),
        "{response}"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 4);

    // Without a header the connection is closed unanswered.
    let response = raw_exchange(edge, request).await;
    assert_eq!(response, "");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 4);
    assert!(stop(child).success());
}
