//! End-to-end tests of `wss://`: an echo server with TLS (a self-signed certificate made at test
//! time with rcgen) driven by tokio-tungstenite over a tokio-rustls client that trusts it; plain
//! clients on the TLS port, corrupted records, the handshake timeout and bad certificate files.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_gateway_transport::{Conn, Driver, Incoming, Server, TlsSettings, TransportConfig};
use common::next_message;
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

const TIMEOUT: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<TlsStream<tokio::net::TcpStream>>;

/// A self-signed certificate for "localhost" and its key, as PEM files in a temporary folder.
struct Cert {
    dir: tempfile::TempDir,
    settings: TlsSettings,
    der: rustls::pki_types::CertificateDer<'static>,
}

fn make_cert() -> Cert {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    Cert {
        dir,
        settings: TlsSettings {
            cert_path,
            key_path,
        },
        der: certified.cert.der().clone(),
    }
}

fn config(driver: Driver, tls: TlsSettings, handshake_timeout: Duration) -> TransportConfig {
    TransportConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        threads: 1,
        driver,
        max_message: 1 << 20,
        handshake_timeout,
        tls: Some(tls),
        direct_descriptors: true,
    }
}

/// Echoes text and binary; "hello?" is answered with a greeting first, "close" closes with 4000.
async fn echo(mut conn: Conn) {
    loop {
        match conn.reader.next().await {
            Ok(Incoming::Text(t)) if &t[..] == b"close" => {
                let _ = conn.writer.close(4000, "bye").await;
            }
            Ok(Incoming::Text(t)) if &t[..] == b"hello?" => {
                conn.writer
                    .send_text(b"hello from the server")
                    .await
                    .unwrap();
            }
            Ok(Incoming::Text(t)) => conn.writer.send_text(&t).await.unwrap(),
            Ok(Incoming::Binary(b)) => conn.writer.send_binary(&b).await.unwrap(),
            Ok(Incoming::Close(_)) | Err(_) => break,
        }
    }
}

fn start(driver: Driver, tls: TlsSettings, handshake_timeout: Duration) -> Server {
    Server::start(config(driver, tls, handshake_timeout), |_| echo).expect("server starts")
}

fn connector(cert: &Cert) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

async fn connect_tls(addr: SocketAddr, cert: &Cert) -> TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = tokio::time::timeout(TIMEOUT, connector(cert).connect(name, tcp))
        .await
        .expect("no timeout")
        .expect("TLS handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    tls
}

async fn connect(addr: SocketAddr, cert: &Cert) -> Ws {
    let tls = connect_tls(addr, cert).await;
    let (ws, response) = tokio_tungstenite::client_async("wss://localhost/gw?v=10", tls)
        .await
        .expect("upgrades");
    assert_eq!(response.status().as_u16(), 101);
    ws
}

async fn exchanges_messages(addr: SocketAddr, cert: &Cert) {
    let mut ws = connect(addr, cert).await;
    ws.send(Message::text("hello?")).await.unwrap();
    assert_eq!(
        next_message(&mut ws).await,
        Message::text("hello from the server")
    );
    ws.send(Message::text("ping me back")).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text("ping me back"));
    // Larger than a TLS record and than one socket read, both ways.
    let big: String = (0..200_000)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    ws.send(Message::text(big.clone())).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text(big));
    // Several in flight at once come back in order.
    for i in 0..20 {
        ws.send(Message::text(format!("burst {i}"))).await.unwrap();
    }
    for i in 0..20 {
        assert_eq!(
            next_message(&mut ws).await,
            Message::text(format!("burst {i}"))
        );
    }
    let blob: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    ws.send(Message::binary(blob.clone())).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::binary(blob));
    // The client closes; the server answers the close and ends the stream.
    ws.close(None).await.unwrap();
    let end = tokio::time::timeout(TIMEOUT, async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Close(_) = message {
                return true;
            }
        }
        false
    })
    .await
    .expect("no timeout");
    assert!(end, "the server answered the close");
}

async fn server_close_reaches_client(addr: SocketAddr, cert: &Cert) {
    let mut ws = connect(addr, cert).await;
    ws.send(Message::text("close")).await.unwrap();
    match next_message(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 4000);
            assert_eq!(frame.reason.as_str(), "bye");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// Sends a plain WebSocket upgrade to the TLS port; returns everything received until EOF.
async fn plain_upgrade(addr: SocketAddr) -> Vec<u8> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(TIMEOUT, tcp.read_to_end(&mut response))
        .await
        .expect("the server closes the connection")
        .expect("read");
    response
}

