//! The `[edge]` section: the edge proxy (routes, upstreams, health checks, IP filter), its
//! defaults and its validation rules.
//!
//! Every field's `///` comment is copied into the generated sample file (`accord config sample`),
//! so it is written for the person running the server, not for the programmer.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::edge_limits::{EdgeBlockingConfig, EdgeThrottleConfig};
use crate::edge_ops::{AccessLogFormat, EdgeLimitsConfig, EdgeTimeoutsConfig};
use crate::edge_tls::EdgeTlsConfig;
use crate::lenient;
use crate::validate::IpNet;

/// Names of the upstreams the edge always knows: Accord's own REST API, gateway and CDN at their
/// `listen` addresses (an unspecified address such as `0.0.0.0` is reached on the loopback).
pub const BUILT_IN_UPSTREAMS: [&str; 3] = ["api", "gateway", "cdn"];

/// The edge proxy: one public HTTP port in front of Accord's REST API, gateway and CDN, or of any
/// other HTTP/WebSocket backend. It routes requests by host and path prefix to upstreams (several
/// addresses each, round-robin among those passing a TCP health check), refuses client addresses
/// with an IP allow/deny list (403, JSON code 40333, the upstream never sees the request), and
/// adds `X-Forwarded-For` and `X-Forwarded-Proto` to what it forwards. WebSocket upgrades pass
/// through.
///
/// Run it alone with `accord edge`, or set `enabled = true` to run it in front of the services
/// of the default `accord` command. Behind the edge, set `api.public_url`, `cdn.public_url` and
/// `gateway.public_url` to the edge's public address (e.g. `ws://chat.example.com:3000/gateway`
/// for the gateway), and list the edge's address in `security.trusted_proxies` so the services
/// believe the client addresses it forwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeConfig {
    /// Run the edge in front of the services started by the default `accord` command (API,
    /// gateway and CDN in one process). `accord edge` runs the edge whatever this says.
    pub enabled: bool,
    /// Address and port the edge listens on (plain HTTP). Pick a port no service listens on.
    #[serde(deserialize_with = "lenient::socket_addr")]
    pub listen: SocketAddr,
    /// Worker threads of each of the edge's listeners (like nginx's `worker_processes`): the
    /// plain listener and, when on, the HTTPS listener each run this many. `0` means one per
    /// CPU.
    pub threads: u32,
    /// After the configured `routes`, route to Accord's own services (upstreams `api`, `gateway`
    /// and `cdn`): `/api` to the REST API; `/gateway`, and WebSocket upgrade requests for any
    /// other path (clients open the gateway URL at `/?v=10`), to the gateway; the CDN's paths
    /// (`/attachments/`, `/avatars/`, `/icons/`, `/emojis/`, `/stickers/`, `/banners/`,
    /// `/splashes/`, `/discovery-splashes/`, `/role-icons/`, `/app-icons/`, `/channel-icons/`,
    /// `/guilds/`, `/embed/`, `/team-icons/`) to the CDN. Turn it off when the edge fronts only
    /// other backends.
    pub accord_routes: bool,
    /// Seconds between TCP health checks of every upstream address. An address that refuses
    /// connections gets no requests until it accepts them again. At least 1.
    pub health_check_secs: u64,
    /// Expect the PROXY protocol (v1 or v2, as sent by HAProxy or a cloud load balancer) at the
    /// start of every connection: its source address then stands for the connection's (IP
    /// filter, `X-Forwarded-For`), and a connection without a valid header is closed. Turn on
    /// only when every client reaches `listen` through such a load balancer.
    pub proxy_protocol: bool,
    /// Which client addresses may use the edge.
    pub ip_filter: EdgeIpFilterConfig,
    /// Routes, tried before Accord's own (see `accord_routes`). A request goes to the route with
    /// the longest `path_prefix` among those whose `host` matches; a route without `host`
    /// matches every host. Each entry is a table: `host` (optional, compared without the port
    /// and ignoring case), `path_prefix` (starts with `/`; `/` matches everything),
    /// `upstream` (a name from `[edge.upstreams]`, or `api`, `gateway`, `cdn`) and
    /// `websocket_only` (optional, match only WebSocket upgrade requests), e.g.
    /// `routes = [{ host = "app.example.com", path_prefix = "/", upstream = "app" }]`.
    pub routes: Vec<EdgeRoute>,
    /// Named upstreams: name = list of `IP:port` addresses, e.g. `app = ["127.0.0.1:8080",
    /// "127.0.0.1:8081"]`. Requests are spread round-robin over the healthy addresses. The names
    /// `api`, `gateway` and `cdn` refer to Accord's own services unless defined here (define
    /// them to spread over several processes).
    #[serde(deserialize_with = "upstream_map")]
    pub upstreams: BTreeMap<String, Vec<String>>,
    /// Address of the edge's admin listener (plain HTTP): `GET /blocks` lists the blocked
    /// addresses, `DELETE /blocks/{address}` lifts a block, `GET /metrics` serves the edge's
    /// Prometheus metrics. Keep it on the loopback (or a private network): it is not meant for
    /// the internet, even with `admin_token`.
    #[serde(deserialize_with = "lenient::socket_addr")]
    pub admin_listen: SocketAddr,
    /// When set, admin requests need `Authorization: Bearer <admin_token>` (others get 401).
    #[serde(deserialize_with = "lenient::string")]
    pub admin_token: String,
    /// Blocking of client addresses whose requests keep failing (Discord's rule: more than
    /// 10,000 invalid requests in 10 minutes). Responses with a status in `statuses` (the
    /// upstream's and the edge's own) count; more than `max_errors` within `window_secs` of an
    /// address's first counted error block it for `block_secs`: 403 with JSON code 40333, the
    /// upstream sees nothing. Blocks are logged, listed and lifted at the admin listener, end
    /// by themselves, and are kept per edge process.
    pub blocking: EdgeBlockingConfig,
    /// Request rate limits per user, per client address and instance-wide: past a rule's limit
    /// a request gets 429 with Discord's rate-limit headers and body and never reaches the
    /// upstream. Each rule counts `limit` requests per `window_secs` (spread evenly: the whole
    /// `limit` at once, then one more every `window_secs / limit` seconds); a request is charged
    /// on every rule it matches, or on none if one refuses it. Default rules: 50/s per user,
    /// 200/s per client address, 5 registrations per address per hour and 10 logins per address
    /// per minute. `key = "user"` reads the user id from the token without checking it (it only
    /// chooses the counter); `key = "global"` counts all clients together.
    pub throttle: EdgeThrottleConfig,
    /// Where to write one line per request (client address, method, path, status, body bytes
    /// sent, upstream and its address, duration, user agent): `off`, `stdout`, or a file path
    /// (appended to, created if missing). Lines are written by a thread of their own and never
    /// slow a request down; if the writer falls behind by more than 65,536 lines, further lines
    /// are dropped and counted in the metric `edge_access_log_dropped_total`.
    #[serde(deserialize_with = "lenient::string")]
    pub access_log: String,
    /// Format of the access log: `combined` (nginx's, plus upstream, address and duration) or
    /// `json` (one object per line).
    pub access_log_format: AccessLogFormat,
    /// Limits on request heads and bodies.
    pub limits: EdgeLimitsConfig,
    /// Timeouts towards upstreams and clients.
    pub timeouts: EdgeTimeoutsConfig,
    /// Unix socket through which `accord edge --upgrade` receives the listening socket from
    /// the running edge (zero-downtime upgrade, see the README). Both processes must use the
    /// same path, writable by both.
    #[serde(deserialize_with = "lenient::string")]
    pub upgrade_sock: String,
    /// After handing its listening socket to a new process (on SIGQUIT), the old edge keeps
    /// accepting for 5 seconds, then stops accepting and gives the requests and WebSocket
    /// connections it still has this many seconds before it exits.
    pub drain_secs: u64,
    /// HTTPS: certificates by host name (SNI) from files reloaded on change.
    pub tls: EdgeTlsConfig,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 3000)),
            threads: 0,
            accord_routes: true,
            health_check_secs: 5,
            proxy_protocol: false,
            ip_filter: EdgeIpFilterConfig::default(),
            routes: Vec::new(),
            upstreams: BTreeMap::new(),
            admin_listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 3010)),
            admin_token: String::new(),
            blocking: EdgeBlockingConfig::default(),
            throttle: EdgeThrottleConfig::default(),
            access_log: "off".into(),
            access_log_format: AccessLogFormat::default(),
            limits: EdgeLimitsConfig::default(),
            timeouts: EdgeTimeoutsConfig::default(),
            upgrade_sock: "/tmp/accord-edge-upgrade.sock".into(),
            drain_secs: 10,
            tls: EdgeTlsConfig::default(),
        }
    }
}

