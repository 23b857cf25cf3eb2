//! TLS termination on the edge's HTTPS listener (`[edge.tls]`): certificates from PEM files,
//! chosen by SNI ([`CertStore`], a rustls `ResolvesServerCert`), reloaded when the files change
//! ([`CertReloader`]), and the handshake itself ([`TlsApp`]).
//!
//! Why the handshake is done here rather than by Pingora's TLS listener: Pingora 0.9 does take
//! a custom `ResolvesServerCert` (`TlsSettings::set_cert_resolver`), but its listener only
//! offers the ALPN lists `http/1.1`, `h2` or one custom protocol, while ACME's TLS-ALPN-01
//! challenge needs `acme-tls/1` offered beside `http/1.1`. So the HTTPS port is a plain Pingora
//! TCP listener whose app ([`TlsApp`]) runs Pingora's own rustls acceptor
//! (`Acceptor::from_server_config`) over a `ServerConfig` built here, and hands the resulting
//! Pingora TLS stream to the HTTP proxy app: the proxy sees an ordinary TLS session (its digest
//! says TLS), and the PROXY protocol, when on, is read before the handshake.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use accord_config::{EdgeTlsConfig, EdgeTlsFiles};
use anyhow::{Context, anyhow, bail};
use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::listeners::tls::Acceptor;
use pingora::protocols::Stream;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::acme::{ACME_TLS_ALPN, Challenges};

/// The ALPN protocol of HTTP/1.1.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
/// The ALPN protocol of HTTP/2 (`edge.tls.http2`).
pub const ALPN_H2: &[u8] = b"h2";
/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The crypto provider of every TLS object of the edge (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a certificate chain and its private key from PEM files; fails when either cannot be
/// read or parsed, or when the key does not belong to the first certificate.
pub fn load_pair(cert_path: &str, key_path: &str) -> anyhow::Result<CertifiedKey> {
    let cert_pem =
        std::fs::read(cert_path).with_context(|| format!("cannot read `{cert_path}`"))?;
    let key_pem = std::fs::read(key_path).with_context(|| format!("cannot read `{key_path}`"))?;
    certified_key(&cert_pem, &key_pem)
        .with_context(|| format!("certificate `{cert_path}` with key `{key_path}`"))
}

/// A certified key from a PEM certificate chain and a PEM private key.
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<CertifiedKey> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("bad certificate PEM: {e}"))?;
    if certs.is_empty() {
        bail!("no certificate in the PEM data");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| anyhow!("bad key PEM: {e}"))?;
    CertifiedKey::from_der(certs, key, &provider()).map_err(|e| anyhow!("{e}"))
}

/// The modification times of a file pair; `None` when either cannot be read.
fn stamps(files: &EdgeTlsFiles) -> Option<(SystemTime, SystemTime)> {
    let mtime = |p: &str| {
        std::fs::metadata(Path::new(p))
            .and_then(|m| m.modified())
            .ok()
    };
    Some((mtime(&files.cert_path)?, mtime(&files.key_path)?))
}

/// One certificate read from files, and what it was read from.
#[derive(Debug)]
struct FileCert {
    files: EdgeTlsFiles,
    /// The file modification times of the pair in force.
    stamps: Mutex<Option<(SystemTime, SystemTime)>>,
    key: RwLock<Arc<CertifiedKey>>,
}

/// The certificates of the HTTPS listener, by host name.
#[derive(Debug)]
pub struct CertStore {
    /// Certificates from files: the `certificates` entries, then the default.
    files: Vec<FileCert>,
    /// Exact host names (lower case) to an index of `files`.
    exact: HashMap<String, usize>,
    /// Wildcard entries: the part after `*.` (lower case) to an index of `files`.
    wildcard: HashMap<String, usize>,
    /// The index of the default certificate.
    default: Option<usize>,
    /// The names of the ACME certificate (lower case), served with it once it is issued.
    acme_names: HashSet<String>,
    /// The ACME certificate in force.
    acme: RwLock<Option<Arc<CertifiedKey>>>,
    /// The pending ACME challenges, when ACME is on.
    challenges: Option<Arc<Challenges>>,
}

impl CertStore {
    /// Reads every certificate of `config`; fails (naming the entry) when one cannot be read.
    pub fn from_config(config: &EdgeTlsConfig) -> anyhow::Result<Self> {
        let mut store = Self {
            files: Vec::new(),
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            default: None,
            acme_names: HashSet::new(),
            acme: RwLock::new(None),
            challenges: None,
        };
        if config.acme.enabled {
            store.acme_names = config
                .acme
                .domains
                .iter()
                .map(|d| d.trim().to_ascii_lowercase())
                .collect();
            store.challenges = Some(Arc::new(Challenges::default()));
        }
        for (i, entry) in config.certificates.iter().enumerate() {
            let files = EdgeTlsFiles {
                cert_path: entry.cert_path.clone(),
                key_path: entry.key_path.clone(),
            };
            let index = store
                .add(files)
                .with_context(|| format!("edge.tls.certificates.{i}"))?;
            for name in &entry.hostnames {
                let name = name.trim().to_ascii_lowercase();
                match name.strip_prefix("*.") {
                    Some(parent) => store.wildcard.insert(parent.to_owned(), index),
                    None => store.exact.insert(name, index),
                };
            }
        }
        if let Some(default) = &config.default {
            store.default = Some(store.add(default.clone()).context("edge.tls.default")?);
        }
        Ok(store)
    }

