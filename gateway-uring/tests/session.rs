//! The session protocol against the real API and gateway: Hello, heartbeats and their deadline,
//! Identify and READY with one GUILD_CREATE per guild, dispatches with increasing sequence
//! numbers, intents and MESSAGE_CONTENT masking, every close code, the identify budget and
//! Resume with exact replay — on SQLite and PostgreSQL.

mod common;

use common::{Client, Env};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const Q: &str = "v=10&encoding=json";
/// GUILDS | GUILD_MESSAGES.
const BASIC: u64 = 1 | (1 << 9);
const MESSAGE_CONTENT: u64 = 1 << 15;
/// The application flag GATEWAY_MESSAGE_CONTENT.
const APP_MESSAGE_CONTENT: u64 = 1 << 18;

async fn ready_and_messages(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, owner_id) = env.user("owner").await;
    let (guild, general) = env.guild(&owner, "Lounge").await;

    let (mut c, hello) = Client::connect(&env, Q).await;
    assert_eq!(hello["d"]["heartbeat_interval"], 41_250);
    // An immediate heartbeat is answered.
    c.send(json!({"op": 1, "d": null})).await;
    assert_eq!(c.payload().await["op"], 11);
    let ready = c.identify(&owner, json!({})).await;
    let d = &ready["d"];
    assert_eq!(ready["s"], 1);
    assert_eq!(d["v"], 10);
    assert_eq!(d["user"]["id"], owner_id.as_str());
    assert_eq!(d["guilds"], json!([{"id": guild, "unavailable": true}]));
    assert_eq!(
        d["resume_gateway_url"],
        env.state.config.gateway_public_url()
    );
    assert_eq!(d["session_id"].as_str().unwrap().len(), 32);
    let gc = c.dispatch().await;
    assert_eq!(
        (gc["t"].as_str(), gc["s"].as_u64()),
        (Some("GUILD_CREATE"), Some(2))
    );
    let g = &gc["d"];
    assert_eq!(g["id"], guild.as_str());
    assert_eq!(g["member_count"], 1);
    assert!(g["joined_at"].is_string());
    assert!(
        g["channels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ch| ch["id"] == general.as_str()),
        "{g}"
    );
    assert!(!g["roles"].as_array().unwrap().is_empty());

    let sent = env.say(&owner, &general, "hello gateway").await;
    let m = c.dispatch().await;
    assert_eq!(
        (m["t"].as_str(), m["s"].as_u64()),
        (Some("MESSAGE_CREATE"), Some(3))
    );
    assert_eq!(m["d"]["id"], sent["id"]);
    assert_eq!(m["d"]["guild_id"], guild.as_str());
    assert_eq!(m["d"]["content"], "hello gateway");

    // A bot without MESSAGE_CONTENT sees guild messages blanked unless they mention it.
    let (plain, plain_raw, plain_id) = env.bot(&owner, "Plain", 0).await;
    env.add_bot(&owner, &plain, &guild).await;
    let (reader, reader_raw, _) = env.bot(&owner, "Reader", APP_MESSAGE_CONTENT).await;
    env.add_bot(&owner, &reader, &guild).await;
    let (mut p, _) = Client::connect(&env, Q).await;
    let pr = p.identify(&plain_raw, json!({"intents": BASIC})).await;
    assert!(pr["d"]["application"]["id"].is_string(), "{pr}");
    assert!(pr["d"]["application"]["flags"].is_number(), "{pr}");
    p.until("GUILD_CREATE").await;
    let (mut r, _) = Client::connect(&env, Q).await;
    r.identify(&reader_raw, json!({"intents": BASIC | MESSAGE_CONTENT}))
        .await;
    r.until("GUILD_CREATE").await;
    env.say(&owner, &general, "secret words").await;
    let blank = p.until("MESSAGE_CREATE").await;
    assert_eq!(blank["d"]["content"], "");
    assert_eq!(
        r.until("MESSAGE_CREATE").await["d"]["content"],
        "secret words"
    );
    env.say(&owner, &general, &format!("<@{plain_id}> look"))
        .await;
    let mention = p.until("MESSAGE_CREATE").await;
    assert_eq!(mention["d"]["content"], format!("<@{plain_id}> look"));
    // A bot without GUILD_MESSAGES gets no messages at all. Its second identify within 5 s
    // on the same concurrency bucket is refused with Invalid Session first.
    let (mut deaf, _) = Client::connect(&env, Q).await;
    deaf.send(json!({"op": 2, "d": {"token": plain_raw, "properties": {}, "intents": 1}}))
        .await;
    let refused = deaf.payload().await;
    assert_eq!(
        (refused["op"].as_u64(), refused["d"].as_bool()),
        (Some(9), Some(false))
    );
    tokio::time::sleep(std::time::Duration::from_millis(5100)).await;
    deaf.identify(&plain_raw, json!({"intents": 1})).await;
    deaf.until("GUILD_CREATE").await;
    env.say(&owner, &general, "unheard").await;
    env.ok(
        Method::PATCH,
        &format!("/guilds/{guild}"),
        &owner,
        Some(json!({"name": "Renamed"})),
    )
    .await;
    let next = deaf.dispatch().await;
    assert_eq!(
        next["t"], "GUILD_UPDATE",
        "MESSAGE_CREATE was filtered: {next}"
    );

    // A user account's READY carries its read states.
    let read = sent["id"].as_str().unwrap();
    env.ok(
        Method::POST,
        &format!("/channels/{general}/messages/{read}/ack"),
        &owner,
        Some(json!({"token": null})),
    )
    .await;
    let (mut again, _) = Client::connect(&env, Q).await;
    let ready = again.identify(&owner, json!({})).await;
    let entries = ready["d"]["read_state"]["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["id"] == general.as_str() && e["last_message_id"] == read),
        "{entries:?}"
    );
    env.stop().await;
}

