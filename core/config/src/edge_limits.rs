//! The edge's error-based blocking (`[edge.blocking]`), throttling (`[edge.throttle]`) and the
//! admin listener's settings, their defaults and their validation rules.
//!
//! Every field's `///` comment is copied into the generated sample file (`accord config sample`).

use serde::{Deserialize, Serialize};

use schemars::JsonSchema;

use crate::RateLimitBackend;
use crate::lenient;

/// Blocking of client addresses whose requests keep failing (Discord's rule: more than 10,000
/// invalid requests in 10 minutes). Every response the edge sends (the upstream's and the
/// edge's own 403, 404 and 429 answers) whose status is in `statuses` counts against the client
/// address; past `max_errors` within `window_secs` of the address's first counted error, the
/// address gets 403 with JSON code 40333 for `block_secs` and the upstream sees none of its
/// requests. Blocks are logged, listed at the admin listener's `GET /blocks`, can be lifted with
/// `DELETE /blocks/{address}`, and end by themselves. Counts are kept per edge process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeBlockingConfig {
    /// Block addresses at all.
    pub enabled: bool,
    /// Response statuses that count as errors.
    pub statuses: Vec<u16>,
    /// Errors allowed within `window_secs`; one more blocks the address. At least 1.
    pub max_errors: u64,
    /// Length of the counting window in seconds, from an address's first counted error. At
    /// least 1.
    pub window_secs: u64,
    /// How long a block lasts, in seconds. At least 1.
    pub block_secs: u64,
}

impl Default for EdgeBlockingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            statuses: vec![401, 403, 404, 429],
            max_errors: 10_000,
            window_secs: 600,
            block_secs: 3600,
        }
    }
}

/// Whose requests a throttle rule counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThrottleKey {
    /// All clients together: an instance-wide limit for the rule's paths (429s say
    /// `X-RateLimit-Global: true`).
    Global,
    /// Each client address on its own.
    Ip,
    /// Each user on its own, read from the `Authorization` token (its first part is the user
    /// id) without checking the token; requests without a readable token are not counted.
    User,
}

/// One throttle rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeThrottleRule {
    /// The rule's name: shown in `X-RateLimit-Bucket`, the logs and the metrics.
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    /// Path prefix the rule applies to, starting with `/`. A segment `v*` stands for an API
    /// version segment (`v9`, `v10`) or none, so `/api/v*/auth/login` also takes
    /// `/api/auth/login`.
    #[serde(deserialize_with = "lenient::string")]
    pub path_prefix: String,
    /// HTTP methods the rule applies to (e.g. `["POST"]`); empty means every method.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub methods: Vec<String>,
    /// Whose requests are counted together: `global`, `ip` or `user`.
    pub key: ThrottleKey,
    /// Requests allowed per window. At least 1.
    pub limit: u32,
    /// The window in seconds. At least 1.
    pub window_secs: u64,
}

impl EdgeThrottleRule {
    fn new(name: &str, prefix: &str, methods: &[&str], key: ThrottleKey, limit: u32) -> Self {
        Self {
            name: name.into(),
            path_prefix: prefix.into(),
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            key,
            limit,
            window_secs: 1,
        }
    }
}

/// Throttling at the edge: requests past a rule's limit get 429 with Discord's rate-limit
/// headers (`Retry-After`, `X-RateLimit-*`, `Via`) and body, and never reach the upstream.
/// Limits are spread evenly over the window (a generic cell rate algorithm): the full `limit`
/// can be used at once, then one request comes back every `window_secs / limit` seconds. A
/// request is charged against every rule that matches it, or against none if one refuses it.
///
/// The default rules: `user` 50 requests per second per user (Discord's global limit for a
/// bot), `ip` 200 requests per second per client address, `register` 5 `POST`s per hour per
/// address to `/api/v*/auth/register`, and `login` 10 `POST`s per minute per address to
/// `/api/v*/auth/login`. Add `global` rules to cap an upstream as a whole, e.g.
/// `{ name = "uploads", path_prefix = "/attachments", key = "global", limit = 100,
/// window_secs = 1 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeThrottleConfig {
    /// Throttle at all.
    pub enabled: bool,
    /// Where counters live: `memory` (each edge process counts on its own) or `redis`
    /// (`redis_url`; every edge process using the same Redis and `redis_prefix` shares the
    /// counters and Redis's clock). When Redis cannot be reached, requests are let through and
    /// a warning is logged.
    pub backend: RateLimitBackend,
    /// Redis URL for the `redis` backend, e.g. `redis://127.0.0.1:6379`.
    #[serde(deserialize_with = "lenient::string")]
    pub redis_url: String,
    /// Prefix of every Redis key the edge writes.
    #[serde(deserialize_with = "lenient::string")]
    pub redis_prefix: String,
    /// The rules, each a table: `name`, `path_prefix`, `methods` (optional), `key` (`global`,
    /// `ip` or `user`), `limit` and `window_secs`. Setting this replaces the default rules.
    pub rules: Vec<EdgeThrottleRule>,
}

