//! The edge's error-based blocking, throttling and admin listener, through `accord edge` in
//! front of a plain HTTP backend this test runs: an address blocked after N error responses
//! (the backend then sees none of its requests), listed and lifted at the admin listener, and
//! unblocked by itself; 429s with Discord's headers and body per client address, per user,
//! instance-wide and on the register route; a Redis counter shared by two edge processes;
//! the metrics and the admin token.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{edge_cmd, free_port, start, stop};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Starts a backend answering `/status/{code}` with that status (200 for any other path);
/// returns its port and how many requests it saw.
async fn backend() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend(&buf[..n]),
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let status = path
                    .strip_prefix("/status/")
                    .and_then(|s| s.parse::<u16>().ok())
                    .unwrap_or(200);
                let body = r#"{"ok":true}"#;
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(resp.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (port, seen)
}

/// Writes `accord.toml`: the edge on `edge`, admin on `admin`, everything to the backend on
/// `app`, plus `extra` TOML appended to `[edge]`, then the given top-level `tables`.
fn write_config(dir: &Path, edge: u16, admin: u16, app: u16, extra: &str, tables: &str) {
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:{edge}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
         accord_routes = false\nhealth_check_secs = 1\n\
         routes = [{{ path_prefix = \"/\", upstream = \"app\" }}]\n{extra}\n\
         [edge.upstreams]\napp = [\"127.0.0.1:{app}\"]\n{tables}\n"
    );
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
}

/// A request through the edge: status, headers and JSON body.
async fn send(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http.request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

fn assert_blocked(status: u16, headers: &reqwest::header::HeaderMap, body: &Value) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], 40333, "{body}");
    assert_eq!(body["message"], "internal network error");
    assert_eq!(headers["content-type"], "application/json");
}

const TOKEN: &str = "s3cret-admin";

