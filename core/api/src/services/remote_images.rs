//! Images fetched from other hosts (a webhook message's `avatar_url`, `api.remote_images`):
//! one HTTP(S) GET with a time limit, a size limit and no redirects, to public addresses only
//! unless configured otherwise, and a cache of URLs already fetched.
//!
//! The address check is done where the connection is made: the client resolves names through
//! [`PublicOnly`], which drops every non-public address, so a name that resolves (or rebinds)
//! to a private address is never connected to; IP-literal hosts, which the connector does not
//! resolve, are checked before the request.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use accord_config::RemoteImagesConfig;
use bytes::Bytes;
use dashmap::DashMap;
use http_body_util::{BodyExt, Empty};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;

/// Why a remote image could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an absolute `http`/`https` URL with a host.
    #[error("not a well formed http(s) URL")]
    BadUrl,
    /// The host is (or resolves only to) a non-public address.
    #[error("the host has no public address")]
    PrivateAddress,
    /// Connecting, the exchange or the body failed, or the answer was not a 200.
    #[error("fetch failed: {0}")]
    Failed(String),
    /// The body is larger than allowed.
    #[error("the image is larger than {0} bytes")]
    TooLarge(usize),
    /// The whole fetch took longer than `timeout_secs`.
    #[error("timed out")]
    Timeout,
}

/// Whether `ip` is an address anyone on the internet could reach (not loopback, private,
/// link-local, shared, documentation, benchmarking, multicast, reserved or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b && v6.segments()[2] == 1 // local-use NAT64
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1))
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_broadcast()
        || v4.is_documentation()
        || v4.is_unspecified()
        || v4.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// A resolver that keeps only the addresses the configuration allows.
#[derive(Clone)]
pub struct PublicOnly {
    allow_private: bool,
}

impl PublicOnly {
    /// A resolver that drops non-public addresses unless `allow_private`.
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }
}

impl tower::Service<Name> for PublicOnly {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "the host has no public address",
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

type HttpsClient = Client<HttpsConnector<HttpConnector<PublicOnly>>, Empty<Bytes>>;

/// The fetcher and its cache (one per API process).
pub struct RemoteImages {
    config: RemoteImagesConfig,
    client: OnceLock<Result<HttpsClient, String>>,
    /// `(key, stored hash, when)`, by the caller's key.
    cache: DashMap<String, (String, Instant)>,
}

impl RemoteImages {
    /// A fetcher with `config`'s rules. The HTTP client is built on first use.
    pub fn new(config: RemoteImagesConfig) -> Self {
        Self {
            config,
            client: OnceLock::new(),
            cache: DashMap::new(),
        }
    }

    /// Whether fetching from other hosts is on.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    fn client(&self) -> Result<&HttpsClient, FetchError> {
        self.client
            .get_or_init(|| {
                let mut http = HttpConnector::new_with_resolver(PublicOnly {
                    allow_private: self.config.allow_private_addresses,
                });
                http.enforce_http(false);
                http.set_connect_timeout(Some(Duration::from_secs(self.config.timeout_secs)));
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(provider)
                    .map_err(|e| format!("cannot load the system's trusted certificates: {e}"))?
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http);
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .as_ref()
            .map_err(|e| FetchError::Failed(e.clone()))
    }

    /// The hash remembered for `key`, if fetched within `cache_secs`.
    pub fn cached(&self, key: &str) -> Option<String> {
        let entry = self.cache.get(key)?;
        let (hash, at) = entry.value();
        (at.elapsed() < Duration::from_secs(self.config.cache_secs)).then(|| hash.clone())
    }

    /// Remembers that `key` gave `hash`.
    pub fn remember(&self, key: String, hash: String) {
        if self.cache.len() >= self.config.cache_entries {
            let ttl = Duration::from_secs(self.config.cache_secs);
            self.cache.retain(|_, (_, at)| at.elapsed() < ttl);
            if self.cache.len() >= self.config.cache_entries {
                self.cache.clear();
            }
        }
        if self.config.cache_entries > 0 {
            self.cache.insert(key, (hash, Instant::now()));
        }
    }