impl Default for EdgeThrottleConfig {
    fn default() -> Self {
        use ThrottleKey::{Ip, User};
        let mut register =
            EdgeThrottleRule::new("register", "/api/v*/auth/register", &["POST"], Ip, 5);
        register.window_secs = 3600;
        let mut login = EdgeThrottleRule::new("login", "/api/v*/auth/login", &["POST"], Ip, 10);
        login.window_secs = 60;
        Self {
            enabled: true,
            backend: RateLimitBackend::Memory,
            redis_url: String::new(),
            redis_prefix: "accord:edge:".into(),
            rules: vec![
                EdgeThrottleRule::new("user", "/", &[], User, 50),
                EdgeThrottleRule::new("ip", "/", &[], Ip, 200),
                register,
                login,
            ],
        }
    }
}

/// The problems of `edge.blocking`, `edge.throttle` and `edge.admin_*`, as (key, message).
pub(crate) fn problems(e: &crate::EdgeConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut fail = |key: &str, message: String| out.push((key.to_owned(), message));
    let b = &e.blocking;
    for (name, value) in [
        ("max_errors", b.max_errors),
        ("window_secs", b.window_secs),
        ("block_secs", b.block_secs),
    ] {
        if value == 0 {
            fail(
                &format!("edge.blocking.{name}"),
                "must be at least 1, got 0".into(),
            );
        }
    }
    if let Some(s) = b.statuses.iter().find(|s| !(100..=599).contains(*s)) {
        fail(
            "edge.blocking.statuses",
            format!("`{s}` is not an HTTP status"),
        );
    }
    if e.admin_listen == e.listen {
        fail("edge.admin_listen", "must differ from edge.listen".into());
    }
    if e.admin_token.chars().any(char::is_whitespace) {
        fail("edge.admin_token", "must not contain spaces".into());
    }
    let t = &e.throttle;
    if t.enabled && t.backend == RateLimitBackend::Redis && t.redis_url.trim().is_empty() {
        fail(
            "edge.throttle.redis_url",
            "the redis backend needs a URL".into(),
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, rule) in t.rules.iter().enumerate() {
        let key = |field: &str| format!("edge.throttle.rules.{i}.{field}");
        if rule.name.trim().is_empty() || !names.insert(rule.name.as_str()) {
            fail(
                &key("name"),
                format!("must be non-empty and unique, got `{}`", rule.name),
            );
        }
        if !rule.path_prefix.starts_with('/') {
            fail(
                &key("path_prefix"),
                format!("must start with `/`, got `{}`", rule.path_prefix),
            );
        }
        if rule.limit == 0 {
            fail(&key("limit"), "must be at least 1, got 0".into());
        }
        if rule.window_secs == 0 {
            fail(&key("window_secs"), "must be at least 1, got 0".into());
        }
        let bad_method = |m: &String| m.is_empty() || !m.bytes().all(|c| c.is_ascii_alphabetic());
        if let Some(m) = rule.methods.iter().find(|m| bad_method(m)) {
            fail(&key("methods"), format!("`{m}` is not an HTTP method"));
        }
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
    fn zero_limits_bad_statuses_and_clashing_admin_address_are_reported() {
        let mut c = Config::default();
        c.edge.blocking.window_secs = 0;
        c.edge.blocking.statuses = vec![404, 1000];
        c.edge.admin_listen = c.edge.listen;
        c.edge.throttle.backend = crate::RateLimitBackend::Redis;
        c.edge.throttle.rules[0].limit = 0;
        c.edge.throttle.rules[1].name = "user".into();
        c.edge.throttle.rules[2].path_prefix = "api".into();
        c.edge.throttle.rules[3].methods = vec!["PO ST".into()];
        c.edge.throttle.rules[3].window_secs = 0;
        assert_eq!(
            keys(&c),
            [
                "edge.blocking.window_secs",
                "edge.blocking.statuses",
                "edge.admin_listen",
                "edge.throttle.redis_url",
                "edge.throttle.rules.0.limit",
                "edge.throttle.rules.1.name",
                "edge.throttle.rules.2.path_prefix",
                "edge.throttle.rules.3.window_secs",
                "edge.throttle.rules.3.methods",
            ]
        );
    }

    #[test]
    fn unknown_key_kinds_are_refused_when_loading() {
        use figment::Figment;
        use figment::providers::{Format, Serialized, Toml};
        let load = |toml: &str| {
            let figment =
                Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml));
            Config::from_figment(figment)
        };
        let rule = "[edge.throttle]\nrules = [{ name = \"a\", path_prefix = \"/\", key = \"KIND\", \
                    limit = 1, window_secs = 1 }]\n";
        assert!(load(&rule.replace("KIND", "house")).is_err());
        let c = load(&rule.replace("KIND", "global")).unwrap();
        assert_eq!(c.edge.throttle.rules[0].key, super::ThrottleKey::Global);
        assert!(c.edge.throttle.rules[0].methods.is_empty());
    }
}
