//! The gateway test harness: the real API (axum on a loopback port) and the real gateway
//! (monoio threads on another) over one fresh database, a REST helper, and a WebSocket client
//! (tokio-tungstenite) that speaks the gateway protocol.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use accord_api::AppState;
use accord_bus::Bus;
use accord_config::Config;
use accord_gateway::Gateway;
use accord_testkit::TestDb;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCode;

/// API + gateway on one database.
pub struct Env {
    pub state: AppState,
    pub api: String,
    pub ws: String,
    http: reqwest::Client,
    gateway: Option<Gateway>,
    db: Option<TestDb>,
    stop_api: Option<tokio::sync::oneshot::Sender<()>>,
    _data: tempfile::TempDir,
}

impl Env {
    pub async fn start(backend: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let mut config = Config::default();
        config.security.argon2.memory_kib = 256;
        config.security.argon2.iterations = 1;
        config.rate_limits.enabled = false;
        let data = tempfile::tempdir().unwrap();
        config.data_dir = data.path().to_path_buf();
        config.gateway.listen = "127.0.0.1:0".parse().unwrap();
        config.gateway.threads = 2;
        config.gateway.max_concurrency = 16;
        tweak(&mut config);
        let bus = bus_for(&config, accord_bus::Interest::Everything).await;
        let state = AppState::new(Arc::new(config), store, bus).await.unwrap();
        let gateway = Gateway::start(state.clone(), tokio::runtime::Handle::current()).unwrap();
        let ws = format!("ws://{}", gateway.local_addr());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}/api/v10", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        tokio::spawn(async move {
            let _ = accord_api::serve(listener, serve_state, async move {
                let _ = rx.await;
            })
            .await;
        });
        Self {
            state,
            api,
            ws,
            http: reqwest::Client::new(),
            gateway: Some(gateway),
            db: Some(db),
            stop_api: Some(tx),
            _data: data,
        }
    }

    pub async fn stop(mut self) {
        if let Some(gw) = self.gateway.take() {
            tokio::task::spawn_blocking(move || gw.shutdown(Duration::from_secs(1)))
                .await
                .unwrap();
        }
        if let Some(tx) = self.stop_api.take() {
            let _ = tx.send(());
        }
        self.state.store.close().await;
        if let Some(db) = self.db.take() {
            db.drop_db().await;
        }
    }

    pub fn gateway(&self) -> &Gateway {
        self.gateway.as_ref().unwrap()
    }

    /// A second process's worth of state on the same database (its own pool and bus
    /// connection), for a second gateway: like `accord gateway`, it receives only the bus
    /// channels its sessions need.
    pub async fn second_state(&self) -> AppState {
        let store = self.db.as_ref().unwrap().store().await;
        let config = (*self.state.config).clone();
        let bus = bus_for(&config, accord_bus::Interest::Chosen).await;
        AppState::new(Arc::new(config), store, bus).await.unwrap()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn ok(&self, method: Method, path: &str, auth: &str, body: Option<Value>) -> Value {
        let (st, v) = self.call(method, path, Some(auth), body).await;
        assert!(st.is_success(), "{path}: {st} {v}");
        v
    }

    /// Registers a user; returns (token, id).
    pub async fn user(&self, name: &str) -> (String, String) {
        let (st, v) = self
            .call(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({"username": name, "password": "correct horse battery"})),
            )
            .await;
        assert!(st.is_success(), "{v}");
        let token = v["token"].as_str().unwrap().to_owned();
        let me = self.ok(Method::GET, "/users/@me", &token, None).await;
        (token, me["id"].as_str().unwrap().to_owned())
    }

    /// A bot of an application owned by `owner` with application `flags`; returns
    /// (`Bot <token>` header, raw token, bot user id).
    pub async fn bot(&self, owner: &str, name: &str, flags: u64) -> (String, String, String) {
        let app = self
            .ok(
                Method::POST,
                "/applications",
                owner,
                Some(json!({"name": name})),
            )
            .await;
        let app_id = app["id"].as_str().unwrap().to_owned();
        let bot = self
            .ok(
                Method::POST,
                &format!("/applications/{app_id}/bot"),
                owner,
                None,
            )
            .await;
        if flags != 0 {
            self.ok(
                Method::PATCH,
                &format!("/applications/{app_id}"),
                owner,
                Some(json!({"flags": flags})),
            )
            .await;
        }
        let raw = bot["token"].as_str().unwrap().to_owned();
        let header = format!("Bot {raw}");
        let me = self.ok(Method::GET, "/users/@me", &header, None).await;
        (header, raw, me["id"].as_str().unwrap().to_owned())
    }

    /// Adds the bot of `app_bot_id`'s application to `guild` (as its owner `owner`).
    pub async fn add_bot(&self, owner: &str, bot_header: &str, guild: &str) {
        let app = self
            .ok(Method::GET, "/oauth2/applications/@me", bot_header, None)
            .await;
        let app_id = app["id"].as_str().unwrap();
        self.ok(
            Method::POST,
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot"),
            owner,
            Some(json!({"guild_id": guild, "permissions": "0", "authorize": true})),
        )
        .await;
    }

    /// A guild owned by `owner`; returns (guild id, its first text channel id).
    pub async fn guild(&self, owner: &str, name: &str) -> (String, String) {
        let g = self
            .ok(Method::POST, "/guilds", owner, Some(json!({"name": name})))
            .await;
        let id = g["id"].as_str().unwrap().to_owned();
        let channels = self
            .ok(Method::GET, &format!("/guilds/{id}/channels"), owner, None)
            .await;
        let text = channels
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == 0)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (id, text)
    }

    /// `member` joins the guild of `channel` through an invite `owner` creates there.
    pub async fn join(&self, owner: &str, channel: &str, member: &str) {
        let invite = self
            .ok(
                Method::POST,
                &format!("/channels/{channel}/invites"),
                owner,
                Some(json!({})),
            )
            .await;
        let code = invite["code"].as_str().unwrap();
        self.ok(Method::POST, &format!("/invites/{code}"), member, None)
            .await;
    }

    pub async fn say(&self, token: &str, channel: &str, content: &str) -> Value {
        self.ok(
            Method::POST,
            &format!("/channels/{channel}/messages"),
            token,
            Some(json!({"content": content})),
        )
        .await
    }
}