/// One route of the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeRoute {
    /// Host to match (the `Host` header without its port, ignoring case); unset matches any.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Path prefix to match, starting with `/`.
    #[serde(deserialize_with = "lenient::string")]
    pub path_prefix: String,
    /// Name of the upstream that serves the route.
    #[serde(deserialize_with = "lenient::string")]
    pub upstream: String,
    /// Match only WebSocket upgrade requests.
    #[serde(default)]
    pub websocket_only: bool,
}

impl EdgeRoute {
    #[cfg(test)]
    fn example() -> Self {
        Self {
            host: Some("app.example.com".into()),
            path_prefix: "/".into(),
            upstream: "app".into(),
            websocket_only: false,
        }
    }
}

/// Which client addresses may use the edge. The client address is the connection's, or, when
/// the connection comes from one of `security.trusted_proxies`, the right-most address of
/// `X-Forwarded-For` that is not a trusted proxy. A denied address gets 403 with JSON code 40333.
/// A deny entry always wins; when any allow entry exists (here or in `allow_files`), only
/// addresses it covers are let in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeIpFilterConfig {
    /// Addresses or CIDR ranges let in (when non-empty, all others are refused), e.g.
    /// `["10.0.0.0/8", "2001:db8::/32"]`.
    #[serde(deserialize_with = "lenient::string_list")]
    pub allow: Vec<String>,
    /// Addresses or CIDR ranges refused, e.g. `["203.0.113.0/24"]`.
    #[serde(deserialize_with = "lenient::string_list")]
    pub deny: Vec<String>,
    /// Files of further allow entries: one address or CIDR range per line, `#` starts a
    /// comment. Re-read within about a second of changing (the edge checks every second), no
    /// restart needed; a file that cannot be read or parsed keeps its previous entries.
    #[serde(deserialize_with = "lenient::string_list")]
    pub allow_files: Vec<String>,
    /// Files of further deny entries, in the same format and re-read the same way as
    /// `allow_files`.
    #[serde(deserialize_with = "lenient::string_list")]
    pub deny_files: Vec<String>,
}

