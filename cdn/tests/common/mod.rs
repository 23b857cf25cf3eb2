//! The harness of the CDN tests: the real REST API and the real CDN on loopback ports, sharing
//! one storage (the local disk, or a bucket on the S3-compatible test server), on a fresh SQLite
//! database, with a user who owns a guild to upload into.

#![allow(dead_code)]

pub mod images;

use std::sync::Arc;

use accord_api::AppState;
use accord_bus::Bus;
use accord_cdn::CdnState;
use accord_config::{Config, StorageKind};
use accord_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Where the S3 tests find their server: `TEST_S3_URL`, by default a local one on port 9000
/// (started by `./scripts/test` through `scripts/s3-test-server`).
pub fn s3_url() -> String {
    std::env::var("TEST_S3_URL").unwrap_or_else(|_| "http://127.0.0.1:9000".to_owned())
}

/// Which storage a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `cdn.storage = "local"` under the test's data directory.
    Disk,
    /// `cdn.storage = "s3"`: a fresh bucket on the S3 test server.
    S3,
}

/// A running API and CDN.
pub struct Stack {
    /// `http://127.0.0.1:<port>` of the API.
    pub api: String,
    /// `http://127.0.0.1:<port>` of the CDN.
    pub cdn: String,
    /// The API's state (config, store, storage).
    pub state: AppState,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The data directory.
    pub data: tempfile::TempDir,
    /// A user's token.
    pub token: String,
    /// Their guild.
    pub guild: String,
    /// Its text channel.
    pub channel: String,
    db: TestDb,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Stack {
    /// Starts the API and the CDN on `storage` and sets a guild up.
    pub async fn start(storage: Storage) -> Self {
        Self::start_with(storage, |_| {}).await
    }

    /// [`Stack::start`] with the test configuration changed by `configure` first.
    pub async fn start_with(storage: Storage, configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::sqlite();
        let store = db.store().await;
        let data = tempfile::tempdir().expect("data directory");
        let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cdn_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", api_listener.local_addr().unwrap());
        let cdn = format!("http://{}", cdn_listener.local_addr().unwrap());
        let mut config = Config::default();
        config.security.argon2.memory_kib = 256;
        config.security.argon2.iterations = 1;
        config.rate_limits.enabled = false;
        config.data_dir = data.path().to_path_buf();
        config.cdn.public_url = Some(cdn.clone());
        if storage == Storage::S3 {
            config.cdn.storage = StorageKind::S3;
            config.cdn.s3.bucket = Some(new_bucket().await);
            config.cdn.s3.endpoint = Some(s3_url());
            config.cdn.s3.access_key_id = Some("test".into());
            config.cdn.s3.secret_access_key = Some("test".into());
        }
        configure(&mut config);
        config.validate().expect("test config is valid");
        let state = AppState::new(Arc::new(config), store, Bus::memory(1024))
            .await
            .expect("state");
        let (api_stop, api_rx) = tokio::sync::oneshot::channel::<()>();
        let (cdn_stop, cdn_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(accord_api::serve(api_listener, state.clone(), async move {
            let _ = api_rx.await;
        }));
        // The CDN opens the storage from the configuration itself, as `accord cdn` does.
        let blobs = accord_blobs::Blobs::from_config(&state.config).expect("storage");
        tokio::spawn(accord_cdn::serve(
            cdn_listener,
            CdnState::new(&state.config, blobs).with_url_key(state.url_key.clone()),
            async move {
                let _ = cdn_rx.await;
            },
        ));
        let mut stack = Self {
            api,
            cdn,
            state,
            http: reqwest::Client::new(),
            data,
            token: String::new(),
            guild: String::new(),
            channel: String::new(),
            db,
            stops: vec![api_stop, cdn_stop],
        };
        let (st, body) = stack
            .call(
                Method::POST,
                "/auth/register",
                None,
                json!({"username": "uploader", "password": "correct horse", "email": "u@example.test"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        stack.token = body["token"].as_str().unwrap().to_owned();
        let (st, guild) = stack
            .call(Method::POST, "/guilds", Some(()), json!({"name": "Files"}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{guild}");
        stack.guild = guild["id"].as_str().unwrap().to_owned();
        let (st, channels) = stack
            .call(
                Method::GET,
                &format!("/guilds/{}/channels", stack.guild),
                Some(()),
                Value::Null,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{channels}");
        stack.channel = channels
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == 0)
            .and_then(|c| c["id"].as_str())
            .expect("a text channel")
            .to_owned();
        stack
    }

    /// An API call (`auth` = Some(()) sends the user's token); returns status and JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<()>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v10{path}", self.api));
        if auth.is_some() {
            req = req.header("authorization", &self.token);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Posts a message carrying `files` (name, claimed content type, bytes); returns the message.
    pub async fn upload(&self, files: &[(&str, &str, Vec<u8>)]) -> Value {
        let mut form = reqwest::multipart::Form::new()
            .text("payload_json", json!({"content": "files"}).to_string());
        for (i, (name, mime, bytes)) in files.iter().enumerate() {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.to_string())
                .mime_str(mime)
                .unwrap();
            form = form.part(format!("files[{i}]"), part);
        }
        let path = format!("/channels/{}/messages", self.channel);
        self.post_form(&path, form, StatusCode::OK).await
    }

    /// POSTs `form` (multipart) to the API at `/api/v10{path}` as the user and asserts
    /// `status`; returns the JSON body.
    pub async fn post_form(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
        status: StatusCode,
    ) -> Value {
        let resp = self
            .http
            .post(format!("{}/api/v10{path}", self.api))
            .header("authorization", &self.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let got = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(got, status, "{body}");
        body
    }

    /// A GET on the CDN with extra headers.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.request(Method::GET, url, headers).await
    }

    /// A request on the CDN (`url` absolute, or a path on the CDN).
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.cdn)
        };
        let mut req = self.http.request(method, url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("CDN request")
    }

    /// Sends `path` byte for byte (no client-side normalisation of `..` or percent escapes) and
    /// returns the status code and the whole answer.
    pub async fn raw_get(&self, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.cdn.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = Vec::new();
        conn.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
        (status, text)
    }

    /// Stops both servers and closes the database.
    pub async fn stop(mut self) {
        for tx in self.stops.drain(..) {
            let _ = tx.send(());
        }
        self.state.store.close().await;
        self.db.drop_db().await;
    }
}

/// Creates a fresh bucket on the S3 test server. The test server (moto) accepts unsigned
/// requests; a server that checks signatures needs the bucket made beforehand.
async fn new_bucket() -> String {
    let name = format!("accord-test-{:016x}", rand::random::<u64>());
    let url = format!("{}/{name}", s3_url());
    let resp = reqwest::Client::new()
        .put(&url)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the S3 test server is not reachable at {} ({e}): run ./scripts/test or \
                 scripts/s3-test-server, which start it",
                s3_url()
            )
        });
    assert!(
        resp.status().is_success(),
        "cannot create bucket {url}: {}",
        resp.status()
    );
    name
}

/// The Discord error body of a CDN answer, checking its content type.
pub async fn error_body(resp: reqwest::Response) -> Value {
    assert_eq!(
        resp.headers()["content-type"],
        "application/json",
        "errors are JSON"
    );
    resp.json().await.unwrap()
}

/// Header `name` of `resp` (it must be there).
pub fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", resp.headers()))
        .to_str()
        .unwrap()
}
