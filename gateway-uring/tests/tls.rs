//! The gateway served over TLS (`[gateway] tls_cert` / `tls_key`): a client that trusts the
//! certificate (generated at test time) identifies over `wss://`, receives READY and a message,
//! and `GET /gateway` advertises the `wss://` URL.

mod common;

use std::sync::Arc;

use common::Env;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("connection open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_over_wss() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("gw.crt"), dir.path().join("gw.key"));
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let env = Env::start("sqlite", |c| {
        c.gateway.tls_cert = Some(cert_path.display().to_string());
        c.gateway.tls_key = Some(key_path.display().to_string());
    })
    .await;
    let (owner, _) = env.user("secure").await;
    let (_, general) = env.guild(&owner, "Vault").await;
    let advertised = env.ok(reqwest::Method::GET, "/gateway", &owner, None).await;
    // The test listens on port 0, so only the scheme says something here.
    assert!(
        advertised["url"]
            .as_str()
            .unwrap()
            .starts_with("wss://127.0.0.1:"),
        "{advertised}"
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(env.gateway().local_addr())
        .await
        .unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the configured certificate");
    let (mut ws, _) = tokio_tungstenite::client_async("wss://localhost/?v=10&encoding=json", tls)
        .await
        .expect("upgrade over TLS");
    assert_eq!(next(&mut ws).await["op"], 10);
    let identify = json!({"op": 2, "d": {"token": owner, "properties": {"os": "linux", "browser": "t", "device": "t"}}});
    ws.send(Message::text(identify.to_string())).await.unwrap();
    assert_eq!(next(&mut ws).await["t"], "READY");
    assert_eq!(next(&mut ws).await["t"], "GUILD_CREATE");
    env.say(&owner, &general, "sealed").await;
    let m = next(&mut ws).await;
    assert_eq!(
        (m["t"].as_str(), m["d"]["content"].as_str()),
        (Some("MESSAGE_CREATE"), Some("sealed"))
    );
    drop(ws);
    env.stop().await;
}