/// The upstream table, each value a list of addresses or a comma-separated string (handy in
/// environment variables).
fn upstream_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    struct Addrs(Vec<String>);
    impl<'de> Deserialize<'de> for Addrs {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            lenient::string_list(d).map(Addrs)
        }
    }
    let map = BTreeMap::<String, Addrs>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// The problems of the `[edge]` section, as (key, message) pairs.
pub(crate) fn problems(c: &crate::Config) -> Vec<(String, String)> {
    let e = &c.edge;
    let mut out = Vec::new();
    let mut fail = |key: &str, message: String| out.push((key.to_owned(), message));
    if e.health_check_secs == 0 {
        fail("edge.health_check_secs", "must be at least 1, got 0".into());
    }
    let lists = [("allow", &e.ip_filter.allow), ("deny", &e.ip_filter.deny)];
    for (name, list) in lists {
        for entry in list {
            if let Err(err) = entry.parse::<IpNet>() {
                fail(
                    &format!("edge.ip_filter.{name}"),
                    format!("invalid entry `{entry}`: {err}"),
                );
            }
        }
    }
    let files = [
        ("allow_files", &e.ip_filter.allow_files),
        ("deny_files", &e.ip_filter.deny_files),
    ];
    for (name, list) in files {
        if list.iter().any(|f| f.trim().is_empty()) {
            fail(
                &format!("edge.ip_filter.{name}"),
                "file names must not be empty".into(),
            );
        }
    }
    for (name, addrs) in &e.upstreams {
        let key = format!("edge.upstreams.{name}");
        if addrs.is_empty() {
            fail(&key, "needs at least one address".into());
        }
        for addr in addrs {
            if addr.trim().parse::<SocketAddr>().is_err() {
                fail(
                    &key,
                    format!("`{addr}` is not an IP address with a port, e.g. `127.0.0.1:8080`"),
                );
            }
        }
    }
    for (i, route) in e.routes.iter().enumerate() {
        if !route.path_prefix.starts_with('/') {
            fail(
                &format!("edge.routes.{i}.path_prefix"),
                format!("must start with `/`, got `{}`", route.path_prefix),
            );
        }
        if route.host.as_deref().is_some_and(|h| h.trim().is_empty()) {
            fail(
                &format!("edge.routes.{i}.host"),
                "must not be empty (leave it unset to match any host)".into(),
            );
        }
        let known = e.upstreams.contains_key(&route.upstream)
            || BUILT_IN_UPSTREAMS.contains(&route.upstream.as_str());
        if !known {
            fail(
                &format!("edge.routes.{i}.upstream"),
                format!(
                    "unknown upstream `{}` (define it in [edge.upstreams], or use api, gateway \
                     or cdn)",
                    route.upstream
                ),
            );
        }
    }
    if e.enabled {
        let services = [
            ("api.listen", c.api.listen),
            ("gateway.listen", c.gateway.listen),
            ("cdn.listen", c.cdn.listen),
        ];
        for (key, addr) in services {
            if addr.port() == e.listen.port()
                && (addr.ip() == e.listen.ip()
                    || addr.ip().is_unspecified()
                    || e.listen.ip().is_unspecified())
            {
                fail(
                    "edge.listen",
                    format!("{} is also {key}: give the edge its own port", e.listen),
                );
            }
        }
    }
    out.extend(crate::edge_limits::problems(e));
    out.extend(crate::edge_ops::problems(e));
    out.extend(crate::edge_tls::problems(e));
    out.extend(crate::edge_acme::problems(e));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn keys(c: &Config) -> Vec<String> {
        problems(c).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn defaults_are_valid_and_the_edge_is_off() {
        let c = Config::default();
        assert!(!c.edge.enabled);
        assert!(keys(&c).is_empty());
    }

    #[test]
    fn bad_cidrs_unknown_upstreams_and_clashing_ports_are_reported() {
        let mut c = Config::default();
        c.edge.ip_filter.allow = vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()];
        c.edge.ip_filter.deny = vec!["::1".into(), "nope".into()];
        c.edge
            .upstreams
            .insert("app".into(), vec!["127.0.0.1:8080".into()]);
        c.edge
            .upstreams
            .insert("bad".into(), vec!["localhost:80".into()]);
        c.edge.upstreams.insert("none".into(), vec![]);
        c.edge.routes = vec![
            EdgeRoute::example(),
            EdgeRoute {
                host: None,
                path_prefix: "/x".into(),
                upstream: "api".into(),
                websocket_only: false,
            },
            EdgeRoute {
                host: Some(" ".into()),
                path_prefix: "x".into(),
                upstream: "missing".into(),
                websocket_only: false,
            },
        ];
        c.edge.health_check_secs = 0;
        assert_eq!(
            keys(&c),
            [
                "edge.health_check_secs",
                "edge.ip_filter.allow",
                "edge.ip_filter.deny",
                "edge.upstreams.bad",
                "edge.upstreams.none",
                "edge.routes.2.path_prefix",
                "edge.routes.2.host",
                "edge.routes.2.upstream",
            ]
        );
        let mut c = Config::default();
        c.edge.listen = "127.0.0.1:3001".parse().unwrap();
        assert!(keys(&c).is_empty(), "only checked when enabled");
        c.edge.enabled = true;
        assert_eq!(keys(&c), ["edge.listen"]);
        c.edge.listen = "0.0.0.0:3020".parse().unwrap();
        assert!(keys(&c).is_empty());
    }

    #[test]
    fn upstreams_accept_a_comma_separated_string() {
        use figment::Figment;
        use figment::providers::{Format, Serialized, Toml};
        let figment = Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(
            "[edge.upstreams]\napp = \"127.0.0.1:1, 127.0.0.1:2\"\nweb = [\"127.0.0.1:3\"]\n\
             [edge]\nroutes = [{ path_prefix = \"/\", upstream = \"app\" }]\n",
        ));
        let c = Config::from_figment(figment).unwrap();
        assert_eq!(c.edge.upstreams["app"], ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(c.edge.upstreams["web"], ["127.0.0.1:3"]);
        assert_eq!(c.edge.routes[0].host, None);
        assert!(!c.edge.routes[0].websocket_only);
    }
}
