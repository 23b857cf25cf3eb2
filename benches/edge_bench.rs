//! The edge proxy's cost: a cheap API request (`GET /api/v10/gateway`) sent directly to the REST
//! API, through Accord's edge (Pingora), and through nginx with comparable settings (keep-alive
//! to the upstream, `X-Forwarded-For`, access log off or on for both). The API and the edge run
//! in this process (the API on a fresh SQLite database, rate limits and the edge's throttle
//! off); nginx (Debian's `nginx` package) runs as a child process with a generated
//! configuration on loopback and as many workers as the edge has threads. Each load is a
//! closed loop of keep-alive connections (see `accord_bench::drive`); the three targets are
//! measured in turn, `--rounds` times, on the same machine as the servers: figures are a floor.
//!
//! Run: `cargo run --release -p accord-bench --bin accord-edge-bench -- --seconds 5 --connections 1,32 --rounds 2 --access-log off`

/// The `accord` binary's allocator, so the edge and the API allocate as they do in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_api::AppState;
use accord_bus::Bus;
use accord_config::Config;
use accord_testkit::TestDb;

struct Args {
    seconds: u64,
    connections: Vec<usize>,
    rounds: usize,
    access_log: bool,
    nginx: String,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 5,
        connections: vec![1, 32],
        rounds: 2,
        access_log: false,
        nginx: "nginx".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--connections" => {
                a.connections = value
                    .split(',')
                    .map(|n| n.trim().parse().expect("--connections N,M"))
                    .collect();
            }
            "--rounds" => a.rounds = value.parse().expect("--rounds N"),
            "--access-log" => a.access_log = value == "on",
            "--nginx" => a.nginx = value,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A loopback port free now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits until `addr` accepts connections.
fn wait_listening(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// nginx as a reverse proxy to `api` on `port`, with `workers` worker processes, upstream
/// keep-alive, `X-Forwarded-For`, and the access log in `dir` or off: `nginx.conf.in`, the
/// configuration `edge-wrk.sh` gives nginx too.
fn nginx_config(dir: &Path, port: u16, api: SocketAddr, workers: usize, log: bool) -> String {
    let d = dir.display();
    let access = if log {
        format!("access_log {d}/nginx-access.log combined buffer=64k flush=1s;")
    } else {
        "access_log off;".into()
    };
    include_str!("nginx.conf.in")
        .replace("@WORKERS@", &workers.to_string())
        .replace("@DIR@", &d.to_string())
        .replace("@ACCESS_LOG@", &access)
        .replace("@API@", &api.to_string())
        .replace("@PORT@", &port.to_string())
        .replace("@TLS@", "")
}

/// nginx, killed when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nginx(
    bin: &str,
    dir: &Path,
    port: u16,
    api: SocketAddr,
    workers: usize,
    log: bool,
) -> Nginx {
    let conf: PathBuf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_config(dir, port, api, workers, log)).expect("write nginx.conf");
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin} (apt-get install nginx): {e}"));
    let nginx = Nginx(child);
    wait_listening(SocketAddr::from(([127, 0, 0, 1], port)), "nginx");
    nginx
}

/// One measurement.
struct Row {
    target: &'static str,
    connections: usize,
    rate: f64,
    p50: u64,
    p99: u64,
    errors: u64,
}

async fn measure(target: &'static str, url: &str, connections: usize, seconds: u64) -> Row {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    // Warm the connections and the upstream pools.
    for _ in 0..connections.max(8) {
        let _ = http.get(url).send().await.map(|r| r.status());
    }
    let url = url.to_owned();
    let report = accord_bench::drive(connections, seconds, move |_, _| http.get(&url)).await;
    println!(
        "{target:>6}, {connections:>3} connections: {}",
        report.summary("req")
    );
    Row {
        target,
        connections,
        rate: report.rate(),
        p50: report.percentile(0.50),
        p99: report.percentile(0.99),
        errors: report.errors,
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::new("sqlite").await;
    let store = db.store().await;
    let mut config = Config::default();
    config.log.filter = "warn".into();
    accord_bench::disable_rate_limits(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let api = listener.local_addr().expect("addr");
    config.api.listen = api;
    config.edge.listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.edge.admin_listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.edge.throttle.enabled = false;
    config.edge.blocking.enabled = false;
    config.edge.access_log = if args.access_log {
        dir.path().join("edge-access.log").display().to_string()
    } else {
        "off".into()
    };
    let config = Arc::new(config);
    let state = AppState::new(config.clone(), store.clone(), Bus::memory(1024))
        .await
        .expect("state");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(accord_api::serve(listener, state, async move {
        let _ = stop_rx.await;
    }));

    let edge_config = config.clone();
    let edge = tokio::task::spawn_blocking(move || accord_edge::start(&edge_config))
        .await
        .expect("edge thread")
        .expect("edge start");
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let nginx_port = free_port();
    let nginx = start_nginx(
        &args.nginx,
        dir.path(),
        nginx_port,
        api,
        workers,
        args.access_log,
    );

    let path = "/api/v10/gateway";
    let targets = [
        ("direct", format!("http://{api}{path}")),
        ("edge", format!("http://{}{path}", edge.listen_addr())),
        ("nginx", format!("http://127.0.0.1:{nginx_port}{path}")),
    ];
    for (name, url) in &targets {
        let resp = reqwest::get(url).await.expect("request");
        assert_eq!(resp.status(), 200, "{name} {url}");
    }
    println!(
        "GET {path}, {} s per run, access log {}, edge threads = nginx workers = {workers}",
        args.seconds,
        if args.access_log { "on" } else { "off" }
    );
    let mut rows = Vec::new();
    for &connections in &args.connections {
        for _ in 0..args.rounds {
            for (name, url) in &targets {
                rows.push(measure(name, url, connections, args.seconds).await);
            }
        }
    }

    println!("\n| connections | target | req/s | p50 µs | p99 µs | vs direct | p50 added |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for &connections in &args.connections {
        let of = |target: &str| -> Vec<&Row> {
            rows.iter()
                .filter(|r| r.connections == connections && r.target == target)
                .collect()
        };
        let direct = of("direct");
        let direct_rate = direct.iter().map(|r| r.rate).sum::<f64>() / direct.len() as f64;
        let direct_p50 = direct.iter().map(|r| r.p50).sum::<u64>() / direct.len() as u64;
        for (name, _) in &targets {
            let rs = of(name);
            let rate = rs.iter().map(|r| r.rate).sum::<f64>() / rs.len() as f64;
            let p50 = rs.iter().map(|r| r.p50).sum::<u64>() / rs.len() as u64;
            let p99 = rs.iter().map(|r| r.p99).sum::<u64>() / rs.len() as u64;
            let errors: u64 = rs.iter().map(|r| r.errors).sum();
            println!(
                "| {connections} | {name} | {rate:.0} | {p50} | {p99} | {:.0}% | {} µs |{}",
                100.0 * rate / direct_rate,
                p50 as i64 - direct_p50 as i64,
                if errors > 0 {
                    format!(" {errors} errors")
                } else {
                    String::new()
                }
            );
        }
    }

    drop(nginx);
    tokio::task::spawn_blocking(move || edge.stop())
        .await
        .expect("edge stop");
    let _ = stop_tx.send(());
    store.close().await;
    db.drop_db().await;
}
