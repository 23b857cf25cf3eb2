//! The edge's request handling, one request at a time (`EdgeProxy::serve`, called by the
//! HTTP/1 connection loop of [`crate::connection`] and, as a Pingora `HttpServerApp`, for each
//! HTTP/2 stream): IP filter and error-based blocks (403 with JSON code 40333 before any
//! upstream is contacted), throttling (429), routing, the exchange with an upstream
//! ([`crate::forward`]), and, once the response is sent, the error count of the client
//! address, the metrics and the access log. WebSocket upgrades are tunnelled by
//! [`crate::websocket`]. The limits and timeouts are in [`crate::limits`], the JSON answers to
//! failures in [`crate::errors`].
//!
//! Why not `pingora-proxy`'s `ProxyHttp`: its request loop (two tasks joined by channels per
//! request, with every hook boxed) cost the edge about half the throughput of a proxy on
//! `pingora-core` alone (benches/README.md, "The edge's own request loop"). Everything else of
//! Pingora stays.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use async_trait::async_trait;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, HttpServerOptions, ReusedHttpStream};
use pingora::connectors::TransportConnector;
use pingora::http::RequestHeader;
use pingora::protocols::http::ServerSession;
use pingora::protocols::http::v2::server::H2Options;
use pingora::server::ShutdownWatch;
use pingora::{Error, ErrorType, Result};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

use crate::access_log::{AccessLog, Entry};
use crate::acme::Challenges;
use crate::blocking::Blocker;
use crate::client_addr::ClientAddr;
use crate::downstream::Downstream;
use crate::errors::respond_json;
use crate::forward::{self, Forwarded, Upstream};
use crate::health::Balancer;
use crate::held::{self, Held, HeldCount};
use crate::ip_filter::IpFilter;
use crate::limits::Limits;
use crate::metrics::EdgeMetrics;
use crate::routes::RouteTable;
use crate::throttle::Throttle;
use crate::{https, websocket};

/// Discord's JSON error code sent with 403 when the edge refuses a client address.
pub const BLOCKED_CODE: u32 = accord_model::error::codes::ADDRESS_BLOCKED;

/// The edge's request handling.
#[derive(Clone)]
pub struct EdgeProxy {
    routes: RouteTable,
    balancers: BTreeMap<String, Arc<Balancer>>,
    filter: Arc<IpFilter>,
    clients: ClientAddr,
    guards: Guards,
    listener: Listener,
    /// `Strict-Transport-Security` of every response (HTTPS listener).
    hsts: Option<Arc<str>>,
    /// Pingora's connector to the upstreams, with its keep-alive pool.
    connector: Arc<TransportConnector>,
    /// The upstream connections client connections keep between requests ([`crate::held`]).
    held_count: Arc<HeldCount>,
    /// Set (and waiters woken) when the listener's service stops.
    stopping: Arc<Stopping>,
    /// The HTTPS listener's HTTP/2 settings.
    http2: Option<(HttpServerOptions, H2Options)>,
}

/// A listener's service is stopping: connections waiting for their next request end.
#[derive(Default)]
struct Stopping {
    flag: AtomicBool,
    notify: Notify,
}

impl Stopping {
    /// Resolves once the service stops.
    async fn wait(&self) {
        let notified = self.notify.notified();
        if self.flag.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }
}

/// What differs between the proxy of the plain listener and that of the HTTPS listener.
#[derive(Clone, Default)]
pub struct Listener {
    /// This is the HTTPS listener (`X-Forwarded-Proto: https`).
    pub https: bool,
    /// Plain listener: redirect requests to HTTPS on this port (`edge.tls.redirect_http`).
    pub redirect_port: Option<u16>,
    /// HTTPS listener: the `Strict-Transport-Security` value of every response.
    pub hsts: Option<String>,
    /// Plain listener with ACME on: answers `/.well-known/acme-challenge/{token}` (HTTP-01).
    pub acme: Option<Arc<Challenges>>,
}

/// The request guards past the IP filter, and the metrics they feed.
#[derive(Clone)]
pub struct Guards {
    /// Error-based blocking.
    pub blocker: Arc<Blocker>,
    /// Throttling, if on.
    pub throttle: Option<Arc<Throttle>>,
    /// The edge's metrics.
    pub metrics: Arc<EdgeMetrics>,
    /// Limits and timeouts.
    pub limits: Arc<Limits>,
    /// The access log, if on.
    pub access_log: Option<Arc<AccessLog>>,
    /// Set once this process has begun handing its listening socket to a new one.
    pub handing_over: Arc<AtomicBool>,
}

