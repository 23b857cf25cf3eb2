//! Sessions outlive their gateway process (Redis bus, PostgreSQL): the API and two or three
//! `accord gateway` processes share one database and one Redis. A session identified on one
//! gateway resumes on another after the first is killed with SIGKILL — the replay holds the
//! events the dead process delivered after its last checkpoint, with the sequence numbers it
//! gave them, and the events published while no process held the session — and again after a
//! graceful stop (SIGTERM: op 7, then every session checkpointed).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use accord_testkit::TestDb;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{Running, accord, free_port, post, start, stop};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(15);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One of the processes, sharing the database and the bus.
fn process(dir: &Path, db: &str, prefix: &str, what: &str, gateway_port: u16) -> Command {
    let mut cmd = accord(dir, free_port(), Some(db));
    cmd.arg(what)
        .env("ACCORD_BUS__KIND", "redis")
        .env("ACCORD_BUS__CHANNEL_PREFIX", prefix)
        .env(
            "ACCORD_GATEWAY__LISTEN",
            format!("127.0.0.1:{gateway_port}"),
        );
    cmd
}

async fn connect(port: u16) -> Ws {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/?v=10&encoding=json"))
            .await
            .expect("gateway reachable");
    let hello = next(&mut ws).await.expect("hello");
    assert_eq!(hello["op"], 10, "{hello}");
    ws
}

/// The next gateway message, or `None` when the connection closed.
async fn next(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("gateway message within the time limit");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next dispatch (skipping heartbeat ACKs).
async fn dispatch(ws: &mut Ws) -> Value {
    loop {
        let m = next(ws).await.expect("connection open");
        if m["op"] == 0 {
            return m;
        }
    }
}

/// (sequence, content) of a MESSAGE_CREATE.
fn message(m: &Value) -> (u64, String) {
    assert_eq!(m["t"], "MESSAGE_CREATE", "{m}");
    (
        m["s"].as_u64().unwrap(),
        m["d"]["content"].as_str().unwrap().to_owned(),
    )
}

fn kill(mut p: Running) {
    let mut child = p.0.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_resumes_on_another_gateway_process() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("failover{:08x}", rand::random::<u32>());
    let api_port = free_port();
    let mut api_cmd = process(dir.path(), &db.url, &prefix, "api", free_port());
    api_cmd.env("ACCORD_API__LISTEN", format!("127.0.0.1:{api_port}"));
    let (api, _) = start(api_cmd);
    let (g1_port, g2_port, g3_port) = (free_port(), free_port(), free_port());
    let (g1, _) = start(process(dir.path(), &db.url, &prefix, "gateway", g1_port));
    let (g2, _) = start(process(dir.path(), &db.url, &prefix, "gateway", g2_port));

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{api_port}/api/v10");
    let (st, reg) = post(
        &http,
        &format!("{base}/auth/register"),
        None,
        json!({"username": "wanderer", "password": "correct horse battery"}),
    )
    .await;
    assert_eq!(st, 201, "{reg}");
    let token = reg["token"].as_str().unwrap().to_owned();
    let (st, guild) = post(
        &http,
        &format!("{base}/guilds"),
        Some(&token),
        json!({"name": "Harbour"}),
    )
    .await;
    assert_eq!(st, 201, "{guild}");
    let channels: Value = http
        .get(format!(
            "{base}/guilds/{}/channels",
            guild["id"].as_str().unwrap()
        ))
        .header("authorization", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 0)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let say = |text: &str| {
        let (http, url, token) = (
            http.clone(),
            format!("{base}/channels/{channel}/messages"),
            token.clone(),
        );
        let text = text.to_owned();
        async move {
            let (st, m) = post(&http, &url, Some(&token), json!({"content": text})).await;
            assert_eq!(st, 200, "{m}");
        }
    };

    // Identify on the first gateway; one message; a heartbeat checkpoints the session.
    let mut ws = connect(g1_port).await;
    send(
        &mut ws,
        json!({"op": 2, "d": {"token": token, "properties": {"os": "linux", "browser": "test", "device": "test"}}}),
    )
    .await;
    let ready = dispatch(&mut ws).await;
    assert_eq!(ready["t"], "READY");
    let session = ready["d"]["session_id"].as_str().unwrap().to_owned();
    assert_eq!(dispatch(&mut ws).await["t"], "GUILD_CREATE");
    say("one").await;
    let (s1, text) = message(&dispatch(&mut ws).await);
    assert_eq!(text, "one");
    send(&mut ws, json!({"op": 1, "d": s1})).await;
    assert_eq!(next(&mut ws).await.unwrap()["op"], 11);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Delivered after the checkpoint: only the log can tell the next gateway about it.
    say("two").await;
    let (s2, text) = message(&dispatch(&mut ws).await);
    assert_eq!((s2, text.as_str()), (s1 + 1, "two"));

    // The first gateway dies; events go on being published.
    kill(g1);
    assert!(
        next(&mut ws).await.is_none(),
        "the connection died with its process"
    );
    say("three").await;
    say("four").await;

    // Resuming from before "two" on the second gateway replays it with the same sequence.
    let mut ws = connect(g2_port).await;
    send(
        &mut ws,
        json!({"op": 6, "d": {"token": token, "session_id": session, "seq": s1}}),
    )
    .await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let m = dispatch(&mut ws).await;
        got.push(message(&m));
    }
    assert_eq!(
        got,
        vec![
            (s2, "two".to_owned()),
            (s2 + 1, "three".to_owned()),
            (s2 + 2, "four".to_owned())
        ]
    );
    let resumed = dispatch(&mut ws).await;
    assert_eq!(
        (resumed["t"].as_str(), resumed["s"].as_u64()),
        (Some("RESUMED"), Some(s2 + 3))
    );
    say("five").await;
    let (s5, text) = message(&dispatch(&mut ws).await);
    assert_eq!((s5, text.as_str()), (s2 + 4, "five"));

    // A graceful stop: op 7, then the session is checkpointed as it is.
    let stopping = tokio::task::spawn_blocking(move || stop(g2));
    let reconnect = next(&mut ws).await.expect("op 7 before the close");
    assert_eq!(reconnect["op"], 7, "{reconnect}");
    assert!(next(&mut ws).await.is_none());
    assert!(stopping.await.unwrap().success());
    say("six").await;
    let (g3, _) = start(process(dir.path(), &db.url, &prefix, "gateway", g3_port));
    let mut ws = connect(g3_port).await;
    send(
        &mut ws,
        json!({"op": 6, "d": {"token": token, "session_id": session, "seq": s5}}),
    )
    .await;
    let (s6, text) = message(&dispatch(&mut ws).await);
    assert_eq!((s6, text.as_str()), (s5 + 1, "six"));
    let resumed = dispatch(&mut ws).await;
    assert_eq!(
        (resumed["t"].as_str(), resumed["s"].as_u64()),
        (Some("RESUMED"), Some(s5 + 2))
    );

    // An unknown session is not resumable anywhere.
    let mut other = connect(g3_port).await;
    send(
        &mut other,
        json!({"op": 6, "d": {"token": token, "session_id": "00000000000000000000000000000000", "seq": 1}}),
    )
    .await;
    let invalid = next(&mut other).await.unwrap();
    assert_eq!(
        (invalid["op"].as_u64(), invalid["d"].as_bool()),
        (Some(9), Some(false))
    );

    drop(ws);
    drop(other);
    kill(g3);
    kill(api);
    db.drop_db().await;
}
