//! Message rules: mentions (MENTION_EVERYONE, mentionable roles, allowed_mentions, members
//! only), `enforce_nonce` deduplication and slowmode — on both backends.

mod common;
mod messages_util;

use common::{Events, id_of};
use messages_util::Ctx;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.get("id").unwrap_or(v).as_str().unwrap().to_owned())
        .collect()
}

async fn mentions(backend: &str) {
    let c = Ctx::new(backend).await;
    let (st, quiet) =
        c.s.call(
            Method::POST,
            &format!("/guilds/{}/roles", c.guild),
            Some(&c.owner),
            Some(json!({"name": "quiet"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{quiet}");
    let quiet = id_of(&quiet);
    let (_, loud) =
        c.s.call(
            Method::POST,
            &format!("/guilds/{}/roles", c.guild),
            Some(&c.owner),
            Some(json!({"name": "loud", "mentionable": true})),
        )
        .await;
    let loud = id_of(&loud);
    let outsider = c.s.register("outsider", "correct horse").await;
    let outsider_id = c.s.user_id(&outsider).await;
    let content = format!(
        "@everyone <@{}> <@!{}> <@&{quiet}> <@&{loud}> <@{outsider_id}> <@{}>",
        c.owner_id, c.member_id, c.guild
    );
    let mut events = Events::new(&c.s);

    // A member without MENTION_EVERYONE: no @everyone, only mentionable roles, members only.
    let (st, m) = c.send(&c.member, json!({"content": content})).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["mention_everyone"], false);
    let mut expected = vec![c.owner_id.clone(), c.member_id.clone()];
    expected.sort_by_key(|s| s.parse::<u64>().unwrap());
    assert_eq!(ids(&m["mentions"]), expected);
    assert_eq!(ids(&m["mention_roles"]), vec![loud.clone()]);
    let got = events.expect(&["MESSAGE_CREATE"]);
    for mention in got[0].2["mentions"].as_array().unwrap() {
        assert!(mention["member"]["joined_at"].is_string(), "{mention}");
        assert!(mention["member"].get("user").is_none());
    }

    // The owner holds MENTION_EVERYONE: everything takes effect.
    let (_, m) = c.send(&c.owner, json!({"content": content})).await;
    assert_eq!(m["mention_everyone"], true);
    let mut roles = vec![quiet.clone(), loud.clone()];
    roles.sort_by_key(|s| s.parse::<u64>().unwrap());
    assert_eq!(ids(&m["mention_roles"]), roles);

    // allowed_mentions: nothing parsed; only listed users; @here alone.
    let (_, m) = c
        .send(
            &c.owner,
            json!({"content": content, "allowed_mentions": {"parse": []}}),
        )
        .await;
    assert_eq!(
        (
            m["mention_everyone"].clone(),
            m["mentions"].clone(),
            m["mention_roles"].clone()
        ),
        (json!(false), json!([]), json!([]))
    );
    let (_, m) = c
        .send(
            &c.owner,
            json!({"content": content, "allowed_mentions": {"users": [c.member_id], "parse": ["everyone"]}}),
        )
        .await;
    assert_eq!(ids(&m["mentions"]), vec![c.member_id.clone()]);
    assert_eq!(m["mention_everyone"], true);
    assert_eq!(m["mention_roles"], json!([]));
    let (_, m) = c.send(&c.owner, json!({"content": "@here"})).await;
    assert_eq!(m["mention_everyone"], true);
    c.s.stop().await;
}

async fn nonce_dedupe(backend: &str) {
    let c = Ctx::new(backend).await;
    let mut events = Events::new(&c.s);
    let body = json!({"content": "once", "nonce": "abc", "enforce_nonce": true});
    let (st, first) = c.send(&c.member, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{first}");
    let (st, again) = c.send(&c.member, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["nonce"], "abc");
    events.expect(&["MESSAGE_CREATE"]);
    // Another author, or no enforce_nonce: new messages.
    let (_, other) = c.send(&c.owner, body).await;
    assert_ne!(other["id"], first["id"]);
    let (_, plain) = c
        .send(&c.member, json!({"content": "once", "nonce": "abc"}))
        .await;
    assert_ne!(plain["id"], first["id"]);
    events.expect(&["MESSAGE_CREATE", "MESSAGE_CREATE"]);
    assert_eq!(c.latest().await.len(), 3);
    c.s.stop().await;
}

async fn slowmode(backend: &str) {
    let c = Ctx::new(backend).await;
    let (st, ch) =
        c.s.call(
            Method::PATCH,
            &format!("/channels/{}", c.channel),
            Some(&c.owner),
            Some(json!({"rate_limit_per_user": 60})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ch}");
    c.say(&c.member, "one").await;
    let mut events = Events::new(&c.s);
    let (st, err) = c.send(&c.member, json!({"content": "two"})).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{err}");
    assert_eq!(err["code"], 20016);
    let wait = err["retry_after"].as_f64().unwrap();
    assert!(wait > 0.0 && wait <= 60.0, "{err}");
    events.expect(&[]);
    assert_eq!(c.latest().await.len(), 1);
    // The owner (MANAGE_CHANNELS), a member with BYPASS_SLOWMODE and bots are exempt.
    c.say(&c.owner, "a").await;
    c.say(&c.owner, "b").await;
    c.overwrite(&c.member_id, 1 << 52, 0).await;
    c.say(&c.member, "three").await;
    // Bots are unaffected, with no exempting permission of their own.
    let (_, bot) = c.s.bot_in_guild(&c.owner, "Helper", &c.guild, "0").await;
    c.say(&bot, "beep").await;
    c.say(&bot, "boop").await;
    c.s.stop().await;
}

both_backends!(mentions, nonce_dedupe, slowmode);