#[tokio::test]
async fn an_address_is_blocked_after_errors_listed_lifted_and_unblocked_by_itself() {
    let (app, seen) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let (edge, admin) = (free_port(), free_port());
    write_config(dir.path(), edge, admin, app, "", "");
    let mut cmd = edge_cmd(dir.path());
    cmd.env("ACCORD_EDGE__BLOCKING__MAX_ERRORS", "3")
        .env("ACCORD_EDGE__BLOCKING__WINDOW_SECS", "60")
        .env("ACCORD_EDGE__BLOCKING__BLOCK_SECS", "3")
        .env("ACCORD_EDGE__ADMIN_TOKEN", TOKEN);
    let (child, banner) = start(cmd);
    assert!(
        banner.contains(&format!("127.0.0.1:{admin}/blocks")),
        "{banner}"
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{edge}");
    let admin_url = format!("http://127.0.0.1:{admin}");
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];

    // Three errors are allowed (and a success or an uncounted error does not count); the
    // fourth blocks.
    let paths = [
        ("/status/404", 404),
        ("/status/401", 401),
        ("/", 200),
        ("/status/500", 500),
        ("/status/403", 403),
    ];
    for (path, expected) in paths {
        let (status, _, body) = send(&http, "GET", &format!("{base}{path}"), &[]).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
    let (status, _, _) = send(&http, "GET", &format!("{base}/"), &[]).await;
    assert_eq!(status, 200, "not blocked after 3 errors");
    let (status, _, _) = send(&http, "GET", &format!("{base}/status/429"), &[]).await;
    assert_eq!(status, 429, "the fourth error still reached the backend");
    let before = seen.load(Ordering::SeqCst);
    assert_eq!(before, 7);
    let (status, headers, body) = send(&http, "GET", &format!("{base}/"), &[]).await;
    assert_blocked(status, &headers, &body);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        before,
        "the backend saw nothing"
    );

    // The admin listener needs the token.
    let (status, _, _) = send(&http, "GET", &format!("{admin_url}/blocks"), &[]).await;
    assert_eq!(status, 401);
    let wrong = [("authorization", "Bearer nope")];
    let (status, _, _) = send(&http, "GET", &format!("{admin_url}/blocks"), &wrong).await;
    assert_eq!(status, 401);
    let (status, _, blocks) = send(&http, "GET", &format!("{admin_url}/blocks"), &auth).await;
    assert_eq!(status, 200, "{blocks}");
    assert_eq!(blocks.as_array().map(Vec::len), Some(1), "{blocks}");
    assert_eq!(blocks[0]["address"], "127.0.0.1");
    assert_eq!(blocks[0]["errors"], 4);
    let (since, until) = (blocks[0]["since"].as_u64(), blocks[0]["until"].as_u64());
    assert!(
        since.zip(until).is_some_and(|(s, u)| u >= s + 2),
        "{blocks}"
    );

    // Lifting the block lets the address in again.
    let lift = format!("{admin_url}/blocks/127.0.0.1");
    let (status, _, _) = send(&http, "DELETE", &lift, &[]).await;
    assert_eq!(status, 401);
    let (status, _, _) = send(&http, "DELETE", &lift, &auth).await;
    assert_eq!(status, 204);
    let (status, _, _) = send(&http, "DELETE", &lift, &auth).await;
    assert_eq!(status, 404, "no block left to lift");
    let (status, _, _) = send(&http, "GET", &format!("{base}/"), &[]).await;
    assert_eq!(status, 200);

    // Blocked again, then the block ends by itself after block_secs.
    for _ in 0..4 {
        send(&http, "GET", &format!("{base}/status/404"), &[]).await;
    }
    let (status, headers, body) = send(&http, "GET", &format!("{base}/"), &[]).await;
    assert_blocked(status, &headers, &body);
    let blocked_at = Instant::now();
    loop {
        let (status, _, _) = send(&http, "GET", &format!("{base}/"), &[]).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 403);
        assert!(
            blocked_at.elapsed() < Duration::from_secs(10),
            "never unblocked"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        blocked_at.elapsed() >= Duration::from_secs(2),
        "unblocked too early"
    );

    // The metrics count all of it.
    let (status, _, _) = send(&http, "GET", &format!("{admin_url}/metrics"), &[]).await;
    assert_eq!(status, 401);
    let text = http
        .get(format!("{admin_url}/metrics"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "edge_blocks_total 2",
        "edge_blocks_lifted_total 1",
        r#"edge_requests_total{upstream="app",class="4xx"}"#,
        r#"edge_requests_total{upstream="app",class="2xx"}"#,
        r#"edge_requests_total{upstream="edge",class="4xx"}"#,
        "edge_blocked_requests_total",
        "edge_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    assert!(stop(child).success());
}

/// Checks a 429 from the edge: Discord's headers and body.
fn assert_throttled(
    (status, headers, body): &(u16, reqwest::header::HeaderMap, Value),
    bucket: &str,
    limit: u32,
    global: bool,
) {
    assert_eq!(*status, 429, "{body}");
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{name} missing: {headers:?}"))
            .to_owned()
    };
    assert!(header("retry-after").parse::<u64>().is_ok_and(|s| s >= 1));
    assert_eq!(header("x-ratelimit-limit"), limit.to_string());
    assert_eq!(header("x-ratelimit-remaining"), "0");
    assert!(
        header("x-ratelimit-reset-after")
            .parse::<f64>()
            .is_ok_and(|s| s > 0.0)
    );
    assert!(
        header("x-ratelimit-reset")
            .parse::<f64>()
            .is_ok_and(|s| s > 1.7e9)
    );
    assert_eq!(header("x-ratelimit-bucket"), bucket);
    assert_eq!(
        header("x-ratelimit-scope"),
        if global { "global" } else { "user" }
    );
    assert!(!header("via").is_empty());
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(headers.contains_key("x-ratelimit-global"), global);
    assert_eq!(body["message"], "You are being rate limited.");
    assert!(
        body["retry_after"].as_f64().is_some_and(|s| s > 0.0),
        "{body}"
    );
    assert_eq!(body["global"], global);
}

#[tokio::test]
async fn requests_are_throttled_per_address_per_user_globally_and_on_registration() {
    let (app, seen) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let (edge, admin) = (free_port(), free_port());
    let rules = "[edge.throttle]\nrules = [\
        { name = \"per-ip\", path_prefix = \"/ip\", key = \"ip\", limit = 2, window_secs = 60 },\
        { name = \"per-user\", path_prefix = \"/user\", key = \"user\", limit = 2, window_secs = 60 },\
        { name = \"everyone\", path_prefix = \"/global\", key = \"global\", limit = 2, window_secs = 60 },\
        { name = \"register\", path_prefix = \"/api/v*/auth/register\", methods = [\"POST\"], \
          key = \"ip\", limit = 1, window_secs = 3600 }]\n\
        [security]\ntrusted_proxies = [\"127.0.0.1\"]";
    write_config(dir.path(), edge, admin, app, "", rules);
    let (child, _) = start(edge_cmd(dir.path()));
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{edge}{path}");
    let from = |ip: &'static str| [("x-forwarded-for", ip)];

    // Per address: the third request from one address is refused, another address is not.
    for _ in 0..2 {
        let (status, _, _) = send(&http, "GET", &url("/ip"), &from("198.51.100.1")).await;
        assert_eq!(status, 200);
    }
    let before = seen.load(Ordering::SeqCst);
    let refused = send(&http, "GET", &url("/ip"), &from("198.51.100.1")).await;
    assert_throttled(&refused, "per-ip", 2, false);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        before,
        "the backend saw nothing"
    );
    let (status, _, _) = send(&http, "GET", &url("/ip"), &from("198.51.100.2")).await;
    assert_eq!(status, 200, "another address has its own counter");

    // Per user, from the token's first part (ids 1001 and 1002), whatever the address.
    let alice = [("authorization", "MTAwMQ.AAAA.BBBB")];
    let bob = [("authorization", "Bot MTAwMg.AAAA.BBBB")];
    for _ in 0..2 {
        assert_eq!(send(&http, "GET", &url("/user"), &alice).await.0, 200);
    }
    assert_throttled(
        &send(&http, "GET", &url("/user"), &alice).await,
        "per-user",
        2,
        false,
    );
    assert_eq!(
        send(&http, "GET", &url("/user"), &bob).await.0,
        200,
        "bob has his own"
    );
    assert_eq!(
        send(&http, "GET", &url("/user"), &[]).await.0,
        200,
        "no token, no user rule"
    );

    // Instance-wide: all addresses together.
    for ip in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(
            send(&http, "GET", &url("/global/x"), &from(ip)).await.0,
            200
        );
    }
    let refused = send(&http, "GET", &url("/global/y"), &from("203.0.113.3")).await;
    assert_throttled(&refused, "everyone", 2, true);

    // Registration: one POST per address, with or without the version segment; GET is free.
    let register = url("/api/v9/auth/register");
    assert_eq!(send(&http, "POST", &register, &[]).await.0, 200);
    assert_throttled(
        &send(&http, "POST", &register, &[]).await,
        "register",
        1,
        false,
    );
    let unversioned = send(&http, "POST", &url("/api/auth/register"), &[]).await;
    assert_throttled(&unversioned, "register", 1, false);
    assert_eq!(send(&http, "GET", &register, &[]).await.0, 200);

    let text = http
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"edge_throttled_total{rule="per-ip"} 1"#,
        r#"edge_throttled_total{rule="per-user"} 1"#,
        r#"edge_throttled_total{rule="everyone"} 1"#,
        r#"edge_throttled_total{rule="register"} 2"#,
        r#"edge_requests_total{upstream="edge",class="4xx"} 5"#,
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    assert!(stop(child).success());
}

