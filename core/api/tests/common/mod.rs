//! The harness of the API tests: the real router served on a loopback port, against a fresh
//! database of either backend, with a reqwest client.

#![allow(dead_code)]

pub mod expressions;

use std::sync::Arc;

use accord_api::AppState;
use accord_bus::Bus;
use accord_config::Config;
use accord_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// An owner (token), their application and its bot (token), and a guild of theirs the bot
/// is in.
pub struct AppInGuild {
    pub owner: String,
    pub app: String,
    pub bot: String,
    pub guild: String,
}

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
    /// The data directory (uploads), removed with the server.
    _data: tempfile::TempDir,
}

/// Test configuration: cheap password hashing so the suite stays fast.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.security.argon2.memory_kib = 256;
    config.security.argon2.iterations = 1;
    config.rate_limits.enabled = false;
    config
}

impl Server {
    /// Starts a server on `backend` with the test configuration changed by `tweak`.
    pub async fn start_with(backend: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let mut config = test_config();
        let data = tempfile::tempdir().expect("data directory");
        config.data_dir = data.path().to_path_buf();
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
            _data: data,
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

    /// [`Server::call`] with a token, a JSON body and an `X-Audit-Log-Reason` header.
    pub async fn call_with_reason(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Value,
        reason: &str,
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .request(method, self.url(path))
            .header("authorization", token)
            .header("x-audit-log-reason", reason)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
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

    /// The id of the first text channel of `guild` (the one every new guild starts with).
    pub async fn text_channel(&self, guild: &str) -> String {
        self.state
            .store
            .guild_channels(guild.parse().unwrap())
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.kind == 0)
            .expect("a text channel")
            .id
            .to_string()
    }

    /// An owner, their application with a bot, and a guild of theirs (`guild_name`) the bot was
    /// added to with no permissions.
    pub async fn app_in_guild(&self, guild_name: &str) -> AppInGuild {
        let owner = self.register("owner", "correct horse").await;
        let guild = id_of(&self.guild(&owner, guild_name).await);
        let (app, bot) = self.bot_in_guild(&owner, "Helper", &guild, "0").await;
        AppInGuild {
            owner,
            app,
            bot,
            guild,
        }
    }

    /// An application with a bot, owned by the holder of `owner`, added to `guild` with the
    /// `bot applications.commands` scopes and `permissions`; returns (application id,
    /// `Bot <token>`).
    pub async fn bot_in_guild(
        &self,
        owner: &str,
        name: &str,
        guild: &str,
        permissions: &str,
    ) -> (String, String) {
        let (app, token) = self.bot(owner, name).await;
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/oauth2/authorize?client_id={app}&scope=bot%20applications.commands"),
                Some(owner),
                Some(serde_json::json!({
                    "guild_id": guild, "authorize": true, "permissions": permissions
                })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (app, format!("Bot {token}"))
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

/// The dispatches a test sees on the server's bus, in publication order.
pub struct Events(accord_bus::Subscription);

impl Events {
    /// Starts listening (only events published after this call are seen).
    pub fn new(s: &Server) -> Self {
        Self(s.state.bus.subscribe())
    }

    /// Every dispatch published so far (dispatches are published before the response that
    /// caused them is sent, so after a response they are all here), as (name, audience, data).
    pub fn drain(&mut self) -> Vec<(String, accord_bus::Audience, Value)> {
        let mut out = Vec::new();
        while let Some(event) = self.0.try_recv() {
            if let Ok(accord_bus::Event::Dispatch(d)) = event {
                out.push((
                    d.name.clone(),
                    d.audience.clone(),
                    serde_json::from_str(&d.data).expect("dispatch JSON"),
                ));
            }
        }
        out
    }

    /// The names of every dispatch published so far but GUILD_AUDIT_LOG_ENTRY_CREATE (see
    /// [`Events::expect`]).
    pub fn names(&mut self) -> Vec<String> {
        self.drain()
            .into_iter()
            .map(|(n, _, _)| n)
            .filter(|n| n != "GUILD_AUDIT_LOG_ENTRY_CREATE")
            .collect()
    }

    /// Asserts that exactly the dispatches `names` were published (in this order) and returns them.
    /// GUILD_AUDIT_LOG_ENTRY_CREATE is left out unless `names` lists it: the audit log has its
    /// own tests (`tests/audit_log.rs`), which count the entries each action writes.
    pub fn expect(&mut self, names: &[&str]) -> Vec<(String, accord_bus::Audience, Value)> {
        const AUDIT: &str = "GUILD_AUDIT_LOG_ENTRY_CREATE";
        let mut got = self.drain();
        if !names.contains(&AUDIT) {
            got.retain(|(n, _, _)| n != AUDIT);
        }
        let got_names: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(got_names, names, "dispatches published");
        got
    }
}

/// The `id` string of a JSON object.
pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

impl Server {
    /// The user id behind `token` (user or `Bot …`).
    pub async fn user_id(&self, token: &str) -> String {
        let (status, me) = self
            .call(Method::GET, "/users/@me", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{me}");
        id_of(&me)
    }

    /// Creates a guild owned by the holder of `token`; returns the guild object.
    pub async fn guild(&self, token: &str, name: &str) -> Value {
        let (status, guild) = self
            .call(
                Method::POST,
                "/guilds",
                Some(token),
                Some(serde_json::json!({"name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{guild}");
        guild
    }

    /// Makes the holder of `token` a member of `guild` (through the same service invites use).
    pub async fn join(&self, guild: &str, token: &str) {
        let user: accord_model::UserId = self.user_id(token).await.parse().unwrap();
        let user = self.state.store.user(user).await.unwrap().unwrap();
        let guild = self
            .state
            .store
            .guild(guild.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        accord_api::services::members::join(&self.state, &guild, &user, Vec::new())
            .await
            .expect("join");
    }
}
