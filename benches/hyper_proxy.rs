//! A minimal HTTP/1.1 reverse proxy on hyper (tokio, one keep-alive pool to the upstream), for
//! `edge-wrk.sh` only (`HYPER=1`): it does what the edge does for a plain request — forward it
//! with `X-Forwarded-For`/`-Proto`, stream the answer back — and nothing else (no routing,
//! filters, limits, logs or metrics), so its CPU per request is what Rust's HTTP stack costs
//! without Pingora, beside the edge's and nginx's.
//!
//! Run: `accord-hyper-proxy 127.0.0.1:3130 127.0.0.1:3101` (listen, upstream).

/// The `accord` binary's allocator, as the edge has it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;

use http::header::HeaderValue;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{Either, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

type Upstream = Client<HttpConnector, Incoming>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: accord-hyper-proxy <listen addr> <upstream addr>";
    let listen: SocketAddr = args.next().expect(usage).parse().expect(usage);
    let upstream: SocketAddr = args.next().expect(usage).parse().expect(usage);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build(connector);
    let listener = TcpListener::bind(listen).await.expect("listen");
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let client = client.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| forward(client.clone(), upstream, peer, req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// Sends `req` on to `upstream` and gives back its answer; a 502 without a body when the
/// upstream cannot be reached.
async fn forward(
    client: Upstream,
    upstream: SocketAddr,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Result<Response<Either<Incoming, Empty<Bytes>>>, std::convert::Infallible> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri = format!("http://{upstream}{path}")
        .parse()
        .expect("an address and a request path make a URI");
    *req.uri_mut() = uri;
    let headers = req.headers_mut();
    if let Ok(ip) = HeaderValue::from_str(&peer.ip().to_string()) {
        headers.insert("x-forwarded-for", ip);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    Ok(match client.request(req).await {
        Ok(response) => response.map(Either::Left),
        Err(e) => {
            eprintln!("upstream: {e}");
            let mut bad = Response::new(Either::Right(Empty::new()));
            *bad.status_mut() = StatusCode::BAD_GATEWAY;
            bad
        }
    })
}