    fn add(&mut self, files: EdgeTlsFiles) -> anyhow::Result<usize> {
        let before = stamps(&files);
        let key = load_pair(&files.cert_path, &files.key_path)?;
        self.files.push(FileCert {
            files,
            stamps: Mutex::new(before),
            key: RwLock::new(Arc::new(key)),
        });
        Ok(self.files.len() - 1)
    }

    /// The pending ACME challenges, when ACME is on.
    pub fn challenges(&self) -> Option<Arc<Challenges>> {
        self.challenges.clone()
    }

    /// Makes `key` the ACME certificate, for the names of `edge.tls.acme.domains`.
    pub fn set_acme(&self, key: Arc<CertifiedKey>) {
        *self.acme.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
    }

    /// The certificate for SNI name `name` (`None`: no SNI).
    pub fn lookup(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = name
            && self.acme_names.contains(&name.to_ascii_lowercase())
            && let Some(key) = self.acme.read().unwrap_or_else(|e| e.into_inner()).clone()
        {
            return Some(key);
        }
        let index = name
            .map(str::to_ascii_lowercase)
            .and_then(|name| {
                self.exact.get(&name).copied().or_else(|| {
                    let (_, parent) = name.split_once('.')?;
                    self.wildcard.get(parent).copied()
                })
            })
            .or(self.default)?;
        let key = self.files[index]
            .key
            .read()
            .unwrap_or_else(|e| e.into_inner());
        Some(key.clone())
    }

    /// Reads again every pair whose files changed since they were last read. A pair that fails
    /// to load keeps its previous certificate; the error is logged (once per change of the
    /// files). Returns how many pairs were replaced.
    pub fn reload_changed(&self) -> usize {
        let mut replaced = 0;
        for cert in &self.files {
            let now = stamps(&cert.files);
            let mut last = cert.stamps.lock().unwrap_or_else(|e| e.into_inner());
            if now == *last {
                continue;
            }
            *last = now;
            match load_pair(&cert.files.cert_path, &cert.files.key_path) {
                Ok(key) => {
                    *cert.key.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
                    replaced += 1;
                    tracing::info!(
                        "edge: reloaded the TLS certificate `{}`",
                        cert.files.cert_path
                    );
                }
                Err(e) => tracing::error!(
                    "edge: keeping the previous TLS certificate for `{}`: {e:#}",
                    cert.files.cert_path
                ),
            }
        }
        replaced
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // An ACME TLS-ALPN-01 validation: the challenge certificate or nothing.
        if let Some(challenges) = &self.challenges
            && hello
                .alpn()
                .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN))
        {
            let name = hello.server_name()?;
            let key = challenges.tls_alpn_cert(name);
            tracing::info!(
                "edge: ACME TLS-ALPN-01 validation for {name}: {}",
                if key.is_some() {
                    "answered"
                } else {
                    "no challenge pending"
                }
            );
            return key;
        }
        let key = self.lookup(hello.server_name());
        if key.is_none() {
            tracing::debug!(
                "edge: no TLS certificate for {:?}: handshake refused",
                hello.server_name()
            );
        }
        key
    }
}

/// The rustls server configuration of the HTTPS listener: TLS 1.2 and 1.3, HTTP/2 (with
/// `http2`, preferred when the client offers both) and HTTP/1.1 over ALPN (and `acme-tls/1`
/// with `acme`, for TLS-ALPN-01 validations), certificates from `resolver`. Pingora's HTTP app
/// speaks HTTP/2 on a stream whose negotiated protocol is `h2`.
pub fn server_config(
    resolver: Arc<dyn ResolvesServerCert>,
    http2: bool,
    acme: bool,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    // rustls picks the first protocol of this list that the client offers.
    config.alpn_protocols = if http2 {
        vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec()]
    } else {
        vec![ALPN_HTTP1.to_vec()]
    };
    if acme {
        config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
    }
    Ok(Arc::new(config))
}

/// Polls the certificate files every `interval` and reloads those that changed.
pub struct CertReloader {
    /// The store to keep fresh.
    pub store: Arc<CertStore>,
    /// Time between checks.
    pub interval: Duration,
}

#[async_trait]
impl BackgroundService for CertReloader {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
            let store = self.store.clone();
            // File reads are blocking I/O; keep them off the proxy's worker threads.
            let _ = tokio::task::spawn_blocking(move || store.reload_changed()).await;
        }
    }
}