    /// GETs `url` and returns its body, at most `max_bytes` long.
    pub async fn fetch(&self, url: &str, max_bytes: usize) -> Result<Bytes, FetchError> {
        let uri = check_url(url, self.config.allow_private_addresses)?;
        let client = self.client()?;
        let limit = Duration::from_secs(self.config.timeout_secs);
        let work = async {
            let req = http::Request::get(uri)
                .header("user-agent", "Accord (remote image fetch)")
                .header("accept", "image/*")
                .body(Empty::new())
                .map_err(|e| FetchError::Failed(e.to_string()))?;
            let resp = client.request(req).await.map_err(|e| {
                // The resolver's refusal comes back as a connect error.
                if format!("{e:?}").contains("no public address") {
                    FetchError::PrivateAddress
                } else {
                    FetchError::Failed(e.to_string())
                }
            })?;
            if resp.status() != http::StatusCode::OK {
                return Err(FetchError::Failed(format!("status {}", resp.status())));
            }
            let declared = resp
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > max_bytes) {
                return Err(FetchError::TooLarge(max_bytes));
            }
            let mut body = resp.into_body();
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| FetchError::Failed(e.to_string()))?;
                if let Ok(data) = frame.into_data() {
                    if out.len() + data.len() > max_bytes {
                        return Err(FetchError::TooLarge(max_bytes));
                    }
                    out.extend_from_slice(&data);
                }
            }
            Ok(Bytes::from(out))
        };
        tokio::time::timeout(limit, work)
            .await
            .unwrap_or(Err(FetchError::Timeout))
    }
}

/// Parses `url` as an absolute http(s) URL; an IP-literal host must be public unless
/// `allow_private`.
pub fn check_url(url: &str, allow_private: bool) -> Result<http::Uri, FetchError> {
    let parsed = url::Url::parse(url).map_err(|_| FetchError::BadUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FetchError::BadUrl);
    }
    let ip = match parsed.host() {
        None => return Err(FetchError::BadUrl),
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = ip
        && !allow_private
        && !is_public(ip)
    {
        return Err(FetchError::PrivateAddress);
    }
    parsed
        .as_str()
        .parse::<http::Uri>()
        .map_err(|_| FetchError::BadUrl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_public_literal_host() {
        assert!(matches!(
            check_url("ftp://example.com/a.png", false),
            Err(FetchError::BadUrl)
        ));
        assert!(matches!(
            check_url("not a url", false),
            Err(FetchError::BadUrl)
        ));
        assert!(matches!(
            check_url("http://127.0.0.1:8080/a.png", false),
            Err(FetchError::PrivateAddress)
        ));
        assert!(matches!(
            check_url("http://[::1]/a.png", false),
            Err(FetchError::PrivateAddress)
        ));
        assert!(check_url("http://127.0.0.1:8080/a.png", true).is_ok());
        assert!(check_url("https://images.example.com/a.png?x=1", false).is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_not_connected_to() {
        let images = RemoteImages::new(RemoteImagesConfig::default());
        // `localhost` resolves to the loopback only.
        let err = images
            .fetch("http://localhost:9/a.png", 1024)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::PrivateAddress), "{err:?}");
    }

    #[test]
    fn the_cache_forgets_old_entries_and_stays_bounded() {
        let images = RemoteImages::new(RemoteImagesConfig {
            cache_entries: 2,
            ..RemoteImagesConfig::default()
        });
        images.remember("a".into(), "1".into());
        images.remember("b".into(), "2".into());
        images.remember("c".into(), "3".into());
        assert!(images.cache.len() <= 2);
        assert_eq!(images.cached("c").as_deref(), Some("3"));
        let expired = RemoteImages::new(RemoteImagesConfig {
            cache_secs: 0,
            ..RemoteImagesConfig::default()
        });
        expired.remember("a".into(), "1".into());
        assert_eq!(expired.cached("a"), None);
    }
}
