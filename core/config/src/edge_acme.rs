//! The `[edge.tls.acme]` section: automatic certificates from an ACME certificate authority
//! (Let's Encrypt or any RFC 8555 server) for the edge's HTTPS listener, their defaults and
//! their validation rules.
//!
//! Every field's `///` comment is copied into the generated sample file (`accord config sample`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lenient;

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT_DIRECTORY: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How the certificate authority checks that the edge answers for a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum AcmeChallenge {
    /// HTTP-01: the authority fetches `http://<domain>/.well-known/acme-challenge/<token>`
    /// from port 80, which must reach the edge's plain listener (`edge.listen`).
    #[default]
    #[serde(rename = "http-01")]
    Http01,
    /// TLS-ALPN-01: the authority opens a TLS connection to port 443 of the domain asking for
    /// the `acme-tls/1` protocol, which must reach the HTTPS listener (`edge.tls.listen`).
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

/// Automatic certificates over ACME: the edge opens an account with the certificate authority,
/// orders one certificate covering `domains`, answers the authority's challenge itself, keeps
/// account, certificate and key under `storage_dir` (a change of `domains` orders a new
/// certificate at the next start), and orders a new certificate when the one
/// in force expires within `renew_days_before` days (checked every `check_secs`). The
/// certificate serves the names in `domains` over `edge.tls.listen`, and takes precedence over
/// `edge.tls.certificates` entries for those names once issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeAcmeConfig {
    /// Turn automatic certificates on (needs `edge.tls.enabled`, `domains` and
    /// `accept_terms = true`).
    pub enabled: bool,
    /// The authority's ACME directory URL. Let's Encrypt's staging directory,
    /// `https://acme-staging-v02.api.letsencrypt.org/directory`, is the place to try things out.
    #[serde(deserialize_with = "lenient::string")]
    pub directory_url: String,
    /// PEM file of a CA certificate to trust for `directory_url` instead of the system's roots
    /// (for a private or test authority such as pebble); empty: the system's roots.
    #[serde(deserialize_with = "lenient::string")]
    pub directory_ca_path: String,
    /// You agree to the certificate authority's terms of service (required to open an account).
    pub accept_terms: bool,
    /// Contact URLs given to the authority (expiry and problem notices), e.g.
    /// `["mailto:admin@example.com"]`.
    #[serde(deserialize_with = "lenient::string_list")]
    pub contact: Vec<String>,
    /// The domain names of the certificate (no wildcards: HTTP-01 and TLS-ALPN-01 cannot
    /// prove them), e.g. `["chat.example.com"]`.
    #[serde(deserialize_with = "lenient::string_list")]
    pub domains: Vec<String>,
    /// How the authority checks the domains: `http-01` or `tls-alpn-01`.
    pub challenge: AcmeChallenge,
    /// Directory keeping the account (`account.json`), the certificate (`cert.pem`) and its
    /// key (`key.pem`); created if missing. Keep it private: it holds private keys.
    #[serde(deserialize_with = "lenient::string")]
    pub storage_dir: String,
    /// Order a new certificate when the one in force expires within this many days. At
    /// least 1.
    pub renew_days_before: u32,
    /// Seconds between checks of the certificate's expiry. After a failed order the next
    /// attempt comes after this or an hour, whichever is shorter. At least 1.
    pub check_secs: u64,
}

impl Default for EdgeAcmeConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            directory_url: LETS_ENCRYPT_DIRECTORY.into(),
            directory_ca_path: String::new(),
            accept_terms: false,
            contact: Vec::new(),
            domains: Vec::new(),
            challenge: AcmeChallenge::default(),
            storage_dir: "acme".into(),
            renew_days_before: 30,
            check_secs: 12 * 3600,
        }
    }
}

