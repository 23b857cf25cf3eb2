//! The edge's exchange with an upstream, through `accord edge` in front of a backend this test
//! runs, which records every request head and body it gets: hop-by-hop fields stay behind, a
//! chunked upload arrives whole, `Expect: 100-continue` is answered by the edge, a response
//! without a length reaches an HTTP/1.1 client chunked on a connection that stays open (as do
//! answers to HEAD and 204s, which have no body), and a pooled upstream connection the backend
//! closed is replaced without the client seeing an error (but a POST is not sent twice). A
//! client connection keeps its upstream connection between its requests, gives it back to the
//! pool when it ends, and does not use one the upstream closed meanwhile.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{edge_cmd, free_port, start, stop};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the backend got it.
#[derive(Debug, Clone)]
struct Got {
    head: String,
    body: Vec<u8>,
    /// Which of the backend's connections it came on (in the order they were accepted).
    conn: usize,
}

impl Got {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// What the backend got, and how many requests it dropped unanswered.
#[derive(Default)]
struct Log {
    got: Mutex<Vec<Got>>,
    dropped: Mutex<Vec<String>>,
}

/// Reads exactly what a request needs from `stream` (`buf` keeps what was read past it).
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Got> {
    let mut chunk = [0u8; 8192];
    let mut fill =
        async |buf: &mut Vec<u8>, stream: &mut TcpStream| match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                true
            }
        };
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if !fill(buf, stream).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end);
    let mut got = Got {
        head,
        body: Vec::new(),
        conn: 0,
    };
    if let Some(len) = got.header("content-length") {
        let len: usize = len.parse().unwrap();
        while buf.len() < len {
            if !fill(buf, stream).await {
                return None;
            }
        }
        got.body = buf.drain(..len).collect();
    } else if got
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if !fill(buf, stream).await {
                    return None;
                }
            };
            let size = usize::from_str_radix(String::from_utf8_lossy(&buf[..line_end]).trim(), 16)
                .unwrap();
            while buf.len() < line_end + 2 + size + 2 {
                if !fill(buf, stream).await {
                    return None;
                }
            }
            got.body
                .extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
            buf.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
    }
    Some(got)
}

/// The backend: answers each request with a JSON echo of its path and body, keeping the
/// connection; `/open` is answered HTTP/1.0-style (no length, the body ends with the
/// connection). After a request under `/once/`, the next request on that connection is read and
/// dropped unanswered, as by a server closing an idle keep-alive connection the moment a
/// request arrives. After answering `/close`, the backend closes the connection (without
/// saying so in the answer), as a server with a short keep-alive time does.
async fn backend() -> (u16, Arc<Log>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Log::default());
    let shared = log.clone();
    tokio::spawn(async move {
        let mut accepted = 0;
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = shared.clone();
            let conn = accepted;
            accepted += 1;
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(mut got) = read_request(&mut stream, &mut buf).await {
                    got.conn = conn;
                    log.got.lock().unwrap().push(got.clone());
                    let path = got.head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let body = serde_json::json!({
                        "path": path,
                        "body": String::from_utf8_lossy(&got.body),
                    })
                    .to_string();
                    if got.head.starts_with("HEAD ") || path == "/empty" {
                        // No body: the length a GET would get for HEAD, nothing for 204.
                        let resp = if path == "/empty" {
                            "HTTP/1.1 204 No Content\r\n\r\n".to_owned()
                        } else {
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                        };
                        if stream.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    if path == "/open" {
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{body}"
                        );
                        let _ = stream.write_all(resp.as_bytes()).await;
                        return;
                    }
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                    if path == "/close" {
                        return;
                    }
                    if path.starts_with("/once/") {
                        if let Some(again) = read_request(&mut stream, &mut buf).await {
                            log.dropped.lock().unwrap().push(again.head);
                        }
                        return;
                    }
                }
            });
        }
    });
    (port, log)
}

