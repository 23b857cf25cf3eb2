//! The edge's operations through `accord edge` in front of backends this test runs: JSON 502
//! and 504 answers when the upstream is dead or silent, the access log (combined and JSON
//! lines in a file), the limits (413 for announced and streamed chunked bodies, 431 for large
//! heads and too many headers) and a WebSocket idle for longer than the HTTP read timeouts.

mod support;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use support::backend::{backend, ws_backend};
use support::{edge_cmd, free_port, start, stop, wait_for_lines};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Writes `accord.toml`: the edge on `edge`, `/ws` to `ws`, `/hang` to `live` and everything
/// else to `app`, with `extra` TOML in `[edge]`.
fn write_config(dir: &Path, edge: u16, app: &str, live: u16, ws: u16, extra: &str) {
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:{edge}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
         accord_routes = false\nhealth_check_secs = 1\n\
         routes = [{{ path_prefix = \"/\", upstream = \"app\" }}, \
         {{ path_prefix = \"/ws\", upstream = \"ws\" }}, \
         {{ path_prefix = \"/hang\", upstream = \"live\" }}]\n{extra}\n\
         [edge.upstreams]\napp = [\"{app}\"]\nws = [\"127.0.0.1:{ws}\"]\n\
         live = [\"127.0.0.1:{live}\"]\n",
        admin = free_port()
    );
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
}

/// Status and JSON body of a response.
async fn json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(ct.as_deref(), Some("application/json"), "status {status}");
    (status, resp.json().await.unwrap())
}

/// Sends `raw` on a new connection to the edge and returns the status and JSON body of the
/// answer (the edge closes the connection after it).
async fn raw(edge: u16, parts: &[Vec<u8>]) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", edge)).await.unwrap();
    for part in parts {
        // The edge may answer and close before the last part: later writes may fail.
        if stream.write_all(part).await.is_err() {
            break;
        }
    }
    let mut resp = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut resp)).await;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn dead_and_silent_upstreams_get_json_502_and_504() {
    let (app, _) = backend().await;
    let ws = ws_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = free_port();
    let dead = format!("127.0.0.1:{}", free_port());
    // `dead` is app; `/hang` goes to a live backend that never answers.
    write_config(
        dir.path(),
        edge,
        &dead,
        app,
        ws,
        "[edge.timeouts]\nread_secs = 1\n",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    let http = reqwest::Client::new();
    let (status, body) = json(
        http.get(format!("http://127.0.0.1:{edge}/x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        body,
        serde_json::json!({ "message": "502: Bad Gateway", "code": 0 })
    );

    let began = std::time::Instant::now();
    let (status, body) = json(
        http.get(format!("http://127.0.0.1:{edge}/hang"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["message"], "504: Gateway Timeout");
    assert_eq!(body["code"], 0);
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(stop(child).success());
}

#[tokio::test]
async fn the_access_log_writes_one_line_per_request_in_both_formats() {
    let (app, _) = backend().await;
    let ws = ws_backend().await;
    for format in ["combined", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        let edge = free_port();
        write_config(
            dir.path(),
            edge,
            &format!("127.0.0.1:{app}"),
            app,
            ws,
            &format!(
                "access_log = \"{}\"\naccess_log_format = \"{format}\"\n",
                log.display()
            ),
        );
        let (child, _) = start(edge_cmd(dir.path()));
        let http = reqwest::Client::builder()
            .user_agent("ops-test/1.0")
            .build()
            .unwrap();
        let resp = http
            .get(format!("http://127.0.0.1:{edge}/api/v10/gateway?x=1"))
            .header("referer", "http://example.com/")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let sent = resp.bytes().await.unwrap().len();
        let resp = http
            .post(format!("http://127.0.0.1:{edge}/second"))
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let text = wait_for_lines(&log, 2).await;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let upstream = format!("127.0.0.1:{app}");
        if format == "combined" {
            let expected = format!(
                "\"GET /api/v10/gateway?x=1 HTTP/1.1\" 200 {sent} \"http://example.com/\" \
                 \"ops-test/1.0\" upstream=app addr={upstream} duration="
            );
            assert!(lines[0].starts_with("127.0.0.1 - - ["), "{}", lines[0]);
            assert!(lines[0].contains(&expected), "{}\n{expected}", lines[0]);
            assert!(
                lines[1].contains("\"POST /second HTTP/1.1\" 200 "),
                "{}",
                lines[1]
            );
        } else {
            let first: Value = serde_json::from_str(lines[0]).unwrap();
            assert_eq!(first["client"], "127.0.0.1");
            assert_eq!(first["method"], "GET");
            assert_eq!(first["path"], "/api/v10/gateway?x=1");
            assert_eq!(first["status"], 200);
            assert_eq!(first["bytes"], sent);
            assert_eq!(first["user_agent"], "ops-test/1.0");
            assert_eq!(first["upstream"], "app");
            assert_eq!(first["upstream_addr"], upstream);
            assert!(first["duration"].as_f64().unwrap() > 0.0);
            let second: Value = serde_json::from_str(lines[1]).unwrap();
            assert_eq!(second["method"], "POST");
        }
        assert!(stop(child).success());
    }
}

#[tokio::test]
async fn large_bodies_get_413_large_heads_431_and_a_quiet_websocket_outlives_read_timeouts() {
    let (app, seen) = backend().await;
    let ws = ws_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = free_port();
    write_config(
        dir.path(),
        edge,
        &format!("127.0.0.1:{app}"),
        app,
        ws,
        "[edge.limits]\nmax_body_bytes = 65536\nmax_header_bytes = 4096\n\
         max_header_count = 20\n[edge.timeouts]\nread_secs = 1\nclient_read_secs = 1\n\
         websocket_idle_secs = 30\n",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{edge}/upload");

    // Within the limit.
    let resp = http
        .post(&url)
        .body(vec![b'a'; 65536])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let before = seen.load(Ordering::SeqCst);

    // Announced past the limit: refused before the upstream sees it.
    let (status, body) = json(
        http.post(&url)
            .body(vec![b'a'; 300_000])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], 40005);
    assert_eq!(body["message"], "Request entity too large");
    assert_eq!(seen.load(Ordering::SeqCst), before);

    // Chunked, no length announced: counted as it streams.
    let head = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = [
        format!("{:x}\r\n", 40_000).into_bytes(),
        vec![b'b'; 40_000],
        b"\r\n".to_vec(),
    ]
    .concat();
    let (status, body) = raw(
        edge,
        &[
            head.clone(),
            chunk.clone(),
            chunk.clone(),
            chunk,
            b"0\r\n\r\n".to_vec(),
        ],
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], 40005);
    // A small chunked body passes.
    let small = b"5\r\nhello\r\n0\r\n\r\n".to_vec();
    let resp = raw_ok(edge, &[head, small]).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    // A head past 4096 bytes, and one with more than 20 headers.
    let (status, body) = json(
        http.get(&url)
            .header("x-big", "a".repeat(5000))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 431, "{body}");
    assert_eq!(body["message"], "431: Request Header Fields Too Large");
    let mut req = http.get(&url);
    for i in 0..25 {
        req = req.header(format!("x-h{i}"), "1");
    }
    let (status, _) = json(req.send().await.unwrap()).await;
    assert_eq!(status, 431);
    let resp = http
        .get(&url)
        .header("x-ok", "a".repeat(3000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Quiet for 2.5 s, past both 1 s read timeouts: the WebSocket stays up.
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{edge}/ws"))
        .await
        .unwrap();
    socket.send(Message::text("first")).await.unwrap();
    let echo = socket.next().await.unwrap().unwrap();
    assert_eq!(echo.into_text().unwrap().as_str(), "first");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    socket
        .send(Message::text("after a quiet while"))
        .await
        .unwrap();
    let echo = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echo.into_text().unwrap().as_str(), "after a quiet while");
    assert!(stop(child).success());
}

/// Sends `parts` on a new connection with `Connection: close` semantics expected from the
/// request and returns the whole answer as text.
async fn raw_ok(edge: u16, parts: &[Vec<u8>]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", edge)).await.unwrap();
    for part in parts {
        stream.write_all(part).await.unwrap();
    }
    let mut resp = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut resp))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&resp[..n]).into_owned()
}

/// Threads of process `pid` named `name`.
fn threads_named(pid: u32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[tokio::test]
async fn edge_threads_sets_the_listeners_worker_threads() {
    let (app, _) = backend().await;
    let ws = ws_backend().await;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Unset (0): one per CPU; otherwise the number given, whatever the CPU count.
    for (extra, expected) in [("", cpus), ("threads = 3\n", 3), ("threads = 1\n", 1)] {
        let dir = tempfile::tempdir().unwrap();
        let edge = free_port();
        write_config(
            dir.path(),
            edge,
            &format!("127.0.0.1:{app}"),
            app,
            ws,
            extra,
        );
        let (child, _) = start(edge_cmd(dir.path()));
        let status = reqwest::get(format!("http://127.0.0.1:{edge}/x"))
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        let pid = child.0.as_ref().unwrap().id();
        // Pingora names each listener's runtime threads after its service.
        assert_eq!(threads_named(pid, "Accord edge"), expected, "{extra:?}");
        assert!(stop(child).success());
    }
}
