//! HTTP load generator for the REST API: starts the real API in this process on a loopback port
//! (SQLite or PostgreSQL), registers an account, then keeps `--connections` keep-alive
//! connections busy with `GET /api/v10/users/@me` for `--seconds` and reports requests/s and
//! latency percentiles. The server and the load share the machine: figures are a floor.
//!
//! Run: `cargo run --release -p accord-bench --bin accord-http-load -- --connections 32 --seconds 10 --backend sqlite`

use std::sync::Arc;

use accord_api::AppState;
use accord_bus::Bus;
use accord_config::Config;
use accord_testkit::TestDb;

struct Args {
    connections: usize,
    seconds: u64,
    backend: String,
}

fn args() -> Args {
    let mut a = Args {
        connections: 32,
        seconds: 10,
        backend: "sqlite".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--connections" => a.connections = value.parse().expect("--connections N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--backend" => a.backend = value,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

#[tokio::main]
async fn main() {
    let args = args();
    let db = TestDb::new(&args.backend).await;
    let store = db.store().await;
    let mut config = Config::default();
    config.log.filter = "warn".into();
    accord_bench::disable_rate_limits(&mut config);
    let state = AppState::new(Arc::new(config), store.clone(), Bus::memory(1024))
        .await
        .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}/api/v10", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(accord_api::serve(listener, state, async move {
        let _ = stop_rx.await;
    }));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()
        .expect("client");
    let reg: serde_json::Value = http
        .post(format!("{base}/auth/register"))
        .json(&serde_json::json!({"username": "loadtest", "password": "load test password"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = reg["token"].as_str().expect("token").to_owned();

    let url = format!("{base}/users/@me");
    let report = accord_bench::drive(args.connections, args.seconds, move |_, _| {
        http.get(&url).header("authorization", &token)
    })
    .await;
    println!(
        "GET /users/@me ({} backend, {} connections, {} s): {}",
        args.backend,
        args.connections,
        args.seconds,
        report.summary("req")
    );
    let _ = stop_tx.send(());
    store.close().await;
    db.drop_db().await;
}
