//! The harness of the API tests: the real router served on a loopback port, against a fresh
//! database of either backend, with a reqwest client.

#![allow(dead_code)]

use std::sync::Arc;

use accord_api::AppState;
use accord_bus::Bus;
use accord_config::Config;
use accord_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A running API.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    /// The state the server runs with (store, bus, config).
    pub state: AppState,
    /// HTTP client.
    pub http: reqwest::Client,
    db: Option<TestDb>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Test configuration: cheap password hashing so the suite stays fast.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.security.argon2.memory_kib = 256;
    config.security.argon2.iterations = 1;
    config
}

impl Server {
    /// Starts a server on `backend` with the test configuration changed by `tweak`.
    pub async fn start_with(backend: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let mut config = test_config();
        tweak(&mut config);
        config.validate().expect("test config is valid");
        let config = Arc::new(config);
        let bus = Bus::memory(1024);
        let state = AppState::new(config, store, bus).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        tokio::spawn(async move {
            accord_api::serve(listener, serve_state, async move {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Self {
            origin,
            state,
            http: reqwest::Client::new(),
            db: Some(db),
            shutdown: Some(tx),
        }
    }

    /// Starts a server on `backend` with the test configuration.
    pub async fn start(backend: &str) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Stops the server and drops its database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.state.store.close().await;
        if let Some(db) = self.db.take() {
            db.drop_db().await;
        }
    }

    /// `origin + /api/v10 + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v10{path}", self.origin)
    }

    /// Sends a request with an optional `Authorization` value and JSON body; returns status and
    /// parsed JSON (Null for an empty body). Asserts the content type of JSON responses.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.url(path)
        };
        let mut req = self.http.request(method, url);
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
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let text = resp.text().await.expect("body");
        if text.is_empty() {
            return (status, Value::Null);
        }
        assert_eq!(
            content_type.as_deref(),
            Some("application/json"),
            "JSON responses carry exactly application/json: {text}"
        );
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
        )
    }

    /// Registers `username` with `password` (and an e-mail) and returns the token.
    pub async fn register(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/auth/register",
                None,
                Some(serde_json::json!({"username": username, "password": password, "email": format!("{username}@example.test")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Creates an application owned by the holder of `token`, with a bot; returns (application
    /// id, bot token).
    pub async fn bot(&self, token: &str, name: &str) -> (String, String) {
        let (status, app) = self
            .call(
                Method::POST,
                "/applications",
                Some(token),
                Some(serde_json::json!({"name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{app}");
        let id = app["id"].as_str().expect("id").to_owned();
        let (status, bot) = self
            .call(
                Method::POST,
                &format!("/applications/{id}/bot"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bot}");
        (id, bot["token"].as_str().expect("token").to_owned())
    }

    /// Number of user rows (to show a refused request changed nothing).
    pub async fn user_count(&self) -> i64 {
        self.state.store.count_users().await.expect("count")
    }
}

/// Generates one `#[tokio::test]` per backend for each scenario `async fn name(backend: &str)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name("sqlite").await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name("postgres").await })*
        }
    };
}

/// The first field error code at `path` in a 50035 body.
pub fn field_code<'a>(body: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut node = &body["errors"];
    for key in path {
        node = &node[*key];
    }
    node["_errors"][0]["code"].as_str()
}
