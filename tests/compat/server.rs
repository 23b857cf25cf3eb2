//! The compatibility harness's view of one Accord server: the `accord` binary started on a
//! database, REST calls to it (waiting out 429s the way a client would), and the TCP relay in
//! front of its gateway that the resume scenario cuts and the quiet scenario watches.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::free_port;
use accord_gateway_encoding::ZSTD_RESYNC;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::support::BIN;

/// A child process killed when dropped (a server, or a puppet that did not finish).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running server: the process, its REST base, its own gateway URL and the relay in front of it
/// (which is also the server's `gateway.public_url`, so READY's `resume_gateway_url` names it).
pub struct Server {
    _process: Killed,
    pub api: String,
    /// The CDN's base URL (`cdn.public_url`), where attachment URLs point.
    pub cdn: String,
    pub gateway_direct: String,
    pub relay: Relay,
}

/// The gateway's heartbeat interval for the libraries (Hello's `heartbeat_interval`).
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// Starts the server on `db_url` in `dir`.
pub async fn start(dir: &Path, db_url: &str) -> Server {
    let (api, gw, cdn) = (free_port(), free_port(), free_port());
    let relay = Relay::start(gw).await;
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .env_remove("ACCORD_CONFIG")
        .env("ACCORD_API__LISTEN", format!("127.0.0.1:{api}"))
        .env("ACCORD_GATEWAY__LISTEN", format!("127.0.0.1:{gw}"))
        .env("ACCORD_GATEWAY__PUBLIC_URL", relay.url())
        .env("ACCORD_CDN__LISTEN", format!("127.0.0.1:{cdn}"))
        .env("ACCORD_DATABASE__URL", db_url)
        .env("ACCORD_SECURITY__ARGON2__MEMORY_KIB", "256")
        .env("ACCORD_SECURITY__ARGON2__ITERATIONS", "1")
        .env("ACCORD_GATEWAY__MAX_CONCURRENCY", "16")
        // Short heartbeats, so a connection goes quiet (and gives its compression state
        // back) within the quiet scenario's wait.
        .env(
            "ACCORD_GATEWAY__HEARTBEAT_INTERVAL_MS",
            HEARTBEAT.as_millis().to_string(),
        )
        .env("ACCORD_LOG__FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn accord");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("Press Ctrl-C") {
                let _ = tx.send(());
            }
        }
    });
    let process = Killed(child);
    tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("accord printed its banner within 60 s");
    Server {
        _process: process,
        api: format!("http://127.0.0.1:{api}/api/v10"),
        cdn: format!("http://127.0.0.1:{cdn}"),
        gateway_direct: format!("ws://127.0.0.1:{gw}"),
        relay,
    }
}

/// A TCP relay to the gateway: every accepted connection is piped to the gateway port until
/// [`Relay::cut_all`] drops both ends (no WebSocket close frame: the client sees the connection
/// lost, as when a server process dies or a network path breaks). It counts the zstd resync
/// blocks the gateway sends ([`Relay::resyncs`]).
pub struct Relay {
    port: u16,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    resyncs: Arc<AtomicUsize>,
    _accept: JoinHandle<()>,
}

impl Relay {
    async fn start(target: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let resyncs: Arc<AtomicUsize> = Arc::default();
        let (c, seen) = (conns.clone(), resyncs.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = seen.clone();
                let pipe = tokio::spawn(async move {
                    let Ok(upstream) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    else {
                        return;
                    };
                    let (mut client_in, mut client_out) = client.into_split();
                    let (mut server_in, mut server_out) = upstream.into_split();
                    let up = async {
                        let _ = tokio::io::copy(&mut client_in, &mut server_out).await;
                        let _ = server_out.shutdown().await;
                    };
                    let down = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        // The end of what came before, for a sequence split between reads.
                        let mut window: Vec<u8> = Vec::new();
                        while let Ok(n @ 1..) = server_in.read(&mut buf).await {
                            window.extend_from_slice(&buf[..n]);
                            let found = window
                                .windows(ZSTD_RESYNC.len())
                                .filter(|w| *w == ZSTD_RESYNC)
                                .count();
                            seen.fetch_add(found, Ordering::Relaxed);
                            window.drain(..window.len().saturating_sub(ZSTD_RESYNC.len() - 1));
                            if client_out.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = client_out.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
                let mut conns = c.lock().unwrap();
                conns.retain(|h| !h.is_finished());
                conns.push(pipe);
            }
        });
        Relay {
            port,
            conns,
            resyncs,
            _accept: accept,
        }
    }

    /// How many zstd resync blocks (`accord_gateway_encoding::ZSTD_RESYNC`) went from the
    /// gateway to relayed clients so far: one in front of every message a quiet zstd-stream
    /// connection receives.
    pub fn resyncs(&self) -> usize {
        self.resyncs.load(Ordering::Relaxed)
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Drops every relayed connection open now; returns how many were cut.
    pub fn cut_all(&self) -> usize {
        let mut conns = self.conns.lock().unwrap();
        let open = conns.iter().filter(|h| !h.is_finished()).count();
        for h in conns.drain(..) {
            h.abort();
        }
        open
    }
}

/// REST calls to one server as one account (or none).
#[derive(Clone)]
pub struct Rest {
    pub http: reqwest::Client,
    pub base: String,
    pub auth: Option<String>,
}

impl Rest {
    pub fn anonymous(base: &str) -> Rest {
        Rest {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            auth: None,
        }
    }

    /// The same server as the account behind `authorization` (`Bot …` or a user's bare token).
    pub fn as_user(&self, authorization: &str) -> Rest {
        Rest {
            auth: Some(authorization.to_owned()),
            ..self.clone()
        }
    }

    /// A call that must answer `want`; returns the JSON body or says what was refused. A 429 is
    /// waited out (its `retry_after`) and retried, as a client library would.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        for _ in 0..20 {
            let mut req = self.http.request(method.parse().unwrap(), &url);
            if let Some(a) = &self.auth {
                req = req.header("authorization", a);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| format!("{method} {path}: {e}"))?;
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if status == 429 && want != 429 {
                let wait = json["retry_after"]
                    .as_f64()
                    .unwrap_or(1.0)
                    .clamp(0.05, 10.0);
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                continue;
            }
            if status != want {
                return Err(format!(
                    "{method} {path} answered {status} (wanted {want}): {}",
                    text.chars().take(300).collect::<String>()
                ));
            }
            return Ok(json);
        }
        Err(format!("{method} {path}: still 429 after 20 tries"))
    }

    /// The status a call answers (any), for checks that expect a refusal.
    pub async fn status(&self, method: &str, path: &str) -> Result<u16, String> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.parse().unwrap(), &url);
        if let Some(a) = &self.auth {
            req = req.header("authorization", a);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        Ok(resp.status().as_u16())
    }
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}
