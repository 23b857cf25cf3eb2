//! Shared helpers of the webhook tests.

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Server, id_of};

/// The id of the guild's first text channel.
pub async fn text_channel(s: &Server, gid: &str) -> String {
    let channels = s
        .state
        .store
        .guild_channels(gid.parse().unwrap())
        .await
        .unwrap();
    channels
        .iter()
        .find(|c| c.kind == 0)
        .expect("a text channel")
        .id
        .to_string()
}

pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// Asserts the HTTP status and Discord JSON code of a refusal.
pub fn assert_code(got: (StatusCode, Value), status: StatusCode, code: u64) {
    assert_eq!(
        (got.0, got.1["code"].as_u64()),
        (status, Some(code)),
        "{}",
        got.1
    );
}

pub async fn count(s: &Server, cid: &str) -> usize {
    s.state
        .store
        .channel_webhooks(cid.parse().unwrap())
        .await
        .unwrap()
        .len()
}

/// A guild with a webhook in its text channel: (server, owner token, channel id, webhook id, token).
pub async fn with_hook(backend: &str) -> (Server, String, String, String, String) {
    with_hook_using(backend, |_| {}).await
}

/// [`with_hook`] on a server whose test configuration `tweak` changes.
pub async fn with_hook_using(
    backend: &str,
    tweak: impl FnOnce(&mut accord_config::Config),
) -> (Server, String, String, String, String) {
    let s = Server::start_with(backend, tweak).await;
    let owner = s.register("owner", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    let cid = text_channel(&s, &gid).await;
    let (status, hook) = s
        .call(
            Method::POST,
            &format!("/channels/{cid}/webhooks"),
            Some(&owner),
            Some(json!({"name": "Announcer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hook}");
    let hid = id_of(&hook);
    let token = hook["token"].as_str().unwrap().to_owned();
    (s, owner, cid, hid, token)
}
