//! The Pingora proxy logic: IP filter and error-based blocks (403 with JSON code 40333 before
//! any upstream is contacted), throttling (429), routing, round-robin over healthy addresses with
//! retry on connect failure, the `X-Forwarded-*` headers sent upstream, and, once the response
//! is sent, the error count of the client address, the metrics and the access log. WebSocket
//! upgrades are tunnelled by [`crate::websocket`], not by Pingora's proxy loop. The limits and
//! timeouts are in [`crate::limits`], the JSON answers to failures in [`crate::errors`].

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::RequestHeader;
use pingora::modules::http::HttpModules;
use pingora::modules::http::compression::ResponseCompressionBuilder;
use pingora::prelude::HttpPeer;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::{Error, ErrorType, Result};
use tokio::io::AsyncWriteExt;

use crate::access_log::{AccessLog, Entry};
use crate::acme::Challenges;
use crate::blocking::Blocker;
use crate::client_addr::ClientAddr;
use crate::errors::{respond, respond_json};
use crate::health::Balancer;
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
    /// The proxy over these routes, upstreams, filter, trusted proxies and guards.
    pub fn new(
        routes: RouteTable,
        balancers: BTreeMap<String, Arc<Balancer>>,
        filter: Arc<IpFilter>,
        clients: ClientAddr,
        guards: Guards,
    ) -> Self {
        Self {
            routes,
            balancers,
            filter,
            clients,
            guards,
            listener: Listener::default(),
        }
    }

    /// This proxy, for the listener described by `listener`.
    pub fn for_listener(mut self, listener: Listener) -> Self {
        self.listener = listener;
        self
    }
}

impl EdgeProxy {
    /// The `X-Forwarded-*` headers sent upstream with this request.
    fn forwarded(&self, session: &Session, ctx: &RequestCtx) -> [(&'static str, String); 2] {
        let peer = ctx.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let chain = self
            .clients
            .forward_header(peer, forwarded_for(session.req_header()));
        [
            ("x-forwarded-for", chain),
            (
                "x-forwarded-proto",
                if self.listener.https { "https" } else { "http" }.to_owned(),
            ),
        ]
    }

    /// Carries a WebSocket upgrade request to the chosen upstream and back (see
    /// [`websocket`]); answers 502/504 itself when no upstream takes it.
    async fn tunnel(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<()> {
        let name = ctx.upstream.as_deref().unwrap_or_default();
        let Some(lb) = self.balancers.get(name) else {
            return respond_json(session, 502, "502: Bad Gateway", 0).await;
        };
        let head = websocket::request_head(session.req_header(), &self.forwarded(session, ctx));
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
            Ok((upstream, head)) => websocket::relay(session, upstream, head, timeouts).await,
            Err(e) => {
                tracing::warn!("edge: WebSocket to upstream {name} failed: {e:?}");
                let (status, message) = match e {
                    websocket::TunnelError::Timeout => (504, "504: Gateway Timeout"),
                    _ => (502, "502: Bad Gateway"),
                };
                respond_json(session, status, message, 0).await
            }
        }
    }
}

/// What one request carries between the proxy's phases.
#[derive(Debug)]
pub struct RequestCtx {
    /// When the request began.
    start: Instant,
    /// The connection's peer address.
    peer: Option<IpAddr>,
    /// The client address (behind trusted proxies).
    client: Option<IpAddr>,
    /// The chosen upstream's name.
    upstream: Option<String>,
    /// Addresses already tried for this request.
    tried: Vec<SocketAddr>,
    /// A WebSocket upgrade request.
    websocket: bool,
    /// Request body bytes received so far.
    body_bytes: u64,
}

fn forwarded_for(req: &RequestHeader) -> impl Iterator<Item = &str> {
    req.headers
        .get_all("x-forwarded-for")
        .into_iter()
        .filter_map(|v| v.to_str().ok())
}

#[async_trait]
impl ProxyHttp for EdgeProxy {
    type CTX = RequestCtx;