/// The bus the configuration asks for.
pub async fn bus_for(config: &Config, interest: accord_bus::Interest) -> Bus {
    accord_api::bus::open(config, interest)
        .await
        .expect("Redis at 127.0.0.1:6379")
}

/// A gateway client.
pub struct Client {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    pub seq: u64,
    pub session_id: String,
}

/// What the server sent.
#[derive(Debug)]
pub enum Got {
    Payload(Value),
    Closed(Option<u16>),
}

impl Client {
    /// Connects with `query` (e.g. `v=10&encoding=json`) and reads Hello.
    pub async fn connect(env: &Env, query: &str) -> (Self, Value) {
        Self::connect_to(&env.ws, query).await
    }

    /// Connects to the gateway at `base` (`ws://host:port`) and reads Hello.
    pub async fn connect_to(base: &str, query: &str) -> (Self, Value) {
        let (ws, _) = tokio_tungstenite::connect_async(format!("{base}/?{query}"))
            .await
            .unwrap();
        let mut c = Self {
            ws,
            seq: 0,
            session_id: String::new(),
        };
        let hello = c.payload().await;
        assert_eq!(hello["op"], 10, "{hello}");
        (c, hello)
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.unwrap();
    }

    /// The next payload or close, within 5 s.
    pub async fn next(&mut self) -> Got {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("the gateway answered within 5 s");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if let Some(s) = v["s"].as_u64() {
                        self.seq = s;
                    }
                    return Got::Payload(v);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Got::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Got::Closed(None),
            }
        }
    }

    pub async fn payload(&mut self) -> Value {
        match self.next().await {
            Got::Payload(v) => v,
            other => panic!("expected a payload, got {other:?}"),
        }
    }

    /// The close code the server ends with.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.next().await {
                Got::Closed(code) => return code,
                Got::Payload(_) => continue,
            }
        }
    }

    /// The next dispatch (skipping heartbeat ACKs).
    pub async fn dispatch(&mut self) -> Value {
        loop {
            let v = self.payload().await;
            if v["op"] == 0 {
                return v;
            }
        }
    }

    /// The next dispatch that is not a PRESENCE_UPDATE.
    pub async fn event(&mut self) -> Value {
        loop {
            let v = self.dispatch().await;
            if v["t"] != "PRESENCE_UPDATE" {
                return v;
            }
        }
    }

    /// Skips dispatches until one named `name`.
    pub async fn until(&mut self, name: &str) -> Value {
        loop {
            let v = self.dispatch().await;
            if v["t"] == name {
                return v;
            }
        }
    }

    /// Sends Identify and reads READY.
    pub async fn identify(&mut self, token: &str, extra: Value) -> Value {
        let mut d = json!({"token": token, "properties": {"os": "linux", "browser": "test", "device": "test"}});
        if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                d.insert(k.clone(), v.clone());
            }
        }
        self.send(json!({"op": 2, "d": d})).await;
        let ready = self.dispatch().await;
        assert_eq!(ready["t"], "READY", "{ready}");
        self.session_id = ready["d"]["session_id"].as_str().unwrap().to_owned();
        ready
    }

    /// Sends a close frame with `code`.
    pub async fn close(&mut self, code: u16) {
        let _ = self
            .ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: WsCode::from(code),
                reason: "".into(),
            }))
            .await;
    }

    /// Drops the TCP connection without a close frame.
    pub fn drop_tcp(self) {
        drop(self.ws);
    }
}

/// Runs `scenario` on SQLite and PostgreSQL (as two tests).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("sqlite").await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("postgres").await;
                }
            )*
        }
    };
}
