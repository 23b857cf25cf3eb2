//! The session protocol against the real API and gateway: Hello, heartbeats, Identify and
//! READY with one GUILD_CREATE per guild, dispatches with increasing sequence numbers, intents
//! and MESSAGE_CONTENT masking, every close code, Resume with exact replay, permission
//! filtering and sharding — on SQLite and PostgreSQL.

mod common;

use common::{Client, Env, Got};
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

async fn channels_hidden_by_permissions(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (guild, general) = env.guild(&owner, "Lounge").await;
    let invite = env
        .ok(
            Method::POST,
            &format!("/channels/{general}/invites"),
            &owner,
            Some(json!({})),
        )
        .await;
    env.ok(
        Method::POST,
        &format!("/invites/{}", invite["code"].as_str().unwrap()),
        &member,
        None,
    )
    .await;
    let secret = env
        .ok(
            Method::POST,
            &format!("/guilds/{guild}/channels"),
            &owner,
            Some(json!({"name": "secret", "permission_overwrites": [
                {"id": member_id, "type": 1, "allow": "0", "deny": "1024"}
            ]})),
        )
        .await;
    let secret = secret["id"].as_str().unwrap().to_owned();
    let (mut c, _) = Client::connect(&env, Q).await;
    c.identify(&member, json!({})).await;
    let gc = c.until("GUILD_CREATE").await;
    let ids: Vec<&str> = gc["d"]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ch| ch["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&general.as_str()), "{ids:?}");
    assert!(!ids.contains(&secret.as_str()), "{ids:?}");
    env.say(&owner, &secret, "not for you").await;
    env.say(&owner, &general, "for everyone").await;
    let m = c.until("MESSAGE_CREATE").await;
    assert_eq!(
        m["d"]["content"], "for everyone",
        "the hidden message never came"
    );
    env.stop().await;
}

async fn shards_get_their_guilds(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (bot, raw, _) = env.bot(&owner, "Sharded", 0).await;
    // Guilds until both shards of two have one.
    let mut by_shard: [Option<(String, String)>; 2] = [None, None];
    for i in 0..40 {
        let (g, ch) = env.guild(&owner, &format!("g{i}")).await;
        let shard = ((g.parse::<u64>().unwrap() >> 22) % 2) as usize;
        if by_shard[shard].is_none() {
            env.add_bot(&owner, &bot, &g).await;
            by_shard[shard] = Some((g, ch));
        }
        if by_shard.iter().all(Option::is_some) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let [Some(g0), Some(g1)] = by_shard else {
        panic!("no guild on one of the shards")
    };
    let mut shards = Vec::new();
    for (i, g) in [&g0, &g1].into_iter().enumerate() {
        let (mut c, _) = Client::connect(&env, Q).await;
        let ready = c
            .identify(&raw, json!({"intents": BASIC, "shard": [i, 2]}))
            .await;
        assert_eq!(ready["d"]["shard"], json!([i, 2]));
        assert_eq!(
            ready["d"]["guilds"],
            json!([{"id": g.0, "unavailable": true}])
        );
        c.until("GUILD_CREATE").await;
        shards.push(c);
    }
    env.say(&owner, &g1.1, "to shard one").await;
    env.say(&owner, &g0.1, "to shard zero").await;
    let m0 = shards[0].until("MESSAGE_CREATE").await;
    assert_eq!(m0["d"]["guild_id"], g0.0.as_str());
    let m1 = shards[1].until("MESSAGE_CREATE").await;
    assert_eq!(m1["d"]["guild_id"], g1.0.as_str());
    // 4011 is for sessions over 2,500 guilds; 4010 for a shard outside [0, n).
    let (mut c, _) = Client::connect(&env, Q).await;
    c.send(json!({"op": 2, "d": {"token": raw, "properties": {}, "intents": 1, "shard": [0, 0]}}))
        .await;
    assert!(matches!(c.next().await, Got::Closed(Some(4010))));
    env.stop().await;
}

async fn member_chunks(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, owner_id) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (guild, general) = env.guild(&owner, "Lounge").await;
    let invite = env
        .ok(
            Method::POST,
            &format!("/channels/{general}/invites"),
            &owner,
            Some(json!({})),
        )
        .await;
    env.ok(
        Method::POST,
        &format!("/invites/{}", invite["code"].as_str().unwrap()),
        &member,
        None,
    )
    .await;
    let (mut c, _) = Client::connect(&env, Q).await;
    c.identify(&owner, json!({})).await;
    c.until("GUILD_CREATE").await;
    c.send(json!({"op": 8, "d": {"guild_id": guild, "query": "", "limit": 0, "nonce": "all"}}))
        .await;
    let all = c.until("GUILD_MEMBERS_CHUNK").await["d"].clone();
    assert_eq!(
        (all["chunk_index"].as_u64(), all["chunk_count"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(all["nonce"], "all");
    let mut got: Vec<&str> = all["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["id"].as_str().unwrap())
        .collect();
    got.sort();
    let mut want = vec![owner_id.as_str(), member_id.as_str()];
    want.sort();
    assert_eq!(got, want);
    c.send(
        json!({"op": 8, "d": {"guild_id": guild, "user_ids": [member_id, "12345"], "limit": 0}}),
    )
    .await;
    let by_id = c.until("GUILD_MEMBERS_CHUNK").await["d"].clone();
    assert_eq!(by_id["members"].as_array().unwrap().len(), 1);
    assert_eq!(by_id["members"][0]["user"]["id"], member_id.as_str());
    assert_eq!(by_id["not_found"], json!(["12345"]));
    c.send(json!({"op": 8, "d": {"guild_id": guild, "query": "MEM", "limit": 10}}))
        .await;
    let prefix = c.until("GUILD_MEMBERS_CHUNK").await["d"].clone();
    assert_eq!(prefix["members"].as_array().unwrap().len(), 1);
    assert_eq!(prefix["members"][0]["user"]["id"], member_id.as_str());
    env.stop().await;
}

async fn presences_and_revocation(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (guild, general) = env.guild(&owner, "Lounge").await;
    let invite = env
        .ok(
            Method::POST,
            &format!("/channels/{general}/invites"),
            &owner,
            Some(json!({})),
        )
        .await;
    env.ok(
        Method::POST,
        &format!("/invites/{}", invite["code"].as_str().unwrap()),
        &member,
        None,
    )
    .await;
    let (mut a, _) = Client::connect(&env, Q).await;
    a.identify(&owner, json!({})).await;
    a.until("GUILD_CREATE").await;

    let (mut b, _) = Client::connect(&env, Q).await;
    b.identify(
        &member,
        json!({"presence": {"status": "idle", "activities": [], "since": null, "afk": false}}),
    )
    .await;
    let p = a.until("PRESENCE_UPDATE").await["d"].clone();
    assert_eq!(p["user"]["id"], member_id.as_str());
    assert_eq!(p["guild_id"], guild.as_str());
    assert_eq!(p["status"], "idle");
    b.send(json!({"op": 3, "d": {"status": "dnd", "activities": [{"name": "chess", "type": 0}], "since": null, "afk": false}}))
        .await;
    let p = a.until("PRESENCE_UPDATE").await["d"].clone();
    assert_eq!(
        (p["status"].as_str(), p["activities"][0]["name"].as_str()),
        (Some("dnd"), Some("chess"))
    );
    b.send(json!({"op": 3, "d": {"status": "invisible", "activities": [], "since": null, "afk": false}}))
        .await;
    assert_eq!(a.until("PRESENCE_UPDATE").await["d"]["status"], "offline");
    b.send(
        json!({"op": 3, "d": {"status": "online", "activities": [], "since": null, "afk": false}}),
    )
    .await;
    assert_eq!(a.until("PRESENCE_UPDATE").await["d"]["status"], "online");

    // A session starting now sees the member online in GUILD_CREATE.
    let (mut c, _) = Client::connect(&env, Q).await;
    c.identify(&owner, json!({})).await;
    let gc = c.until("GUILD_CREATE").await;
    let presences = gc["d"]["presences"].as_array().unwrap();
    assert!(
        presences
            .iter()
            .any(|p| p["user"]["id"] == member_id.as_str() && p["status"] == "online"),
        "{presences:?}"
    );
    // The member's last session ends: offline.
    b.close(1000).await;
    assert_eq!(a.until("PRESENCE_UPDATE").await["d"]["status"], "offline");

    // Logging out ends every session identified with that token (4004), for good.
    let (st, _) = env
        .call(
            Method::POST,
            "/auth/logout",
            Some(&owner),
            Some(json!({"provider": null})),
        )
        .await;
    assert!(st.is_success());
    assert_eq!(a.closed().await, Some(4004));
    assert_eq!(c.closed().await, Some(4004));
    let (mut d, _) = Client::connect(&env, Q).await;
    d.send(json!({"op": 6, "d": {"token": owner, "session_id": a.session_id, "seq": 1}}))
        .await;
    assert_eq!(d.closed().await, Some(4004));
    env.stop().await;
}

async fn visibility_changes(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (_, general) = env.guild(&owner, "Lounge").await;
    let invite = env
        .ok(
            Method::POST,
            &format!("/channels/{general}/invites"),
            &owner,
            Some(json!({})),
        )
        .await;
    env.ok(
        Method::POST,
        &format!("/invites/{}", invite["code"].as_str().unwrap()),
        &member,
        None,
    )
    .await;
    let (mut m, _) = Client::connect(&env, Q).await;
    m.identify(&member, json!({})).await;
    m.until("GUILD_CREATE").await;
    let (mut o, _) = Client::connect(&env, Q).await;
    o.identify(&owner, json!({})).await;
    o.until("GUILD_CREATE").await;

    // Hidden from the member: CHANNEL_DELETE for them, CHANNEL_UPDATE for the owner.
    let path = format!("/channels/{general}/permissions/{member_id}");
    let (st, body) = env
        .call(
            Method::PUT,
            &path,
            Some(&owner),
            Some(json!({"type": 1, "allow": "0", "deny": "1024"})),
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
    let gone = m.event().await;
    assert_eq!(gone["t"], "CHANNEL_DELETE", "{gone}");
    assert_eq!(gone["d"]["id"], general.as_str());
    let upd = o.until("CHANNEL_UPDATE").await;
    assert_eq!(upd["d"]["id"], general.as_str());
    env.say(&owner, &general, "while hidden").await;
    assert_eq!(
        o.until("MESSAGE_CREATE").await["d"]["content"],
        "while hidden"
    );

    // Shown again: CHANNEL_CREATE for the member, and its messages flow again.
    let (st, body) = env.call(Method::DELETE, &path, Some(&owner), None).await;
    assert!(st.is_success(), "{st} {body}");
    let back = m.event().await;
    assert_eq!(back["t"], "CHANNEL_CREATE", "{back}");
    assert_eq!(back["d"]["id"], general.as_str());
    env.say(&owner, &general, "visible again").await;
    let msg = m.event().await;
    assert_eq!(msg["t"], "MESSAGE_CREATE", "{msg}");
    assert_eq!(
        msg["d"]["content"], "visible again",
        "the hidden message never came"
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

async fn voice_states(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, owner_id) = env.user("owner").await;
    let (guild, _) = env.guild(&owner, "Lounge").await;
    let channels = env
        .ok(
            Method::GET,
            &format!("/guilds/{guild}/channels"),
            &owner,
            None,
        )
        .await;
    let voice = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 2)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut watcher, _) = Client::connect(&env, Q).await;
    watcher.identify(&owner, json!({})).await;
    watcher.until("GUILD_CREATE").await;
    let (mut v, _) = Client::connect(&env, Q).await;
    v.identify(&owner, json!({})).await;
    v.until("GUILD_CREATE").await;
    v.send(json!({"op": 4, "d": {"guild_id": guild, "channel_id": voice, "self_mute": true, "self_deaf": false}}))
        .await;
    let joined = watcher.until("VOICE_STATE_UPDATE").await["d"].clone();
    assert_eq!(joined["channel_id"], voice.as_str());
    assert_eq!(joined["user_id"], owner_id.as_str());
    assert_eq!(joined["session_id"], v.session_id.as_str());
    assert_eq!(joined["self_mute"], true);
    assert_eq!(joined["member"]["user"]["id"], owner_id.as_str());
    // A new session sees it in GUILD_CREATE.
    let (mut late, _) = Client::connect(&env, Q).await;
    late.identify(&owner, json!({})).await;
    let gc = late.until("GUILD_CREATE").await;
    assert_eq!(gc["d"]["voice_states"][0]["channel_id"], voice.as_str());
    // Asking for soundboard sounds answers with the (empty) list.
    late.send(json!({"op": 31, "d": {"guild_ids": [guild]}}))
        .await;
    let sounds = late.until("SOUNDBOARD_SOUNDS").await["d"].clone();
    assert_eq!(sounds, json!({"guild_id": guild, "soundboard_sounds": []}));
    // Leaving, and a session that ends while in a channel, both publish channel_id null.
    v.send(json!({"op": 4, "d": {"guild_id": guild, "channel_id": null, "self_mute": false, "self_deaf": false}}))
        .await;
    let left = watcher.until("VOICE_STATE_UPDATE").await["d"].clone();
    assert_eq!(left["channel_id"], serde_json::Value::Null);
    v.send(json!({"op": 4, "d": {"guild_id": guild, "channel_id": voice, "self_mute": false, "self_deaf": true}}))
        .await;
    assert_eq!(
        watcher.until("VOICE_STATE_UPDATE").await["d"]["self_deaf"],
        true
    );
    v.close(1000).await;
    let gone = watcher.until("VOICE_STATE_UPDATE").await["d"].clone();
    assert_eq!(gone["channel_id"], serde_json::Value::Null);
    env.stop().await;
}

both_backends!(
    voice_states,
    heartbeat_deadline,
    visibility_changes,
    presences_and_revocation,
    member_chunks,
    ready_and_messages,
    close_codes,
    resume_replays_exactly,
    channels_hidden_by_permissions,
    shards_get_their_guilds
);
