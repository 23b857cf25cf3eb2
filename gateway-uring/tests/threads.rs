//! Threads through the gateway: active threads in GUILD_CREATE, private threads seen only by
//! their members, THREAD_CREATE and THREAD_MEMBERS_UPDATE to a member added without the
//! GUILD_MEMBERS intent, messages inside threads, and THREAD_LIST_SYNC when a channel comes
//! back into view — on SQLite and PostgreSQL.

mod common;

use common::{Client, Env};
use reqwest::Method;
use serde_json::json;

const Q: &str = "v=10&encoding=json";
/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT, no GUILD_MEMBERS.
const INTENTS: u64 = 1 | (1 << 9) | (1 << 15);

async fn threads_reach_who_may_see_them(backend: &str) {
    let env = Env::start(backend, |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (guild, general) = env.guild(&owner, "Threads").await;
    let (bot, raw, bot_id) = env.bot(&owner, "Threader", 1 << 18).await;
    env.add_bot(&owner, &bot, &guild).await;
    let open = env
        .ok(
            Method::POST,
            &format!("/channels/{general}/threads"),
            &owner,
            Some(json!({"name": "open", "type": 11})),
        )
        .await;
    let open = open["id"].as_str().unwrap().to_owned();
    let secret = env
        .ok(
            Method::POST,
            &format!("/channels/{general}/threads"),
            &owner,
            Some(json!({"name": "secret", "type": 12})),
        )
        .await;
    let secret = secret["id"].as_str().unwrap().to_owned();

    let (mut c, _) = Client::connect(&env, Q).await;
    c.identify(&raw, json!({"intents": INTENTS})).await;
    let gc = c.until("GUILD_CREATE").await;
    let threads: Vec<&str> = gc["d"]["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(threads, vec![open.as_str()], "only the public thread");
    assert!(
        gc["d"]["channels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|ch| ch["id"] != open.as_str()),
        "threads are not among the channels"
    );

    // A private thread's messages stay with its members.
    env.say(&owner, &secret, "members only").await;
    env.say(&owner, &open, "in the open").await;
    let m = c.until("MESSAGE_CREATE").await;
    assert_eq!(m["d"]["content"], "in the open", "{m}");
    assert_eq!(m["d"]["channel_id"], open.as_str());

    // Added: THREAD_CREATE with its membership, THREAD_MEMBERS_UPDATE without GUILD_MEMBERS.
    let (st, body) = env
        .call(
            Method::PUT,
            &format!("/channels/{secret}/thread-members/{bot_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
    let created = c.until("THREAD_CREATE").await;
    assert_eq!(created["d"]["id"], secret.as_str());
    assert_eq!(created["d"]["member"]["user_id"], bot_id.as_str());
    let update = c.until("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(update["d"]["added_members"][0]["user_id"], bot_id.as_str());
    env.say(&owner, &secret, "welcome").await;
    let m = c.until("MESSAGE_CREATE").await;
    assert_eq!(m["d"]["content"], "welcome");
    assert_eq!(m["d"]["channel_id"], secret.as_str());

    // Hidden and shown again: the channel, then its active threads.
    let path = format!("/channels/{general}/permissions/{bot_id}");
    let (st, body) = env
        .call(
            Method::PUT,
            &path,
            Some(&owner),
            Some(json!({"type": 1, "allow": "0", "deny": "1024"})),
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
    assert_eq!(c.until("CHANNEL_DELETE").await["d"]["id"], general.as_str());
    let (st, body) = env.call(Method::DELETE, &path, Some(&owner), None).await;
    assert!(st.is_success(), "{st} {body}");
    assert_eq!(c.until("CHANNEL_CREATE").await["d"]["id"], general.as_str());
    let sync = c.until("THREAD_LIST_SYNC").await;
    assert_eq!(sync["d"]["channel_ids"], json!([general]));
    let mut synced: Vec<&str> = sync["d"]["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    synced.sort_unstable();
    let mut want = vec![open.as_str(), secret.as_str()];
    want.sort_unstable();
    assert_eq!(
        synced, want,
        "both threads: the bot is a member of the private one"
    );
    assert_eq!(sync["d"]["members"][0]["id"], secret.as_str());
    env.stop().await;
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn threads_reach_who_may_see_them() {
        super::threads_reach_who_may_see_them("sqlite").await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn threads_reach_who_may_see_them() {
        super::threads_reach_who_may_see_them("postgres").await
    }
}
