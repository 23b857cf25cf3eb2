//! The `[rate_limits]` section: Discord-style REST rate limits (per route, global per caller, and
//! instance-wide shared limits), counted in process or in Redis.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lenient;

/// Where rate-limit counters live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitBackend {
    /// In this process's memory: each API process counts on its own.
    #[default]
    Memory,
    /// In Redis (`redis_url`): every API process shares the same counters and clock.
    Redis,
}

/// A number of requests allowed per window. Requests are spread evenly (a generic cell rate
/// algorithm): a full quota can be used at once, then one request comes back every
/// `window_ms / requests` milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Quota {
    /// Requests allowed per window. 0 turns this limit off.
    pub requests: u32,
    /// Length of the window in milliseconds. At least 1.
    pub window_ms: u64,
}

impl Quota {
    /// `requests` per `window_ms` milliseconds.
    pub const fn new(requests: u32, window_ms: u64) -> Self {
        Self {
            requests,
            window_ms,
        }
    }
}

impl Default for Quota {
    fn default() -> Self {
        Self::new(1, 1000)
    }
}

/// A per-route limit that replaces `default_route` for the routes it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RouteQuota {
    /// `METHOD /path`: one method, several joined by `|`, or `*` for any; the route template as in
    /// Discord's documentation without `/api/v10`, e.g. `POST /channels/{channel_id}/messages`.
    /// A path ending in `/*` matches every route below it. All routes one entry matches share
    /// one bucket (per major parameter and caller).
    #[serde(deserialize_with = "lenient::string")]
    pub route: String,
    /// Requests allowed per window. 0 means unlimited.
    pub requests: u32,
    /// Length of the window in milliseconds. At least 1.
    pub window_ms: u64,
}

impl Default for RouteQuota {
    fn default() -> Self {
        Self {
            route: String::new(),
            requests: 1,
            window_ms: 1000,
        }
    }
}

/// Discord-style REST rate limits. Every response carries `X-RateLimit-*` headers; a request
/// past a limit gets HTTP 429 and does nothing. Buckets are per route, per major parameter
/// (`channel_id`, `guild_id`, `webhook_id` + token) and per caller (the account behind the token,
/// or the client address without one). Accounts with the `BYPASS_RATE_LIMITS` right are exempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// Enforce rate limits. When off, no limit applies and no rate-limit headers are sent.
    pub enabled: bool,
    /// Where counters are kept. Use `redis` when several API processes serve the same
    /// instance, so that a limit holds across all of them.
    pub backend: RateLimitBackend,
    /// Redis URL for the `redis` backend, e.g. `redis://127.0.0.1:6379/0`. Required with it.
    /// If Redis cannot be reached, each process falls back to counting in memory.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"redis://127.0.0.1:6379/0")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key the rate limiter writes.
    #[serde(deserialize_with = "lenient::string")]
    pub redis_key_prefix: String,
    /// Seconds an account's instance rights (for `BYPASS_RATE_LIMITS`) are cached. They are
    /// only looked up when a request of that account would be refused. At least 1.
    pub rights_cache_secs: u64,
    /// Global limit of each bot, over all routes.
    pub global_bot: Quota,
    /// Global limit of each user account, and of each client address for requests without a
    /// token, over all routes.
    pub global_user: Quota,
    /// Per-route limit of routes that `routes` does not list, per route, major parameter and
    /// caller.
    pub default_route: Quota,
    /// Account registrations (`POST /auth/register`) allowed on the whole instance, all callers
    /// together (refused with scope `shared`).
    pub registrations: Quota,
    /// Messages that may be posted in one channel (`POST /channels/{channel_id}/messages`), all
    /// senders together (refused with scope `shared`).
    pub messages_per_channel: Quota,
    /// Per-route limits replacing `default_route`, first match wins.
    pub routes: Vec<RouteQuota>,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        let route = |route: &str, requests, window_ms| RouteQuota {
            route: route.into(),
            requests,
            window_ms,
        };
        Self {
            enabled: true,
            backend: RateLimitBackend::Memory,
            redis_url: None,
            redis_key_prefix: "accord:ratelimit:".into(),
            rights_cache_secs: 60,
            global_bot: Quota::new(50, 1000),
            global_user: Quota::new(50, 1000),
            default_route: Quota::new(20, 5000),
            registrations: Quota::new(10, 60_000),
            messages_per_channel: Quota::new(50, 5000),
            routes: vec![
                route("POST /channels/{channel_id}/messages", 5, 5000),
                route(
                    "PUT|DELETE /channels/{channel_id}/messages/{message_id}/reactions/*",
                    1,
                    250,
                ),
                route("POST /auth/register", 5, 60_000),
                route("POST /auth/login", 10, 60_000),
            ],
        }
    }
}

