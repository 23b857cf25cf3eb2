//! The Pingora proxy logic: IP filter and error-based blocks (403 with JSON code 40333 before
//! any upstream is contacted), throttling (429), routing, round-robin over healthy addresses with
//! retry on connect failure, the `X-Forwarded-*` headers sent upstream, and, once the response
//! is sent, the error count of the client address and the metrics. WebSocket upgrades are
//! tunnelled by [`crate::websocket`], not by Pingora's proxy loop.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::{Error, ErrorType, Result};
use tokio::io::AsyncWriteExt;

use crate::blocking::Blocker;
use crate::client_addr::ClientAddr;
use crate::health::Balancer;
use crate::ip_filter::IpFilter;
use crate::metrics::EdgeMetrics;
use crate::routes::RouteTable;
use crate::throttle::Throttle;
use crate::websocket;

/// Discord's JSON error code sent with 403 when the edge refuses a client address.
pub const BLOCKED_CODE: u32 = accord_model::error::codes::ADDRESS_BLOCKED;

/// The edge's request handling.
pub struct EdgeProxy {
    routes: RouteTable,
    balancers: BTreeMap<String, Arc<Balancer>>,
    filter: Arc<IpFilter>,
    clients: ClientAddr,
    guards: Guards,
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
        }
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
            ("x-forwarded-proto", "http".to_owned()),
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
        let setup = async {
            let mut upstream = websocket::connect(lb, &mut ctx.tried).await?;
            upstream.write_all(&head).await.map_err(|e| {
                websocket::TunnelError::BadResponse(format!("writing the request: {e}"))
            })?;
            let head = websocket::read_head(&mut upstream).await?;
            Ok::<_, websocket::TunnelError>((upstream, head))
        };
        match setup.await {
            Ok((upstream, head)) => websocket::relay(session, upstream, head).await,
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
}

fn forwarded_for(req: &RequestHeader) -> impl Iterator<Item = &str> {
    req.headers
        .get_all("x-forwarded-for")
        .into_iter()
        .filter_map(|v| v.to_str().ok())
}

/// Writes a Discord-style JSON error (`{"message", "code"}`) and ends the response.
async fn respond_json(session: &mut Session, status: u16, message: &str, code: u32) -> Result<()> {
    let body = serde_json::json!({ "message": message, "code": code }).to_string();
    respond(session, status, &[], body).await
}

/// Writes a JSON response with extra `headers` and ends it.
async fn respond(
    session: &mut Session,
    status: u16,
    headers: &[(&'static str, String)],
    body: String,
) -> Result<()> {
    let mut resp = ResponseHeader::build(status, Some(2 + headers.len()))?;
    for (name, value) in headers {
        resp.insert_header(*name, value.as_str())?;
    }
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from(body)), true)
        .await
}

#[async_trait]
impl ProxyHttp for EdgeProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            start: Instant::now(),
            peer: None,
            client: None,
            upstream: None,
            tried: Vec::new(),
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
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
        Ok(Box::new(HttpPeer::new(addr, false, String::new())))
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
        let Some(status) = session.response_written().map(|r| r.status.as_u16()) else {
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
