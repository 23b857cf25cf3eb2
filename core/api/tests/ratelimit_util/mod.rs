//! Helpers of the rate-limit tests: configurations, raw requests with their headers, and the
//! checks of a 429 answer.

use std::time::Duration;

use accord_config::{Config, Quota, RateLimitBackend, RouteQuota};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::Server;

/// Rate limiting on, with generous limits that the tests then tighten.
pub fn generous(c: &mut Config) {
    let r = &mut c.rate_limits;
    r.enabled = true;
    r.global_bot = Quota::new(1000, 1000);
    r.global_user = Quota::new(1000, 1000);
    r.default_route = Quota::new(1000, 1000);
    r.registrations = Quota::new(1000, 1000);
    r.messages_per_channel = Quota::new(1000, 1000);
    r.routes.clear();
}

pub fn route(route: &str, requests: u32, window_ms: u64) -> RouteQuota {
    RouteQuota {
        route: route.into(),
        requests,
        window_ms,
    }
}

/// A Redis configuration with a key prefix of its own.
pub fn redis(c: &mut Config, prefix: &str) {
    c.rate_limits.backend = RateLimitBackend::Redis;
    c.rate_limits.redis_url = Some("redis://127.0.0.1:6379".into());
    c.rate_limits.redis_key_prefix = prefix.into();
}

pub fn unique_prefix(test: &str) -> String {
    format!("accord:test:{test}:{}:", rand::random::<u64>())
}

/// Deletes every key under `prefix`; returns how many there were.
pub async fn clear_redis(prefix: &str) -> usize {
    let client = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .expect("del");
    }
    keys.len()
}

/// Sends a request; returns status, headers and JSON body (Null when empty).
pub async fn send(
    s: &Server,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        s.url(path)
    };
    let mut req = s.http.request(method, url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, headers, json)
}

pub fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).map(|v| v.to_str().expect("ASCII header"))
}

pub fn number(h: &HeaderMap, name: &str) -> f64 {
    header(h, name)
        .unwrap_or_else(|| panic!("no {name} in {h:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number: {h:?}"))
}

pub fn epoch_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Asserts a 429 with Discord's headers and body, scope `scope`; returns `retry_after`.
pub fn assert_limited(status: StatusCode, h: &HeaderMap, body: &Value, scope: &str) -> f64 {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(header(h, "content-type"), Some("application/json"));
    assert_eq!(header(h, "via"), Some("1.1 accord"));
    assert_eq!(header(h, "x-ratelimit-scope"), Some(scope));
    let global = scope == "global";
    assert_eq!(
        header(h, "x-ratelimit-global"),
        global.then_some("true"),
        "{h:?}"
    );
    let retry = body["retry_after"]
        .as_f64()
        .expect("retry_after is a float");
    assert!(retry > 0.0, "{body}");
    let header_retry: u64 = header(h, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in whole seconds");
    assert_eq!(header_retry as f64, retry.ceil().max(1.0), "{h:?} {body}");
    assert_eq!(body["global"], Value::Bool(global), "{body}");
    if scope == "shared" {
        assert_eq!(body["message"], "The resource is being rate limited.");
        assert!(body["code"].is_u64(), "{body}");
    } else {
        assert_eq!(body["message"], "You are being rate limited.");
        assert!(body.get("code").is_none(), "{body}");
    }
    retry
}

/// A client that waits `Reset-After` whenever `Remaining` reaches 0 is never refused.
pub async fn patient_client(s: &Server, token: &str, requests: usize) {
    for i in 0..requests {
        let (status, h, body) = send(s, Method::GET, "/users/@me", Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "request {i}: {body} {h:?}");
        if number(&h, "x-ratelimit-remaining") == 0.0 {
            let wait = number(&h, "x-ratelimit-reset-after");
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}