impl EdgeProxy {
    /// The proxy over these routes, upstreams, filter, trusted proxies and guards, reaching the
    /// upstreams through `connector`, whose pool holds `pool_size` idle connections (as many
    /// more may be kept by client connections, see [`crate::held`]).
    pub fn new(
        routes: RouteTable,
        balancers: BTreeMap<String, Arc<Balancer>>,
        filter: Arc<IpFilter>,
        clients: ClientAddr,
        guards: Guards,
        connector: TransportConnector,
        pool_size: usize,
    ) -> Self {
        Self {
            routes,
            balancers,
            filter,
            clients,
            guards,
            listener: Listener::default(),
            hsts: None,
            connector: Arc::new(connector),
            held_count: HeldCount::new(pool_size),
            stopping: Arc::default(),
            http2: None,
        }
    }

    /// This proxy, for the listener described by `listener`.
    pub fn for_listener(mut self, listener: Listener) -> Self {
        self.hsts = listener.hsts.as_deref().map(Arc::from);
        self.listener = listener;
        self.stopping = Arc::default();
        self
    }

    /// This proxy with HTTP/2 settings (the HTTPS listener, `edge.tls.http2`).
    pub fn with_http2(mut self, options: HttpServerOptions, h2: H2Options) -> Self {
        self.http2 = Some((options, h2));
        self
    }
}

/// What one request carries between the phases.
#[derive(Debug)]
pub struct RequestCtx {
    /// When the request began.
    start: Instant,
    /// The connection's peer address.
    peer: Option<IpAddr>,
    /// The client address (behind trusted proxies).
    client: Option<IpAddr>,
    /// The chosen upstream's name.
    upstream: Option<Arc<str>>,
    /// Addresses already tried for this request.
    tried: Vec<SocketAddr>,
    /// A WebSocket upgrade request.
    websocket: bool,
    /// Request body bytes received so far.
    body_bytes: u64,
}

impl RequestCtx {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            peer: None,
            client: None,
            upstream: None,
            tried: Vec::new(),
            websocket: false,
            body_bytes: 0,
        }
    }
}

fn forwarded_for(req: &RequestHeader) -> impl Iterator<Item = &str> {
    req.headers
        .get_all("x-forwarded-for")
        .into_iter()
        .filter_map(|v| v.to_str().ok())
}

impl EdgeProxy {
    /// The `X-Forwarded-*` headers sent upstream with this request.
    fn forwarded(&self, session: &ServerSession, ctx: &RequestCtx) -> Forwarded {
        let peer = ctx.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let chain = self
            .clients
            .forward_header(peer, forwarded_for(session.req_header()));
        [
            ("x-forwarded-for", Cow::Owned(chain)),
            (
                "x-forwarded-proto",
                Cow::Borrowed(if self.listener.https { "https" } else { "http" }),
            ),
        ]
    }

    /// One request, from its head to the end of its response: the guards, the edge's own
    /// answers, then the upstream (on the connection in `held` when it fits). An error is
    /// answered by the caller.
    async fn handle(
        &self,
        ds: &mut Downstream,
        ctx: &mut RequestCtx,
        held: &mut Option<Held>,
    ) -> Result<()> {
        ctx.websocket = ds.is_upgrade_req();
        self.guards.limits.apply_to_client(ds, ctx.websocket);
        if !ctx.websocket && self.guards.handing_over.load(Ordering::Relaxed) {
            // From the start of a hand-over, answers carry `Connection: close`, so clients move
            // to new connections (taken by the new process) while this one still serves them.
            // Pingora only does so once its drain begins, and then closes the idle keep-alive
            // connections, racing any request a client is sending on one (a reset).
            ds.set_keepalive(None);
        }
        if let Some(refusal) = self.guards.limits.check_head(ds.req_header()) {
            return Err(refusal.error());
        }
        if self.answered_by_edge(ds, ctx).await? {
            return Ok(());
        }
        let upstream = ctx.upstream.as_deref().unwrap_or_default();
        let Some(balancer) = self.balancers.get(upstream) else {
            return Error::e_explain(ErrorType::HTTPStatus(502), "unknown upstream");
        };
        if ctx.websocket {
            return self.tunnel(ds, ctx, balancer).await;
        }
        let upstream = Upstream {
            balancer,
            connector: &self.connector,
            held_count: &self.held_count,
            limits: &self.guards.limits,
            forwarded: self.forwarded(ds, ctx),
        };
        forward::exchange(ds, &upstream, held, &mut ctx.tried, &mut ctx.body_bytes).await
    }

