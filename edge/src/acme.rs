//! Automatic certificates over ACME (`[edge.tls.acme]`, RFC 8555) with `instant-acme`: the
//! account and the certificate are kept on disk, a new certificate is ordered when the one in
//! force comes within `renew_days_before` days of expiry (checked every `check_secs`), and the
//! challenges are answered by the edge itself: HTTP-01 on the plain listener
//! (`/.well-known/acme-challenge/{token}`, see [`Challenges::http_answer`]) and TLS-ALPN-01 on
//! the HTTPS listener (a self-signed certificate with the `acmeIdentifier` extension, served to
//! handshakes offering only `acme-tls/1`, see [`crate::tls::CertStore`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use accord_config::{AcmeChallenge, EdgeAcmeConfig};
use anyhow::{Context, anyhow, bail};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use rustls::sign::CertifiedKey;

use crate::tls::{CertStore, certified_key};

/// The ALPN protocol of TLS-ALPN-01 handshakes.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
/// How long an order may take to become ready, and its certificate to be issued.
const ORDER_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest wait before another attempt after a failed order.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(3600);

/// The challenge answers in force while an order is pending.
#[derive(Debug, Default)]
pub struct Challenges {
    /// HTTP-01: token to key authorization.
    http: RwLock<HashMap<String, String>>,
    /// TLS-ALPN-01: domain (lower case) to the challenge certificate.
    tls_alpn: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl Challenges {
    /// The body answering `GET /.well-known/acme-challenge/{token}`, if that token is pending.
    pub fn http_answer(&self, token: &str) -> Option<String> {
        let map = self.http.read().unwrap_or_else(|e| e.into_inner());
        map.get(token).cloned()
    }

    /// The TLS-ALPN-01 certificate for `domain`, if a challenge for it is pending.
    pub fn tls_alpn_cert(&self, domain: &str) -> Option<Arc<CertifiedKey>> {
        let map = self.tls_alpn.read().unwrap_or_else(|e| e.into_inner());
        map.get(&domain.to_ascii_lowercase()).cloned()
    }

    fn clear(&self) {
        self.http.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.tls_alpn
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// The TLS-ALPN-01 certificate for `domain` (RFC 8737): self-signed, `domain` as its only
/// name, and the critical `acmeIdentifier` extension holding `digest`, the SHA-256 of the key
/// authorization.
pub fn tls_alpn_certificate(domain: &str, digest: &[u8]) -> anyhow::Result<CertifiedKey> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()])?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let cert = params.self_signed(&key)?;
    // Not `certified_key`: its key check parses the certificate with webpki, which refuses the
    // critical `acmeIdentifier` extension it does not know.
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let signing = crate::tls::provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| anyhow!("the challenge key: {e}"))?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing))
}

