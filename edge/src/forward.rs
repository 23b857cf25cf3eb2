//! One request's exchange with an upstream over HTTP/1.1: the request head sent upstream
//! (hop-by-hop fields dropped, `Host` from an HTTP/2 `:authority`, `X-Forwarded-*` set, a body
//! without a length sent chunked), an address of the upstream chosen round-robin among the
//! healthy ones with the next tried when one refuses the connection, the request body streamed
//! up (counted against `edge.limits.max_body_bytes`), the response streamed back, and the
//! upstream connection kept for the client connection's next request ([`crate::held`]) or in
//! Pingora's pool when the exchange left it reusable.
//!
//! The exchange runs in order — head up, body up, then the response — on the request's own
//! task, without `pingora-proxy`'s two-task duplex loop: that loop cost the edge about half its
//! throughput (see benches/README.md, "The edge's own request loop"). `Expect: 100-continue`
//! is answered by the edge itself (as nginx does), so a client waiting for it sends its body
//! without the upstream being involved.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header;
use pingora::connectors::TransportConnector;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::protocols::http::v1::client::HttpSession;
use pingora::upstreams::peer::{HttpPeer, Peer};
use pingora::{Error, ErrorType, Result, RetryType};

use crate::downstream::Downstream;
use crate::health::Balancer;
use crate::held::{self, Held, HeldCount};
use crate::limits::Limits;

/// Request fields that concern one connection only (RFC 9110 §7.6.1), never sent upstream.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

/// What the exchange needs besides the request.
pub struct Upstream<'a> {
    /// The upstream's addresses.
    pub balancer: &'a Balancer,
    /// Pingora's connector and its keep-alive pool.
    pub connector: &'a TransportConnector,
    /// How many upstream connections client connections keep, and how many they may.
    pub held_count: &'a Arc<HeldCount>,
    /// Timeouts and the body limit.
    pub limits: &'a Limits,
    /// `X-Forwarded-For` and `X-Forwarded-Proto`, as sent upstream.
    pub forwarded: Forwarded,
}

/// `X-Forwarded-For` and `X-Forwarded-Proto` with their values (the second a constant).
pub type Forwarded = [(&'static str, Cow<'static, str>); 2];

/// The head sent upstream for the client's request `req`: HTTP/1.1, without hop-by-hop fields
/// (nor those `Connection` names) or `Expect`, with `Host` (from the URI's authority when the
/// client spoke HTTP/2), the `forwarded` fields, and `Transfer-Encoding: chunked` when a body
/// of unknown length follows.
pub fn upstream_head(
    req: &RequestHeader,
    forwarded: &Forwarded,
    has_body: bool,
) -> Result<RequestHeader> {
    let mut up = req.clone();
    up.set_version(http::Version::HTTP_11);
    // One pass over the names finds what to drop; most requests have nothing to drop but
    // `Connection` itself, and removing by name costs a hash each.
    let connection = req.headers.get_all(header::CONNECTION);
    let nominated = |name: &http::HeaderName| {
        connection
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|n| name.as_str().eq_ignore_ascii_case(n.trim()))
    };
    let drop: Vec<http::HeaderName> = req
        .headers
        .keys()
        .filter(|name| {
            HOP_BY_HOP.contains(&name.as_str()) || *name == header::EXPECT || nominated(name)
        })
        .cloned()
        .collect();
    for name in &drop {
        up.remove_header(name);
    }
    if !up.headers.contains_key(header::HOST) {
        let authority = req.uri.authority().map(|a| a.as_str().to_owned());
        match authority {
            Some(a) if a.contains('@') => {
                return Error::e_explain(ErrorType::InvalidHTTPHeader, "userinfo in authority");
            }
            Some(a) => up.insert_header(header::HOST, a)?,
            None if req.version != http::Version::HTTP_10 => up.insert_header(header::HOST, "")?,
            None => {}
        }
    }
    for (name, value) in forwarded {
        up.insert_header(*name, value.as_ref())?;
    }
    if has_body && !up.headers.contains_key(header::CONTENT_LENGTH) {
        up.insert_header(header::TRANSFER_ENCODING, "chunked")?;
    }
    Ok(up)
}

