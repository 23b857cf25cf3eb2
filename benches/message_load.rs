//! Message-create load generator: starts the real API in this process on a loopback port
//! (PostgreSQL by default), creates an account, a guild and `--channels` text channels, then keeps
//! `--connections` clients posting `POST /api/v10/channels/{id}/messages` for `--seconds` and
//! reports messages/s and latency percentiles. Rate limits are switched off for the run: the
//! figure is the cost of creating a message, not the configured policy.
//!
//! Run: `cargo run --release -p accord-bench --bin accord-message-load -- --connections 32 --seconds 10`

use std::sync::Arc;

use accord_api::AppState;
use accord_bus::Bus;
use accord_config::Config;
use accord_testkit::TestDb;
use serde_json::{Value, json};

struct Args {
    connections: usize,
    seconds: u64,
    channels: usize,
    backend: String,
}

fn args() -> Args {
    let mut a = Args {
        connections: 32,
        seconds: 10,
        channels: 8,
        backend: "postgres".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--connections" => a.connections = value.parse().expect("--connections N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--channels" => a.channels = value.parse().expect("--channels N"),
            "--backend" => a.backend = value,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let resp = http
        .post(url)
        .header("authorization", token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "setup request failed: {status} {body}");
    body
}

#[tokio::main]
async fn main() {
    let args = args();
    let db = TestDb::new(&args.backend).await;
    let store = db.store().await;
    let mut config = Config::default();
    config.log.filter = "warn".into();
    config.database.max_connections = 32;
    accord_bench::disable_rate_limits(&mut config);
    let state = AppState::new(Arc::new(config), store.clone(), Bus::memory(65_536))
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
    let reg = post(
        &http,
        format!("{base}/auth/register"),
        "",
        json!({"username": "poster", "password": "load test password"}),
    )
    .await;
    let token = reg["token"].as_str().expect("token").to_owned();
    let guild = post(
        &http,
        format!("{base}/guilds"),
        &token,
        json!({"name": "Load"}),
    )
    .await;
    let guild_id = guild["id"].as_str().expect("guild id").to_owned();
    let mut channels = Vec::new();
    for i in 0..args.channels {
        let c = post(
            &http,
            format!("{base}/guilds/{guild_id}/channels"),
            &token,
            json!({"name": format!("load-{i}")}),
        )
        .await;
        channels.push(c["id"].as_str().expect("channel id").to_owned());
    }

    let targets = channels.clone();
    let report = accord_bench::drive(args.connections, args.seconds, move |client, n| {
        let url = format!(
            "{base}/channels/{}/messages",
            targets[client % targets.len()]
        );
        let body = json!({"content": format!("message {n} from client {client}: hello, world")});
        http.post(url).header("authorization", &token).json(&body)
    })
    .await;
    println!(
        "POST /channels/{{id}}/messages ({} backend, {} connections, {} channels, {} s): {}",
        args.backend,
        args.connections,
        args.channels,
        args.seconds,
        report.summary("messages")
    );
    // Every acknowledged message must be in the database, once.
    let ids: Vec<i64> = channels.iter().map(|c| c.parse().expect("id")).collect();
    let stored: i64 = accord_store::dispatch!(store.db(), |pool| {
        let mut sql = String::from("SELECT count(*) FROM messages WHERE channel_id IN (");
        for (i, id) in ids.iter().enumerate() {
            sql.push_str(if i == 0 { "" } else { ", " });
            sql.push_str(&id.to_string());
        }
        sql.push(')');
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .expect("count messages")
    });
    println!(
        "acknowledged {} messages, {} stored",
        report.latencies.len(),
        stored
    );
    assert_eq!(
        stored as usize,
        report.latencies.len(),
        "acknowledged = stored"
    );
    let _ = stop_tx.send(());
    store.close().await;
    db.drop_db().await;
}
