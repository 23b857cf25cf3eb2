//! The edge's operations settings: the access log (`edge.access_log*`), request limits
//! (`[edge.limits]`), timeouts (`[edge.timeouts]`) and the graceful upgrade (`edge.upgrade_sock`,
//! `edge.drain_secs`), their defaults and their validation rules.
//!
//! Every field's `///` comment is copied into the generated sample file (`accord config sample`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The largest request head Pingora itself reads (1 MiB - 1); past it, or past 256 header
/// lines, Pingora answers 400 before the edge sees the request.
pub const PINGORA_MAX_HEADER_BYTES: usize = 1_048_575;
/// The most header lines Pingora parses.
pub const PINGORA_MAX_HEADERS: usize = 256;

/// How access log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogFormat {
    /// nginx's `combined` format followed by the upstream, its address and the duration:
    /// `203.0.113.7 - - [04/Dec/2026:16:00:00 +0000] "GET /api/v10/gateway HTTP/1.1" 200 42
    /// "-" "curl/8.0" upstream=api addr=127.0.0.1:3001 duration=0.000412`.
    #[default]
    Combined,
    /// One JSON object per line: `time`, `client`, `method`, `path`, `version`, `status`,
    /// `bytes`, `referer`, `user_agent`, `upstream`, `upstream_addr`, `duration`.
    Json,
}

/// Limits on what a client may send. A request head past `max_header_bytes` or
/// `max_header_count` gets 431, a body past `max_body_bytes` gets 413 (JSON code 40005); both
/// close the connection, and the upstream never sees the request (or sees it cut short when an
/// unannounced, chunked body grows past the limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeLimitsConfig {
    /// Largest request head (request line and headers) in bytes, 1024 to 1048575. Heads past
    /// 1048575 bytes get 400 whatever this says.
    pub max_header_bytes: usize,
    /// Most header lines in a request, 1 to 256. Requests with more than 256 get 400 whatever
    /// this says.
    pub max_header_count: usize,
    /// Largest request body in bytes, counted as it streams through (chunked bodies too);
    /// 0 means no limit. Keep it above `api.max_body_bytes` and `cdn.max_upload_bytes` plus
    /// some room for multipart framing, so the services' own, more precise errors apply.
    pub max_body_bytes: u64,
}

impl Default for EdgeLimitsConfig {
    fn default() -> Self {
        Self {
            max_header_bytes: 32 * 1024,
            max_header_count: 100,
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Timeouts, in seconds, towards upstreams and clients. A timed-out upstream gets the client a
/// 504 with a JSON body (502 when the upstream cannot be reached at all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeTimeoutsConfig {
    /// Time to open a TCP connection to an upstream address; past it, the next healthy
    /// address is tried. At least 1.
    pub connect_secs: u64,
    /// Longest wait for the upstream between two reads (for the response head or the next
    /// piece of its body). At least 1.
    pub read_secs: u64,
    /// Longest wait to write to the upstream. At least 1.
    pub write_secs: u64,
    /// How long an idle connection to an upstream is kept for reuse. At least 1.
    pub upstream_idle_secs: u64,
    /// Longest wait for a client between two reads of its request (head or body). At least 1.
    pub client_read_secs: u64,
    /// Longest wait to write to a client. At least 1.
    pub client_write_secs: u64,
    /// How long an idle client connection is kept open for its next request. At least 1.
    pub client_keepalive_secs: u64,
    /// Longest silence in either direction of a WebSocket connection before the edge closes it;
    /// `read_secs` and `client_read_secs` do not apply to WebSockets. 0 means never. Keep it
    /// well above the gateway's heartbeat interval (41.25 s).
    pub websocket_idle_secs: u64,
}

impl Default for EdgeTimeoutsConfig {
    fn default() -> Self {
        Self {
            connect_secs: 5,
            read_secs: 60,
            write_secs: 60,
            upstream_idle_secs: 60,
            client_read_secs: 60,
            client_write_secs: 60,
            client_keepalive_secs: 75,
            websocket_idle_secs: 300,
        }
    }
}

/// The problems of the access log, `edge.limits`, `edge.timeouts` and the upgrade settings.
pub(crate) fn problems(e: &crate::EdgeConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut fail = |key: &str, message: String| out.push((key.to_owned(), message));
    if e.access_log.trim().is_empty() {
        fail(
            "edge.access_log",
            "must be `off`, `stdout` or a file path".into(),
        );
    }
    let l = &e.limits;
    if !(1024..=PINGORA_MAX_HEADER_BYTES).contains(&l.max_header_bytes) {
        fail(
            "edge.limits.max_header_bytes",
            format!(
                "must be 1024 to {PINGORA_MAX_HEADER_BYTES}, got {}",
                l.max_header_bytes
            ),
        );
    }
    if !(1..=PINGORA_MAX_HEADERS).contains(&l.max_header_count) {
        fail(
            "edge.limits.max_header_count",
            format!(
                "must be 1 to {PINGORA_MAX_HEADERS}, got {}",
                l.max_header_count
            ),
        );
    }
    let t = &e.timeouts;
    for (name, value) in [
        ("connect_secs", t.connect_secs),
        ("read_secs", t.read_secs),
        ("write_secs", t.write_secs),
        ("upstream_idle_secs", t.upstream_idle_secs),
        ("client_read_secs", t.client_read_secs),
        ("client_write_secs", t.client_write_secs),
        ("client_keepalive_secs", t.client_keepalive_secs),
    ] {
        if value == 0 {
            fail(
                &format!("edge.timeouts.{name}"),
                "must be at least 1, got 0".into(),
            );
        }
    }
    // Unix socket paths are limited to 107 bytes.
    if e.upgrade_sock.is_empty() || e.upgrade_sock.len() > 107 {
        fail(
            "edge.upgrade_sock",
            format!(
                "must be a path of 1 to 107 bytes, got {} bytes",
                e.upgrade_sock.len()
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn keys(c: &Config) -> Vec<String> {
        super::problems(&c.edge)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert!(keys(&Config::default()).is_empty());
    }

    #[test]
    fn out_of_range_limits_zero_timeouts_and_bad_paths_are_reported() {
        let mut c = Config::default();
        c.edge.access_log = " ".into();
        c.edge.limits.max_header_bytes = 2_000_000;
        c.edge.limits.max_header_count = 257;
        c.edge.timeouts.read_secs = 0;
        c.edge.timeouts.websocket_idle_secs = 0;
        c.edge.upgrade_sock = "x".repeat(200);
        assert_eq!(
            keys(&c),
            [
                "edge.access_log",
                "edge.limits.max_header_bytes",
                "edge.limits.max_header_count",
                "edge.timeouts.read_secs",
                "edge.upgrade_sock",
            ]
        );
    }

    #[test]
    fn the_access_log_format_loads_from_toml() {
        use figment::Figment;
        use figment::providers::{Format, Serialized, Toml};
        let figment = Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(
            "[edge]\naccess_log = \"stdout\"\naccess_log_format = \"json\"\n\
             [edge.limits]\nmax_body_bytes = 0\n",
        ));
        let c = Config::from_figment(figment).unwrap();
        assert_eq!(c.edge.access_log, "stdout");
        assert_eq!(c.edge.access_log_format, super::AccessLogFormat::Json);
        assert_eq!(c.edge.limits.max_body_bytes, 0);
    }
}
