//! Several gateway processes for `accord-gateway-load --gateways N`: the load generator's
//! server then runs only the API, publishing on a Redis bus, and starts N child processes in
//! `--gateway` mode — each a gateway alone (`accord gateway`'s shape: its own database pool and
//! a Redis bus that receives only its sessions' channels), each under the 20,000-descriptor
//! limit of one process — and reports their memory summed.

use std::sync::Arc;
use std::time::Duration;

use accord_api::AppState;
use accord_bus::Interest;
use accord_config::{BusKind, Config};
use tokio::sync::mpsc;

use crate::driver::{Proc, field};
use crate::{Flags, gateway_config, rss_kib, stdin_commands};

/// The settings every process of the run shares: a Redis bus under `prefix`.
pub fn configure(config: &mut Config, prefix: &str) {
    config.bus.kind = BusKind::Redis;
    config.bus.channel_prefix = prefix.to_owned();
}

/// The gateway child processes.
pub struct Fleet {
    procs: Vec<Proc>,
    /// Their WebSocket URLs.
    pub urls: Vec<String>,
}

impl Fleet {
    /// Starts `n` gateway processes on database `db` and bus prefix `prefix`.
    pub async fn start(n: usize, db: &str, prefix: &str, flags: &Flags) -> Self {
        let mut procs = Vec::new();
        for _ in 0..n {
            let mut args: Vec<String> = vec![
                "--gateway".into(),
                "--db".into(),
                db.into(),
                "--prefix".into(),
                prefix.into(),
                "--threads".into(),
                flags.num("threads", 2).to_string(),
                "--heartbeat-ms".into(),
                flags.num("heartbeat-ms", 41_250).to_string(),
            ];
            flags.pass_on(&["zstd", "zstd-quiet"], &mut args);
            procs.push(Proc::spawn(&args));
        }
        let mut urls = Vec::new();
        for p in &mut procs {
            let line = p.wait_for("GATEWAY_READY", Duration::from_secs(120)).await;
            let url = line
                .split(' ')
                .find_map(|kv| kv.strip_prefix("ws="))
                .expect("ws= in GATEWAY_READY")
                .to_owned();
            urls.push(url);
        }
        Self { procs, urls }
    }

    /// (RSS KiB, sessions, live heap KiB) summed over the gateway processes.
    pub async fn rss(&mut self) -> (u64, u64, u64) {
        let (mut kib, mut sessions, mut heap) = (0, 0, 0);
        for p in &mut self.procs {
            p.command("rss");
        }
        for p in &mut self.procs {
            let line = p.wait_for("RSS ", Duration::from_secs(30)).await;
            kib += field(&line, "rss_kib");
            sessions += field(&line, "sessions");
            heap += field(&line, "heap_kib");
        }
        (kib, sessions, heap)
    }

    /// Stops them.
    pub async fn stop(mut self) {
        for p in &mut self.procs {
            p.command("quit");
        }
        for mut p in self.procs {
            let _ = tokio::task::spawn_blocking(move || p.child.wait()).await;
        }
    }
}

/// `--gateway`: one gateway process on `--db` and the Redis bus prefix `--prefix`.
pub async fn gateway(flags: &Flags) {
    let url = flags.str("db", "");
    // Several gateways and the API share PostgreSQL's 100 connections (`max_connections`):
    // 10 each leaves room for the API's 16 with up to eight gateways.
    let pool = accord_store::PoolSettings {
        max_connections: 10,
        ..accord_store::PoolSettings::default()
    };
    let store = accord_store::Store::connect(&url, &pool)
        .await
        .expect("connect to the load test's database");
    let mut config = gateway_config(flags);
    configure(&mut config, &flags.str("prefix", "gwload"));
    let bus = accord_api::bus::open(&config, Interest::Chosen)
        .await
        .expect("Redis on 127.0.0.1:6379");
    let state = AppState::new(Arc::new(config), store.clone(), bus)
        .await
        .expect("state");
    let gateway =
        accord_gateway::Gateway::start(state, tokio::runtime::Handle::current()).expect("gateway");
    let (tx, mut commands) = mpsc::unbounded_channel::<String>();
    stdin_commands(tx);
    println!(
        "GATEWAY_READY ws=ws://{} rss_kib={}",
        gateway.local_addr(),
        rss_kib()
    );
    while let Some(cmd) = commands.recv().await {
        match cmd.as_str() {
            "rss" => println!(
                "RSS rss_kib={} sessions={} heap_kib={}",
                rss_kib(),
                gateway.hub().len(),
                super::heap::live_bytes() / 1024
            ),
            "quit" => break,
            _ => {}
        }
    }
    tokio::task::spawn_blocking(move || gateway.shutdown(Duration::from_millis(200)))
        .await
        .expect("gateway shutdown");
    store.close().await;
}
