//! The route table: configured routes first, then Accord's own (`edge.accord_routes`), matched
//! by host (exact, case-insensitive, port ignored) and the longest path prefix.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use accord_config::{Config, EdgeRoute};

/// The CDN's path prefixes, routed to the `cdn` upstream by Accord's own routes.
pub const CDN_PREFIXES: [&str; 14] = [
    "/attachments/",
    "/avatars/",
    "/icons/",
    "/emojis/",
    "/stickers/",
    "/banners/",
    "/splashes/",
    "/discovery-splashes/",
    "/role-icons/",
    "/app-icons/",
    "/channel-icons/",
    "/guilds/",
    "/embed/",
    "/team-icons/",
];

/// One route: which requests it takes and the upstream that serves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Lower-case host without port; `None` matches every host.
    pub host: Option<String>,
    /// Path prefix, starting with `/`.
    pub path_prefix: String,
    /// Name of the upstream (shared: each request's context holds it).
    pub upstream: Arc<str>,
    /// Whether only WebSocket upgrade requests match.
    pub websocket_only: bool,
}

impl Route {
    fn new(host: Option<&str>, prefix: &str, upstream: &str, websocket_only: bool) -> Self {
        Self {
            host: host.map(normalize_host),
            path_prefix: prefix.to_owned(),
            upstream: Arc::from(upstream),
            websocket_only,
        }
    }

    fn matches(&self, host: Option<&str>, path: &str, websocket: bool) -> bool {
        (!self.websocket_only || websocket)
            && path.starts_with(&self.path_prefix)
            && match &self.host {
                None => true,
                Some(want) => host.is_some_and(|h| h == want),
            }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}{} -> {}",
            self.host.as_deref().unwrap_or("*"),
            self.path_prefix,
            if self.websocket_only {
                " (WebSocket)"
            } else {
                ""
            },
            self.upstream
        )
    }
}

/// Lower-cases a `Host` value and strips its port (`Example.com:443` → `example.com`,
/// `[::1]:80` → `[::1]`).
pub fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let without_port = if host.starts_with('[') {
        host.find(']').map_or(host, |end| &host[..=end])
    } else if host.matches(':').count() == 1 {
        host.split_once(':').map_or(host, |(h, _)| h)
    } else {
        host
    };
    without_port.to_ascii_lowercase()
}

/// The routes in priority order: a request goes to the first group (configured, then Accord's
/// own) holding a match, and within it to the longest matching prefix.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    configured: Vec<Route>,
    defaults: Vec<Route>,
}

impl RouteTable {
    /// The routes of `config.edge`.
    pub fn from_config(config: &Config) -> Self {
        let configured = config.edge.routes.iter().map(from_config_route).collect();
        let defaults = if config.edge.accord_routes {
            accord_routes()
        } else {
            Vec::new()
        };
        Self {
            configured,
            defaults,
        }
    }

    /// A table of exactly these groups (for tests).
    pub fn new(configured: Vec<Route>, defaults: Vec<Route>) -> Self {
        Self {
            configured,
            defaults,
        }
    }

    /// The route for a request with `host` (raw `Host` value, port allowed), `path`, and
    /// whether it asks for a WebSocket upgrade.
    pub fn find(&self, host: Option<&str>, path: &str, websocket: bool) -> Option<&Route> {
        let host = host.map(normalize_host);
        [&self.configured, &self.defaults]
            .into_iter()
            .find_map(|group| {
                group
                    .iter()
                    .filter(|r| r.matches(host.as_deref(), path, websocket))
                    // Longest prefix; at equal length a host-specific or WebSocket-only route is the
                    // more specific one.
                    .max_by_key(|r| (r.path_prefix.len(), r.host.is_some(), r.websocket_only))
            })
    }

    /// Every route, in priority order of the groups.
    pub fn all(&self) -> impl Iterator<Item = &Route> {
        self.configured.iter().chain(&self.defaults)
    }