async fn close_codes(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (_, raw, _) = env.bot(&owner, "B", 0).await;

    // Bad version: 4012, before anything else.
    let (ws, _) = tokio_tungstenite::connect_async(format!("{}/?v=8&encoding=json", env.ws))
        .await
        .unwrap();
    let mut c = ClientWrap(ws);
    assert_eq!(c.close_code().await, Some(4012));

    let cases: Vec<(serde_json::Value, u16)> = vec![
        (
            json!({"op": 2, "d": {"token": "nope", "properties": {}, "intents": 1}}),
            4004,
        ),
        (json!({"op": 3, "d": {"status": "online"}}), 4003),
        (json!({"op": 99, "d": null}), 4001),
        (
            json!({"op": 2, "d": {"token": raw, "properties": {}, "intents": 1u64 << 30}}),
            4013,
        ),
        (
            json!({"op": 2, "d": {"token": raw, "properties": {}, "intents": 2}}),
            4014,
        ),
        (
            json!({"op": 2, "d": {"token": raw, "properties": {}, "intents": 1, "shard": [2, 2]}}),
            4010,
        ),
        (
            json!({"op": 2, "d": {"token": raw, "properties": {}}}),
            4013,
        ),
    ];
    for (payload, code) in cases {
        let (mut c, _) = Client::connect(&env, Q).await;
        c.send(payload.clone()).await;
        assert_eq!(c.closed().await, Some(code), "{payload}");
    }
    // Not JSON, and a payload over 4096 bytes: 4002.
    let (mut c, _) = Client::connect(&env, Q).await;
    c.send_raw(Message::text("{not json")).await;
    assert_eq!(c.closed().await, Some(4002));
    let (mut c, _) = Client::connect(&env, Q).await;
    let big = json!({"op": 1, "d": "x".repeat(5000)});
    c.send_raw(Message::text(big.to_string())).await;
    assert_eq!(c.closed().await, Some(4002));
    // Identify twice: 4005.
    let (mut c, _) = Client::connect(&env, Q).await;
    c.identify(&owner, json!({})).await;
    c.send(json!({"op": 2, "d": {"token": owner, "properties": {}}}))
        .await;
    assert_eq!(c.closed().await, Some(4005));
    // More than 120 client events a minute: 4008.
    let (mut c, _) = Client::connect(&env, Q).await;
    for _ in 0..121 {
        c.send(json!({"op": 1, "d": null})).await;
    }
    assert_eq!(c.closed().await, Some(4008));
    env.stop().await;
}

