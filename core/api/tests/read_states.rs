//! Read states: a mention counts as unread for the mentioned user, `POST .../ack` marks the
//! channel read (MESSAGE_ACK to the user's sessions), bots may not ack — on both backends.

mod common;
mod messages_util;

use accord_bus::Audience;
use accord_model::{ChannelId, UserId};
use common::Events;
use messages_util::Ctx;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn ack_and_mentions(backend: &str) {
    let c = Ctx::new(backend).await;
    let member: UserId = c.member_id.parse().unwrap();
    let channel: ChannelId = c.channel.parse().unwrap();
    let first = c.say(&c.owner, &format!("hi <@{}>", c.member_id)).await;
    c.say(&c.owner, &format!("again <@{}>", c.member_id)).await;
    let states = c.s.state.store.read_states(member).await.unwrap();
    let state = states
        .iter()
        .find(|r| r.channel_id == channel.as_i64())
        .unwrap();
    assert_eq!(state.mention_count, 2);

    let mut events = Events::new(&c.s);
    let path = format!(
        "/channels/{}/messages/{}/ack",
        c.channel,
        first["id"].as_str().unwrap()
    );
    let (st, body) =
        c.s.call(
            Method::POST,
            &path,
            Some(&c.member),
            Some(json!({"token": null})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"token": null}));
    let got = events.expect(&["MESSAGE_ACK"]);
    assert_eq!(got[0].1, Audience::Users(vec![member]));
    assert_eq!(got[0].2["message_id"], first["id"]);
    assert_eq!(got[0].2["mention_count"], 0);
    let states = c.s.state.store.read_states(member).await.unwrap();
    let state = states
        .iter()
        .find(|r| r.channel_id == channel.as_i64())
        .unwrap();
    assert_eq!(state.mention_count, 0);
    assert_eq!(
        state.last_message_id.map(|m| m.to_string()).as_deref(),
        first["id"].as_str()
    );

    // No body at all is fine; an unknown message is 10008; bots get 20001.
    let (st, _) = c.s.call(Method::POST, &path, Some(&c.member), None).await;
    assert_eq!(st, StatusCode::OK);
    events.expect(&["MESSAGE_ACK"]);
    let (st, body) =
        c.s.call(
            Method::POST,
            &format!("/channels/{}/messages/1/ack", c.channel),
            Some(&c.member),
            None,
        )
        .await;
    assert_eq!(
        (st, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10008))
    );
    let (_, bot) = c.s.bot(&c.owner, "Acker").await;
    let (st, body) =
        c.s.call(Method::POST, &path, Some(&format!("Bot {bot}")), None)
            .await;
    assert_eq!(
        (st, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(20001))
    );
    events.expect(&[]);
    c.s.stop().await;
}

both_backends!(ack_and_mentions);