/// Problems in `[rate_limits]`, as (key, message).
pub(crate) fn problems(c: &RateLimitsConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut window = |key: &str, ms: u64| {
        if ms == 0 {
            out.push((
                format!("rate_limits.{key}.window_ms"),
                "must be at least 1, got 0".to_owned(),
            ));
        }
    };
    window("global_bot", c.global_bot.window_ms);
    window("global_user", c.global_user.window_ms);
    window("default_route", c.default_route.window_ms);
    window("registrations", c.registrations.window_ms);
    window("messages_per_channel", c.messages_per_channel.window_ms);
    for r in &c.routes {
        if r.window_ms == 0 {
            out.push((
                "rate_limits.routes".into(),
                format!("`{}`: window_ms must be at least 1, got 0", r.route),
            ));
        }
        if let Err(e) = parse_route(&r.route) {
            out.push(("rate_limits.routes".into(), format!("`{}`: {e}", r.route)));
        }
    }
    if c.rights_cache_secs == 0 {
        out.push((
            "rate_limits.rights_cache_secs".into(),
            "must be at least 1, got 0".into(),
        ));
    }
    if c.backend == RateLimitBackend::Redis {
        match c.redis_url.as_deref() {
            None => out.push((
                "rate_limits.redis_url".into(),
                "is required when rate_limits.backend = \"redis\"".into(),
            )),
            Some(url) if !url.starts_with("redis://") && !url.starts_with("unix://") => out.push((
                "rate_limits.redis_url".into(),
                format!("must start with redis:// or unix://, got `{url}`"),
            )),
            Some(_) => {}
        }
    }
    out
}

/// Splits `METHOD[|METHOD...] /path` into upper-case methods (`*` = any) and the path.
pub fn parse_route(route: &str) -> Result<(Vec<String>, String), String> {
    let (methods, path) = route
        .trim()
        .split_once(' ')
        .ok_or("must be `METHOD /path`, e.g. `POST /channels/{channel_id}/messages`")?;
    let path = path.trim();
    if !path.starts_with('/') {
        return Err("the path must start with `/`".into());
    }
    let methods: Vec<String> = methods.split('|').map(str::to_ascii_uppercase).collect();
    for m in &methods {
        let known = [
            "*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
        ];
        if !known.contains(&m.as_str()) {
            return Err(format!("unknown method `{m}`"));
        }
    }
    Ok((methods, path.to_owned()))
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Serialized, Toml};

    use crate::{Config, RateLimitBackend};

    fn load(toml: &str) -> Result<Config, String> {
        Config::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_overrides() {
        let c = Config::default().rate_limits;
        assert!(c.enabled);
        assert_eq!(c.backend, RateLimitBackend::Memory);
        assert_eq!((c.global_bot.requests, c.global_bot.window_ms), (50, 1000));
        let c = load(
            "[rate_limits]\nbackend = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\n\
             routes = [{ route = \"GET|PATCH /guilds/{guild_id}\", requests = 2, window_ms = 10 }]\n\
             [rate_limits.global_user]\nrequests = 0",
        )
        .unwrap()
        .rate_limits;
        assert_eq!(c.backend, RateLimitBackend::Redis);
        assert_eq!(c.routes.len(), 1);
        assert_eq!(c.global_user.requests, 0);
        assert_eq!(c.global_user.window_ms, 1000);
    }

    #[test]
    fn rules_name_their_key() {
        let cases = [
            (
                "[rate_limits]\nbackend = \"redis\"",
                "rate_limits.redis_url: is required",
            ),
            (
                "[rate_limits]\nredis_url = \"http://x\"\nbackend = \"redis\"",
                "rate_limits.redis_url: must start with redis://",
            ),
            (
                "[rate_limits.global_bot]\nwindow_ms = 0",
                "rate_limits.global_bot.window_ms: must be at least 1",
            ),
            (
                "[rate_limits]\nroutes = [{ route = \"FETCH /x\" }]",
                "rate_limits.routes: `FETCH /x`: unknown method `FETCH`",
            ),
            (
                "[rate_limits]\nroutes = [{ route = \"/x\" }]",
                "rate_limits.routes: `/x`: must be `METHOD /path`",
            ),
            (
                "[rate_limits]\nrights_cache_secs = 0",
                "rate_limits.rights_cache_secs: must be at least 1",
            ),
        ];
        for (toml, expected) in cases {
            let msg = load(toml).unwrap_err();
            assert!(msg.starts_with(expected), "{toml}: {msg}");
        }
    }
}