/// Reads one DER element at the start of `der`: its tag, its contents and what follows.
fn der_element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Parses an X.509 time: UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`, tag 0x18).
fn x509_time(tag: u8, value: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i32 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        0x18 => (text.get(..4)?.parse().ok()?, &text[4..]),
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| rest.get(r)?.parse::<u32>().ok();
    NaiveDate::from_ymd_opt(year, num(0..2)?, num(2..4)?)?
        .and_hms_opt(num(4..6)?, num(6..8)?, num(8..10)?)
        .map(|t| t.and_utc())
}

/// The `notAfter` time of a DER certificate.
pub fn not_after(cert_der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, cert, _) = der_element(cert_der)?;
    let (_, tbs, _) = der_element(cert)?;
    let mut rest = tbs;
    // [0] EXPLICIT version, optional.
    if rest.first() == Some(&0xa0) {
        rest = der_element(rest)?.2;
    }
    // serialNumber, signature, issuer, then validity.
    for _ in 0..3 {
        rest = der_element(rest)?.2;
    }
    let (_, validity, _) = der_element(rest)?;
    let (_, _, after) = der_element(validity)?;
    let (tag, value, _) = der_element(after)?;
    x509_time(tag, value)
}

/// Writes `data` to `path` through a temporary file and a rename, readable by the owner only.
fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write `{}`", tmp.display()))?;
    file.write_all(data)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))
}

/// Orders and renews the ACME certificate of the HTTPS listener.
pub struct AcmeService {
    config: EdgeAcmeConfig,
    store: Arc<CertStore>,
    challenges: Arc<Challenges>,
    /// The expiry of the stored certificate installed by [`AcmeService::new`], if any.
    stored: Option<DateTime<Utc>>,
}

impl AcmeService {
    /// The service for `config`, installing certificates into `store` and answering
    /// challenges through `challenges`. Installs the certificate kept on disk at once, so it
    /// serves the first handshakes. Blocking (reads the files).
    pub fn new(config: EdgeAcmeConfig, store: Arc<CertStore>, challenges: Arc<Challenges>) -> Self {
        let mut service = Self {
            config,
            store,
            challenges,
            stored: None,
        };
        service.stored = service.load_stored();
        service
    }

    fn path(&self, name: &str) -> PathBuf {
        Path::new(&self.config.storage_dir).join(name)
    }

    /// The configured domains as kept in `domains.txt` beside the certificate: lower case,
    /// sorted, one a line.
    fn domains_text(&self) -> String {
        let mut domains: Vec<String> = self
            .config
            .domains
            .iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect();
        domains.sort();
        domains.dedup();
        domains.join("\n") + "\n"
    }

    /// Installs the certificate kept on disk, if there is a usable one; returns its expiry, or
    /// `None` (order at once) when there is none or it was ordered for other domains.
    pub fn load_stored(&self) -> Option<DateTime<Utc>> {
        let cert = self.path("cert.pem");
        let key = self.path("key.pem");
        if !cert.exists() {
            return None;
        }
        match crate::tls::load_pair(&cert.to_string_lossy(), &key.to_string_lossy()) {
            Ok(pair) => {
                let expiry = pair.cert.first().and_then(|c| not_after(c));
                self.store.set_acme(Arc::new(pair));
                let stored = std::fs::read_to_string(self.path("domains.txt")).ok();
                if stored.as_deref() != Some(self.domains_text().as_str()) {
                    tracing::info!(
                        "edge: ACME: the stored certificate is for other domains: ordering one \
                         for {}",
                        self.config.domains.join(", ")
                    );
                    return None;
                }
                expiry
            }
            Err(e) => {
                tracing::error!("edge: ACME: the stored certificate is unusable: {e:#}");
                None
            }
        }
    }

    /// Orders a certificate when none is in force or it expires within `renew_days_before`.
    async fn check(&self, expiry: &mut Option<DateTime<Utc>>) -> anyhow::Result<()> {
        let window = chrono::Duration::days(i64::from(self.config.renew_days_before));
        if let Some(at) = *expiry
            && at - Utc::now() > window
        {
            tracing::debug!("edge: ACME: the certificate is good until {at}");
            return Ok(());
        }
        let result = self.order().await;
        self.challenges.clear();
        let (cert_pem, key_pem) = result?;
        let pair = certified_key(cert_pem.as_bytes(), key_pem.as_bytes())
            .context("the issued certificate")?;
        let new_expiry = pair.cert.first().and_then(|c| not_after(c));
        write_private(&self.path("key.pem"), key_pem.as_bytes())?;
        write_private(&self.path("cert.pem"), cert_pem.as_bytes())?;
        write_private(&self.path("domains.txt"), self.domains_text().as_bytes())?;
        self.store.set_acme(Arc::new(pair));
        tracing::info!(
            "edge: ACME: new certificate for {} (expires {})",
            self.config.domains.join(", "),
            new_expiry.map_or_else(|| "at an unknown time".into(), |t| t.to_string())
        );
        *expiry = new_expiry;
        Ok(())
    }

    /// The account kept on disk for this directory, or a new one (then kept on disk).
    async fn account(&self) -> anyhow::Result<Account> {
        let builder = || {
            if self.config.directory_ca_path.is_empty() {
                Account::builder()
            } else {
                Account::builder_with_root(&self.config.directory_ca_path)
            }
            .map_err(|e| anyhow!("ACME HTTP client: {e}"))
        };
        let path = self.path("account.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let stored: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("`{}` is not JSON", path.display()))?;
            if stored["directory"].as_str() == Some(self.config.directory_url.as_str()) {
                let credentials: AccountCredentials = serde_json::from_value(stored)
                    .with_context(|| format!("`{}`", path.display()))?;
                return builder()?
                    .from_credentials(credentials)
                    .await
                    .map_err(|e| anyhow!("restoring the ACME account: {e}"));
            }
            tracing::info!(
                "edge: ACME: `{}` is an account of another directory: opening a new one",
                path.display()
            );
        }
        let contact: Vec<&str> = self.config.contact.iter().map(String::as_str).collect();
        let (account, credentials) = builder()?
            .create(
                &NewAccount {
                    contact: &contact,
                    terms_of_service_agreed: self.config.accept_terms,
                    only_return_existing: false,
                },
                self.config.directory_url.clone(),
                None,
            )
            .await
            .map_err(|e| anyhow!("opening an ACME account: {e}"))?;
        write_private(&path, serde_json::to_string(&credentials)?.as_bytes())?;
        tracing::info!("edge: ACME: opened account {}", account.id());
        Ok(account)
    }

    /// Runs one order to the end; returns the certificate chain and key (PEM).
    async fn order(&self) -> anyhow::Result<(String, String)> {
        std::fs::create_dir_all(&self.config.storage_dir).with_context(|| {
            format!(
                "cannot create `{}` (edge.tls.acme.storage_dir)",
                self.config.storage_dir
            )
        })?;
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = self
            .config
            .domains
            .iter()
            .map(|d| Identifier::Dns(d.trim().to_ascii_lowercase()))
            .collect();
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(|e| anyhow!("new ACME order: {e}"))?;
        let kind = match self.config.challenge {
            AcmeChallenge::Http01 => ChallengeType::Http01,
            AcmeChallenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
        };
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(|e| anyhow!("ACME authorization: {e}"))?;
            match authz.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => bail!("ACME authorization is {other:?}"),
            }
            let mut challenge = authz
                .challenge(kind.clone())
                .ok_or_else(|| anyhow!("the authority offers no {kind:?} challenge"))?;
            let domain = challenge.identifier().to_string();
            let key_auth = challenge.key_authorization();
            match self.config.challenge {
                AcmeChallenge::Http01 => {
                    self.challenges
                        .http
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(challenge.token.clone(), key_auth.as_str().to_owned());
                }
                AcmeChallenge::TlsAlpn01 => {
                    let cert = tls_alpn_certificate(&domain, key_auth.digest().as_ref())?;
                    self.challenges
                        .tls_alpn
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(domain.to_ascii_lowercase(), Arc::new(cert));
                }
            }
            tracing::info!("edge: ACME: answering {kind:?} for {domain}");
            challenge
                .set_ready()
                .await
                .map_err(|e| anyhow!("ACME challenge for {domain}: {e}"))?;
        }
        let retries = RetryPolicy::new().timeout(ORDER_TIMEOUT);
        let status = order
            .poll_ready(&retries)
            .await
            .map_err(|e| anyhow!("waiting for the ACME order: {e}"))?;
        if status != OrderStatus::Ready {
            bail!("the ACME order is {status:?}, not ready");
        }
        let key_pem = order
            .finalize()
            .await
            .map_err(|e| anyhow!("finalizing the ACME order: {e}"))?;
        let cert_pem = order
            .poll_certificate(&retries)
            .await
            .map_err(|e| anyhow!("fetching the ACME certificate: {e}"))?;
        Ok((cert_pem, key_pem))
    }
}

#[async_trait]
impl BackgroundService for AcmeService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut expiry = self.stored;
        let interval = Duration::from_secs(self.config.check_secs.max(1));
        loop {
            let wait = match self.check(&mut expiry).await {
                Ok(()) => interval,
                Err(e) => {
                    tracing::error!(
                        "edge: ACME: no new certificate for {}: {e:#}",
                        self.config.domains.join(", ")
                    );
                    interval.min(RETRY_AFTER_FAILURE)
                }
            };
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_of_a_certificate_is_read() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a.test".to_owned()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 7, 9);
        let cert = params.self_signed(&key).unwrap();
        let at = not_after(cert.der()).unwrap();
        assert_eq!(at.to_rfc3339(), "2031-07-09T00:00:00+00:00");
        // GeneralizedTime past 2049.
        params.not_after = rcgen::date_time_ymd(2051, 1, 2);
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            not_after(cert.der()).unwrap().to_rfc3339(),
            "2051-01-02T00:00:00+00:00"
        );
        assert!(not_after(b"\x30\x03\x02\x01\x00").is_none());
    }

    #[test]
    fn tls_alpn_certificates_carry_the_digest() {
        let digest = [7u8; 32];
        let cert = tls_alpn_certificate("a.test", &digest).unwrap();
        let der = cert.cert[0].to_vec();
        // The acmeIdentifier OID 1.3.6.1.5.5.7.1.31, critical, with the digest as an OCTET
        // STRING inside the extension's OCTET STRING.
        let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f];
        let at = der.windows(oid.len()).position(|w| w == oid).expect("OID");
        let rest = &der[at + oid.len()..];
        assert_eq!(&rest[..3], &[0x01, 0x01, 0xff], "critical");
        assert_eq!(&rest[3..7], &[0x04, 0x22, 0x04, 0x20]);
        assert_eq!(&rest[7..39], &digest);
    }
}
