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
    let prefix = format!("accordtest{}", rand_suffix());
    let env = Env::start("postgres", |c| {
        c.bus.kind = accord_config::BusKind::Redis;
        c.bus.channel_prefix = prefix.clone();
    })
    .await;
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

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
