//! Accord's edge proxy, built on Pingora: one public HTTP port in front of Accord's REST API,
//! gateway and CDN, or of any HTTP/WebSocket backend.
//!
//! - [`routes`]: host + longest-path-prefix routing, configured routes before Accord's own;
//! - [`health`]: round-robin upstreams with TCP health checks;
//! - [`ip_filter`]: CIDR allow/deny lists, from the configuration and from polled files;
//! - [`client_addr`]: the client address behind trusted proxies, and `X-Forwarded-For`;
//! - [`proxy`]: the Pingora request phases tying them together;
//! - [`websocket`]: WebSocket upgrades, tunnelled by the edge itself;
//! - [`proxy_protocol`]: PROXY protocol v1/v2 on the listener (`edge.proxy_protocol`);
//! - [`blocking`]: blocks of addresses whose responses keep being errors (`edge.blocking`);
//! - [`throttle`] over [`counters`] (in-process or Redis): rate limits (`edge.throttle`);
//! - [`metrics`]: the edge's Prometheus metrics;
//! - [`admin`]: the admin listener (`edge.admin_listen`): blocks and metrics.
//!
//! [`start`] runs the edge on a thread of its own (Pingora brings its own runtimes) until
//! [`EdgeHandle::stop`].

pub mod admin;
pub mod blocking;
pub mod client_addr;
pub mod counters;
pub mod health;
pub mod ip_filter;
pub mod metrics;
pub mod proxy;
pub mod proxy_protocol;
pub mod routes;
pub mod throttle;
pub mod websocket;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use accord_config::Config;
use anyhow::{Context, bail};
use async_trait::async_trait;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use tokio::sync::watch;

use crate::admin::Admin;
use crate::blocking::Blocker;
use crate::client_addr::ClientAddr;
use crate::ip_filter::{FileWatcher, IpFilter};
use crate::metrics::EdgeMetrics;
use crate::proxy::{EdgeProxy, Guards};
use crate::proxy_protocol::ProxyProtocolApp;
use crate::routes::RouteTable;
use crate::throttle::Throttle;

/// How long [`start`] waits for the edge to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A running edge.
pub struct EdgeHandle {
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    admin: Option<JoinHandle<()>>,
    listen: SocketAddr,
    admin_listen: SocketAddr,
    routes: Vec<String>,
}

impl EdgeHandle {
    /// The address the edge listens on.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The address of the admin listener (blocks and metrics).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_listen
    }

    /// The routes in force, one line each (`host/prefix -> upstream`, `*` for any host).
    pub fn routes(&self) -> &[String] {
        &self.routes
    }

    /// Stops accepting, closes the connections still open within about a second, and waits for
    /// Pingora's runtimes to end. Blocking.
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("edge: the proxy thread panicked");
        }
        if let Some(admin) = self.admin.take()
            && admin.join().is_err()
        {
            tracing::error!("edge: the admin thread panicked");
        }
    }
}

impl Drop for EdgeHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Ends Pingora's main loop when the handle says so (or is dropped).
struct StopWatch(watch::Receiver<bool>);

#[async_trait]
impl ShutdownSignalWatch for StopWatch {
    async fn recv(&self) -> ShutdownSignal {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|stop| *stop).await;
        ShutdownSignal::GracefulTerminate
    }
}

/// Starts the edge of `config.edge` on its own thread and returns once it accepts connections.
/// Blocking (reads the IP list files, waits for the listener).
pub fn start(config: &Config) -> anyhow::Result<EdgeHandle> {
    let edge = &config.edge;
    let filter = Arc::new(IpFilter::from_config(&edge.ip_filter).map_err(anyhow::Error::msg)?);
    let table = RouteTable::from_config(config);
    let all_addrs = routes::upstream_addrs(config);
    let used = table.upstream_names();
    let addrs = all_addrs
        .into_iter()
        .filter(|(name, _)| used.contains(&name.as_str()))
        .collect();
    let upstreams = health::build(&addrs, Duration::from_secs(edge.health_check_secs.max(1)))
        .context("cannot set up the edge's upstreams")?;
    let clients = ClientAddr::new(config.trusted_proxies());
    let route_lines: Vec<String> = table.all().map(ToString::to_string).collect();

    // Pingora binds inside its own runtime and cannot report a failure back; check first so a
    // taken port is a clear start-up error.
    drop(
        std::net::TcpListener::bind(edge.listen)
            .with_context(|| format!("cannot listen on {} (edge.listen)", edge.listen))?,
    );

    let conf = ServerConf {
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        // Shutdown is driven by the process (see `EdgeHandle::stop`): no grace period, then a
        // second for the connections still open.
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    let guards = Guards {
        blocker: Arc::new(Blocker::new(&edge.blocking)),
        throttle: Throttle::from_config(&edge.throttle)
            .context("cannot set up the edge's throttle (edge.throttle)")?
            .map(Arc::new),
        metrics: Arc::new(EdgeMetrics::new()),
    };
    let (stop, stop_rx) = watch::channel(false);
    let admin = admin::start(
        edge.admin_listen,
        Admin {
            blocker: guards.blocker.clone(),
            metrics: guards.metrics.clone(),
            throttle: guards.throttle.clone(),
            token: edge.admin_token.clone(),
        },
        stop_rx.clone(),
    )?;
    let proxy = EdgeProxy::new(table, upstreams.balancers, filter.clone(), clients, guards);
    let app = pingora::proxy::http_proxy(&server.configuration, proxy);
    if edge.proxy_protocol {
        let mut service = Service::new("Accord edge".into(), ProxyProtocolApp::new(app));
        service.add_tcp(&edge.listen.to_string());
        server.add_service(service);
    } else {
        let mut service = Service::new("Accord edge".into(), app);
        service.add_tcp(&edge.listen.to_string());
        server.add_service(service);
    }
    for check in upstreams.services {
        server.add_service(check);
    }
    if !edge.ip_filter.allow_files.is_empty() || !edge.ip_filter.deny_files.is_empty() {
        server.add_service(background_service(
            "edge IP list files",
            FileWatcher(filter),
        ));
    }

    let thread = std::thread::Builder::new()
        .name("edge".into())
        .spawn(move || {
            server.run(RunArgs {
                shutdown_signal: Box::new(StopWatch(stop_rx)),
            });
        })
        .context("cannot start the edge thread")?;
    let handle = EdgeHandle {
        stop,
        thread: Some(thread),
        admin: Some(admin),
        listen: edge.listen,
        admin_listen: edge.admin_listen,
        routes: route_lines,
    };
    wait_ready(&handle)?;
    tracing::info!(
        "edge listening on {} (admin on {})",
        handle.listen,
        handle.admin_listen
    );
    for route in &handle.routes {
        tracing::info!("edge route {route}");
    }
    Ok(handle)
}

/// Waits until the edge accepts a TCP connection.
fn wait_ready(handle: &EdgeHandle) -> anyhow::Result<()> {
    let mut addr = handle.listen;
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if handle.thread.as_ref().is_none_or(JoinHandle::is_finished) {
            bail!(
                "the edge stopped while starting (edge.listen {})",
                handle.listen
            );
        }
        if Instant::now() > deadline {
            bail!(
                "the edge did not start listening on {} in time",
                handle.listen
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
