//! One client connection: the edge's own HTTP/1 keep-alive loop, with HTTP/2 left to Pingora.
//!
//! Pingora runs an `HttpServerApp` one request at a time, boxing the request's future anew for
//! each (`async_trait`): the edge's request future, a few KiB, was allocated and copied into a
//! fresh box on every request of a kept connection. [`EdgeApp`] serves an HTTP/1 connection's
//! requests in one loop on the connection's own future instead, with the same keep-alive
//! settings Pingora applies. A connection that negotiated HTTP/2 (ALPN `h2`, the HTTPS
//! listener with `edge.tls.http2`) goes to Pingora's HTTP/2 server, which runs each stream on a
//! task of its own through [`EdgeProxy`]'s `HttpServerApp`. The loop also carries the upstream
//! connection the client connection keeps between its requests ([`crate::held`]).

use std::sync::Arc;

use async_trait::async_trait;
use pingora::apps::{HttpServerApp, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::{ALPN, Stream};
use pingora::server::ShutdownWatch;

use crate::proxy::EdgeProxy;

/// Keep-alive seconds a new HTTP/1 connection starts with (Pingora's default); each request
/// sets `edge.timeouts.client_keepalive_secs` in their place.
const KEEPALIVE_SECS: u64 = 60;

/// The edge's request handling as a Pingora server application.
pub struct EdgeApp {
    proxy: Arc<EdgeProxy>,
}

impl EdgeApp {
    /// Serves connections with `proxy`.
    pub fn new(proxy: EdgeProxy) -> Self {
        Self {
            proxy: Arc::new(proxy),
        }
    }
}

#[async_trait]
impl ServerApp for EdgeApp {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        if matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            return ServerApp::process_new(&self.proxy, stream, shutdown).await;
        }
        let mut session = ServerSession::new_http1(stream);
        // Keep-alive on (the configured time is set per request, `Limits::apply_to_client`),
        // unless the service is stopping.
        session.set_keepalive((!*shutdown.borrow()).then_some(KEEPALIVE_SECS));
        session.set_keepalive_reuses_remaining(
            self.proxy
                .server_options()
                .and_then(|o| o.keepalive_request_limit),
        );
        // The upstream connection kept between this connection's requests (crate::held).
        let mut held = None;
        while let Some(reused) = self.proxy.serve(session, shutdown, &mut held).await {
            let (stream, settings) = reused.consume();
            session = ServerSession::new_http1(stream);
            if let Some(settings) = settings {
                settings.apply_to_session(&mut session);
            }
        }
        self.proxy.release(held);
        None
    }

    async fn cleanup(&self) {
        self.proxy.http_cleanup().await;
    }
}
