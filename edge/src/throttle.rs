//! Throttling (`edge.throttle`): rules matching a path prefix (with an optional API version
//! segment) and methods, counting per user (read from the token without checking it), per
//! client address or instance-wide, charged together on [`Counters`]; a refused request gets a
//! 429 with Discord's rate-limit headers and body.

use std::net::IpAddr;

use accord_config::{EdgeThrottleConfig, RateLimitBackend, ThrottleKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::counters::{self, Check, Counters, MemoryCounters, RedisCounters};

/// The JSON body message of a 429, as Discord words it.
pub const MESSAGE: &str = "You are being rate limited.";

/// One rule, ready to match.
#[derive(Debug)]
struct Rule {
    name: String,
    /// The path prefix's segments (without the leading `/`).
    segments: Vec<String>,
    /// Upper-case methods; empty for all.
    methods: Vec<String>,
    key: ThrottleKey,
    limit: u32,
    window_secs: u64,
}

/// The throttle: rules and the counters they are charged on.
pub struct Throttle {
    rules: Vec<Rule>,
    counters: Box<dyn Counters>,
}

/// Why a request was refused: the rule to wait longest for.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The rule's name.
    pub rule: String,
    /// What the rule counts by.
    pub key: ThrottleKey,
    /// The rule's limit.
    pub limit: u32,
    /// The rule's counter.
    pub check: Check,
    /// The counters' clock (µs since the Unix epoch).
    pub now_us: u64,
}

/// The user id in an `Authorization` value (`<token>`, `Bot <token>` or `Bearer <token>`): the
/// token's first dot-separated part is the id in base64 (either alphabet, padding optional).
/// The token is not checked: the id only chooses a counter.
pub fn user_id(authorization: &str) -> Option<u64> {
    let token = authorization.trim();
    let token = token
        .strip_prefix("Bot ")
        .or_else(|| token.strip_prefix("Bearer "))
        .unwrap_or(token)
        .trim();
    let (first, _) = token.split_once('.')?;
    let normalized: String = first
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = URL_SAFE_NO_PAD.decode(normalized).ok()?;
    if bytes.is_empty() || bytes.len() > 20 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

/// Whether `path` starts with the pattern `segments`: whole segments, except the last which is
/// a string prefix; a `v*` segment matches a version segment (`v` and digits) or none.
fn matches(pattern: &[String], path: &[&str]) -> bool {
    let Some((first, rest)) = pattern.split_first() else {
        return true;
    };
    if first == "v*" {
        let version = path.first().is_some_and(|s| {
            s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
        });
        return (version && matches(rest, &path[1..])) || matches(rest, path);
    }
    let Some((segment, path_rest)) = path.split_first() else {
        return false;
    };
    if rest.is_empty() {
        segment.starts_with(first.as_str())
    } else {
        segment == first && matches(rest, path_rest)
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.strip_prefix('/').unwrap_or(path).split('/').collect()
}

impl Throttle {
    /// The throttle of `edge.throttle`, or `None` when it is off or has no rules.
    pub fn from_config(config: &EdgeThrottleConfig) -> anyhow::Result<Option<Self>> {
        if !config.enabled || config.rules.is_empty() {
            return Ok(None);
        }
        let counters: Box<dyn Counters> = match config.backend {
            RateLimitBackend::Memory => Box::new(MemoryCounters::new()),
            RateLimitBackend::Redis => {
                Box::new(RedisCounters::new(&config.redis_url, &config.redis_prefix)?)
            }
        };
        let rules = config
            .rules
            .iter()
            .map(|r| Rule {
                name: r.name.clone(),
                segments: segments(&r.path_prefix)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                methods: r.methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
                key: r.key,
                limit: r.limit,
                window_secs: r.window_secs,
            })
            .collect();
        Ok(Some(Self { rules, counters }))
    }

    /// Charges a request on every matching rule; `Some` when one refuses it. A counter backend
    /// that fails lets the request through (logged).
    pub async fn check(
        &self,
        method: &str,
        path: &str,
        client: IpAddr,
        authorization: Option<&str>,
    ) -> Option<Refusal> {
        let path = segments(path);
        let user = authorization.and_then(user_id);
        let mut rules = Vec::new();
        let mut limits = Vec::new();
        for rule in &self.rules {
            let method_ok = rule.methods.is_empty() || rule.methods.iter().any(|m| m == method);
            if !method_ok || !matches(&rule.segments, &path) {
                continue;
            }
            let key = match rule.key {
                ThrottleKey::Global => format!("{}:global", rule.name),
                ThrottleKey::Ip => format!("{}:ip:{client}", rule.name),
                ThrottleKey::User => match user {
                    Some(id) => format!("{}:user:{id}", rule.name),
                    None => continue,
                },
            };
            limits.push(counters::limit(key, rule.limit, rule.window_secs));
            rules.push(rule);
        }
        if limits.is_empty() {
            return None;
        }
        let verdict = match self.counters.acquire(&limits).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("edge: throttle counters unavailable, request let through: {e}");
                return None;
            }
        };
        if verdict.allowed {
            return None;
        }
        let (rule, check) = rules
            .iter()
            .zip(&verdict.checks)
            .filter(|(_, c)| c.retry_after_us > 0)
            .max_by_key(|(_, c)| c.retry_after_us)?;
        Some(Refusal {
            rule: rule.name.clone(),
            key: rule.key,
            limit: rule.limit,
            check: *check,
            now_us: verdict.now_us,
        })
    }

    /// Forgets counters that are full again.
    pub fn sweep(&self) {
        self.counters.sweep();
    }
}

