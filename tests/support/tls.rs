//! TLS for the edge tests: a test CA issuing certificates made on the fly (rcgen), written to
//! PEM files, and a rustls client trusting that CA that reports which certificate it got.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A certificate authority for the tests.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate.
    pub cert: CertificateDer<'static>,
    pem: String,
}

/// A leaf certificate: its DER (to compare with what a handshake got) and PEM files.
pub struct Leaf {
    pub der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Leaf {
    /// Writes the certificate and key to `dir/{name}.pem` and `dir/{name}.key`; returns the
    /// paths.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

impl TestCa {
    pub fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Accord edge test CA");
        let cert = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            cert: cert.der().clone(),
            pem: cert.pem(),
        }
    }

    /// The CA certificate in PEM.
    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    /// A certificate for `names` (host names or IP addresses), with `label` as common name.
    pub fn leaf(&self, names: &[&str], label: &str) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, label);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A client configuration trusting this CA, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// Connects to `port` on the loopback asking for `name` (a host name is sent as SNI; an IP
    /// address sends none) and completes the handshake, checking the certificate against this
    /// CA and `name`.
    pub async fn connect(&self, port: u16, name: &str) -> std::io::Result<TlsStream<TcpStream>> {
        self.connect_offering(port, name, &[b"http/1.1"]).await
    }

    /// [`Self::connect`], offering the application protocols `alpn` (most preferred first).
    pub async fn connect_offering(
        &self,
        port: u16,
        name: &str,
        alpn: &[&[u8]],
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        let connector = TlsConnector::from(self.client_config(alpn));
        let server = ServerName::try_from(name.to_owned()).unwrap();
        connector.connect(server, tcp).await
    }
}

/// The end-entity certificate the server presented.
pub fn peer_cert(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("a certificate")[0]
        .clone()
}

/// Sends a `GET path` with `Host: host` and `Connection: close` over `stream`; returns the
/// status and the whole response text.
pub async fn get(mut stream: TlsStream<TcpStream>, host: &str, path: &str) -> (u16, String) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    // The edge may end the TLS session without close_notify after `Connection: close`.
    let _ = stream.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Connects to `port` on the loopback asking for `name` with a client trusting only the PEM
/// certificates in `roots`, and completes the handshake.
pub async fn connect_trusting(
    roots: &str,
    port: u16,
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    use rustls::pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots.as_bytes()) {
        store.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let server = ServerName::try_from(name.to_owned()).unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(server, tcp)
        .await
}