    /// The edge's own answers: ACME HTTP-01 validations, refused and blocked addresses, the
    /// HTTPS redirect, throttling, unknown routes. True when the request was answered; else
    /// the route's upstream is in `ctx.upstream`.
    async fn answered_by_edge(&self, ds: &mut Downstream, ctx: &mut RequestCtx) -> Result<bool> {
        // ACME HTTP-01 validations come from the authority's addresses: answered before the
        // IP filter, blocks and throttling.
        if let Some(challenges) = &self.listener.acme
            && let Some(token) = ds
                .req_header()
                .uri
                .path()
                .strip_prefix(https::HTTP_CHALLENGE_PREFIX)
        {
            let answer = challenges.http_answer(token);
            tracing::info!(
                "edge: ACME HTTP-01 validation for token {token}: {}",
                if answer.is_some() {
                    "answered"
                } else {
                    "unknown token"
                }
            );
            https::acme_answer(ds, answer).await?;
            return Ok(true);
        }
        let peer = ds
            .client_addr()
            .and_then(|a| a.as_inet())
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        ctx.peer = Some(peer);
        let client = self.clients.resolve(peer, forwarded_for(ds.req_header()));
        ctx.client = Some(client);
        if !self.filter.permits(client) {
            tracing::debug!("edge: refused {client} (peer {peer})");
            self.guards.metrics.ip_refused();
            respond_json(ds, 403, "internal network error", BLOCKED_CODE).await?;
            return Ok(true);
        }
        if self.guards.blocker.is_blocked(client) {
            self.guards.metrics.blocked_request();
            respond_json(ds, 403, "internal network error", BLOCKED_CODE).await?;
            return Ok(true);
        }
        if let Some(port) = self.listener.redirect_port
            && !ds
                .req_header()
                .uri
                .path()
                .starts_with(https::HTTP_CHALLENGE_PREFIX)
        {
            https::redirect(ds, port).await?;
            return Ok(true);
        }
        if let Some(throttle) = &self.guards.throttle {
            let req = ds.req_header();
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            let refusal = throttle
                .check(req.method.as_str(), req.uri.path(), client, auth)
                .await;
            if let Some(refusal) = refusal {
                tracing::debug!("edge: throttled {client} by rule {}", refusal.rule);
                self.guards.metrics.throttled(&refusal.rule);
                crate::errors::respond(ds, 429, &refusal.headers(), refusal.body()).await?;
                return Ok(true);
            }
        }
        let req = ds.req_header();
        let host = req
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri.host());
        match self.routes.find(host, req.uri.path(), ctx.websocket) {
            Some(route) => {
                ctx.upstream = Some(route.upstream.clone());
                Ok(false)
            }
            None => {
                respond_json(ds, 404, "404: Not Found", 0).await?;
                Ok(true)
            }
        }
    }

    /// Carries a WebSocket upgrade request to the chosen upstream and back (see
    /// [`websocket`]); answers 502/504 itself when no upstream takes it.
    async fn tunnel(&self, ds: &mut Downstream, ctx: &mut RequestCtx, lb: &Balancer) -> Result<()> {
        let head = websocket::request_head(ds.req_header(), &self.forwarded(ds, ctx));
        let timeouts = self.guards.limits.tunnel();
        let setup = async {
            let mut upstream = websocket::connect(lb, &mut ctx.tried, timeouts.connect).await?;
            upstream.write_all(&head).await.map_err(|e| {
                websocket::TunnelError::BadResponse(format!("writing the request: {e}"))
            })?;
            let head = websocket::read_head(&mut upstream, timeouts.response).await?;
            Ok::<_, websocket::TunnelError>((upstream, head))
        };
        match setup.await {
            Ok((upstream, head)) => websocket::relay(ds, upstream, head, timeouts).await,
            Err(e) => {
                let name = ctx.upstream.as_deref().unwrap_or_default();
                tracing::warn!("edge: WebSocket to upstream {name} failed: {e:?}");
                let (status, message) = match e {
                    websocket::TunnelError::Timeout => (504, "504: Gateway Timeout"),
                    _ => (502, "502: Bad Gateway"),
                };
                respond_json(ds, status, message, 0).await
            }
        }
    }

    /// After the response (or the failure): the access log, the client address's error count
    /// and the metrics.
    fn logging(&self, ds: &Downstream, ctx: &RequestCtx) {
        let written = ds.response_written().map(|r| r.status.as_u16());
        if let Some(log) = &self.guards.access_log
            && !log.record(access_entry(ds, ctx, written.unwrap_or(499)))
        {
            self.guards.metrics.access_log_dropped();
        }
        let Some(status) = written else {
            return;
        };
        if let Some(client) = ctx.client
            && self.guards.blocker.record(client, status)
        {
            self.guards.metrics.blocked();
        }
        let upstream = ctx.upstream.as_deref().unwrap_or("edge");
        self.guards
            .metrics
            .request(upstream, status, ctx.start.elapsed());
    }
}

