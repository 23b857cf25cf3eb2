//! The Pingora proxy logic: IP filter (403 with JSON code 40333 before any upstream is
//! contacted), routing, round-robin over healthy addresses with retry on connect failure, and
//! the `X-Forwarded-*` headers sent upstream. WebSocket upgrades are proxied by Pingora itself.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::{Error, ErrorType, Result};

use crate::client_addr::ClientAddr;
use crate::health::Balancer;
use crate::ip_filter::IpFilter;
use crate::routes::RouteTable;

/// Discord's JSON error code sent with 403 when the edge refuses a client address.
pub const BLOCKED_CODE: u32 = accord_model::error::codes::ADDRESS_BLOCKED;

/// The edge's request handling.
pub struct EdgeProxy {
    routes: RouteTable,
    balancers: BTreeMap<String, Arc<Balancer>>,
    filter: Arc<IpFilter>,
    clients: ClientAddr,
}

impl EdgeProxy {
    /// The proxy over these routes, upstreams, filter and trusted proxies.
    pub fn new(
        routes: RouteTable,
        balancers: BTreeMap<String, Arc<Balancer>>,
        filter: Arc<IpFilter>,
        clients: ClientAddr,
    ) -> Self {
        Self {
            routes,
            balancers,
            filter,
            clients,
        }
    }
}

/// What one request carries between the proxy's phases.
#[derive(Debug, Default)]
pub struct RequestCtx {
    /// The connection's peer address.
    peer: Option<IpAddr>,
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
    let mut resp = ResponseHeader::build(status, Some(2))?;
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
        RequestCtx::default()
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
        if !self.filter.permits(client) {
            tracing::debug!("edge: refused {client} (peer {peer})");
            respond_json(session, 403, "internal network error", BLOCKED_CODE).await?;
            return Ok(true);
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
        let peer = ctx.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let chain = self
            .clients
            .forward_header(peer, forwarded_for(session.req_header()));
        upstream_request.insert_header("x-forwarded-for", chain)?;
        upstream_request.insert_header("x-forwarded-proto", "http")?;
        Ok(())
    }
}
