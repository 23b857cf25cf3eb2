//! HTTP/2 on the edge's HTTPS listener (`edge.tls.http2`) through `accord edge`: a client
//! offering `h2` gets it, sends concurrent requests over one connection, and each is routed
//! upstream as HTTP/1.1 (with `Host` from `:authority` and `X-Forwarded-Proto: https`),
//! throttled with Discord's 429, held to the head and body limits (431, 413), answered with
//! HSTS and written to the access log as `HTTP/2.0`; an idle connection is closed after the
//! keep-alive time; a client offering only HTTP/1.1 gets HTTP/1.1; with `http2 = false` nobody
//! gets HTTP/2.

mod support;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use support::backend::backend;
use support::tls::TestCa;
use support::{edge_cmd, free_port, start, stop, wait_for_lines};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Writes `accord.toml`: the edge with its HTTPS listener on `tls` (certificate files
/// `cert`/`key` for `a.test`, `http2` on or off), every path to the backend `app`, a per-address
/// throttle of 2 requests a minute on `/limited`, HSTS, a keep-alive time of 1 s, heads of at
/// most 2048 bytes and bodies of at most 1024, and the access log in `access.log`.
fn write_config(
    dir: &Path,
    tls: u16,
    app: u16,
    (cert, key): &(std::path::PathBuf, std::path::PathBuf),
    http2: bool,
) {
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:{plain}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
         accord_routes = false\naccess_log = \"{log}\"\n\
         routes = [{{ path_prefix = \"/\", upstream = \"app\" }}]\n\
         [edge.upstreams]\napp = [\"127.0.0.1:{app}\"]\n\
         [edge.throttle]\nrules = [{{ name = \"per-ip\", path_prefix = \"/limited\", key = \"ip\", \
         limit = 2, window_secs = 60 }}]\n\
         [edge.tls]\nenabled = true\nlisten = \"127.0.0.1:{tls}\"\nhttp2 = {http2}\n\
         certificates = [{{ hostnames = [\"a.test\"], cert_path = \"{cert}\", key_path = \"{key}\" }}]\n\
         [edge.tls.hsts]\nmax_age_secs = 600\n[edge.timeouts]\nclient_keepalive_secs = 1\n\
         [edge.limits]\nmax_header_bytes = 2048\nmax_body_bytes = 1024\n",
        plain = free_port(),
        admin = free_port(),
        log = dir.join("access.log").display(),
        cert = cert.display(),
        key = key.display(),
    );
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
}

/// The application protocol the handshake settled on.
fn alpn(stream: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
    stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
}

/// Sends `GET path` on the HTTP/2 connection `client`; returns the status, the headers and the
/// body.
async fn get(
    client: &h2::client::SendRequest<Bytes>,
    path: &str,
) -> (u16, http::HeaderMap, Vec<u8>) {
    let req = http::Request::get(format!("https://a.test{path}"))
        .body(())
        .unwrap();
    send(client, req, None).await
}

/// Sends `req` (with `body` as its data, if any) on the HTTP/2 connection `client`; returns the
/// status, the headers and the body of the answer.
async fn send(
    client: &h2::client::SendRequest<Bytes>,
    req: http::Request<()>,
    body: Option<Bytes>,
) -> (u16, http::HeaderMap, Vec<u8>) {
    let mut client = client
        .clone()
        .ready()
        .await
        .expect("the connection takes a stream");
    let (resp, mut stream) = client
        .send_request(req, body.is_none())
        .expect("request sent");
    if let Some(body) = body {
        // Capacity is granted as the edge reads; the answer may come before it all went.
        let _ = stream.send_data(body, true);
    }
    let resp = tokio::time::timeout(Duration::from_secs(10), resp)
        .await
        .expect("an answer in time")
        .expect("a response");
    let (parts, mut body) = resp.into_parts();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body data");
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    (parts.status.as_u16(), parts.headers, bytes)
}

