//! Editing and deleting messages: author-only edits, SUPPRESS_EMBEDS by moderators,
//! MESSAGE_UPDATE, single and bulk deletion with MESSAGE_DELETE(_BULK), and every refusal with
//! its code and no change — on both backends.

mod common;
mod messages_util;

use accord_bus::Audience;
use common::{Events, field_code, id_of};
use messages_util::Ctx;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn patch(c: &Ctx, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    c.s.call(
        Method::PATCH,
        &format!("/channels/{}/messages/{id}", c.channel),
        Some(token),
        Some(body),
    )
    .await
}

async fn get(c: &Ctx, id: &str) -> (StatusCode, Value) {
    c.s.call(
        Method::GET,
        &format!("/channels/{}/messages/{id}", c.channel),
        Some(&c.owner),
        None,
    )
    .await
}

async fn edits(backend: &str) {
    let c = Ctx::new(backend).await;
    let m = c.say(&c.member, "draft").await;
    let id = id_of(&m);
    let theirs = id_of(&c.say(&c.owner, "owner's").await);
    let mut events = Events::new(&c.s);

    let (st, e) = patch(
        &c,
        &c.member,
        &id,
        json!({"content": format!("fixed <@{}>", c.owner_id)}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["content"], format!("fixed <@{}>", c.owner_id));
    assert!(e["edited_timestamp"].is_string());
    assert_eq!(e["mentions"][0]["id"], c.owner_id.as_str());
    assert_eq!(e["timestamp"], m["timestamp"]);
    assert_eq!(
        e.as_object().unwrap().len(),
        16,
        "the message object's keys: {e}"
    );
    let got = events.expect(&["MESSAGE_UPDATE"]);
    let (_, audience, ev) = &got[0];
    assert_eq!(*audience, Audience::Channel(c.channel.parse().unwrap()));
    assert_eq!(ev["id"], id.as_str());
    assert_eq!(ev["guild_id"], c.guild.as_str());
    assert_eq!(ev["content"], e["content"]);
    assert_eq!(ev["edited_timestamp"], e["edited_timestamp"]);
    assert_eq!(ev["tts"], false);
    assert!(ev["member"]["joined_at"].is_string());
    assert!(ev["mentions"][0]["member"].is_object());

    // The owner (MANAGE_MESSAGES) may suppress embeds on the member's message, not edit it.
    let (st, e) = patch(&c, &c.owner, &id, json!({"flags": 4 | 1})).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["flags"], 4, "only SUPPRESS_EMBEDS changes");
    assert_eq!(e["content"], format!("fixed <@{}>", c.owner_id));
    events.expect(&["MESSAGE_UPDATE"]);

    let long = "x".repeat(c.s.state.config.limits.message_length as usize + 1);
    let cases: Vec<(&str, &str, Value, u16, u64)> = vec![
        (&c.owner, &id, json!({"content": "hijack"}), 403, 50005),
        (&c.member, &theirs, json!({"flags": 4}), 403, 50013),
        (&c.member, &id, json!({"content": ""}), 400, 50006),
        (&c.member, &id, json!({"content": null}), 400, 50006),
        (&c.member, &id, json!({"content": long}), 400, 50035),
        (
            &c.member,
            &id,
            json!({"embeds": [{"description": "d".repeat(4097)}]}),
            400,
            50035,
        ),
        (&c.member, "42", json!({"content": "a"}), 404, 10008),
    ];
    for (token, target, body, status, code) in cases {
        let (st, err) = patch(&c, token, target, body.clone()).await;
        assert_eq!(
            (st.as_u16(), err["code"].as_u64()),
            (status, Some(code)),
            "{body}: {err}"
        );
    }
    events.expect(&[]);
    let (_, now) = get(&c, &id).await;
    assert_eq!(now["content"], format!("fixed <@{}>", c.owner_id));
    assert_eq!(now["flags"], 4);

    // Embeds replace the content-less message's body.
    let (st, e) = patch(
        &c,
        &c.member,
        &id,
        json!({"content": "", "embeds": [{"title": "only"}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["embeds"][0]["title"], "only");
    assert_eq!(e["mentions"], json!([]));
    c.s.stop().await;
}

async fn deletes(backend: &str) {
    let c = Ctx::new(backend).await;
    let mine = id_of(&c.say(&c.member, "mine").await);
    let theirs = id_of(&c.say(&c.owner, "theirs").await);
    let other = id_of(&c.say(&c.member, "other").await);
    let mut events = Events::new(&c.s);
    let path = |id: &str| format!("/channels/{}/messages/{id}", c.channel);

    let (st, err) =
        c.s.call(Method::DELETE, &path(&theirs), Some(&c.member), None)
            .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(50013)));
    let (st, err) =
        c.s.call(Method::DELETE, &path("42"), Some(&c.member), None)
            .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (404, Some(10008)));
    events.expect(&[]);
    assert_eq!(get(&c, &theirs).await.0, StatusCode::OK);

    let (st, _) =
        c.s.call(Method::DELETE, &path(&mine), Some(&c.member), None)
            .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let got = events.expect(&["MESSAGE_DELETE"]);
    assert_eq!(
        got[0].2,
        json!({"id": mine, "channel_id": c.channel, "guild_id": c.guild})
    );
    assert_eq!(get(&c, &mine).await.1["code"], 10008);
    let (st, _) =
        c.s.call(Method::DELETE, &path(&other), Some(&c.owner), None)
            .await;
    assert_eq!(
        st,
        StatusCode::NO_CONTENT,
        "MANAGE_MESSAGES deletes others' messages"
    );
    events.expect(&["MESSAGE_DELETE"]);

    // In a DM only one's own messages can be deleted.
    let (_, dm) =
        c.s.call(
            Method::POST,
            "/users/@me/channels",
            Some(&c.owner),
            Some(json!({"recipient_id": c.member_id})),
        )
        .await;
    let dm = id_of(&dm);
    let (_, m) = c.send_to(&c.owner, &dm, json!({"content": "dm"})).await;
    let (st, err) =
        c.s.call(
            Method::DELETE,
            &format!("/channels/{dm}/messages/{}", id_of(&m)),
            Some(&c.member),
            None,
        )
        .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(50003)));
    c.s.stop().await;
}