impl EdgeProxy {
    /// Serves one request of `session`, its connection (or HTTP/2 stream) already open;
    /// gives the connection back when it can carry another request. `held` is the upstream
    /// connection the client connection keeps between its requests.
    pub(crate) async fn serve(
        &self,
        session: ServerSession,
        shutdown: &ShutdownWatch,
        held: &mut Option<Held>,
    ) -> Option<ReusedHttpStream> {
        let mut ds = Downstream::new(session, self.hsts.clone());
        let read = tokio::select! {
            // Biased: a request already buffered is served, not dropped.
            biased;
            read = ds.read_request() => read,
            () = self.stopping.wait() => return None,
        };
        match read {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                if matches!(e.etype(), ErrorType::InvalidHTTPHeader) {
                    tracing::debug!("edge: bad request head: {e}");
                    let _ = ds.respond_error(400).await;
                } else {
                    tracing::debug!("edge: reading a request head: {e}");
                }
                ds.shutdown().await;
                return None;
            }
        }
        if *shutdown.borrow() {
            ds.set_keepalive(None);
        }
        let mut ctx = RequestCtx::new();
        let reuse = match self.handle(&mut ds, &mut ctx, held).await {
            Ok(()) => true,
            Err(e) => {
                let status = crate::errors::fail_to_proxy(&mut ds, &e).await;
                // The limits' 413/431 and the like: the client's fault, answered, not the edge's.
                if !matches!(e.etype(), ErrorType::HTTPStatus(s) if *s < 500) && status != 0 {
                    tracing::error!("edge: {e}, status {status}, {}", ds.request_summary());
                }
                ds.on_proxy_failure(e);
                false
            }
        };
        self.logging(&ds, &ctx);
        if !reuse {
            return None;
        }
        let session = ds.into_inner();
        let settings = HttpPersistentSettings::for_session(&session);
        session
            .finish()
            .await
            .ok()
            .flatten()
            .map(|s| ReusedHttpStream::from_reusable_stream(s, settings))
    }
}

impl EdgeProxy {
    /// Returns the upstream connection a client connection kept to the pool, as the client
    /// connection (or HTTP/2 stream) ends.
    pub(crate) fn release(&self, held: Option<Held>) {
        held::release(held, &self.connector, self.guards.limits.upstream_idle());
    }
}

/// Pingora's HTTP/2 server runs each stream through this (HTTP/1 connections are served by
/// [`crate::connection::EdgeApp`]'s own loop).
#[async_trait]
impl HttpServerApp for EdgeProxy {
    async fn process_new_http(
        self: &Arc<Self>,
        session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        let mut held = None;
        let reused = self.serve(session, shutdown, &mut held).await;
        self.release(held);
        reused
    }

    fn server_options(&self) -> Option<&HttpServerOptions> {
        self.http2.as_ref().map(|(options, _)| options)
    }

    fn h2_options(&self) -> Option<H2Options> {
        self.http2.as_ref().map(|(_, h2)| h2.clone())
    }

    async fn http_cleanup(&self) {
        self.stopping.flag.store(true, Ordering::Release);
        self.stopping.notify.notify_waiters();
    }
}

/// The access log entry of a finished request.
fn access_entry(session: &ServerSession, ctx: &RequestCtx, status: u16) -> Entry {
    let req = session.req_header();
    let header = |name: &str| {
        req.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    Entry {
        time: SystemTime::now(),
        client: ctx.client.or(ctx.peer).or_else(|| {
            session
                .client_addr()
                .and_then(|a| a.as_inet())
                .map(|a| a.ip())
        }),
        method: req.method.as_str().to_owned(),
        path: req
            .uri
            .path_and_query()
            .map_or_else(|| req.uri.path().to_owned(), |p| p.as_str().to_owned()),
        version: match req.version {
            pingora::http::Version::HTTP_10 => "HTTP/1.0",
            pingora::http::Version::HTTP_2 => "HTTP/2.0",
            pingora::http::Version::HTTP_09 => "HTTP/0.9",
            _ => "HTTP/1.1",
        },
        status,
        bytes: session.body_bytes_sent(),
        referer: header("referer"),
        user_agent: header("user-agent"),
        upstream: ctx.upstream.as_deref().unwrap_or("edge").to_owned(),
        upstream_addr: ctx.tried.last().copied(),
        duration: ctx.start.elapsed(),
    }
}