#[tokio::test]
async fn two_edges_share_their_limits_through_redis() {
    let (app, seen) = backend().await;
    let prefix = format!(
        "accord:edge-test:{}:",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let throttle = format!(
        "[edge.throttle]\nbackend = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\n\
         redis_prefix = \"{prefix}\"\nrules = [{{ name = \"shared\", path_prefix = \"/\", \
         key = \"ip\", limit = 3, window_secs = 60 }}]"
    );
    let mut edges = Vec::new();
    let mut children = Vec::new();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for dir in &dirs {
        let edge = free_port();
        write_config(dir.path(), edge, free_port(), app, "", &throttle);
        children.push(start(edge_cmd(dir.path())).0);
        edges.push(format!("http://127.0.0.1:{edge}/x"));
    }
    let http = reqwest::Client::new();
    for url in [&edges[0], &edges[1], &edges[0]] {
        assert_eq!(send(&http, "GET", url, &[]).await.0, 200);
    }
    let refused = send(&http, "GET", &edges[1], &[]).await;
    assert_throttled(&refused, "shared", 3, false);
    assert_throttled(
        &send(&http, "GET", &edges[0], &[]).await,
        "shared",
        3,
        false,
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "the limit is one for both edges"
    );
    for child in children {
        assert!(stop(child).success());
    }
}