/// Seconds with millisecond precision, as Discord writes them.
fn seconds(us: u64) -> String {
    format!("{:.3}", us as f64 / 1_000_000.0)
}

impl Refusal {
    fn global(&self) -> bool {
        self.key == ThrottleKey::Global
    }

    /// The 429's headers (besides `Content-Type` and `Content-Length`).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let c = &self.check;
        let mut out = vec![
            (
                "retry-after",
                c.retry_after_us.div_ceil(1_000_000).max(1).to_string(),
            ),
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", c.remaining.to_string()),
            ("x-ratelimit-reset", seconds(self.now_us + c.reset_after_us)),
            ("x-ratelimit-reset-after", seconds(c.reset_after_us)),
            ("x-ratelimit-bucket", self.rule.clone()),
            (
                "x-ratelimit-scope",
                if self.global() { "global" } else { "user" }.to_owned(),
            ),
            ("via", "1.1 accord".to_owned()),
        ];
        if self.global() {
            out.push(("x-ratelimit-global", "true".to_owned()));
        }
        out
    }

    /// The 429's JSON body: `{message, retry_after, global}` (seconds, millisecond precision).
    pub fn body(&self) -> String {
        let retry_after = (self.check.retry_after_us as f64 / 1_000.0).ceil() / 1_000.0;
        serde_json::json!({
            "message": MESSAGE,
            "retry_after": retry_after,
            "global": self.global(),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> Vec<String> {
        segments(p).into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn prefixes_match_whole_segments_and_an_optional_version() {
        let login = pattern("/api/v*/auth/login");
        for path in [
            "/api/v9/auth/login",
            "/api/v10/auth/login",
            "/api/auth/login",
        ] {
            assert!(matches(&login, &segments(path)), "{path}");
        }
        for path in [
            "/api/v9/auth/logout",
            "/api/vx/auth/login",
            "/apix/v9/auth/login",
            "/api",
        ] {
            assert!(!matches(&login, &segments(path)), "{path}");
        }
        assert!(matches(&pattern("/"), &segments("/anything/at/all")));
        assert!(matches(&pattern("/attach"), &segments("/attachments/1")));
    }

    #[test]
    fn user_ids_are_read_from_the_first_part_of_the_token() {
        let id = URL_SAFE_NO_PAD.encode("175928847299117063");
        assert_eq!(user_id(&format!("{id}.x.y")), Some(175_928_847_299_117_063));
        assert_eq!(
            user_id(&format!("Bot {id}.x.y")),
            Some(175_928_847_299_117_063)
        );
        // Discord's own tokens use the standard alphabet with padding.
        let padded = base64::engine::general_purpose::STANDARD.encode("12345");
        assert!(padded.ends_with('='));
        assert_eq!(user_id(&format!("{padded}.a.b")), Some(12345));
        assert_eq!(user_id("no-dots"), None);
        assert_eq!(
            user_id(&format!("{}.x.y", URL_SAFE_NO_PAD.encode("abc"))),
            None
        );
        assert_eq!(user_id("!!!.x.y"), None);
    }

    #[test]
    fn the_429_carries_discords_headers_and_body() {
        let refusal = Refusal {
            rule: "everyone".into(),
            key: ThrottleKey::Global,
            limit: 3,
            check: Check {
                remaining: 0,
                reset_after_us: 2_500_000,
                retry_after_us: 1_200_001,
            },
            now_us: 1_000_000_000_000,
        };
        let headers = refusal.headers();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("retry-after"), Some("2"));
        assert_eq!(get("x-ratelimit-reset-after"), Some("2.500"));
        assert_eq!(get("x-ratelimit-reset"), Some("1000002.500"));
        assert_eq!(get("x-ratelimit-global"), Some("true"));
        assert_eq!(get("x-ratelimit-scope"), Some("global"));
        let body: serde_json::Value = serde_json::from_str(&refusal.body()).unwrap();
        assert_eq!(body["retry_after"], 1.201);
        assert_eq!(body["global"], true);
        assert_eq!(body["message"], MESSAGE);
    }
}
