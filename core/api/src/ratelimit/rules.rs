//! Which limits a request is charged against: its route bucket (per route template, major
//! parameter and caller), the caller's global limit, and the instance-wide shared limits.

use accord_config::{Quota, RateLimitsConfig, parse_route};

use super::counters::Limit;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An account (`bot` for bot accounts).
    Account {
        /// The account's id.
        id: u64,
        /// Whether it is a bot.
        bot: bool,
    },
    /// A request without a valid token, by client address.
    Address(String),
}

impl Caller {
    fn key(&self) -> String {
        match self {
            Caller::Account { id, .. } => format!("u{id}"),
            Caller::Address(ip) => format!("ip{ip}"),
        }
    }
}

/// Why a limit exists, which decides the 429's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The caller's bucket on this route (`user`).
    Route,
    /// The caller's global limit (`global`).
    Global,
    /// A limit shared by every caller (`shared`), with its JSON error code.
    Shared(u32),
}

/// The limits of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The opaque bucket id for `X-RateLimit-Bucket`.
    pub bucket: String,
    /// Requests per window of the route bucket (`X-RateLimit-Limit`); 0 when unlimited.
    pub route_limit: u32,
    /// The limits to charge, with why each exists. The route bucket, when limited, is first.
    pub limits: Vec<(Kind, Limit)>,
}

struct Route {
    methods: Vec<String>,
    path: String,
    prefix: bool,
    quota: Quota,
    bucket: String,
}

impl Route {
    fn matches(&self, method: &str, template: &str) -> bool {
        let method_ok = self.methods.iter().any(|m| m == "*" || m == method);
        let path_ok = if self.prefix {
            template
                .strip_prefix(self.path.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        } else {
            template == self.path
        };
        method_ok && path_ok
    }
}

/// The configured limits, ready to match requests.
pub struct Rules {
    routes: Vec<Route>,
    config: RateLimitsConfig,
}

impl Rules {
    /// Compiles `[rate_limits]` (invalid route entries, already rejected by validation, are
    /// skipped).
    pub fn new(config: &RateLimitsConfig) -> Self {
        let routes = config
            .routes
            .iter()
            .filter_map(|r| {
                let (methods, path) = parse_route(&r.route).ok()?;
                let (path, prefix) = match path.strip_suffix("/*") {
                    Some(p) => (p.to_owned(), true),
                    None => (path, false),
                };
                Some(Route {
                    methods,
                    path,
                    prefix,
                    quota: Quota::new(r.requests, r.window_ms),
                    bucket: bucket_id(&format!("route {}", r.route)),
                })
            })
            .collect();
        Self {
            routes,
            config: config.clone(),
        }
    }

    /// The limits of `method` on the route `template` (without the `/api/vN` prefix, `None` for
    /// an unknown route) with path parameters `params`, called by `caller`.
    pub fn plan(
        &self,
        method: &str,
        template: Option<&str>,
        params: &[(&str, &str)],
        caller: &Caller,
    ) -> Plan {
        let template_id = template.unwrap_or("?");
        let (bucket, quota) = match self
            .routes
            .iter()
            .find(|r| template.is_some_and(|t| r.matches(method, t)))
        {
            Some(r) => (r.bucket.clone(), r.quota.clone()),
            None => (
                bucket_id(&format!("{method} {template_id}")),
                self.config.default_route.clone(),
            ),
        };
        let who = caller.key();
        let param = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let major = if let Some(c) = param("channel_id") {
            format!("c{c}")
        } else if let Some(g) = param("guild_id") {
            format!("g{g}")
        } else if let Some(w) = param("webhook_id") {
            format!("w{w}:{}", bucket_id(param("webhook_token").unwrap_or("")))
        } else {
            "-".to_owned()
        };
        let mut limits = Vec::new();
        if quota.requests > 0 {
            limits.push((
                Kind::Route,
                Limit::new(
                    format!("r:{bucket}:{major}:{who}"),
                    quota.requests,
                    quota.window_ms,
                ),
            ));
        }
        let global = match caller {
            Caller::Account { bot: true, .. } => &self.config.global_bot,
            _ => &self.config.global_user,
        };
        if global.requests > 0 {
            limits.push((
                Kind::Global,
                Limit::new(format!("g:{who}"), global.requests, global.window_ms),
            ));
        }
        let shared = |q: &Quota, key: String, code: u32| {
            (q.requests > 0).then(|| (Kind::Shared(code), Limit::new(key, q.requests, q.window_ms)))
        };
        match (method, template) {
            ("POST", Some("/auth/register")) => {
                limits.extend(shared(
                    &self.config.registrations,
                    "s:register".into(),
                    40062,
                ));
            }
            ("POST", Some("/channels/{channel_id}/messages")) => {
                if let Some(channel) = param("channel_id") {
                    limits.extend(shared(
                        &self.config.messages_per_channel,
                        format!("s:messages:{channel}"),
                        20028,
                    ));
                }
            }
            _ => {}
        }
        Plan {
            bucket,
            route_limit: quota.requests,
            limits,
        }
    }
}

/// An opaque, stable id (the same in every process): 64-bit FNV-1a in hex.
pub fn bucket_id(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The route template without its `/api`, `/api/v9` or `/api/v10` prefix; `None` outside `/api`.
pub fn strip_api_prefix(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api")?;
    if rest.is_empty() || rest.starts_with('/') {
        for version in ["/v10", "/v9"] {
            if let Some(r) = rest.strip_prefix(version)
                && (r.is_empty() || r.starts_with('/'))
            {
                return Some(r);
            }
        }
        return Some(rest);
    }
    None
}

/// The path parameters of `path` matched against `template` (`{name}` segments).
pub fn params<'a>(template: &'a str, path: &'a str) -> Vec<(&'a str, &'a str)> {
    template
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(t, p)| {
            let name = t.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.trim_start_matches('*'), p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_major_parameter() {
        let rules = Rules::new(&RateLimitsConfig::default());
        let me = Caller::Account { id: 7, bot: true };
        let t = "/channels/{channel_id}/messages";
        let a = rules.plan("POST", Some(t), &[("channel_id", "1")], &me);
        let b = rules.plan("POST", Some(t), &[("channel_id", "2")], &me);
        assert_eq!(a.bucket, b.bucket);
        assert_eq!(a.route_limit, 5);
        assert_ne!(a.limits[0].1.key, b.limits[0].1.key);
        assert_eq!(a.limits[1].0, Kind::Global);
        assert_eq!(a.limits[2].0, Kind::Shared(20028));
        let r = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me";
        let put = rules.plan("PUT", Some(r), &[("channel_id", "1")], &me);
        assert_eq!(put.route_limit, 1);
        assert_eq!(put.limits[0].1.emission_us, 250_000);
        let get = rules.plan("GET", Some(r), &[("channel_id", "1")], &me);
        assert_eq!(get.route_limit, 20);
        assert_ne!(get.bucket, put.bucket);
    }

    #[test]
    fn prefixes_and_params() {
        assert_eq!(strip_api_prefix("/api/v10/users/@me"), Some("/users/@me"));
        assert_eq!(strip_api_prefix("/api/v9/users/@me"), Some("/users/@me"));
        assert_eq!(strip_api_prefix("/api/users/@me"), Some("/users/@me"));
        assert_eq!(strip_api_prefix("/apix"), None);
        assert_eq!(strip_api_prefix("/healthz"), None);
        assert_eq!(
            params(
                "/api/v10/guilds/{guild_id}/roles/{role_id}",
                "/api/v10/guilds/5/roles/6"
            ),
            vec![("guild_id", "5"), ("role_id", "6")]
        );
    }
}
