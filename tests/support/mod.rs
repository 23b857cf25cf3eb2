//! Shared by the tests that run the `accord` binary as a process: free ports, the command with
//! cheap hashing and a chosen database, start (waiting for the banner) and stop (SIGTERM).
#![allow(dead_code)]

pub mod backend;
pub mod pebble;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_accord");

/// A port nothing listens on now, for a server a test starts. Taken from 20000–31999, below
/// the kernel's ephemeral range (32768–60999 here), in a slice of 20 ports of this test
/// process's own (nextest runs every test in a process of its own): a port handed out by
/// `bind(0)` can be handed out again to another test process before the server that wanted it
/// binds it, and listeners with `SO_REUSEPORT` (the gateway's, Pingora's) would then share it
/// silently, each getting some of the other's connections.
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    const SLICE: u16 = 20;
    let base = 20_000 + (std::process::id() % 600) as u16 * SLICE;
    for _ in 0..SLICE * 4 {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % SLICE;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 127.0.0.1:{base}..{}", base + SLICE);
}

/// A command for the binary in `dir` with cheap hashing and the given database.
pub fn accord(dir: &Path, port: u16, db_url: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("ACCORD_CONFIG")
        .env("ACCORD_API__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "ACCORD_GATEWAY__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("ACCORD_CDN__LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("ACCORD_SECURITY__ARGON2__MEMORY_KIB", "256")
        .env("ACCORD_SECURITY__ARGON2__ITERATIONS", "1")
        .env("ACCORD_LOG__FILTER", "warn");
    if let Some(url) = db_url {
        cmd.env("ACCORD_DATABASE__URL", url);
    }
    cmd
}

/// `accord edge` in `dir` (whose `accord.toml` the test wrote): the edge alone, given a
/// database address nothing serves, since it needs none.
pub fn edge_cmd(dir: &Path) -> Command {
    let mut cmd = accord(dir, free_port(), Some("postgres://nobody@127.0.0.1:1/none"));
    cmd.arg("edge");
    cmd
}

/// The text of `path` once it has at least `lines` lines; panics after 10 s.
pub async fn wait_for_lines(path: &Path, lines: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{path:?} has not {lines} lines: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A running server process, killed if a failing test leaves it behind.
pub struct Running(pub Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts the server and waits until it prints its banner; returns the process and the banner.
pub fn start(mut cmd: Command) -> (Running, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn accord");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Press Ctrl-C") {
                let _ = tx.send(banner.clone());
            }
        }
    });
    let running = Running(Some(child));
    let banner = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server printed its banner");
    (running, banner)
}

/// Sends SIGTERM and waits for the exit status.
pub fn stop(mut running: Running) -> std::process::ExitStatus {
    let mut child = running.0.take().expect("running");
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "accord did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub async fn post(
    http: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = http.post(url).json(&body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn get(http: &reqwest::Client, url: &str, auth: &str) -> (u16, Value) {
    let resp = http
        .get(url)
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}