async fn bulk_deletes(backend: &str) {
    let c = Ctx::new(backend).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(id_of(&c.say(&c.member, &format!("m{i}")).await));
    }
    let keep = id_of(&c.say(&c.member, "keep").await);
    let mut events = Events::new(&c.s);
    let path = format!("/channels/{}/messages/bulk-delete", c.channel);
    // 15 days ago, as a snowflake.
    let old_ms = accord_auth::now_ms() - 15 * 24 * 3600 * 1000 - accord_model::DISCORD_EPOCH_MS;
    let old = (old_ms << 22).to_string();
    let hundred_one: Vec<String> = (0..101)
        .map(|i| (u64::from(i as u32) + 1000).to_string())
        .collect();
    let cases: Vec<(&str, Value, u16, u64)> = vec![
        (&c.member, json!({"messages": [ids[0], ids[1]]}), 403, 50013),
        (&c.owner, json!({"messages": [ids[0]]}), 400, 50035),
        (&c.owner, json!({"messages": hundred_one}), 400, 50035),
        (&c.owner, json!({"messages": [ids[0], ids[0]]}), 400, 50035),
        (&c.owner, json!({"messages": [ids[0], old]}), 400, 50034),
    ];
    for (token, body, status, code) in cases {
        let (st, err) =
            c.s.call(Method::POST, &path, Some(token), Some(body.clone()))
                .await;
        assert_eq!(
            (st.as_u16(), err["code"].as_u64()),
            (status, Some(code)),
            "{body}: {err}"
        );
    }
    events.expect(&[]);
    assert_eq!(c.latest().await.len(), 4);

    // Unknown ids count towards the limits but are skipped; integer ids are accepted.
    let unknown = ((accord_auth::now_ms() - accord_model::DISCORD_EPOCH_MS) << 22).to_string();
    let (st, body) =
        c.s.call(
            Method::POST,
            &path,
            Some(&c.owner),
            Some(json!({"messages": [ids[0], ids[1], ids[2].parse::<u64>().unwrap(), unknown]})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["MESSAGE_DELETE_BULK"]);
    assert_eq!(got[0].1, Audience::Channel(c.channel.parse().unwrap()));
    assert_eq!(
        got[0].2,
        json!({"ids": ids, "channel_id": c.channel, "guild_id": c.guild})
    );
    let left = c.latest().await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], keep.as_str());

    // Not in DMs.
    let (_, dm) =
        c.s.call(
            Method::POST,
            "/users/@me/channels",
            Some(&c.owner),
            Some(json!({"recipient_id": c.member_id})),
        )
        .await;
    let (st, err) =
        c.s.call(
            Method::POST,
            &format!("/channels/{}/messages/bulk-delete", id_of(&dm)),
            Some(&c.owner),
            Some(json!({"messages": [keep, keep]})),
        )
        .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(50003)));
    let _ = field_code;
    c.s.stop().await;
}

both_backends!(edits, deletes, bulk_deletes);