/// A raw client for the 4012 case (no Hello comes first).
struct ClientWrap(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl ClientWrap {
    async fn close_code(&mut self) -> Option<u16> {
        use futures_util::StreamExt;
        while let Some(m) = self.0.next().await {
            if let Ok(Message::Close(f)) = m {
                return f.map(|f| u16::from(f.code));
            }
        }
        None
    }
}

async fn resume_replays_exactly(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (_, general) = env.guild(&owner, "Lounge").await;
    let (mut c, _) = Client::connect(&env, Q).await;
    c.identify(&owner, json!({})).await;
    c.until("GUILD_CREATE").await;
    env.say(&owner, &general, "seen").await;
    c.until("MESSAGE_CREATE").await;
    let (session, seq) = (c.session_id.clone(), c.seq);
    c.drop_tcp();
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(env.say(&owner, &general, &format!("missed {i}")).await["id"].clone());
    }
    let (mut c, _) = Client::connect(&env, Q).await;
    c.send(json!({"op": 6, "d": {"token": owner, "session_id": session, "seq": seq}}))
        .await;
    for (i, id) in missed.iter().enumerate() {
        let m = c.dispatch().await;
        assert_eq!(m["t"], "MESSAGE_CREATE", "{m}");
        assert_eq!(m["d"]["id"], *id);
        assert_eq!(m["s"].as_u64(), Some(seq + 1 + i as u64));
    }
    let resumed = c.dispatch().await;
    assert_eq!(resumed["t"], "RESUMED");
    env.say(&owner, &general, "after").await;
    let after = c.dispatch().await;
    assert_eq!(after["d"]["content"], "after");
    assert_eq!(after["s"].as_u64(), Some(seq + 7));

    // A sequence ahead of the session: 4007.
    c.drop_tcp();
    let (mut c, _) = Client::connect(&env, Q).await;
    c.send(json!({"op": 6, "d": {"token": owner, "session_id": session, "seq": 10_000}}))
        .await;
    assert_eq!(c.closed().await, Some(4007));
    // A session closed with 1000 is over: Invalid Session.
    let (mut c, _) = Client::connect(&env, Q).await;
    c.identify(&owner, json!({})).await;
    let session = c.session_id.clone();
    c.close(1000).await;
    let _ = c.closed().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (mut c, _) = Client::connect(&env, Q).await;
    c.send(json!({"op": 6, "d": {"token": owner, "session_id": session, "seq": 1}}))
        .await;
    let invalid = c.payload().await;
    assert_eq!(
        (invalid["op"].as_u64(), invalid["d"].as_bool()),
        (Some(9), Some(false))
    );
    env.stop().await;
}

async fn heartbeat_deadline(backend: &str) {
    let env = Env::start(backend, |c| {
        c.gateway.heartbeat_interval_ms = 1000;
        c.gateway.heartbeat_grace_ms = 1000;
    })
    .await;
    let (owner, _) = env.user("owner").await;
    let (mut c, hello) = Client::connect(&env, Q).await;
    assert_eq!(hello["d"]["heartbeat_interval"], 1000);
    c.identify(&owner, json!({})).await;
    // Silent past the interval: the server asks for a heartbeat (op 1)...
    let started = std::time::Instant::now();
    let asked = loop {
        let p = c.payload().await;
        if p["op"] == 1 {
            break p;
        }
    };
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1000),
        "{asked}"
    );
    c.send(json!({"op": 1, "d": c.seq})).await;
    assert_eq!(c.payload().await["op"], 11);
    // ...and a client that stays silent is dropped with 4009 (its session stays resumable).
    let started = std::time::Instant::now();
    assert_eq!(c.closed().await, Some(4009));
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
    let session = c.session_id.clone();
    let (mut r, _) = Client::connect(&env, Q).await;
    r.send(json!({"op": 6, "d": {"token": owner, "session_id": session, "seq": 1}}))
        .await;
    let first = r.dispatch().await;
    assert_eq!(first["t"], "RESUMED", "{first}");
    env.stop().await;
}

async fn identify_budget(backend: &str) {
    let env = Env::start(backend, |c| c.gateway.identifies_per_day = 2).await;
    let (owner, _) = env.user("owner").await;
    let (bot, raw, _) = env.bot(&owner, "Budget", 0).await;
    let remaining = |v: serde_json::Value| v["session_start_limit"]["remaining"].as_u64();
    let gw = env.ok(Method::GET, "/gateway/bot", &bot, None).await;
    assert_eq!(remaining(gw), Some(2));
    // Different concurrency buckets (shard_id % max_concurrency), so only the budget counts.
    for (i, shard) in [[0, 2], [1, 2]].into_iter().enumerate() {
        let (mut c, _) = Client::connect(&env, Q).await;
        c.identify(&raw, json!({"intents": 1, "shard": shard}))
            .await;
        let gw = env.ok(Method::GET, "/gateway/bot", &bot, None).await;
        assert_eq!(remaining(gw), Some(1 - i as u64));
    }
    let (mut c, _) = Client::connect(&env, Q).await;
    c.send(json!({"op": 2, "d": {"token": raw, "properties": {}, "intents": 1, "shard": [2, 3]}}))
        .await;
    assert_eq!(c.closed().await, Some(4008));
    env.stop().await;
}

both_backends!(
    ready_and_messages,
    close_codes,
    resume_replays_exactly,
    heartbeat_deadline,
    identify_budget,
);
