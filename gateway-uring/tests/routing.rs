//! What each session receives: VIEW_CHANNEL filtering and visibility changes, sharding,
//! presences and revocation, member chunks (op 8) and voice states (op 4) — against the real
//! API and gateway on SQLite and PostgreSQL.

mod common;

use common::{Client, Env, Got};
use reqwest::Method;
use serde_json::json;

const Q: &str = "v=10&encoding=json";
/// GUILDS | GUILD_MESSAGES.
const BASIC: u64 = 1 | (1 << 9);

async fn channels_hidden_by_permissions(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (guild, general) = env.guild(&owner, "Lounge").await;
    env.join(&owner, &general, &member).await;
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

async fn visibility_changes(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (_, general) = env.guild(&owner, "Lounge").await;
    env.join(&owner, &general, &member).await;
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

async fn presences_and_revocation(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (guild, general) = env.guild(&owner, "Lounge").await;
    env.join(&owner, &general, &member).await;
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

async fn member_chunks(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, owner_id) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (guild, general) = env.guild(&owner, "Lounge").await;
    env.join(&owner, &general, &member).await;
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

/// GUILDS | GUILD_MEMBERS | GUILD_PRESENCES | DIRECT_MESSAGES.
const WATCH: u64 = 1 | (1 << 1) | (1 << 8) | (1 << 12);

/// Presence and member events reach a session through the hub's per-guild index of sessions
/// holding those intents — also when the session joined the guild after it identified, and
/// no longer once it left.
async fn selective_intents_follow_membership(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (watcher, watcher_id) = env.user("watcher").await;
    let (member, member_id) = env.user("member").await;
    let (guild, general) = env.guild(&owner, "Lounge").await;
    // The watcher identifies in no guild, then joins one.
    let (mut w, _) = Client::connect(&env, Q).await;
    w.identify(&watcher, json!({"intents": WATCH})).await;
    env.join(&owner, &general, &watcher).await;
    assert_eq!(w.until("GUILD_CREATE").await["d"]["id"], guild.as_str());
    // A session of the guild without those intents gets neither kind of event.
    let (mut plain, _) = Client::connect(&env, Q).await;
    plain.identify(&owner, json!({"intents": BASIC})).await;
    plain.until("GUILD_CREATE").await;

    env.join(&owner, &general, &member).await;
    let add = w.until("GUILD_MEMBER_ADD").await["d"].clone();
    assert_eq!(add["user"]["id"], member_id.as_str());
    let (mut m, _) = Client::connect(&env, Q).await;
    m.identify(&member, json!({"intents": BASIC})).await;
    let p = w.until("PRESENCE_UPDATE").await["d"].clone();
    assert_eq!(p["user"]["id"], member_id.as_str());
    env.say(&owner, &general, "after the presence").await;
    let next = plain.dispatch().await;
    assert_eq!(
        (next["t"].as_str(), next["d"]["content"].as_str()),
        (Some("MESSAGE_CREATE"), Some("after the presence")),
        "a session without GUILD_MEMBERS / GUILD_PRESENCES got {next}"
    );

    // The watcher leaves: the member's presence changes no longer reach it. A DM sent after
    // the change shows what came before it.
    let (st, _) = env
        .call(
            reqwest::Method::DELETE,
            &format!("/users/@me/guilds/{guild}"),
            Some(&watcher),
            None,
        )
        .await;
    assert!(st.is_success(), "{st}");
    w.until("GUILD_DELETE").await;
    m.send(json!({"op": 3, "d": {"status": "dnd", "activities": [], "since": null, "afk": false}}))
        .await;
    let dm = env
        .ok(
            reqwest::Method::POST,
            "/users/@me/channels",
            &member,
            Some(json!({"recipient_id": watcher_id})),
        )
        .await;
    env.say(&member, dm["id"].as_str().unwrap(), "after leaving")
        .await;
    loop {
        let v = w.dispatch().await;
        assert_ne!(v["t"], "PRESENCE_UPDATE", "a presence after leaving: {v}");
        if v["t"] == "MESSAGE_CREATE" {
            assert_eq!(v["d"]["content"], "after leaving");
            break;
        }
    }
    env.stop().await;
}

both_backends!(
    channels_hidden_by_permissions,
    shards_get_their_guilds,
    visibility_changes,
    presences_and_revocation,
    member_chunks,
    voice_states,
    selective_intents_follow_membership,
);
