//! HTTP conventions: unknown routes, methods, body limits, CORS, content types, health,
//! metrics, instance policies and the OpenAPI document.

mod common;

use common::Server;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn conventions(backend: &str) {
    let s = Server::start_with(backend, |c| c.api.max_body_bytes = 1024).await;
    let (status, body) = s.call(Method::GET, "/no/such/route", None, None).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"code": 0, "message": "404: Not Found"})
        )
    );
    let (status, body) = s
        .call(Method::GET, &format!("{}/nothing", s.origin), None, None)
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(0))
    );
    let (status, body) = s.call(Method::DELETE, "/auth/login", None, None).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"code": 0, "message": "405: Method Not Allowed"})
        )
    );

    // Oversized bodies: 413 with 40005, nothing written.
    let big = json!({"username": "big", "password": "x".repeat(4096)});
    let (status, body) = s
        .call(Method::POST, "/auth/register", None, Some(big))
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some(40005))
    );
    assert_eq!(s.user_count().await, 0);

    // CORS preflight for a browser client.
    let resp = s
        .http
        .request(Method::OPTIONS, s.url("/users/@me"))
        .header("origin", "https://client.example")
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");

    // Health, readiness and metrics.
    let (status, body) = s
        .call(Method::GET, &format!("{}/healthz", s.origin), None, None)
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = s
        .call(Method::GET, &format!("{}/readyz", s.origin), None, None)
        .await;
    assert_eq!(
        (status, body["database"].as_str()),
        (StatusCode::OK, Some(backend))
    );
    let metrics = s
        .http
        .get(format!("{}/metrics", s.origin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("accord_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/api/v10/auth/register\""),
        "{metrics}"
    );

    // Where things are.
    let (status, domains) = s
        .call(Method::GET, "/policies/instance/domains", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(domains["apiEndpoint"], "http://127.0.0.1:3001/api");
    assert_eq!(domains["gateway"], "ws://127.0.0.1:3002");
    assert_eq!(domains["cdn"], "http://127.0.0.1:3003");
    assert_eq!(domains["defaultApiVersion"], "10");
    let (_, instance) = s.call(Method::GET, "/policies/instance", None, None).await;
    assert_eq!(instance["instanceName"], "Accord");
    assert_eq!(instance["registration"], "open");

    // The OpenAPI document lists the routes.
    let (status, doc) = s.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/auth/register",
        "/auth/login",
        "/users/@me",
        "/users/{user_id}",
        "/applications/{application_id}/bot",
        "/oauth2/applications/@me",
    ] {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }
    assert!(doc["paths"]["/users/@me"]["patch"].is_object());
    s.stop().await;
}

async fn readiness_fails_without_database(backend: &str) {
    let s = Server::start(backend).await;
    s.state.store.close().await;
    let (status, body) = s
        .call(Method::GET, &format!("{}/readyz", s.origin), None, None)
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );
    let token = s
        .state
        .signer
        .issue(accord_model::UserId::new(1), false, accord_auth::now_ms());
    let (status, body) = s.call(Method::GET, "/users/@me", Some(&token), None).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::SERVICE_UNAVAILABLE, Some(0))
    );
    s.stop().await;
}

both_backends!(conventions, readiness_fails_without_database);
