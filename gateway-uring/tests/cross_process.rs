//! Two processes' worth of Accord sharing PostgreSQL and the Redis bus (the real server at
//! 127.0.0.1:6379): a message posted through one process's API reaches a session on the other
//! process's gateway — which, like `accord gateway`, subscribes only to its sessions' guilds,
//! users and session ids, so a guild joined mid-session is subscribed on the fly and the events
//! published before that subscription took effect come from the event log — and a logout on
//! one closes the session on the other.

mod common;

use accord_gateway::Gateway;
use common::{Client, Env};

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_processes_over_redis() {
    let env = redis_env().await;
    let (owner, _) = env.user("owner").await;
    let (_, general) = env.guild(&owner, "Lounge").await;

    // The second process: its own state, bus connection and gateway.
    let other = env.second_state().await;
    let gateway = Gateway::start(other.clone(), tokio::runtime::Handle::current()).unwrap();
    let base = format!("ws://{}", gateway.local_addr());
    let (mut client, _) = Client::connect_to(&base, "v=10&encoding=json").await;
    client.identify(&owner, json!({})).await;
    client.until("GUILD_CREATE").await;
    env.say(&owner, &general, "across processes").await;
    let m = client.until("MESSAGE_CREATE").await;
    assert_eq!(m["d"]["content"], "across processes");

    // A guild nobody on the second gateway was in: joined, then spoken in at once (and
    // again). Every event reaches the session exactly once, in order.
    let (host, _) = env.user("host").await;
    let (_, hall) = env.guild(&host, "Hall").await;
    env.join(&host, &hall, &owner).await;
    for n in 0..5 {
        env.say(&host, &hall, &format!("welcome {n}")).await;
    }
    let gc = client.until("GUILD_CREATE").await;
    assert_eq!(gc["d"]["name"], "Hall");
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let m = client.until("MESSAGE_CREATE").await;
        seen.push(m["d"]["content"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen,
        (0..5).map(|n| format!("welcome {n}")).collect::<Vec<_>>()
    );
    env.say(&owner, &general, "last").await;
    let m = client.until("MESSAGE_CREATE").await;
    assert_eq!(m["d"]["content"], "last", "no message came twice");
    assert_eq!(
        other.bus.redis_bus().unwrap().interest(),
        accord_bus::Interest::Chosen
    );
    let (st, _) = env
        .call(
            reqwest::Method::POST,
            "/auth/logout",
            Some(&owner),
            Some(json!({"provider": null})),
        )
        .await;
    assert!(st.is_success());
    assert_eq!(client.closed().await, Some(4004));
    drop(client);
    tokio::task::spawn_blocking(move || gateway.shutdown(std::time::Duration::from_secs(1)))
        .await
        .unwrap();
    other.store.close().await;
    env.stop().await;
}

/// A PostgreSQL environment on the Redis bus, under a channel prefix of its own.
async fn redis_env() -> Env {
    let prefix = format!("accordtest{}", rand_suffix());
    Env::start("postgres", |c| {
        c.bus.kind = accord_config::BusKind::Redis;
        c.bus.channel_prefix = prefix;
    })
    .await
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A user with sessions on two gateway processes stays online while either remains: the
/// process whose session ended must not announce offline (presences are shared in Redis).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_counts_sessions_on_every_process() {
    let env = redis_env().await;
    let (owner, _) = env.user("owner").await;
    let (member, member_id) = env.user("member").await;
    let (_, general) = env.guild(&owner, "Lounge").await;
    env.join(&owner, &general, &member).await;
    let other = env.second_state().await;
    let gateway = Gateway::start(other.clone(), tokio::runtime::Handle::current()).unwrap();
    let base = format!("ws://{}", gateway.local_addr());

    let (mut watcher, _) = Client::connect(&env, "v=10&encoding=json").await;
    watcher.identify(&owner, json!({})).await;
    watcher.until("GUILD_CREATE").await;
    let (mut here, _) = Client::connect(&env, "v=10&encoding=json").await;
    here.identify(&member, json!({})).await;
    let p = watcher.until("PRESENCE_UPDATE").await["d"].clone();
    assert_eq!(
        (p["user"]["id"].as_str(), p["status"].as_str()),
        (Some(member_id.as_str()), Some("online"))
    );
    let (mut there, _) = Client::connect_to(&base, "v=10&encoding=json").await;
    there.identify(&member, json!({})).await;
    there.until("GUILD_CREATE").await;

    // The session on the first process ends; the one on the second lives on.
    here.close(1000).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    there
        .send(
            json!({"op": 3, "d": {"status": "dnd", "activities": [], "since": null, "afk": false}}),
        )
        .await;
    let p = watcher.until("PRESENCE_UPDATE").await["d"].clone();
    assert_eq!(
        p["status"], "dnd",
        "no offline while a session remains elsewhere: {p}"
    );

    // A session starting on the first process sees the member through the second's session.
    let (mut late, _) = Client::connect(&env, "v=10&encoding=json").await;
    late.identify(&owner, json!({})).await;
    let gc = late.until("GUILD_CREATE").await;
    let presences = gc["d"]["presences"].as_array().unwrap();
    assert!(
        presences
            .iter()
            .any(|p| p["user"]["id"] == member_id.as_str() && p["status"] == "dnd"),
        "{presences:?}"
    );

    // The last session ends: offline.
    there.close(1000).await;
    let p = watcher.until("PRESENCE_UPDATE").await["d"].clone();
    assert_eq!(p["status"], "offline", "{p}");
    drop((watcher, late));
    tokio::task::spawn_blocking(move || gateway.shutdown(std::time::Duration::from_secs(1)))
        .await
        .unwrap();
    other.store.close().await;
    env.stop().await;
}