/// Starts `accord edge` on a new port in front of the backend on `app`.
async fn edge(dir: &std::path::Path, app: u16) -> (u16, support::Running) {
    let port = free_port();
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
         accord_routes = false\nhealth_check_secs = 1\n\
         routes = [{{ path_prefix = \"/\", upstream = \"app\" }}]\n\
         [edge.upstreams]\napp = [\"127.0.0.1:{app}\"]\n",
        admin = free_port()
    );
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
    let (running, _) = start(edge_cmd(dir));
    (port, running)
}

/// Reads one response (head and a `Content-Length` or chunked body) from `stream`.
async fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let got = tokio::time::timeout(Duration::from_secs(10), read_request(stream, &mut buf))
        .await
        .expect("an answer in time")
        .unwrap_or_else(|| panic!("no whole answer: {:?}", String::from_utf8_lossy(&buf)));
    (got.head, got.body)
}

#[tokio::test]
async fn hop_by_hop_fields_stay_behind_uploads_arrive_and_100_continue_comes_from_the_edge() {
    let dir = tempfile::tempdir().unwrap();
    let (app, log) = backend().await;
    let (port, running) = edge(dir.path(), app).await;
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();

    // Hop-by-hop fields, and the one `Connection` names, are not sent on; a chunked body is.
    client
        .write_all(
            b"POST /upload HTTP/1.1\r\nHost: chat.example\r\nConnection: keep-alive, X-Secret\r\n\
              X-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\n\
              Authorization: Bot abc\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        )
        .await
        .unwrap();
    let (head, body) = read_response(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let echo: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echo["body"], "hello world");
    let got = log.got.lock().unwrap().last().cloned().unwrap();
    for gone in [
        "x-secret",
        "keep-alive",
        "proxy-authorization",
        "connection",
    ] {
        assert_eq!(
            got.header(gone),
            None,
            "{gone} reached the backend: {}",
            got.head
        );
    }
    assert_eq!(got.header("host").as_deref(), Some("chat.example"));
    assert_eq!(got.header("authorization").as_deref(), Some("Bot abc"));
    assert_eq!(got.header("x-forwarded-for").as_deref(), Some("127.0.0.1"));

    // `Expect: 100-continue`: the edge says go on, the body follows, the backend never sees
    // the expectation.
    client
        .write_all(
            b"PUT /expect HTTP/1.1\r\nHost: chat.example\r\nExpect: 100-continue\r\n\
              Content-Length: 5\r\n\r\n",
        )
        .await
        .unwrap();
    let mut first = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut first))
        .await
        .expect("100 Continue before the body")
        .unwrap();
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    client.write_all(b"abcde").await.unwrap();
    let (head, body) = read_response(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let echo: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echo["body"], "abcde");
    let got = log.got.lock().unwrap().last().cloned().unwrap();
    assert_eq!(got.header("expect"), None, "{}", got.head);

    // A body that ends with the upstream's connection reaches the client chunked, and the
    // client's connection stays open for the next request.
    client
        .write_all(b"GET /open HTTP/1.1\r\nHost: chat.example\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = read_response(&mut client).await;
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let echo: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echo["path"], "/open");
    // Answers without a body (HEAD, 204) leave the connection in step.
    for (request, status) in [
        ("HEAD /x HTTP/1.1", "HTTP/1.1 200"),
        ("GET /empty HTTP/1.1", "HTTP/1.1 204"),
    ] {
        client
            .write_all(format!("{request}\r\nHost: chat.example\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut byte))
                .await
                .expect("an answer in time")
                .unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with(status), "{request}: {head}");
    }
    client
        .write_all(b"GET /after HTTP/1.1\r\nHost: chat.example\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = read_response(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["path"],
        "/after"
    );
    stop(running);
}

#[tokio::test]
async fn a_pooled_connection_the_upstream_dropped_is_replaced_but_a_post_is_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let (app, log) = backend().await;
    let (port, running) = edge(dir.path(), app).await;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");

    // Every GET after the first finds the pooled connection of the one before, which the
    // backend drops on its next request: the edge sends the GET again on a new connection.
    for i in 0..10 {
        let resp = http
            .get(format!("{url}/once/get/{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "GET {i}");
        let echo: Value = resp.json().await.unwrap();
        assert_eq!(echo["path"], format!("/once/get/{i}"));
    }
    let dropped = log.dropped.lock().unwrap().len();
    assert!(
        dropped > 0,
        "no pooled connection was reused, nothing was tested"
    );

    // A POST (without a body, so it is sent whole before the answer is awaited, as a GET is)
    // on such a connection may have been acted on: it is answered 502, not sent again.
    let mut answered = 0;
    let mut refused = 0;
    for i in 0..10 {
        let resp = http
            .post(format!("{url}/once/post/{i}"))
            .send()
            .await
            .unwrap();
        match resp.status().as_u16() {
            200 => answered += 1,
            502 => refused += 1,
            other => panic!("POST {i}: {other}"),
        }
    }
    let posts_got = log
        .got
        .lock()
        .unwrap()
        .iter()
        .filter(|g| g.head.starts_with("POST"))
        .count();
    let posts_dropped = log
        .dropped
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.starts_with("POST"))
        .count();
    assert_eq!(posts_got, answered, "every POST the backend answered once");
    assert_eq!(
        posts_dropped, refused,
        "every dropped POST answered 502, not resent"
    );
    stop(running);
}

/// The backend connection each request whose path starts with `prefix` came on.
fn conns(log: &Log, prefix: &str) -> Vec<usize> {
    log.got
        .lock()
        .unwrap()
        .iter()
        .filter(|g| {
            g.head
                .split_whitespace()
                .nth(1)
                .is_some_and(|p| p.starts_with(prefix))
        })
        .map(|g| g.conn)
        .collect()
}

/// Sends `method path` on `client` and reads the answer's status line.
async fn ask(client: &mut TcpStream, method: &str, path: &str) -> String {
    let req = format!("{method} {path} HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\n\r\n");
    client.write_all(req.as_bytes()).await.unwrap();
    let (head, _) = read_response(client).await;
    head.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_client_connection_keeps_its_upstream_connection_and_gives_it_back_when_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (app, log) = backend().await;
    let (port, running) = edge(dir.path(), app).await;
    let connect = || TcpStream::connect(("127.0.0.1", port));
    let (mut a, mut b) = (connect().await.unwrap(), connect().await.unwrap());
    let ok = "HTTP/1.1 200 OK";

    // Two client connections taking turns: each keeps the upstream connection of its first
    // request (through a pool alone, the second would take the first's connection every time).
    for i in 0..4 {
        assert_eq!(ask(&mut a, "GET", &format!("/a/{i}")).await, ok);
        assert_eq!(ask(&mut b, "GET", &format!("/b/{i}")).await, ok);
    }
    let (on_a, on_b) = (conns(&log, "/a/"), conns(&log, "/b/"));
    assert!(on_a.iter().all(|c| *c == on_a[0]), "a's requests: {on_a:?}");
    assert!(on_b.iter().all(|c| *c == on_b[0]), "b's requests: {on_b:?}");
    assert_ne!(on_a[0], on_b[0], "a and b each kept their own");

    // When a client connection ends, its upstream connection goes back to the pool, where the
    // next client connection's first request finds it.
    drop(a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut c = connect().await.unwrap();
    assert_eq!(ask(&mut c, "GET", "/c/0").await, ok);
    assert_eq!(
        conns(&log, "/c/"),
        [on_a[0]],
        "c got a's connection from the pool"
    );

    // The upstream closes the kept connection after an answer: the client's next request (a
    // POST, which the edge would not send twice) goes on a new connection, not to a 502.
    assert_eq!(ask(&mut c, "GET", "/close").await, ok);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(ask(&mut c, "POST", "/c/after").await, ok);
    let on_c = conns(&log, "/c/");
    assert_ne!(
        on_c[1], on_a[0],
        "the closed connection was not used: {on_c:?}"
    );
    stop(running);
}