/// An app doing the TLS handshake of each new connection before handing it to `inner`.
pub struct TlsApp<A> {
    acceptor: Acceptor,
    inner: Arc<A>,
}

impl<A> TlsApp<A> {
    /// Wraps `inner`, terminating TLS with `config`.
    pub fn new(config: Arc<rustls::ServerConfig>, inner: Arc<A>) -> Self {
        Self {
            acceptor: Acceptor::from_server_config(config),
            inner,
        }
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for TlsApp<A> {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let l4 = match stream.into_any().downcast::<L4Stream>() {
            Ok(l4) => *l4,
            Err(_) => {
                tracing::warn!("edge: a TLS connection that is not a TCP stream: closed");
                return None;
            }
        };
        let tls =
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.tls_handshake(l4)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!("edge: TLS handshake failed: {e}");
                    return None;
                }
                Err(_) => {
                    tracing::debug!("edge: TLS handshake timed out");
                    return None;
                }
            };
        // The handshake happens once per connection: serve its keep-alive requests here.
        let mut next = self.inner.process_new(Box::new(tls), shutdown).await;
        while let Some(stream) = next {
            next = self.inner.process_new(stream, shutdown).await;
        }
        None
    }

    async fn cleanup(&self) {
        self.inner.cleanup().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_config::EdgeTlsCertificate;

    /// A self-signed certificate for `names`, written to `dir/{label}.pem` and `.key`.
    fn pair(dir: &Path, names: &[&str], label: &str) -> (EdgeTlsFiles, Vec<u8>) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let made = rcgen::generate_simple_self_signed(names).unwrap();
        let files = EdgeTlsFiles {
            cert_path: dir.join(format!("{label}.pem")).display().to_string(),
            key_path: dir.join(format!("{label}.key")).display().to_string(),
        };
        std::fs::write(&files.cert_path, made.cert.pem()).unwrap();
        std::fs::write(&files.key_path, made.signing_key.serialize_pem()).unwrap();
        (files, made.cert.der().to_vec())
    }

    fn der(key: Option<Arc<CertifiedKey>>) -> Vec<u8> {
        key.expect("a certificate").cert[0].to_vec()
    }

    #[test]
    fn names_pick_certificates_and_a_bad_reload_keeps_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_der) = pair(dir.path(), &["a.test"], "a");
        let (w, w_der) = pair(dir.path(), &["*.w.test"], "w");
        let config = EdgeTlsConfig {
            certificates: vec![
                EdgeTlsCertificate {
                    hostnames: vec!["a.test".into(), "A2.test".into()],
                    cert_path: a.cert_path.clone(),
                    key_path: a.key_path.clone(),
                },
                EdgeTlsCertificate {
                    hostnames: vec!["*.w.test".into()],
                    cert_path: w.cert_path.clone(),
                    key_path: w.key_path.clone(),
                },
            ],
            ..EdgeTlsConfig::default()
        };
        let store = CertStore::from_config(&config).unwrap();
        assert_eq!(der(store.lookup(Some("a.test"))), a_der);
        assert_eq!(der(store.lookup(Some("a2.TEST"))), a_der);
        assert_eq!(der(store.lookup(Some("x.w.test"))), w_der);
        assert!(store.lookup(Some("w.test")).is_none());
        assert!(store.lookup(Some("y.x.w.test")).is_none());
        assert!(store.lookup(None).is_none(), "no default");
        assert_eq!(store.reload_changed(), 0, "nothing changed");

        // A new pair replaces the old one.
        let (_, new_der) = pair(dir.path(), &["a.test"], "a");
        let later = SystemTime::now() + Duration::from_secs(5);
        let touch = |p: &str| {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(later)
                .unwrap()
        };
        touch(&a.cert_path);
        assert_eq!(store.reload_changed(), 1);
        assert_eq!(der(store.lookup(Some("a.test"))), new_der);

        // A broken file keeps the pair in force; so does a key of another certificate.
        std::fs::write(&a.cert_path, "not a certificate").unwrap();
        assert_eq!(store.reload_changed(), 0);
        assert_eq!(der(store.lookup(Some("a.test"))), new_der);
        let (other, _) = pair(dir.path(), &["a.test"], "other");
        std::fs::copy(&other.cert_path, &a.cert_path).unwrap();
        touch(&a.cert_path);
        assert_eq!(store.reload_changed(), 0, "mismatched key");
        assert_eq!(der(store.lookup(Some("a.test"))), new_der);

        // A missing file fails the start with the entry's key.
        pair(dir.path(), &["a.test"], "a");
        let mut bad = config.clone();
        bad.certificates[1].key_path = dir.path().join("missing.key").display().to_string();
        let err = format!("{:#}", CertStore::from_config(&bad).unwrap_err());
        assert!(err.contains("edge.tls.certificates.1"), "{err}");
    }
}
