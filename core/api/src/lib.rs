//! Accord's REST API: axum routes that mirror Discord's URL tree under `/api`, `/api/v9` and
//! `/api/v10`, Discord's error bodies for every failure, token authentication without database
//! reads, CORS, request tracing, Prometheus metrics and a generated OpenAPI document.

pub mod bus;
pub mod error;
pub mod extract;
pub mod ops;
pub mod ratelimit;
pub mod routes;
pub mod services;
pub mod state;
pub mod views;
pub mod views_guild;
pub mod views_invite;
pub mod views_message;
pub mod views_thread;
pub mod views_webhook;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};
pub use state::AppState;

/// The OpenAPI document of every route, as generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api().split_for_parts().1
}

/// The complete HTTP application for `state`.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = routes::api().split_for_parts();
    let openapi = Arc::new(openapi);
    let api = api
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    let limit = state.config.api.max_body_bytes;
    let cors = cors(&state.config.api.cors_origins);
    let limiter = Arc::new(ratelimit::RateLimiter::new(&state.config));
    Router::new()
        .nest("/api/v10", api.clone())
        .nest("/api/v9", api.clone())
        .nest("/api", api)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            (state, limiter),
            ratelimit::middleware,
        ))
        .layer(axum::middleware::from_fn(ops::track))
        .layer(DefaultBodyLimit::max(limit))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            panic_response()
        }))
}

fn panic_response() -> Response {
    ApiError::Internal("handler panicked".to_owned()).into_response()
}

fn cors(origins: &[String]) -> CorsLayer {
    let expose = [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
        "x-ratelimit-scope",
        "x-ratelimit-global",
        "retry-after",
    ]
    .map(HeaderName::from_static);
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(Any)
        .expose_headers(expose)
        .max_age(Duration::from_secs(86_400));
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(list))
    }
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    ops::prometheus();
    services::threads::spawn_archiver(state.clone());
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
