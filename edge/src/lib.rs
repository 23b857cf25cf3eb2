//! Accord's edge proxy, built on Pingora: one public HTTP port in front of Accord's REST API,
//! gateway and CDN, or of any HTTP/WebSocket backend.
//!
//! - [`routes`]: host + longest-path-prefix routing, configured routes before Accord's own;
//! - [`health`]: round-robin upstreams with TCP health checks;
//! - [`ip_filter`]: CIDR allow/deny lists, from the configuration and from polled files;
//! - [`client_addr`]: the client address behind trusted proxies, and `X-Forwarded-For`;
//! - [`proxy`]: the request handling tying them together (a Pingora HTTP application);
//! - [`connection`]: one client connection's HTTP/1 requests in one loop (HTTP/2 to Pingora);
//! - [`forward`]: one request's exchange with an upstream;
//! - [`held`]: the upstream connection a client connection keeps between its requests;
//! - [`downstream`]: the client's side of a request, with the headers added to every answer;
//! - [`websocket`]: WebSocket upgrades, tunnelled by the edge itself;
//! - [`proxy_protocol`]: PROXY protocol v1/v2 on the listener (`edge.proxy_protocol`);
//! - [`handover`]: no request cut by a zero-downtime upgrade (`edge.upgrade_sock`);
//! - [`blocking`]: blocks of addresses whose responses keep being errors (`edge.blocking`);
//! - [`throttle`] over [`counters`] (in-process or Redis): rate limits (`edge.throttle`);
//! - [`metrics`]: the edge's Prometheus metrics;
//! - [`admin`]: the admin listener (`edge.admin_listen`): blocks and metrics;
//! - [`errors`]: Discord-style JSON answers when a request cannot be proxied (502, 504...);
//! - [`limits`]: head and body limits, client and upstream timeouts;
//! - [`access_log`]: one line per request, written off the request path;
//! - [`https`]: the HTTP→HTTPS redirect and HSTS;
//! - [`tls`]: the HTTPS listener (`[edge.tls]`): certificates by SNI, reloaded on change;
//! - [`acme`]: certificates from an ACME authority (`[edge.tls.acme]`), renewed before expiry.
//!
//! [`start`] runs the edge on a thread of its own (Pingora brings its own runtimes) until
//! [`EdgeHandle::stop`], or [`EdgeHandle::hand_over`] for a zero-downtime upgrade: the listening
//! socket goes to a new process started with [`start_with`]`(config, true)` over the Unix socket
//! `edge.upgrade_sock` (Pingora's graceful upgrade), then this one drains and ends.

pub mod access_log;
pub mod acme;
pub mod admin;
pub mod blocking;
pub mod client_addr;
pub mod connection;
pub mod counters;
pub mod downstream;
pub mod errors;
pub mod forward;
pub mod handover;
pub mod health;
pub mod held;
pub mod https;
pub mod ip_filter;
pub mod limits;
pub mod metrics;
pub mod proxy;
pub mod proxy_protocol;
pub mod routes;
pub mod throttle;
pub mod tls;
pub mod websocket;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use accord_config::Config;
use anyhow::{Context, bail};
use async_trait::async_trait;
use pingora::connectors::{ConnectorOptions, TransportConnector};
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{ExecutionPhase, RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use tokio::sync::watch;

use crate::access_log::AccessLog;
use crate::acme::AcmeService;
use crate::admin::Admin;
use crate::blocking::Blocker;
use crate::client_addr::ClientAddr;
use crate::connection::EdgeApp;
use crate::handover::HandOverApp;
use crate::ip_filter::{FileWatcher, IpFilter};
use crate::limits::Limits;
use crate::metrics::EdgeMetrics;
use crate::proxy::{EdgeProxy, Guards, Listener};
use crate::proxy_protocol::ProxyProtocolApp;
use crate::routes::RouteTable;
use crate::throttle::Throttle;
use crate::tls::{CertReloader, CertStore, TlsApp};

/// How long [`start`] waits for the edge to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A running edge.
pub struct EdgeHandle {
    stop: watch::Sender<bool>,
    /// Whether the stop is a hand-over to a new process.
    upgrade: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    admin: Option<JoinHandle<()>>,
    listen: SocketAddr,
    tls_listen: Option<SocketAddr>,
    admin_listen: SocketAddr,
    routes: Vec<String>,
}

impl EdgeHandle {
    /// The address the edge listens on.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The address of the HTTPS listener, when `edge.tls` is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_listen
    }

    /// The address of the admin listener (blocks and metrics).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_listen
    }

    /// The routes in force, one line each (`host/prefix -> upstream`, `*` for any host).
    pub fn routes(&self) -> &[String] {
        &self.routes
    }

    /// Stops accepting, closes the connections still open, and waits for Pingora's runtimes to
    /// end. Blocking.
    pub fn stop(self) {
        self.end();
    }

    /// Hands the listening socket over to a new edge process waiting on `edge.upgrade_sock`
    /// (started with [`start_with`]`(config, true)`), keeps accepting for 5 seconds, stops
    /// accepting, lets the connections still open run for `edge.drain_secs`, and ends.
    /// Blocking, for all that time.
    pub fn hand_over(self) {
        self.upgrade.store(true, Ordering::SeqCst);
        self.end();
    }

    fn end(mut self) {
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

/// Ends Pingora's main loop when the handle says so (or is dropped): at once, or with the
/// graceful upgrade (sockets sent over `upgrade_sock`, 5 s of accepting, `drain_secs` of
/// draining).
struct StopWatch(watch::Receiver<bool>, Arc<AtomicBool>);

#[async_trait]
impl ShutdownSignalWatch for StopWatch {
    async fn recv(&self) -> ShutdownSignal {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|stop| *stop).await;
        if self.1.load(Ordering::SeqCst) {
            ShutdownSignal::GracefulUpgrade
        } else {
            ShutdownSignal::FastShutdown
        }
    }
}