async fn plain_client_is_not_upgraded(addr: SocketAddr, cert: &Cert) {
    let response = plain_upgrade(addr).await;
    assert!(
        !response.windows(4).any(|w| w == b"HTTP"),
        "plain client got an HTTP answer: {}",
        String::from_utf8_lossy(&response)
    );
    // What came back is one fatal TLS alert record (content type 21, level 2).
    assert_eq!(response.len(), 7, "{response:?}");
    assert_eq!((response[0], response[5]), (0x15, 2), "{response:?}");
    // The thread still serves TLS clients.
    exchanges_messages(addr, cert).await;
}

/// A corrupted record after the upgrade ends that connection, not the server.
async fn corrupted_record_drops_only_that_connection(addr: SocketAddr, cert: &Cert) {
    let mut ws = connect(addr, cert).await;
    ws.send(Message::text("before")).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text("before"));
    // Application data record (TLS 1.3 framing) whose ciphertext cannot authenticate.
    let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x40];
    record.extend(std::iter::repeat_n(0xAB, 0x40));
    let tcp = ws.get_mut().get_mut().0;
    tcp.write_all(&record).await.unwrap();
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(TIMEOUT, tcp.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the server ended the connection");
    exchanges_messages(addr, cert).await;
}

fn exercise(driver: Driver) {
    let cert = make_cert();
    let server = start(driver, cert.settings.clone(), Duration::from_secs(5));
    let addr = server.local_addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        exchanges_messages(addr, &cert).await;
        server_close_reaches_client(addr, &cert).await;
        plain_client_is_not_upgraded(addr, &cert).await;
        corrupted_record_drops_only_that_connection(addr, &cert).await;
    });
    server.shutdown(Duration::from_secs(2));
    drop(cert.dir);
}

#[test]
fn wss_epoll() {
    exercise(Driver::Epoll);
}

#[test]
fn wss_io_uring() {
    exercise(Driver::IoUring);
}

#[test]
fn silent_client_is_dropped_after_the_handshake_timeout() {
    let cert = make_cert();
    let server = start(
        Driver::Epoll,
        cert.settings.clone(),
        Duration::from_millis(300),
    );
    let mut tcp = std::net::TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = std::io::Read::read(&mut tcp, &mut buf).expect("EOF, not a read timeout");
    assert_eq!(n, 0);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// `Server::start`'s error for `tls`, which must fail.
fn start_error(tls: TlsSettings) -> String {
    match Server::start(config(Driver::Epoll, tls, Duration::from_secs(1)), |_| echo) {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    }
}

fn assert_names(error: &str, path: &Path) {
    let path = path.display().to_string();
    assert!(error.contains(&path), "{error:?} does not name {path}");
}

#[test]
fn bad_certificate_or_key_fails_start_naming_the_file() {
    let cert = make_cert();
    let dir = cert.dir.path();
    let write = |name: &str, text: &str| -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };

    let missing = dir.join("missing-cert.pem");
    let error = start_error(TlsSettings {
        cert_path: missing.clone(),
        key_path: cert.settings.key_path.clone(),
    });
    assert_names(&error, &missing);

    let missing_key = dir.join("missing-key.pem");
    let error = start_error(TlsSettings {
        cert_path: cert.settings.cert_path.clone(),
        key_path: missing_key.clone(),
    });
    assert_names(&error, &missing_key);

    let not_pem = write("not-a-cert.pem", "hello\n");
    let error = start_error(TlsSettings {
        cert_path: not_pem.clone(),
        key_path: cert.settings.key_path.clone(),
    });
    assert_names(&error, &not_pem);

    // A certificate file given as the key holds no key.
    let error = start_error(TlsSettings {
        cert_path: cert.settings.cert_path.clone(),
        key_path: cert.settings.cert_path.clone(),
    });
    assert_names(&error, &cert.settings.cert_path);
    assert!(error.contains("TLS key"), "{error}");

    // A key of another certificate.
    let other = make_cert();
    let error = start_error(TlsSettings {
        cert_path: cert.settings.cert_path.clone(),
        key_path: other.settings.key_path.clone(),
    });
    assert_names(&error, &other.settings.key_path);
}
