//! TLS on the edge (`[edge.tls]`) through `accord edge` in front of backends this test runs:
//! the certificate each SNI name gets (exact names, a wildcard, the default for unknown names
//! and for clients sending no SNI), HTTPS requests reaching the upstream with
//! `X-Forwarded-Proto: https`, WebSocket upgrades over TLS (`wss://`), the plain listener
//! still working beside it, configuration errors, certificates reloaded when their files
//! change (a broken or mismatched file keeps the certificate in force), the HTTP→HTTPS redirect
//! and HSTS, and the PROXY protocol read before the TLS handshake.

mod support;

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use support::backend::{backend, ws_backend};
use support::tls::{TestCa, get, peer_cert};
use support::{edge_cmd, free_port, start, stop};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The ports of an edge under test.
struct Ports {
    plain: u16,
    tls: u16,
}

/// Writes `accord.toml`: the edge on `ports`, `/ws` to the WebSocket echo `ws`, `/dead` to an
/// address nothing listens on, everything else to `app`, with `tls` TOML in `[edge.tls]` and
/// `extra` TOML in `[edge]`.
fn write_config(dir: &Path, ports: &Ports, app: u16, ws: u16, tls: &str, extra: &str) {
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:{plain}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
         accord_routes = false\nhealth_check_secs = 1\n\
         routes = [{{ path_prefix = \"/\", upstream = \"app\" }}, \
         {{ path_prefix = \"/ws\", upstream = \"ws\" }}, \
         {{ path_prefix = \"/dead\", upstream = \"dead\" }}]\n{extra}\n\
         [edge.upstreams]\napp = [\"127.0.0.1:{app}\"]\nws = [\"127.0.0.1:{ws}\"]\n\
         dead = [\"127.0.0.1:{dead}\"]\n\
         [edge.tls]\nenabled = true\nlisten = \"127.0.0.1:{tls_port}\"\n{tls}\n",
        plain = ports.plain,
        tls_port = ports.tls,
        admin = free_port(),
        dead = free_port()
    );
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
}

/// The TOML of a certificate entry.
fn entry(names: &[&str], (cert, key): &(std::path::PathBuf, std::path::PathBuf)) -> String {
    let names = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{{ hostnames = [{names}], cert_path = \"{}\", key_path = \"{}\" }}",
        cert.display(),
        key.display()
    )
}

#[tokio::test]
async fn each_sni_name_gets_its_certificate_and_https_and_wss_reach_the_upstream() {
    let (app, _) = backend().await;
    let ws = ws_backend().await;
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let a = ca.leaf(&["a.test"], "a");
    let b = ca.leaf(&["*.b.test"], "b");
    let fallback = ca.leaf(&["fallback.test", "127.0.0.1"], "default");
    let a_files = a.write(dir.path(), "a");
    let b_files = b.write(dir.path(), "b");
    let (dc, dk) = fallback.write(dir.path(), "default");
    let ports = Ports {
        plain: free_port(),
        tls: free_port(),
    };
    write_config(
        dir.path(),
        &ports,
        app,
        ws,
        &format!(
            "certificates = [{}, {}]\ndefault = {{ cert_path = \"{}\", key_path = \"{}\" }}",
            entry(&["a.test"], &a_files),
            entry(&["*.b.test"], &b_files),
            dc.display(),
            dk.display()
        ),
        "",
    );
    let (child, banner) = start(edge_cmd(dir.path()));
    assert!(
        banner.contains(&format!("https://127.0.0.1:{}", ports.tls)),
        "{banner}"
    );

    // SNI picks the certificate: exact name, wildcard (any case), the default for a name no
    // entry serves and for a client that sends no SNI (an IP address).
    for (name, want) in [
        ("a.test", &a.der),
        ("x.b.test", &b.der),
        ("Y.B.TEST", &b.der),
        ("fallback.test", &fallback.der),
        ("127.0.0.1", &fallback.der),
    ] {
        let stream = ca.connect(ports.tls, name).await.expect(name);
        assert_eq!(&peer_cert(&stream), want, "certificate for {name}");
        let (status, text) = get(stream, name, &format!("/hello/{name}")).await;
        assert_eq!(status, 200, "{text}");
        let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["path"], format!("/hello/{name}"));
        assert_eq!(body["proto"], "https", "X-Forwarded-Proto over TLS");
    }
    // The wildcard covers one level only: a.b.test's parent is b.test, c.a.b.test is unknown
    // and gets the default, which the client rejects for that name.
    let err = ca.connect(ports.tls, "c.a.b.test").await.err();
    assert!(
        err.is_some(),
        "the default certificate does not cover c.a.b.test"
    );

    // The plain listener keeps working, and says http.
    let plain: Value = reqwest::get(format!("http://127.0.0.1:{}/plain", ports.plain))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(plain["proto"], "http");

    // WebSocket over TLS, both ways, several times.
    for round in 0..3 {
        let stream = ca.connect(ports.tls, "a.test").await.unwrap();
        let request = "wss://a.test/ws".into_client_request().unwrap();
        let (mut socket, resp) = tokio_tungstenite::client_async(request, stream)
            .await
            .expect("WebSocket handshake over TLS");
        assert_eq!(resp.status().as_u16(), 101);
        let text = format!("over tls {round}");
        socket.send(Message::text(text.clone())).await.unwrap();
        let echoed = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("echo in time")
            .expect("a message")
            .unwrap();
        assert_eq!(echoed, Message::text(text));
        socket.close(None).await.unwrap();
    }
    assert!(stop(child).success());
}

#[tokio::test]
async fn without_a_default_unknown_names_are_refused_and_bad_files_fail_the_start() {
    let (app, _) = backend().await;
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let a = ca.leaf(&["a.test"], "a");
    let a_files = a.write(dir.path(), "a");
    let ports = Ports {
        plain: free_port(),
        tls: free_port(),
    };
    write_config(
        dir.path(),
        &ports,
        app,
        app,
        &format!("certificates = [{}]", entry(&["a.test"], &a_files)),
        "",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    let stream = ca.connect(ports.tls, "a.test").await.unwrap();
    assert_eq!(peer_cert(&stream), a.der);
    assert!(ca.connect(ports.tls, "other.test").await.is_err());
    assert!(ca.connect(ports.tls, "127.0.0.1").await.is_err());
    assert!(stop(child).success());

    // A key that does not belong to the certificate: the edge does not start, and says why.
    let other = ca.leaf(&["a.test"], "other");
    std::fs::write(&a_files.1, &other.key_pem).unwrap();
    let out = edge_cmd(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("edge.tls.certificates.0"), "{stderr}");

    // A missing file and an empty host name are configuration errors.
    write_config(
        dir.path(),
        &ports,
        app,
        app,
        "certificates = [{ hostnames = [\"\"], cert_path = \"/nonexistent/a.pem\", \
         key_path = \"/nonexistent/a.key\" }]",
        "",
    );
    let out = edge_cmd(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in [
        "edge.tls.certificates.0.hostnames",
        "edge.tls.certificates.0.cert_path",
        "edge.tls.certificates.0.key_path",
    ] {
        assert!(stderr.contains(key), "{key}: {stderr}");
    }
}

/// The certificate the edge presents for `name` now.
async fn served(ca: &TestCa, port: u16, name: &str) -> Vec<u8> {
    let stream = ca.connect(port, name).await.expect(name);
    peer_cert(&stream).to_vec()
}

/// Waits (up to 15 s) until the edge presents `want` for `name`.
async fn wait_for_cert(ca: &TestCa, port: u16, name: &str, want: &[u8]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while served(ca, port, name).await != want {
        assert!(
            std::time::Instant::now() < deadline,
            "the new certificate for {name} was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn certificates_are_reloaded_when_their_files_change_and_a_bad_file_keeps_the_old_one() {
    let (app, _) = backend().await;
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let v1 = ca.leaf(&["a.test"], "a v1");
    let a_files = v1.write(dir.path(), "a");
    let other = ca.leaf(&["b.test"], "b");
    let b_files = other.write(dir.path(), "b");
    let ports = Ports {
        plain: free_port(),
        tls: free_port(),
    };
    write_config(
        dir.path(),
        &ports,
        app,
        app,
        &format!(
            "certificates = [{}, {}]\nreload_secs = 1",
            entry(&["a.test"], &a_files),
            entry(&["b.test"], &b_files)
        ),
        "",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    assert_eq!(served(&ca, ports.tls, "a.test").await, v1.der.to_vec());

    // New files: new handshakes get the new certificate, no restart.
    let v2 = ca.leaf(&["a.test"], "a v2");
    v2.write(dir.path(), "a");
    wait_for_cert(&ca, ports.tls, "a.test", &v2.der).await;
    // A request over a connection made now works end to end.
    let stream = ca.connect(ports.tls, "a.test").await.unwrap();
    let (status, text) = get(stream, "a.test", "/after-reload").await;
    assert_eq!(status, 200, "{text}");

    // A broken certificate file, then a key of another certificate: the edge keeps v2.
    std::fs::write(&a_files.0, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(served(&ca, ports.tls, "a.test").await, v2.der.to_vec());
    let v3 = ca.leaf(&["a.test"], "a v3");
    std::fs::write(&a_files.0, &v3.cert_pem).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        served(&ca, ports.tls, "a.test").await,
        v2.der.to_vec(),
        "a certificate without its key is not taken"
    );
    // Other names are untouched, and the pair is taken once complete.
    assert_eq!(served(&ca, ports.tls, "b.test").await, other.der.to_vec());
    std::fs::write(&a_files.1, &v3.key_pem).unwrap();
    wait_for_cert(&ca, ports.tls, "a.test", &v3.der).await;
    assert!(stop(child).success());
}

#[tokio::test]
async fn plain_http_is_redirected_to_https_except_acme_challenges_and_https_answers_carry_hsts() {
    let (app, _) = backend().await;
    let ws = ws_backend().await;
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let a = ca.leaf(&["a.test"], "a");
    let a_files = a.write(dir.path(), "a");
    let ports = Ports {
        plain: free_port(),
        tls: free_port(),
    };
    write_config(
        dir.path(),
        &ports,
        app,
        ws,
        &format!(
            "certificates = [{}]\nredirect_http = true\n\
             [edge.tls.hsts]\nmax_age_secs = 600\ninclude_subdomains = true",
            entry(&["a.test"], &a_files)
        ),
        "",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let plain = format!("http://127.0.0.1:{}", ports.plain);

    // Any method, path and query: 308 to the same host on the HTTPS port, without HSTS.
    let resp = http
        .post(format!("{plain}/api/v10/x?y=1&z=%20"))
        .header("host", format!("a.test:{}", ports.plain))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 308);
    assert_eq!(
        resp.headers()["location"],
        format!("https://a.test:{}/api/v10/x?y=1&z=%20", ports.tls).as_str()
    );
    assert!(resp.headers().get("strict-transport-security").is_none());
    // ACME's HTTP-01 path is not redirected (no ACME here: it goes to the upstream).
    let resp = http
        .get(format!("{plain}/.well-known/acme-challenge/token-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().get("strict-transport-security").is_none());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["path"], "/.well-known/acme-challenge/token-1");

    // Over HTTPS: proxied answers and the edge's own (502 for a dead upstream) carry HSTS.
    let hsts = "strict-transport-security: max-age=600; includeSubDomains\r\n";
    let stream = ca.connect(ports.tls, "a.test").await.unwrap();
    let (status, text) = get(stream, "a.test", "/over-tls").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(hsts), "{text}");
    let stream = ca.connect(ports.tls, "a.test").await.unwrap();
    let (status, text) = get(stream, "a.test", "/dead").await;
    assert_eq!(status, 502, "{text}");
    assert!(text.contains(hsts), "{text}");
    assert!(stop(child).success());
}

#[tokio::test]
async fn with_the_proxy_protocol_the_header_comes_before_the_tls_handshake() {
    use tokio::io::AsyncWriteExt;
    let (app, _) = backend().await;
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let a = ca.leaf(&["a.test"], "a");
    let a_files = a.write(dir.path(), "a");
    let ports = Ports {
        plain: free_port(),
        tls: free_port(),
    };
    write_config(
        dir.path(),
        &ports,
        app,
        app,
        &format!("certificates = [{}]", entry(&["a.test"], &a_files)),
        "proxy_protocol = true",
    );
    let (child, _) = start(edge_cmd(dir.path()));
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", ports.tls))
        .await
        .unwrap();
    tcp.write_all(b"PROXY TCP4 203.0.113.9 127.0.0.1 5555 443\r\n")
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(ca.client_config(&[b"http/1.1"]));
    let name = rustls::pki_types::ServerName::try_from("a.test").unwrap();
    let stream = connector.connect(name, tcp).await.expect("TLS after PROXY");
    assert_eq!(peer_cert(&stream), a.der);
    let (status, text) = get(stream, "a.test", "/behind-a-balancer").await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["xff"], "203.0.113.9", "the PROXY source is the client");
    assert_eq!(body["proto"], "https");
    // Without the header the connection is closed before any TLS.
    assert!(ca.connect(ports.tls, "a.test").await.is_err());
    assert!(stop(child).success());
}