    /// Names of the upstreams the routes use.
    pub fn upstream_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.all().map(|r| &*r.upstream).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

fn from_config_route(r: &EdgeRoute) -> Route {
    Route::new(
        r.host.as_deref(),
        &r.path_prefix,
        &r.upstream,
        r.websocket_only,
    )
}

/// Accord's own routes (see `edge.accord_routes`).
pub fn accord_routes() -> Vec<Route> {
    let mut routes = vec![
        Route::new(None, "/api", "api", false),
        Route::new(None, "/gateway", "gateway", false),
        Route::new(None, "/", "gateway", true),
    ];
    routes.extend(
        CDN_PREFIXES
            .iter()
            .map(|prefix| Route::new(None, prefix, "cdn", false)),
    );
    routes
}

/// Every upstream's addresses: Accord's own (`api`, `gateway`, `cdn` at their listen addresses)
/// overridden by `edge.upstreams`.
pub fn upstream_addrs(config: &Config) -> BTreeMap<String, Vec<SocketAddr>> {
    let mut out: BTreeMap<String, Vec<SocketAddr>> = BTreeMap::new();
    out.insert("api".into(), vec![reachable(config.api.listen)]);
    out.insert("gateway".into(), vec![reachable(config.gateway.listen)]);
    out.insert("cdn".into(), vec![reachable(config.cdn.listen)]);
    for (name, addrs) in &config.edge.upstreams {
        // Invalid entries are rejected by the configuration's validation.
        let parsed = addrs.iter().filter_map(|a| a.trim().parse().ok()).collect();
        out.insert(name.clone(), parsed);
    }
    out
}

/// A listen address as a connect address: an unspecified IP becomes the loopback.
fn reachable(mut addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(host: Option<&str>, prefix: &str, upstream: &str) -> Route {
        Route::new(host, prefix, upstream, false)
    }

    fn up<'a>(t: &'a RouteTable, host: Option<&str>, path: &str, ws: bool) -> Option<&'a str> {
        t.find(host, path, ws).map(|r| &*r.upstream)
    }

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("Chat.Example.COM:8443"), "chat.example.com");
        assert_eq!(normalize_host("example.com"), "example.com");
        assert_eq!(normalize_host("[::1]:3000"), "[::1]");
        assert_eq!(normalize_host("[::1]"), "[::1]");
    }

    #[test]
    fn longest_prefix_wins_and_hosts_must_match() {
        let t = RouteTable::new(
            vec![
                route(None, "/", "root"),
                route(None, "/app", "app"),
                route(None, "/app/admin", "admin"),
                route(Some("Other.Example"), "/app", "other"),
            ],
            vec![],
        );
        assert_eq!(up(&t, Some("x"), "/", false), Some("root"));
        assert_eq!(up(&t, Some("x"), "/app/page", false), Some("app"));
        assert_eq!(up(&t, Some("x"), "/app/admin/x", false), Some("admin"));
        assert_eq!(up(&t, None, "/app/admin", false), Some("admin"));
        assert_eq!(
            up(&t, Some("other.example:80"), "/app/x", false),
            Some("other")
        );
        assert_eq!(
            up(&t, Some("OTHER.example"), "/app/admin", false),
            Some("admin")
        );
        let hosted = RouteTable::new(vec![route(Some("a.example"), "/", "a")], vec![]);
        assert_eq!(up(&hosted, Some("b.example"), "/", false), None);
        assert_eq!(up(&hosted, None, "/", false), None);
        assert_eq!(up(&hosted, Some("A.example:1"), "/x", false), Some("a"));
    }

    #[test]
    fn configured_routes_come_before_accord_routes() {
        let t = RouteTable::new(
            vec![route(None, "/api/v10/special", "mine")],
            accord_routes(),
        );
        assert_eq!(up(&t, None, "/api/v10/special/x", false), Some("mine"));
        assert_eq!(up(&t, None, "/api/v10/gateway", false), Some("api"));
        // A configured catch-all takes everything, even paths Accord's routes are longer for.
        let t = RouteTable::new(vec![route(None, "/", "app")], accord_routes());
        assert_eq!(up(&t, None, "/api/v10/users/@me", false), Some("app"));
    }

    #[test]
    fn accord_routes_reach_api_gateway_and_cdn() {
        let t = RouteTable::new(vec![], accord_routes());
        assert_eq!(up(&t, None, "/api/v10/gateway", false), Some("api"));
        assert_eq!(up(&t, None, "/gateway", true), Some("gateway"));
        assert_eq!(up(&t, None, "/gateway", false), Some("gateway"));
        assert_eq!(up(&t, None, "/", true), Some("gateway"));
        assert_eq!(
            up(&t, None, "/", false),
            None,
            "plain GET / is not the gateway's"
        );
        assert_eq!(up(&t, None, "/avatars/1/a.png", false), Some("cdn"));
        assert_eq!(up(&t, None, "/attachments/1/2/f.bin", false), Some("cdn"));
        assert_eq!(up(&t, None, "/avatars", false), None);
        assert_eq!(t.upstream_names(), ["api", "cdn", "gateway"]);
    }

    #[test]
    fn upstream_addresses_default_to_the_services_and_can_be_overridden() {
        let mut c = Config::default();
        c.api.listen = "0.0.0.0:4001".parse().unwrap();
        let addrs = upstream_addrs(&c);
        assert_eq!(addrs["api"], ["127.0.0.1:4001".parse().unwrap()]);
        assert_eq!(addrs["gateway"], [c.gateway.listen]);
        c.edge
            .upstreams
            .insert("api".into(), vec!["10.0.0.1:1".into(), "10.0.0.2:1".into()]);
        assert_eq!(upstream_addrs(&c)["api"].len(), 2);
    }
}