    fn init_downstream_modules(&self, modules: &mut HttpModules) {
        // Pingora's default: its (disabled) response compression module.
        modules.add_module(ResponseCompressionBuilder::enable(0));
        if let Some(hsts) = &self.listener.hsts {
            modules.add_module(Box::new(https::HstsBuilder(hsts.clone())));
        }
    }

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            start: Instant::now(),
            peer: None,
            client: None,
            upstream: None,
            tried: Vec::new(),
            websocket: false,
            body_bytes: 0,
        }
    }

    async fn early_request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        ctx.websocket = session.is_upgrade_req();
        self.guards.limits.apply_to_client(session, ctx.websocket);
        if !ctx.websocket && self.guards.handing_over.load(Ordering::Relaxed) {
            // From the start of a hand-over, answers carry `Connection: close`, so clients move
            // to new connections (taken by the new process) while this one still serves them.
            // Pingora only does so once its drain begins, and then closes the idle keep-alive
            // connections, racing any request a client is sending on one (a reset).
            session.set_keepalive(None);
        }
        match self.guards.limits.check_head(session.req_header()) {
            Some(refusal) => Err(refusal.error()),
            None => Ok(()),
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        // ACME HTTP-01 validations come from the authority's addresses: answered before the
        // IP filter, blocks and throttling.
        if let Some(challenges) = &self.listener.acme
            && let Some(token) = session
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
            https::acme_answer(session, answer).await?;
            return Ok(true);
        }
        let peer = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        ctx.peer = Some(peer);
        let client = self
            .clients
            .resolve(peer, forwarded_for(session.req_header()));
        ctx.client = Some(client);
        if !self.filter.permits(client) {
            tracing::debug!("edge: refused {client} (peer {peer})");
            self.guards.metrics.ip_refused();
            respond_json(session, 403, "internal network error", BLOCKED_CODE).await?;
            return Ok(true);
        }
        if self.guards.blocker.is_blocked(client) {
            self.guards.metrics.blocked_request();
            respond_json(session, 403, "internal network error", BLOCKED_CODE).await?;
            return Ok(true);
        }
        if let Some(port) = self.listener.redirect_port
            && !session
                .req_header()
                .uri
                .path()
                .starts_with(https::HTTP_CHALLENGE_PREFIX)
        {
            https::redirect(session, port).await?;
            return Ok(true);
        }
        if let Some(throttle) = &self.guards.throttle {
            let req = session.req_header();
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
                respond(session, 429, &refusal.headers(), refusal.body()).await?;
                return Ok(true);
            }
        }
        let req = session.req_header();
        let host = req
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri.host());
        let websocket = session.is_upgrade_req();
        match self.routes.find(host, req.uri.path(), websocket) {
            Some(route) => {
                ctx.upstream = Some(route.upstream.clone());
                if websocket {
                    self.tunnel(session, ctx).await?;
                    return Ok(true);
                }
                Ok(false)
            }
            None => {
                respond_json(session, 404, "404: Not Found", 0).await?;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let name = ctx.upstream.as_deref().unwrap_or_default();
        let Some(lb) = self.balancers.get(name) else {
            return Error::e_explain(ErrorType::HTTPStatus(502), "unknown upstream");
        };
        let tried = &ctx.tried;
        let backend = lb.select_with(b"", 256, |b, healthy| {
            healthy && b.addr.as_inet().is_some_and(|a| !tried.contains(a))
        });
        let Some(addr) = backend.and_then(|b| b.addr.as_inet().copied()) else {
            return Error::e_explain(
                ErrorType::HTTPStatus(502),
                format!("no healthy address left for upstream {name}"),
            );
        };
        ctx.tried.push(addr);
        let mut peer = HttpPeer::new(addr, false, String::new());
        self.guards.limits.apply_to_peer(&mut peer, ctx.websocket);
        Ok(Box::new(peer))
    }

    async fn request_body_filter(
        &self,
        session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        // WebSocket frames are not a request body.
        if ctx.websocket || session.was_upgraded() {
            return Ok(());
        }
        self.guards
            .limits
            .count_body(&mut ctx.body_bytes, body.as_ref())
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, e: &Error) -> bool {
        // The limits' 413/431 and the like: the client's fault, answered, not the edge's.
        matches!(e.etype(), ErrorType::HTTPStatus(status) if *status < 500)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        _ctx: &mut RequestCtx,
    ) -> FailToProxy {
        crate::errors::fail_to_proxy(session, e).await
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        // Nothing was sent yet: another address of the upstream may take the request.
        tracing::warn!(
            "edge: cannot connect to {} for upstream {}: {e}",
            peer,
            ctx.upstream.as_deref().unwrap_or_default()
        );
        e.set_retry(true);
        e
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        for (name, value) in self.forwarded(session, ctx) {
            upstream_request.insert_header(name, value)?;
        }
        Ok(())
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut RequestCtx) {
        let written = session.response_written().map(|r| r.status.as_u16());
        if let Some(log) = &self.guards.access_log
            && !log.record(access_entry(session, ctx, written.unwrap_or(499)))
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

/// The access log entry of a finished request.
fn access_entry(session: &Session, ctx: &RequestCtx, status: u16) -> Entry {
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
        upstream: ctx.upstream.clone().unwrap_or_else(|| "edge".into()),
        upstream_addr: ctx.tried.last().copied(),
        duration: ctx.start.elapsed(),
    }
}
