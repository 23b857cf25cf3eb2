//! The edge's admin listener (`edge.admin_listen`): `GET /blocks`, `DELETE /blocks/{address}`
//! and `GET /metrics`, behind `Authorization: Bearer <edge.admin_token>` when a token is set.
//!
//! A small axum server on a thread and single-threaded runtime of its own rather than a Pingora
//! service: it is a handful of JSON/text routes that need no proxying, and keeping it apart
//! means a flood on the public port cannot starve it. The same runtime runs the periodic
//! upkeep (histograms, forgotten addresses and full counters).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use tokio::sync::watch;

use crate::blocking::Blocker;
use crate::metrics::EdgeMetrics;
use crate::throttle::Throttle;

/// What the admin routes and the upkeep work on.
pub struct Admin {
    /// The error-based blocker.
    pub blocker: Arc<Blocker>,
    /// The edge's metrics.
    pub metrics: Arc<EdgeMetrics>,
    /// The throttle, if on.
    pub throttle: Option<Arc<Throttle>>,
    /// The bearer token required, if any.
    pub token: String,
}

/// Seconds between upkeep rounds.
const UPKEEP: Duration = Duration::from_secs(5);

impl Admin {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        if self.token.is_empty() {
            return true;
        }
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Compare without an early exit on the first differing byte.
        given.is_some_and(|g| {
            g.len() == self.token.len()
                && g.bytes()
                    .zip(self.token.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
    }
}

fn unauthorized() -> Response {
    let body = serde_json::json!({ "message": "401: Unauthorized", "code": 0 });
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

async fn list_blocks(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !admin.authorized(&headers) {
        return unauthorized();
    }
    axum::Json(admin.blocker.list()).into_response()
}

async fn lift_block(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Response {
    if !admin.authorized(&headers) {
        return unauthorized();
    }
    let Ok(ip) = address.parse::<IpAddr>() else {
        let body = serde_json::json!({ "message": "not an IP address", "code": 0 });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    if admin.blocker.lift(ip) {
        admin.metrics.lifted();
        StatusCode::NO_CONTENT.into_response()
    } else {
        let body = serde_json::json!({ "message": "no block for this address", "code": 0 });
        (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
    }
}

async fn metrics(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !admin.authorized(&headers) {
        return unauthorized();
    }
    let text = admin.metrics.render(admin.blocker.list().len());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Binds `addr` (retrying for up to `wait` while it is taken) and serves the admin routes on a
/// thread of its own until `stop` turns true.
pub fn start(
    addr: SocketAddr,
    wait: Duration,
    admin: Admin,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let deadline = std::time::Instant::now() + wait;
    let listener = loop {
        match std::net::TcpListener::bind(addr) {
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            bound => {
                break bound
                    .with_context(|| format!("cannot listen on {addr} (edge.admin_listen)"))?;
            }
        }
    };
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the edge admin runtime")?;
    let admin = Arc::new(admin);
    let app = Router::new()
        .route("/blocks", get(list_blocks))
        .route("/blocks/{address}", delete(lift_block))
        .route("/metrics", get(metrics))
        .with_state(admin.clone());
    std::thread::Builder::new()
        .name("edge-admin".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!("edge admin listener: {e}");
                        return;
                    }
                };
                let upkeep = admin.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(UPKEEP);
                    loop {
                        tick.tick().await;
                        upkeep.metrics.upkeep();
                        upkeep.blocker.sweep();
                        if let Some(t) = &upkeep.throttle {
                            t.sweep();
                        }
                    }
                });
                // Stop at once (the runtime's end closes any open admin connection).
                tokio::select! {
                    result = axum::serve(listener, app) => {
                        if let Err(e) = result {
                            tracing::error!("edge admin listener: {e}");
                        }
                    }
                    _ = stop.wait_for(|s| *s) => {}
                }
            });
        })
        .context("cannot start the edge admin thread")
}
