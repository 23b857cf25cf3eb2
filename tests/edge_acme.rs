//! ACME on the edge (`[edge.tls.acme]`) through `accord edge` against Let's Encrypt's test
//! authority, pebble (Debian's `pebble` package, installed by `scripts/test`; the test fails,
//! naming the package, when it is missing), run on the loopback with `PEBBLE_VA_ALWAYS_VALID=1`
//! and its HTTPS certificate's CA trusted by the edge's ACME client only: a certificate issued
//! over HTTP-01 and over TLS-ALPN-01 and served for its names, the account and certificate kept
//! on disk and reused after a restart, renewal when the certificate is within
//! `renew_days_before` of expiry, and the challenge answers of the edge (HTTP-01 on the plain
//! listener, TLS-ALPN-01 with the `acme-tls/1` protocol), checked by a second pebble that
//! validates them for real for the name `localhost`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use support::backend::backend;
use support::pebble::Pebble;
use support::tls::{connect_trusting, get, peer_cert};
use support::{edge_cmd, free_port, start, stop};

/// Writes `accord.toml`: the edge on `plain`/`tls` in front of `app`, ACME from `pebble` for
/// `domains` with `challenge`, renewing `renew_days` before expiry, checking every second.
fn write_config(
    dir: &Path,
    (plain, tls): (u16, u16),
    app: u16,
    pebble: &Pebble,
    challenge: &str,
    renew_days: u32,
) {
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:{plain}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
         accord_routes = false\nhealth_check_secs = 1\n\
         routes = [{{ path_prefix = \"/\", upstream = \"app\" }}]\n\
         [edge.upstreams]\napp = [\"127.0.0.1:{app}\"]\n\
         [edge.tls]\nenabled = true\nlisten = \"127.0.0.1:{tls}\"\n\
         [edge.tls.acme]\nenabled = true\ndirectory_url = \"{directory}\"\n\
         directory_ca_path = \"{ca}\"\naccept_terms = true\n\
         contact = [\"mailto:ops@example.com\"]\n\
         domains = [\"acme.example.com\", \"www.acme.example.com\"]\n\
         challenge = \"{challenge}\"\nstorage_dir = \"{storage}\"\n\
         renew_days_before = {renew_days}\ncheck_secs = 1\n",
        admin = free_port(),
        directory = pebble.directory,
        ca = pebble.ca_path.display(),
        storage = dir.join("acme").display(),
    );
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
}

/// Waits (up to 60 s) until the edge serves, for `name`, a certificate chaining to `root`
/// other than `not`; returns it.
async fn wait_for_issued(root: &str, port: u16, name: &str, not: Option<&[u8]>) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(stream) = connect_trusting(root, port, name).await {
            let der = peer_cert(&stream).to_vec();
            if not != Some(der.as_slice()) {
                return der;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no certificate from pebble for {name}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn issue_and_renew(challenge: &str) {
    let (app, _) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let ports = (free_port(), free_port());
    let pebble = Pebble::start(dir.path(), ports.0, ports.1);
    let root = pebble.issuing_root().await;

    // Renewing 100 years before expiry: every check (each second) orders a new certificate.
    write_config(dir.path(), ports, app, &pebble, challenge, 36_500);
    let (child, _) = start(edge_cmd(dir.path()));
    let first = wait_for_issued(&root, ports.1, "acme.example.com", None).await;
    let stream = connect_trusting(&root, ports.1, "www.acme.example.com")
        .await
        .expect("the certificate also covers www");
    let (status, text) = get(stream, "www.acme.example.com", "/through-acme").await;
    assert_eq!(status, 200, "{text}");
    let renewed = wait_for_issued(&root, ports.1, "acme.example.com", Some(&first)).await;
    assert_ne!(first, renewed);
    assert!(stop(child).success());

    // Kept on disk, private.
    let storage = dir.path().join("acme");
    for file in ["account.json", "cert.pem", "key.pem"] {
        let meta = std::fs::metadata(storage.join(file)).expect(file);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
    }
    let account = std::fs::read_to_string(storage.join("account.json")).unwrap();
    assert!(account.contains(&pebble.directory), "{account}");
    let cert = std::fs::read(storage.join("cert.pem")).unwrap();

    // Restarted with the usual window: the stored certificate is served at once, the stored
    // account kept, and nothing new is ordered.
    write_config(dir.path(), ports, app, &pebble, challenge, 30);
    let (child, _) = start(edge_cmd(dir.path()));
    let stream = connect_trusting(&root, ports.1, "acme.example.com")
        .await
        .expect("the stored certificate");
    let served = peer_cert(&stream).to_vec();
    let stored = CertificateDer::pem_slice_iter(&cert)
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(served, stored.to_vec());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(std::fs::read(storage.join("cert.pem")).unwrap(), cert);
    assert_eq!(
        std::fs::read_to_string(storage.join("account.json")).unwrap(),
        account
    );
    assert!(stop(child).success());

    // Another domain list: a new certificate at once, for the new names, same account.
    let toml = std::fs::read_to_string(dir.path().join("accord.toml")).unwrap();
    let toml = toml.replace("\"www.acme.example.com\"", "\"chat.acme.example.com\"");
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    let (child, _) = start(edge_cmd(dir.path()));
    let third = wait_for_issued(&root, ports.1, "chat.acme.example.com", None).await;
    assert_ne!(third, served);
    assert_ne!(std::fs::read(storage.join("cert.pem")).unwrap(), cert);
    assert_eq!(
        std::fs::read_to_string(storage.join("account.json")).unwrap(),
        account
    );
    assert!(stop(child).success());
}

#[tokio::test]
async fn a_certificate_comes_over_http01_is_stored_reused_and_renewed() {
    issue_and_renew("http-01").await;
}

#[tokio::test]
async fn a_certificate_comes_over_tls_alpn01_is_stored_reused_and_renewed() {
    issue_and_renew("tls-alpn-01").await;
}

/// Pebble validating for real (without `PEBBLE_VA_ALWAYS_VALID`) the name `localhost`, whose
/// challenges it sends to the edge's listeners on the loopback: no certificate unless the
/// edge's answer is right.
async fn validated(challenge: &str) {
    let (app, _) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let ports = (free_port(), free_port());
    let pebble = Pebble::start_with(dir.path(), ports.0, ports.1, false);
    let root = pebble.issuing_root().await;
    write_config(dir.path(), ports, app, &pebble, challenge, 30);
    let toml = std::fs::read_to_string(dir.path().join("accord.toml")).unwrap();
    let log = dir.path().join("access.log");
    let toml = toml
        .replace(
            "domains = [\"acme.example.com\", \"www.acme.example.com\"]",
            "domains = [\"localhost\"]",
        )
        .replace(
            "[edge.upstreams]",
            &format!("access_log = \"{}\"\n[edge.upstreams]", log.display()),
        );
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    let (child, _) = start(edge_cmd(dir.path()));
    wait_for_issued(&root, ports.1, "localhost", None).await;
    assert!(stop(child).success());
    // Pebble fetched the HTTP-01 answer from the edge itself (TLS-ALPN-01 leaves no request).
    let lines = std::fs::read_to_string(&log).unwrap_or_default();
    let fetched = lines
        .lines()
        .any(|l| l.contains("GET /.well-known/acme-challenge/") && l.contains(" 200 "));
    assert_eq!(fetched, challenge == "http-01", "{lines}");
}

#[tokio::test]
async fn pebble_validates_the_edges_http01_answer() {
    validated("http-01").await;
}

#[tokio::test]
async fn pebble_validates_the_edges_tls_alpn01_answer() {
    validated("tls-alpn-01").await;
}