#[tokio::test]
async fn http2_clients_get_http2_and_each_request_is_routed_throttled_and_logged() {
    let (app, seen) = backend().await;
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let files = ca.leaf(&["a.test"], "a").write(dir.path(), "a");
    let tls = free_port();
    write_config(dir.path(), tls, app, &files, true);
    let (child, _) = start(edge_cmd(dir.path()));

    // Offered both, the edge picks h2; offered only HTTP/1.1, it keeps to that.
    let stream = ca
        .connect_offering(tls, "a.test", &[b"http/1.1", b"h2"])
        .await
        .unwrap();
    assert_eq!(alpn(&stream).as_deref(), Some(&b"h2"[..]));
    let only_h1 = ca.connect(tls, "a.test").await.unwrap();
    assert_eq!(alpn(&only_h1).as_deref(), Some(&b"http/1.1"[..]));
    drop(only_h1);

    let (client, connection) = h2::client::handshake(stream).await.expect("h2 handshake");
    let driver = tokio::spawn(connection);

    // Ten requests at once on the one connection: each reaches the upstream as itself.
    let before = seen.load(std::sync::atomic::Ordering::SeqCst);
    let answers = futures_util::future::join_all((0..10).map(|i| {
        let client = client.clone();
        async move { (i, get(&client, &format!("/h2/{i}?q={i}")).await) }
    }))
    .await;
    for (i, (status, headers, body)) in answers {
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["path"], format!("/h2/{i}?q={i}"));
        assert_eq!(body["host"], "a.test", "Host from :authority");
        assert_eq!(body["proto"], "https");
        assert_eq!(headers["strict-transport-security"], "max-age=600");
    }
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst) - before, 10);

    // The throttle counts HTTP/2 requests: the third in the window gets Discord's 429.
    for _ in 0..2 {
        assert_eq!(get(&client, "/limited").await.0, 200);
    }
    let before = seen.load(std::sync::atomic::Ordering::SeqCst);
    let (status, headers, body) = get(&client, "/limited").await;
    assert_eq!(status, 429);
    assert_eq!(headers["x-ratelimit-bucket"], "per-ip");
    assert_eq!(headers["x-ratelimit-limit"], "2");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert!(headers.contains_key("retry-after"));
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["message"], "You are being rate limited.");
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "a throttled request costs the upstream nothing"
    );

    // The limits hold per stream: a head past `max_header_bytes` gets 431 and a body past
    // `max_body_bytes` 413, neither reaching the upstream, and the connection serves on.
    let before = seen.load(std::sync::atomic::Ordering::SeqCst);
    let req = http::Request::get("https://a.test/big-head")
        .header("x-filler", "f".repeat(3000))
        .body(())
        .unwrap();
    assert_eq!(send(&client, req, None).await.0, 431);
    let req = http::Request::post("https://a.test/big-body")
        .header("content-length", "2000")
        .body(())
        .unwrap();
    let (status, _, body) = send(&client, req, Some(Bytes::from(vec![b'x'; 2000]))).await;
    assert_eq!(status, 413);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], 40005);
    let req = http::Request::post("https://a.test/small-body")
        .body(())
        .unwrap();
    let (status, _, body) = send(&client, req, Some(Bytes::from_static(b"hello"))).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst) - before,
        1,
        "only the small request reached the upstream"
    );

    // The access log names the protocol.
    let text = wait_for_lines(&dir.path().join("access.log"), 16).await;
    assert!(text.contains("\"GET /h2/3?q=3 HTTP/2.0\" 200 "), "{text}");
    assert!(text.contains("\"GET /limited HTTP/2.0\" 429 "), "{text}");
    // Left idle past `client_keepalive_secs` (1 s here), the connection is closed by the edge
    // though the client still holds it.
    let closed = tokio::time::timeout(Duration::from_secs(10), driver).await;
    assert!(closed.is_ok(), "the idle HTTP/2 connection was not closed");
    drop(client);
    assert!(stop(child).success());

    // With http2 off, a client offering h2 first gets HTTP/1.1.
    write_config(dir.path(), tls, app, &files, false);
    let (child, _) = start(edge_cmd(dir.path()));
    let stream = ca
        .connect_offering(tls, "a.test", &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    assert_eq!(alpn(&stream).as_deref(), Some(&b"http/1.1"[..]));
    let (status, text) = support::tls::get(stream, "a.test", "/h1").await;
    assert_eq!(status, 200, "{text}");
    assert!(stop(child).success());
}
