//! The caches on the message-create path never show a sender stale state: a channel change
//! (slowmode, overwrites, deletion) and a profile change apply to the very next message even
//! though the channel row and the author's row were cached by the message before — on both
//! backends.

mod common;
mod messages_util;

use common::Events;
use messages_util::Ctx;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn channel_changes_apply_at_once(backend: &str) {
    let c = Ctx::new(backend).await;
    // Caches the channel row, the member's standing and permissions.
    c.say(&c.member, "warm").await;
    let (st, ch) =
        c.s.call(
            Method::PATCH,
            &format!("/channels/{}", c.channel),
            Some(&c.owner),
            Some(json!({"rate_limit_per_user": 60})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ch}");
    // The message just sent counts: the next one waits.
    let (st, err) = c.send(&c.member, json!({"content": "one"})).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{err}");
    assert_eq!(err["code"], 20016);

    // SEND_MESSAGES denied to the member on the channel.
    c.overwrite(&c.member_id, 0, 1 << 11).await;
    let (st, err) = c.send(&c.owner, json!({"content": "owner still"})).await;
    assert_eq!(st, StatusCode::OK, "{err}");
    let (st, err) = c.send(&c.member, json!({"content": "denied"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["code"], 50013);

    let (st, body) =
        c.s.call(
            Method::DELETE,
            &format!("/channels/{}", c.channel),
            Some(&c.owner),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, err) = c.send(&c.owner, json!({"content": "gone"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{err}");
    assert_eq!(err["code"], 10003);
    c.s.stop().await;
}

async fn profile_changes_apply_at_once(backend: &str) {
    let c = Ctx::new(backend).await;
    let first = c.say(&c.member, "before").await;
    assert_ne!(first["author"]["global_name"], "Renamed");
    let (st, me) =
        c.s.call(
            Method::PATCH,
            "/users/@me",
            Some(&c.member),
            Some(json!({"global_name": "Renamed"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    let mut events = Events::new(&c.s);
    let second = c.say(&c.member, "after").await;
    assert_eq!(second["author"]["global_name"], "Renamed", "{second}");
    let sent = events.expect(&["MESSAGE_CREATE"]);
    assert_eq!(sent[0].2["author"]["global_name"], "Renamed");
    c.s.stop().await;
}

both_backends!(channel_changes_apply_at_once, profile_changes_apply_at_once);