/// Starts the edge of `config.edge` on its own thread and returns once it accepts connections.
/// Blocking (reads the IP list files, waits for the listener).
pub fn start(config: &Config) -> anyhow::Result<EdgeHandle> {
    start_with(config, false)
}

/// [`start`], or with `upgrade`, takes the listening socket over from the edge process running
/// now: waits (about 5 seconds) on `edge.upgrade_sock` for the socket that process sends when
/// it gets SIGQUIT. Pingora ends the process when no socket comes.
pub fn start_with(config: &Config, upgrade: bool) -> anyhow::Result<EdgeHandle> {
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
    // taken port is a clear start-up error (when upgrading, the old process holds it).
    if !upgrade {
        drop(
            std::net::TcpListener::bind(edge.listen)
                .with_context(|| format!("cannot listen on {} (edge.listen)", edge.listen))?,
        );
        if edge.tls.enabled {
            drop(
                std::net::TcpListener::bind(edge.tls.listen).with_context(|| {
                    format!("cannot listen on {} (edge.tls.listen)", edge.tls.listen)
                })?,
            );
        }
    }
    let certs = if edge.tls.enabled {
        Some(Arc::new(
            CertStore::from_config(&edge.tls).context("cannot load the edge's certificates")?,
        ))
    } else {
        None
    };
    let access_log = AccessLog::open(&edge.access_log, edge.access_log_format)
        .context("cannot open the access log (edge.access_log)")?
        .map(Arc::new);

    let conf = ServerConf {
        threads: match edge.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        },
        // `EdgeHandle::stop` ends at once; after a hand-over (graceful upgrade), the old
        // process drains for `drain_secs`, then gives its runtimes a second.
        grace_period_seconds: Some(edge.drain_secs),
        graceful_shutdown_timeout_seconds: Some(1),
        upgrade_sock: edge.upgrade_sock.clone(),
        ..ServerConf::default()
    };
    let opt = Opt {
        upgrade,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    if upgrade {
        tracing::info!(
            "edge: waiting on {} for the listening socket of the running edge (send it SIGQUIT)",
            edge.upgrade_sock
        );
        // Pingora's bootstrap: receives the listening sockets (or ends the process).
        server.bootstrap();
    }
    let mut phases = server.watch_execution_phase();
    let upgrading = Arc::new(AtomicBool::new(false));
    let guards = Guards {
        blocker: Arc::new(Blocker::new(&edge.blocking)),
        throttle: Throttle::from_config(&edge.throttle)
            .context("cannot set up the edge's throttle (edge.throttle)")?
            .map(Arc::new),
        metrics: Arc::new(EdgeMetrics::new()),
        limits: Arc::new(Limits::from_config(edge)),
        access_log,
        handing_over: upgrading.clone(),
    };
    let (stop, stop_rx) = watch::channel(false);
    let admin = admin::start(
        edge.admin_listen,
        // The old process frees the admin port as its hand-over starts.
        if upgrade {
            Duration::from_secs(10)
        } else {
            Duration::ZERO
        },
        Admin {
            blocker: guards.blocker.clone(),
            metrics: guards.metrics.clone(),
            throttle: guards.throttle.clone(),
            token: edge.admin_token.clone(),
        },
        stop_rx.clone(),
    )?;
    let http2 = edge.tls.http2.then(|| guards.limits.http2());
    let pool_size = server.configuration.upstream_keepalive_pool_size;
    let connector = TransportConnector::new(Some(ConnectorOptions::from_server_conf(
        &server.configuration,
    )));
    let proxy = EdgeProxy::new(
        table,
        upstreams.balancers,
        filter.clone(),
        clients,
        guards,
        connector,
        pool_size,
    );
    if let Some(certs) = &certs {
        let config = tls::server_config(certs.clone(), edge.tls.http2, edge.tls.acme.enabled)?;
        let listener = Listener {
            https: true,
            redirect_port: None,
            hsts: https::hsts_value(&edge.tls.hsts),
            acme: None,
        };
        let mut https = proxy.clone().for_listener(listener);
        if let Some((options, h2)) = http2 {
            https = https.with_http2(options, h2);
        }
        let app = Arc::new(EdgeApp::new(https));
        let tls_app = TlsApp::new(config, app);
        let listen = edge.tls.listen.to_string();
        if edge.proxy_protocol {
            let app = HandOverApp::for_edge(ProxyProtocolApp::new(tls_app), &upgrading, edge);
            let mut service = Service::new("Accord edge TLS".into(), app);
            service.add_tcp(&listen);
            server.add_service(service);
        } else {
            let mut service = Service::new(
                "Accord edge TLS".into(),
                HandOverApp::for_edge(tls_app, &upgrading, edge),
            );
            service.add_tcp(&listen);
            server.add_service(service);
        }
        if let Some(challenges) = certs.challenges() {
            server.add_service(background_service(
                "edge ACME certificates",
                AcmeService::new(edge.tls.acme.clone(), certs.clone(), challenges),
            ));
        }
        server.add_service(background_service(
            "edge TLS certificate files",
            CertReloader {
                store: certs.clone(),
                interval: Duration::from_secs(edge.tls.reload_secs.max(1)),
            },
        ));
    }
    let plain = Listener {
        https: false,
        redirect_port: (edge.tls.enabled && edge.tls.redirect_http).then_some(
            match edge.tls.redirect_port {
                0 => edge.tls.listen.port(),
                port => port,
            },
        ),
        hsts: None,
        acme: certs.as_ref().and_then(|c| c.challenges()),
    };
    let app = EdgeApp::new(proxy.for_listener(plain));
    if edge.proxy_protocol {
        let app = HandOverApp::for_edge(ProxyProtocolApp::new(app), &upgrading, edge);
        let mut service = Service::new("Accord edge".into(), app);
        service.add_tcp(&edge.listen.to_string());
        server.add_service(service);
    } else {
        let mut service = Service::new(
            "Accord edge".into(),
            HandOverApp::for_edge(app, &upgrading, edge),
        );
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

    let watch = StopWatch(stop_rx, upgrading.clone());
    let thread = std::thread::Builder::new()
        .name("edge".into())
        .spawn(move || {
            server.run(RunArgs {
                shutdown_signal: Box::new(watch),
            });
        })
        .context("cannot start the edge thread")?;
    let handle = EdgeHandle {
        stop,
        upgrade: upgrading,
        thread: Some(thread),
        admin: Some(admin),
        listen: edge.listen,
        tls_listen: edge.tls.enabled.then_some(edge.tls.listen),
        admin_listen: edge.admin_listen,
        routes: route_lines,
    };
    if upgrade {
        // The listening socket is shared with the old process (which accepts for 5 more
        // seconds): a connection would not tell which one answers. Wait for the services.
        wait_running(&mut phases)?;
    } else {
        wait_ready(&handle)?;
    }
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

/// Waits until Pingora has started the services (its main loop runs).
fn wait_running(
    phases: &mut tokio::sync::broadcast::Receiver<ExecutionPhase>,
) -> anyhow::Result<()> {
    loop {
        match phases.blocking_recv() {
            Ok(ExecutionPhase::Running) => return Ok(()),
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                bail!("the edge stopped while starting")
            }
        }
    }
}

/// Waits until the edge accepts TCP connections on its listeners.
fn wait_ready(handle: &EdgeHandle) -> anyhow::Result<()> {
    wait_listening(handle, handle.listen)?;
    match handle.tls_listen {
        Some(addr) => wait_listening(handle, addr),
        None => Ok(()),
    }
}

/// Waits until the edge accepts a TCP connection on `addr`.
fn wait_listening(handle: &EdgeHandle, mut addr: SocketAddr) -> anyhow::Result<()> {
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
            bail!("the edge stopped while starting (listening on {addr})");
        }
        if Instant::now() > deadline {
            bail!("the edge did not start listening on {addr} in time");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
