//! The `[edge.tls]` section: HTTPS on the edge (certificates from files chosen by SNI, their hot
//! reload, HTTP/2, the HTTP→HTTPS redirect and HSTS), its defaults and its validation rules.
//!
//! Every field's `///` comment is copied into the generated sample file (`accord config sample`).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::edge_acme::EdgeAcmeConfig;
use crate::lenient;

/// HTTPS on the edge: a second listener (`listen`) beside the plain one, terminating TLS 1.2 and
/// 1.3 with certificates read from PEM files and chosen by the name the client asks for (SNI).
/// Requests arriving over TLS are routed, filtered and throttled exactly like plain ones, go
/// upstream as plain HTTP with `X-Forwarded-Proto: https`, and WebSocket upgrades (`wss://`)
/// work the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeTlsConfig {
    /// Turn the HTTPS listener on. Needs at least one certificate (`certificates`, `default`
    /// or `acme`).
    pub enabled: bool,
    /// Address and port of the HTTPS listener (usually port 443 in production).
    #[serde(deserialize_with = "lenient::socket_addr")]
    pub listen: SocketAddr,
    /// Certificates by host name. Each entry is a table: `hostnames` (the names it serves;
    /// `*.example.com` covers one level of subdomains; exact names win over wildcards),
    /// `cert_path` (PEM file: the certificate, then its intermediates) and `key_path` (PEM
    /// file: its private key, PKCS#8, PKCS#1 or SEC1), e.g. `certificates = [{ hostnames =
    /// ["chat.example.com"], cert_path = "/etc/accord/chat.pem", key_path =
    /// "/etc/accord/chat.key" }]`.
    pub certificates: Vec<EdgeTlsCertificate>,
    /// The certificate for clients that send no name (SNI) or a name no entry of
    /// `certificates` serves: a table with `cert_path` and `key_path`. Unset: such handshakes
    /// are refused (alert `unrecognized_name`).
    #[schemars(example = EdgeTlsFiles::example())]
    pub default: Option<EdgeTlsFiles>,
    /// Seconds between checks of the certificate and key files: when a file's modification
    /// time changes, the pair is read again and new handshakes get the new certificate, no
    /// restart needed. A pair that cannot be read or does not match keeps the previous
    /// certificate (and the error is logged). At least 1.
    pub reload_secs: u64,
    /// Offer HTTP/2 (ALPN `h2`) beside HTTP/1.1: clients that ask for it (browsers, curl,
    /// most HTTP libraries) send all their requests as concurrent streams over one connection.
    /// Each request is routed, filtered, throttled and logged like an HTTP/1.1 one and goes
    /// upstream as HTTP/1.1. WebSocket upgrades (`wss://`) always use HTTP/1.1, which clients
    /// ask for on those connections. Idle HTTP/2 connections are closed after
    /// `edge.timeouts.client_keepalive_secs`. Off: HTTP/1.1 only.
    pub http2: bool,
    /// Answer every request on the plain listener (`edge.listen`) with a permanent redirect
    /// (308, which keeps the method and body) to the same host, path and query over HTTPS,
    /// except ACME's HTTP-01 challenges (`/.well-known/acme-challenge/...`), which are still
    /// answered or routed as usual. Needs `enabled`.
    pub redirect_http: bool,
    /// The port put in redirect URLs; 0: the port of `listen`. A port of 443 is left out of
    /// the URL. Set it when clients reach the HTTPS listener through another port (port
    /// forwarding, a load balancer).
    pub redirect_port: u16,
    /// HTTP Strict Transport Security: the `Strict-Transport-Security` header on every
    /// response of the HTTPS listener (never on plain HTTP), telling browsers to use HTTPS
    /// only for this host from then on.
    pub hsts: EdgeHstsConfig,
    /// Automatic certificates from an ACME authority (Let's Encrypt).
    pub acme: EdgeAcmeConfig,
}

