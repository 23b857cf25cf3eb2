//! The `[api.remote_images]` section: fetching images from other hosts (a webhook message's
//! `avatar_url`), with its safety limits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Images the API downloads from other hosts: the `avatar_url` a webhook message may carry.
/// Like Discord, the image is fetched once when the message is sent, checked like an upload
/// (`cdn.images` limits, type read from the bytes) and stored as one of the webhook's avatars,
/// so clients load it from this instance's CDN and the remote host never learns who reads it.
/// Only `http`/`https` URLs; redirects are not followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteImagesConfig {
    /// Fetch images from other hosts. When off, an `avatar_url` must name an image this
    /// instance already stores (one of its CDN URLs); others are refused (400).
    pub enabled: bool,
    /// Also fetch from loopback, private (RFC 1918, unique-local), link-local and other
    /// non-public addresses. Leave off on a server reachable from the internet: it would let
    /// anyone who can send a webhook message make this server call services on its own
    /// network.
    pub allow_private_addresses: bool,
    /// Seconds a whole fetch (connect, headers and body) may take. At least 1.
    pub timeout_secs: u64,
    /// Remote URLs whose stored result is remembered, so sending the same `avatar_url` again
    /// does not fetch it again (for `cache_secs`).
    pub cache_entries: usize,
    /// Seconds a fetched URL's result is remembered.
    pub cache_secs: u64,
}

impl Default for RemoteImagesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_private_addresses: false,
            timeout_secs: 10,
            cache_entries: 10_000,
            cache_secs: 3600,
        }
    }
}
