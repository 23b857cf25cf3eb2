//! A minimal HTTP/1.1 reverse proxy on `pingora-core` alone (Pingora's server, listener, HTTP/1
//! sessions and upstream connection pool, without `pingora-proxy`'s `ProxyHttp` machinery), for
//! `edge-wrk.sh` only (`PCORE=1`): it forwards a plain request with `X-Forwarded-For`/`-Proto`
//! and streams the answer back, and nothing else, so its CPU per request shows how much of the
//! edge's cost is `pingora-proxy`'s request loop and how much Pingora's HTTP/1 code under it.
//!
//! Run: `accord-pingora-core-proxy 127.0.0.1:3131 127.0.0.1:3101` (listen, upstream).

/// The `accord` binary's allocator, as the edge has it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream};
use pingora::connectors::http::v1::Connector;
use pingora::protocols::http::ServerSession;
use pingora::server::configuration::ServerConf;
use pingora::server::{Server, ShutdownWatch};
use pingora::services::listening::Service;
use pingora::upstreams::peer::HttpPeer;

/// The proxy: one upstream, Pingora's keep-alive pool.
struct CoreProxy {
    connector: Connector,
    peer: HttpPeer,
}

impl CoreProxy {
    /// Forwards the request read into `session` and streams the answer back.
    async fn forward(&self, session: &mut ServerSession) -> pingora::Result<()> {
        let mut req = Box::new(session.req_header().clone());
        let peer_ip = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        req.insert_header("x-forwarded-for", peer_ip)?;
        req.insert_header("x-forwarded-proto", "http")?;
        let (mut upstream, _reused) = self.connector.get_http_session(&self.peer).await?;
        upstream.write_request_header(req).await?;
        while let Some(chunk) = session.read_request_body().await? {
            upstream.write_body(&chunk).await?;
        }
        upstream.finish_body().await?;
        upstream.read_response().await?;
        let resp = upstream
            .resp_header()
            .expect("read_response read the header");
        session.write_response_header_ref(resp).await?;
        while let Some(chunk) = upstream.read_body_ref().await? {
            let chunk = bytes::Bytes::copy_from_slice(chunk);
            session.write_response_body(chunk, false).await?;
        }
        session.finish_body().await?;
        self.connector
            .release_http_session(upstream, &self.peer, Some(Duration::from_secs(60)))
            .await;
        Ok(())
    }
}

#[async_trait]
impl HttpServerApp for CoreProxy {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        _shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        match session.read_request().await {
            Ok(true) => {}
            _ => return None,
        }
        if let Err(e) = self.forward(&mut session).await {
            eprintln!("proxy: {e}");
            let _ = session.respond_error(502).await;
            return None;
        }
        let settings = HttpPersistentSettings::for_session(&session);
        session
            .finish()
            .await
            .ok()
            .flatten()
            .map(|s| ReusedHttpStream::from_reusable_stream(s, settings))
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: accord-pingora-core-proxy <listen addr> <upstream addr>";
    let listen: SocketAddr = args.next().expect(usage).parse().expect(usage);
    let upstream: SocketAddr = args.next().expect(usage).parse().expect(usage);
    // As `edge.threads`: 0 or unset is one per CPU.
    let threads = match std::env::var("EDGE_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        Some(0) | None => std::thread::available_parallelism().map_or(2, |n| n.get()),
        Some(n) => n,
    };
    let conf = ServerConf {
        threads,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    let app = CoreProxy {
        connector: Connector::new(None),
        peer: HttpPeer::new(upstream, false, String::new()),
    };
    let mut service = Service::new("pingora-core proxy".into(), app);
    service.add_tcp(&listen.to_string());
    server.add_service(service);
    server.run_forever();
}