/// The problems of `[edge.tls.acme]`, as (key, message) pairs.
pub(crate) fn problems(e: &crate::EdgeConfig) -> Vec<(String, String)> {
    let a = &e.tls.acme;
    let mut out = Vec::new();
    let mut fail = |key: &str, message: String| out.push((key.to_owned(), message));
    if a.renew_days_before == 0 {
        fail(
            "edge.tls.acme.renew_days_before",
            "must be at least 1, got 0".into(),
        );
    }
    if a.check_secs == 0 {
        fail(
            "edge.tls.acme.check_secs",
            "must be at least 1, got 0".into(),
        );
    }
    for name in &a.domains {
        if name.contains('*') || !crate::edge_tls::valid_hostname(name.trim()) {
            fail(
                "edge.tls.acme.domains",
                format!("`{name}` is not a host name without wildcards"),
            );
        }
    }
    if !a.directory_ca_path.is_empty() && !std::path::Path::new(&a.directory_ca_path).is_file() {
        fail(
            "edge.tls.acme.directory_ca_path",
            format!("`{}` is not a readable file", a.directory_ca_path),
        );
    }
    if a.enabled {
        if !e.tls.enabled {
            fail(
                "edge.tls.acme.enabled",
                "needs edge.tls.enabled = true (the certificates are for the HTTPS listener)"
                    .into(),
            );
        }
        if a.domains.is_empty() {
            fail("edge.tls.acme.domains", "needs at least one domain".into());
        }
        if !a.accept_terms {
            fail(
                "edge.tls.acme.accept_terms",
                "must be true: read the certificate authority's terms of service first".into(),
            );
        }
        if !a.directory_url.starts_with("https://") {
            fail(
                "edge.tls.acme.directory_url",
                format!("must be an https:// URL, got `{}`", a.directory_url),
            );
        }
        if a.storage_dir.trim().is_empty() {
            fail(
                "edge.tls.acme.storage_dir",
                "must be a directory path, got an empty string".into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn keys(c: &Config) -> Vec<String> {
        problems(&c.edge).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn defaults_are_valid_and_acme_is_off() {
        let c = Config::default();
        assert!(!c.edge.tls.acme.enabled);
        assert!(keys(&c).is_empty());
    }

    #[test]
    fn acme_needs_tls_domains_terms_and_an_https_directory() {
        let mut c = Config::default();
        c.edge.tls.acme.enabled = true;
        c.edge.tls.acme.directory_url = "http://ca.example/dir".into();
        c.edge.tls.acme.storage_dir = " ".into();
        c.edge.tls.acme.renew_days_before = 0;
        c.edge.tls.acme.check_secs = 0;
        c.edge.tls.acme.directory_ca_path = "/nonexistent/ca.pem".into();
        assert_eq!(
            keys(&c),
            [
                "edge.tls.acme.renew_days_before",
                "edge.tls.acme.check_secs",
                "edge.tls.acme.directory_ca_path",
                "edge.tls.acme.enabled",
                "edge.tls.acme.domains",
                "edge.tls.acme.accept_terms",
                "edge.tls.acme.directory_url",
                "edge.tls.acme.storage_dir",
            ]
        );
        let mut c = Config::default();
        c.edge.tls.enabled = true;
        c.edge.tls.acme.enabled = true;
        c.edge.tls.acme.accept_terms = true;
        c.edge.tls.acme.domains = vec!["chat.example.com".into(), "*.example.com".into()];
        assert_eq!(keys(&c), ["edge.tls.acme.domains"], "no wildcards");
        c.edge.tls.acme.domains.pop();
        assert!(keys(&c).is_empty());
        // ACME alone is enough certificates for the HTTPS listener.
        assert!(crate::edge_tls::problems(&c.edge).is_empty());
    }

    #[test]
    fn the_challenge_loads_from_toml() {
        use figment::Figment;
        use figment::providers::{Format, Serialized, Toml};
        let figment = Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(
            "[edge.tls.acme]\nchallenge = \"tls-alpn-01\"\ndomains = \"a.example, b.example\"\n",
        ));
        let c = Config::from_figment(figment).unwrap();
        assert_eq!(c.edge.tls.acme.challenge, AcmeChallenge::TlsAlpn01);
        assert_eq!(c.edge.tls.acme.domains, ["a.example", "b.example"]);
    }
}