/// The `Strict-Transport-Security` header of HTTPS responses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeHstsConfig {
    /// How long, in seconds, browsers keep to HTTPS for the host (`max-age`); 0 sends no
    /// header. Start small (e.g. 300) and raise it (a year is 31536000) once HTTPS works
    /// everywhere: browsers remember it.
    pub max_age_secs: u64,
    /// Add `includeSubDomains`: the rule covers every subdomain of the host too.
    pub include_subdomains: bool,
    /// Add `preload` (asks to be built into browsers, see hstspreload.org): needs
    /// `include_subdomains` and `max_age_secs` of at least 31536000.
    pub preload: bool,
}

impl Default for EdgeTlsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 3443)),
            certificates: Vec::new(),
            default: None,
            reload_secs: 10,
            http2: true,
            redirect_http: false,
            redirect_port: 0,
            hsts: EdgeHstsConfig::default(),
            acme: EdgeAcmeConfig::default(),
        }
    }
}

/// One certificate of the HTTPS listener and the names it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeTlsCertificate {
    /// Host names served with this certificate (`*.example.com` for one level of subdomains).
    #[serde(deserialize_with = "lenient::string_list")]
    pub hostnames: Vec<String>,
    /// PEM file with the certificate, then its intermediates.
    #[serde(deserialize_with = "lenient::string")]
    pub cert_path: String,
    /// PEM file with the private key.
    #[serde(deserialize_with = "lenient::string")]
    pub key_path: String,
}

/// A certificate and key file pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeTlsFiles {
    /// PEM file with the certificate, then its intermediates.
    #[serde(deserialize_with = "lenient::string")]
    pub cert_path: String,
    /// PEM file with the private key.
    #[serde(deserialize_with = "lenient::string")]
    pub key_path: String,
}

impl EdgeTlsFiles {
    /// The example of the sample configuration.
    fn example() -> Self {
        Self {
            cert_path: "/etc/accord/default.pem".into(),
            key_path: "/etc/accord/default.key".into(),
        }
    }
}

