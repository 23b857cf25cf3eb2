//! The rate-limit headers of every API response, and the 429 answer past a limit.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::counters::{Check, Verdict};
use super::rules::{Kind, Plan};

/// Seconds with millisecond precision, as Discord writes them (`64.57`, `1470173023.123`).
fn seconds(us: u64) -> String {
    format!("{:.3}", us as f64 / 1_000_000.0)
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Adds `X-RateLimit-Limit`, `-Remaining`, `-Reset`, `-Reset-After` and `-Bucket` for the route
/// bucket (nothing when the route is unlimited).
pub fn add_headers(headers: &mut HeaderMap, plan: &Plan, verdict: &Verdict) {
    let Some(check) = route_check(plan, verdict) else {
        return;
    };
    set(headers, "x-ratelimit-limit", plan.route_limit.to_string());
    set(
        headers,
        "x-ratelimit-remaining",
        check.remaining.to_string(),
    );
    set(
        headers,
        "x-ratelimit-reset",
        seconds(verdict.now_us + check.reset_after_us),
    );
    set(
        headers,
        "x-ratelimit-reset-after",
        seconds(check.reset_after_us),
    );
    set(headers, "x-ratelimit-bucket", plan.bucket.clone());
}

fn route_check(plan: &Plan, verdict: &Verdict) -> Option<Check> {
    plan.limits
        .iter()
        .zip(&verdict.checks)
        .find(|((kind, _), _)| *kind == Kind::Route)
        .map(|(_, c)| *c)
}

/// The limit that refused the request: the one to wait longest for.
pub fn blocking(plan: &Plan, verdict: &Verdict) -> Option<(Kind, u64)> {
    plan.limits
        .iter()
        .zip(&verdict.checks)
        .filter(|(_, c)| c.retry_after_us > 0)
        .map(|((kind, _), c)| (*kind, c.retry_after_us))
        .max_by_key(|(_, retry)| *retry)
}

/// The scope name of a refusal.
pub fn scope(kind: Kind) -> &'static str {
    match kind {
        Kind::Route => "user",
        Kind::Global => "global",
        Kind::Shared(_) => "shared",
    }
}

/// HTTP 429 for a request refused by `kind`, to retry after `retry_us`.
pub fn too_many_requests(plan: &Plan, verdict: &Verdict, kind: Kind, retry_us: u64) -> Response {
    let retry_after = (retry_us as f64 / 1_000.0).ceil() / 1_000.0;
    let global = kind == Kind::Global;
    let mut body = serde_json::json!({
        "message": if matches!(kind, Kind::Shared(_)) {
            "The resource is being rate limited."
        } else {
            "You are being rate limited."
        },
        "retry_after": retry_after,
        "global": global,
    });
    if let Kind::Shared(code) = kind {
        body["code"] = code.into();
    }
    let mut response = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add_headers(headers, plan, verdict);
    set(
        headers,
        "retry-after",
        (retry_us.div_ceil(1_000_000)).max(1).to_string(),
    );
    set(headers, "x-ratelimit-scope", scope(kind).to_owned());
    if global {
        set(headers, "x-ratelimit-global", "true".to_owned());
    }
    headers.insert(header::VIA, HeaderValue::from_static("1.1 accord"));
    response
}