/// Whether the client asked to be told to go on before sending its body.
fn expects_continue(req: &RequestHeader) -> bool {
    req.headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Connects to a healthy address of the upstream not tried yet (each one tried is added to
/// `tried`), the next on a connect failure. The connection the client connection kept in
/// `held` is used when the choice falls on its address, else a pooled connection when there is
/// one. True with a connection that was used before.
async fn connect(
    up: &Upstream<'_>,
    tried: &mut Vec<SocketAddr>,
    held: &mut Option<Held>,
) -> Result<(HttpSession, HttpPeer, bool)> {
    loop {
        let backend = up.balancer.select_with(b"", 256, |b, healthy| {
            healthy && b.addr.as_inet().is_some_and(|a| !tried.contains(a))
        });
        let Some(addr) = backend.and_then(|b| b.addr.as_inet().copied()) else {
            let mut e = Error::explain(
                ErrorType::HTTPStatus(502),
                "no healthy upstream address left",
            );
            e.as_up();
            return Err(e);
        };
        tried.push(addr);
        let mut peer = HttpPeer::new(addr, false, String::new());
        up.limits.apply_to_peer(&mut peer, false);
        let kept = held::take(held, up.connector, addr, up.limits.upstream_idle());
        // Then a pooled connection, on a small future. Connecting is boxed: Pingora's connect
        // future is about 9 KiB, which would otherwise sit in every request's future.
        let got = match kept {
            Some(stream) => Ok((stream, true)),
            None => match up.connector.reused_stream(&peer).await {
                Some(stream) => Ok((stream, true)),
                None => Box::pin(up.connector.new_stream(&peer))
                    .await
                    .map(|s| (s, false)),
            },
        };
        match got {
            Ok((stream, reused)) => {
                let mut session = HttpSession::new_with_options(stream, &peer);
                session.read_timeout = peer.options.read_timeout;
                session.write_timeout = peer.options.write_timeout;
                return Ok((session, peer, reused));
            }
            Err(e) => tracing::warn!("edge: cannot connect to {addr}: {e}"),
        }
    }
}

/// Proxies the request read into `ds` to the upstream and its answer back, on the connection
/// the client connection kept in `held` when it fits, which then keeps this exchange's
/// connection. `body_bytes` counts the request body read. An error before any response head
/// went out is answered by the caller (502/504, or 413 past the body limit).
pub async fn exchange(
    ds: &mut Downstream,
    up: &Upstream<'_>,
    held: &mut Option<Held>,
    tried: &mut Vec<SocketAddr>,
    body_bytes: &mut u64,
) -> Result<()> {
    let has_body = !ds.is_body_empty();
    let continue_first = has_body && expects_continue(ds.req_header());
    let method = ds.req_header().method.clone();
    let (mut session, peer) = loop {
        // Built again for a second attempt rather than cloned for every request.
        let head =
            upstream_head(ds.req_header(), &up.forwarded, has_body).map_err(|e| e.into_down())?;
        let (mut session, peer, reused) = connect(up, tried, held).await?;
        match start(&mut session, head, has_body).await {
            Ok(()) => break (session, peer),
            // A pooled connection the upstream closed meanwhile: the request did not reach it
            // (nothing came back, and no body was read from the client yet), so a fresh
            // connection takes it.
            Err(e) if reused && retryable(&e, &method) => {
                tracing::debug!("edge: pooled connection to {peer} was closed: {e}");
                tried.pop();
            }
            Err(e) => return Err(e.into_up()),
        }
    };
    if has_body {
        if continue_first {
            // Pingora would mark the connection for closing, the body being unread when a
            // response head goes out; a 100 is not the answer.
            ds.set_close_on_response_before_downstream_finish(false);
            let sent = ds.write_continue_response().await;
            ds.set_close_on_response_before_downstream_finish(true);
            sent.map_err(|e| e.into_down())?;
        }
        send_body(ds, &mut session, up.limits, body_bytes).await?;
        session.finish_body().await.map_err(|e| e.into_up())?;
        session.read_response().await.map_err(|e| e.into_up())?;
    }
    let resp = loop {
        let resp = session.resp_header().ok_or_else(|| {
            Error::explain(ErrorType::InvalidHTTPHeader, "no response head").into_up()
        })?;
        if !resp.status.is_informational() || resp.status == 101 {
            break Box::new(resp.clone());
        }
        ds.write_response_header(Box::new(resp.clone()), false)
            .await
            .map_err(|e| e.into_down())?;
        session.read_response().await.map_err(|e| e.into_up())?;
    };
    let resp = frame(ds.req_header(), resp, session.is_body_done())?;
    let done = session.is_body_done();
    ds.write_response_header(resp, done)
        .await
        .map_err(|e| e.into_down())?;
    while !session.is_body_done() {
        let chunk = match session.read_body_ref().await.map_err(|e| e.into_up())? {
            Some(chunk) => Bytes::copy_from_slice(chunk),
            None => break,
        };
        let end = session.is_body_done();
        ds.write_response_body(Some(chunk), end)
            .await
            .map_err(|e| e.into_down())?;
    }
    ds.write_response_body(None, true)
        .await
        .map_err(|e| e.into_down())?;
    session.respect_keepalive();
    if let Some(stream) = session.reuse().await
        && let Some(addr) = peer.address().as_inet()
    {
        let idle = up.limits.upstream_idle();
        let key = peer.reuse_hash();
        held::keep(held, up.held_count, up.connector, stream, *addr, key, idle);
    }
    Ok(())
}

/// Sends the request head; without a body, also ends the request and reads the response head.
async fn start(session: &mut HttpSession, head: RequestHeader, has_body: bool) -> Result<()> {
    session.write_request_header(Box::new(head)).await?;
    if !has_body {
        session.finish_body().await?;
        session.read_response().await?;
    }
    Ok(())
}

/// Whether `e`, from a pooled connection, means the upstream had closed it before taking the
/// request, so sending it again on a fresh connection is safe: a failed write; or a read that
/// got nothing at all (Pingora marks those retryable), except for POST and PATCH, which an
/// upstream may have acted on before dying (nginx does not repeat them either).
fn retryable(e: &Error, method: &http::Method) -> bool {
    matches!(e.etype(), ErrorType::WriteError)
        || (matches!(e.retry, RetryType::ReusedOnly | RetryType::Decided(true))
            && *method != http::Method::POST
            && *method != http::Method::PATCH)
}

/// Streams the client's request body to the upstream, counted against the body limit.
async fn send_body(
    ds: &mut Downstream,
    session: &mut HttpSession,
    limits: &Limits,
    body_bytes: &mut u64,
) -> Result<()> {
    loop {
        let chunk = ds.read_request_body().await.map_err(|e| e.into_down())?;
        limits.count_body(body_bytes, chunk.as_ref())?;
        let Some(chunk) = chunk else {
            return Ok(());
        };
        session.write_body(&chunk).await.map_err(|e| e.into_up())?;
    }
}

/// The upstream's response head as sent to the client: a response whose body runs until the
/// upstream closes (no length, not chunked) is sent chunked, so the client's connection can be
/// kept.
fn frame(
    req: &RequestHeader,
    mut resp: Box<ResponseHeader>,
    body_done: bool,
) -> Result<Box<ResponseHeader>> {
    let no_body = req.method == http::Method::HEAD || matches!(resp.status.as_u16(), 204 | 304);
    if !no_body
        && !body_done
        && !resp.headers.contains_key(header::TRANSFER_ENCODING)
        && !resp.headers.contains_key(header::CONTENT_LENGTH)
    {
        resp.set_version(http::Version::HTTP_11);
        resp.insert_header(header::TRANSFER_ENCODING, "chunked")?;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded() -> Forwarded {
        [
            ("x-forwarded-for", "10.0.0.1".into()),
            ("x-forwarded-proto", "https".into()),
        ]
    }

    #[test]
    fn hop_by_hop_fields_and_the_ones_connection_names_stay_behind() {
        let mut req = RequestHeader::build("POST", b"/api/v10/x?y=1", None).unwrap();
        for (name, value) in [
            ("host", "chat.example"),
            ("connection", "keep-alive, X-Secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("expect", "100-continue"),
            ("x-forwarded-for", "6.6.6.6"),
            ("authorization", "Bot abc"),
        ] {
            req.append_header(name, value).unwrap();
        }
        let up = upstream_head(&req, &forwarded(), true).unwrap();
        for gone in ["connection", "x-secret", "keep-alive", "te", "expect"] {
            assert!(!up.headers.contains_key(gone), "{gone} was sent upstream");
        }
        assert_eq!(up.headers["host"], "chat.example");
        assert_eq!(up.headers["authorization"], "Bot abc");
        assert_eq!(up.headers["x-forwarded-for"], "10.0.0.1");
        assert_eq!(up.headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(up.headers["x-forwarded-proto"], "https");
        // The body's length is unknown: chunked again, by the edge's own framing.
        assert_eq!(up.headers["transfer-encoding"], "chunked");
        assert_eq!(up.uri.path_and_query().unwrap().as_str(), "/api/v10/x?y=1");
        assert_eq!(up.version, http::Version::HTTP_11);
    }

    #[test]
    fn a_length_is_kept_and_an_http2_authority_becomes_host() {
        let mut req = RequestHeader::build("PUT", b"/a", None).unwrap();
        req.insert_header("content-length", "3").unwrap();
        let up = upstream_head(&req, &forwarded(), true).unwrap();
        assert!(!up.headers.contains_key("transfer-encoding"));
        assert_eq!(up.headers["content-length"], "3");
        assert_eq!(up.headers["host"], "");

        let mut h2 = RequestHeader::build("GET", b"/b", None).unwrap();
        h2.set_uri("https://chat.example:8443/b".parse().unwrap());
        h2.set_version(http::Version::HTTP_2);
        let up = upstream_head(&h2, &forwarded(), false).unwrap();
        assert_eq!(up.headers["host"], "chat.example:8443");
        assert!(!up.headers.contains_key("transfer-encoding"));

        let mut bad = RequestHeader::build("GET", b"/c", None).unwrap();
        bad.set_uri("https://user@chat.example/c".parse().unwrap());
        assert!(upstream_head(&bad, &forwarded(), false).is_err());
    }

    #[test]
    fn a_close_delimited_answer_is_sent_chunked_but_not_for_head_or_204() {
        let get = RequestHeader::build("GET", b"/", None).unwrap();
        let head = RequestHeader::build("HEAD", b"/", None).unwrap();
        let open = || Box::new(ResponseHeader::build(200, None).unwrap());
        let resp = frame(&get, open(), false).unwrap();
        assert_eq!(resp.headers["transfer-encoding"], "chunked");
        assert!(
            !frame(&head, open(), false)
                .unwrap()
                .headers
                .contains_key("transfer-encoding")
        );
        let empty = Box::new(ResponseHeader::build(204, None).unwrap());
        assert!(
            !frame(&get, empty, false)
                .unwrap()
                .headers
                .contains_key("transfer-encoding")
        );
        let mut sized = open();
        sized.insert_header("content-length", "2").unwrap();
        assert!(
            !frame(&get, sized, false)
                .unwrap()
                .headers
                .contains_key("transfer-encoding")
        );
    }

    #[test]
    fn a_dropped_pooled_connection_is_retried_but_not_for_post_or_patch() {
        let write = Error::new(ErrorType::WriteError);
        assert!(retryable(&write, &http::Method::POST));
        let mut closed = Error::new(ErrorType::ConnectionClosed);
        closed.retry = RetryType::ReusedOnly;
        assert!(retryable(&closed, &http::Method::GET));
        assert!(retryable(&closed, &http::Method::DELETE));
        assert!(!retryable(&closed, &http::Method::POST));
        assert!(!retryable(&closed, &http::Method::PATCH));
        let timeout = Error::new(ErrorType::ReadTimedout);
        assert!(!retryable(&timeout, &http::Method::GET));
    }

    #[test]
    fn only_100_continue_is_an_expectation_to_answer() {
        let mut req = RequestHeader::build("POST", b"/", None).unwrap();
        assert!(!expects_continue(&req));
        req.insert_header("expect", "100-Continue").unwrap();
        assert!(expects_continue(&req));
        req.insert_header("expect", "something-else").unwrap();
        assert!(!expects_continue(&req));
    }
}