/// Whether `name` is a usable host name for a certificate entry: DNS labels of letters, digits
/// and `-` separated by dots, optionally starting with one `*.` label.
pub(crate) fn valid_hostname(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The problems of `[edge.tls]`, as (key, message) pairs.
pub(crate) fn problems(e: &crate::EdgeConfig) -> Vec<(String, String)> {
    let t = &e.tls;
    let mut out = Vec::new();
    let mut fail = |key: &str, message: String| out.push((key.to_owned(), message));
    if t.reload_secs == 0 {
        fail("edge.tls.reload_secs", "must be at least 1, got 0".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, cert) in t.certificates.iter().enumerate() {
        let key = format!("edge.tls.certificates.{i}");
        if cert.hostnames.is_empty() {
            fail(
                &format!("{key}.hostnames"),
                "needs at least one host name".into(),
            );
        }
        for name in &cert.hostnames {
            if !valid_hostname(name.trim()) {
                fail(
                    &format!("{key}.hostnames"),
                    format!(
                        "`{name}` is not a host name (letters, digits, `-` and dots, optionally \
                         starting with `*.`)"
                    ),
                );
            } else if !seen.insert(name.trim().to_ascii_lowercase()) {
                fail(
                    &format!("{key}.hostnames"),
                    format!("`{name}` is already served by an earlier entry"),
                );
            }
        }
        check_files(&key, &cert.cert_path, &cert.key_path, &mut fail);
    }
    if let Some(default) = &t.default {
        check_files(
            "edge.tls.default",
            &default.cert_path,
            &default.key_path,
            &mut fail,
        );
    }
    if t.hsts.preload && (!t.hsts.include_subdomains || t.hsts.max_age_secs < 31_536_000) {
        fail(
            "edge.tls.hsts.preload",
            "needs include_subdomains = true and max_age_secs of at least 31536000".into(),
        );
    }
    if t.redirect_http && !t.enabled {
        fail(
            "edge.tls.redirect_http",
            "needs edge.tls.enabled = true (there is no HTTPS listener to redirect to)".into(),
        );
    }
    if t.enabled {
        if t.certificates.is_empty() && t.default.is_none() && !t.acme.enabled {
            fail(
                "edge.tls",
                "enabled without certificates: set `certificates`, `default` or `acme`".into(),
            );
        }
        if t.listen == e.listen {
            fail(
                "edge.tls.listen",
                format!("{} is also edge.listen: give HTTPS its own port", t.listen),
            );
        }
    }
    out
}

/// Checks a certificate/key path pair: non-empty, and existing files.
fn check_files(key: &str, cert: &str, private: &str, fail: &mut impl FnMut(&str, String)) {
    for (name, path) in [("cert_path", cert), ("key_path", private)] {
        let field = format!("{key}.{name}");
        if path.trim().is_empty() {
            fail(&field, "must be a file path, got an empty string".into());
        } else if !std::path::Path::new(path).is_file() {
            fail(&field, format!("`{path}` is not a readable file"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn keys(c: &Config) -> Vec<String> {
        problems(&c.edge).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn defaults_are_valid_and_tls_is_off() {
        let c = Config::default();
        assert!(!c.edge.tls.enabled);
        assert!(keys(&c).is_empty());
    }

    #[test]
    fn the_redirect_needs_the_https_listener() {
        let mut c = Config::default();
        c.edge.tls.redirect_http = true;
        assert_eq!(keys(&c), ["edge.tls.redirect_http"]);
    }

    #[test]
    fn host_names_are_checked() {
        for good in ["chat.example.com", "*.example.com", "localhost", "a-b.c1"] {
            assert!(valid_hostname(good), "{good}");
        }
        for bad in [
            "", " ", "*.", "a..b", "-a.b", "a_b.c", "*.*.a", "a.b:443", "*",
        ] {
            assert!(!valid_hostname(bad), "{bad}");
        }
    }

    #[test]
    fn empty_names_bad_paths_and_missing_certificates_are_reported() {
        let dir = std::env::temp_dir();
        let file = dir.join(format!("accord-tls-config-{}.pem", std::process::id()));
        std::fs::write(&file, "x").unwrap();
        let file = file.to_string_lossy().into_owned();
        let mut c = Config::default();
        c.edge.tls.enabled = true;
        assert_eq!(keys(&c), ["edge.tls"]);
        c.edge.tls.reload_secs = 0;
        c.edge.tls.hsts.preload = true;
        c.edge.tls.hsts.include_subdomains = true;
        c.edge.tls.hsts.max_age_secs = 300;
        c.edge.tls.listen = c.edge.listen;
        c.edge.tls.certificates = vec![
            EdgeTlsCertificate {
                hostnames: vec!["a.example".into()],
                cert_path: file.clone(),
                key_path: file.clone(),
            },
            EdgeTlsCertificate {
                hostnames: vec![],
                cert_path: String::new(),
                key_path: "/nonexistent/key.pem".into(),
            },
            EdgeTlsCertificate {
                hostnames: vec![" ".into(), "A.example".into()],
                cert_path: file.clone(),
                key_path: file.clone(),
            },
        ];
        c.edge.tls.default = Some(EdgeTlsFiles {
            cert_path: file.clone(),
            key_path: " ".into(),
        });
        assert_eq!(
            keys(&c),
            [
                "edge.tls.reload_secs",
                "edge.tls.certificates.1.hostnames",
                "edge.tls.certificates.1.cert_path",
                "edge.tls.certificates.1.key_path",
                "edge.tls.certificates.2.hostnames",
                "edge.tls.certificates.2.hostnames",
                "edge.tls.default.key_path",
                "edge.tls.hsts.preload",
                "edge.tls.listen",
            ]
        );
        let _ = std::fs::remove_file(&file);
    }
}
