//! Signed attachment URLs at the CDN (`cdn.signed_urls`): with signing enabled, an attachment is
//! served only for a URL whose `ex`/`is`/`hm` signature is ours, unexpired, and made for anyone
//! or for the requesting address; otherwise the answer is Discord's 404 "This content is no
//! longer available.".

use std::net::IpAddr;

use accord_auth::signed_url::{self, UrlCheck, UrlSigningKey};
use accord_config::{Config, IpNet};
use axum::http::HeaderMap;

use crate::CdnState;
use crate::error::CdnError;

/// The CDN's view of `cdn.signed_urls`.
#[derive(Debug, Clone)]
pub struct SignedUrls {
    /// Whether attachment URLs must be signed.
    enabled: bool,
    /// The key; set by [`CdnState::with_url_key`]. Enabled without a key, nothing is served.
    key: Option<UrlSigningKey>,
    /// Proxies whose `X-Forwarded-For` is believed (`security.trusted_proxies`).
    trusted_proxies: Vec<IpNet>,
}

impl SignedUrls {
    /// The settings of `config`, without a key yet.
    pub fn from_config(config: &Config) -> Self {
        Self {
            enabled: config.cdn.signed_urls.enabled,
            key: None,
            trusted_proxies: config.trusted_proxies(),
        }
    }

    /// Lets a request for `path` (`/attachments/<channel>/<id>/<filename>`) with `query` through
    /// when signing is off or its signature holds for the client (`peer`, or the client a
    /// trusted proxy forwards for).
    pub fn check(
        &self,
        path: &str,
        query: Option<&str>,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Result<(), CdnError> {
        if !self.enabled {
            return Ok(());
        }
        let Some(key) = &self.key else {
            tracing::error!("cdn.signed_urls is enabled but the CDN was started without its key");
            return Err(CdnError::NoLongerAvailable);
        };
        let client = peer.map(|peer| {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok());
            signed_url::client_ip(peer, forwarded, |ip| {
                self.trusted_proxies.iter().any(|n| n.contains(ip))
            })
        });
        let now = accord_auth::now_ms() / 1000;
        match signed_url::verify(key, path, query.unwrap_or(""), now, client) {
            UrlCheck::Valid => Ok(()),
            UrlCheck::Expired | UrlCheck::Invalid => Err(CdnError::NoLongerAvailable),
        }
    }
}

impl CdnState {
    /// This state with the key attachment URLs are signed with (the API's
    /// `AppState::url_key`, or `accord_api::state::url_signing_key`), needed when
    /// `cdn.signed_urls.enabled`.
    pub fn with_url_key(mut self, key: UrlSigningKey) -> Self {
        self.signed_urls.key = Some(key);
        self
    }
}
