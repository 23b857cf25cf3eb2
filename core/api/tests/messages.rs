//! Sending and reading messages: the message object's exact keys, MESSAGE_CREATE with its
//! guild extras, DMs (CHANNEL_CREATE on the first message), replies (integer ids), refusals
//! with their codes and no change, and reading single messages — on both backends.

mod common;
mod messages_util;

use accord_bus::Audience;
use common::{Events, field_code, id_of};
use messages_util::Ctx;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The keys every message object carries.
const KEYS: [&str; 16] = [
    "attachments",
    "author",
    "channel_id",
    "components",
    "content",
    "edited_timestamp",
    "embeds",
    "flags",
    "id",
    "mention_everyone",
    "mention_roles",
    "mentions",
    "pinned",
    "timestamp",
    "tts",
    "type",
];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

async fn send_and_read(backend: &str) {
    let c = Ctx::new(backend).await;
    let mut events = Events::new(&c.s);
    let (status, m) = c
        .send(
            &c.member,
            json!({"content": "hello", "nonce": "n-1", "tts": true,
                   "embeds": [{"title": "T", "description": "D", "type": "video"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    let mut expected: Vec<String> = KEYS.iter().map(|k| (*k).to_owned()).collect();
    expected.push("nonce".into());
    expected.sort();
    assert_eq!(keys(&m), expected);
    assert_eq!(m["content"], "hello");
    assert_eq!(m["nonce"], "n-1");
    assert_eq!(m["channel_id"], c.channel.as_str());
    assert_eq!(m["author"]["id"], c.member_id.as_str());
    assert_eq!(m["type"], 0);
    assert_eq!(m["flags"], 0);
    assert_eq!(m["tts"], false, "tts needs SEND_TTS_MESSAGES");
    assert_eq!(m["edited_timestamp"], Value::Null);
    assert_eq!(m["pinned"], false);
    assert_eq!(m["embeds"][0]["type"], "rich");
    assert_eq!(m["embeds"][0]["title"], "T");
    assert!(m["timestamp"].as_str().unwrap().contains('T'));

    let got = events.expect(&["MESSAGE_CREATE"]);
    let (_, audience, ev) = &got[0];
    assert_eq!(*audience, Audience::Channel(c.channel.parse().unwrap()));
    assert_eq!(ev["id"], m["id"]);
    let mut event_keys = expected.clone();
    event_keys.extend([
        "channel_type".to_owned(),
        "guild_id".to_owned(),
        "member".to_owned(),
    ]);
    event_keys.sort();
    assert_eq!(keys(ev), event_keys);
    assert_eq!(ev["guild_id"], c.guild.as_str());
    assert_eq!(ev["nonce"], "n-1");
    assert_eq!(ev["channel_type"], 0);
    assert!(ev["member"].is_object(), "{ev}");
    assert!(ev["member"].get("user").is_none(), "partial member: {ev}");
    assert!(ev["member"]["joined_at"].is_string());

    // The channel's last_message_id moved; the message reads back without its nonce.
    let (_, channel) =
        c.s.call(
            Method::GET,
            &format!("/channels/{}", c.channel),
            Some(&c.owner),
            None,
        )
        .await;
    assert_eq!(channel["last_message_id"], m["id"]);
    let id = id_of(&m);
    let (status, got) =
        c.s.call(
            Method::GET,
            &format!("/channels/{}/messages/{id}", c.channel),
            Some(&c.owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(keys(&got), KEYS.to_vec());
    assert_eq!(got["embeds"], m["embeds"]);
    let list = c.latest().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());

    // Integer nonces come back as integers; the owner keeps tts.
    let (_, m2) = c
        .send(&c.owner, json!({"content": "x", "nonce": 42, "tts": true}))
        .await;
    assert_eq!(m2["nonce"], 42);
    assert_eq!(m2["tts"], true);
    // SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS can be sent.
    let (st, m3) = c
        .send(&c.member, json!({"content": "x", "flags": 4 | 4096}))
        .await;
    assert_eq!(st, StatusCode::OK, "{m3}");
    assert_eq!(m3["flags"], 4 | 4096);
    c.s.stop().await;
}

async fn refusals_change_nothing(backend: &str) {
    let c = Ctx::new(backend).await;
    c.say(&c.owner, "first").await;
    let mut events = Events::new(&c.s);
    let long = "x".repeat(c.s.state.config.limits.message_length as usize + 1);
    let cases: Vec<(Value, u16, u64, Option<&str>)> = vec![
        (json!({}), 400, 50006, None),
        (json!({"content": ""}), 400, 50006, None),
        (json!({"content": long}), 400, 50035, Some("content")),
        (
            json!({"content": "a", "nonce": "x".repeat(26)}),
            400,
            50035,
            Some("nonce"),
        ),
        (
            json!({"content": "a", "flags": 1}),
            400,
            50035,
            Some("flags"),
        ),
        (
            json!({"embeds": [{"title": "t".repeat(257)}]}),
            400,
            50035,
            Some("embeds"),
        ),
        (
            json!({"content": "a", "message_reference": {"message_id": "1"}}),
            400,
            50035,
            Some("message_reference"),
        ),
        (
            json!({"content": "a", "allowed_mentions": {"parse": ["users"], "users": ["1"]}}),
            400,
            50035,
            Some("allowed_mentions"),
        ),
    ];
    for (body, status, code, field) in cases {
        let (st, err) = c.send(&c.member, body.clone()).await;
        assert_eq!(st.as_u16(), status, "{body} → {err}");
        assert_eq!(err["code"], code, "{body} → {err}");
        if let Some(f) = field {
            assert!(err["errors"][f].is_object(), "{body} → {err}");
        }
    }
    let (_, err) = c
        .send(&c.member, json!({"embeds": [{"title": "t".repeat(257)}]}))
        .await;
    assert_eq!(
        field_code(&err, &["embeds", "0", "title"]),
        Some("BASE_TYPE_MAX_LENGTH")
    );

    events.expect(&[]);
    // No SEND_MESSAGES → 50013; no VIEW_CHANNEL → 50001; a category → 50008; outsiders → 50001.
    c.overwrite(&c.member_id, 0, 1 << 11).await;
    events.drain();
    let (st, err) = c.send(&c.member, json!({"content": "a"})).await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(50013)));
    c.overwrite(&c.member_id, 0, 1 << 10).await;
    events.drain();
    let (st, err) = c.send(&c.member, json!({"content": "a"})).await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(50001)));
    let category = Ctx::channel_of_type(&c.s, &c.owner, &c.guild, 4).await;
    let (st, err) = c
        .send_to(&c.owner, &category, json!({"content": "a"}))
        .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (400, Some(50008)));
    let outsider = c.s.register("outsider", "correct horse").await;
    let (st, err) = c.send(&outsider, json!({"content": "a"})).await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(50001)));
    let (st, err) = c.send_to(&c.owner, "123", json!({"content": "a"})).await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (404, Some(10003)));

    events.expect(&[]);
    assert_eq!(c.latest().await.len(), 1, "nothing was written");
    c.s.stop().await;
}

async fn replies(backend: &str) {
    let c = Ctx::new(backend).await;
    let original = c.say(&c.owner, "question").await;
    let oid: u64 = id_of(&original).parse().unwrap();
    let mut events = Events::new(&c.s);
    // discord.py sends the ids as integers.
    let (status, reply) = c
        .send(
            &c.member,
            json!({"content": "answer", "message_reference": {"message_id": oid,
                   "channel_id": c.channel.parse::<u64>().unwrap(), "fail_if_not_exists": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["type"], 19);
    assert_eq!(reply["message_reference"]["message_id"], oid.to_string());
    assert_eq!(reply["message_reference"]["channel_id"], c.channel.as_str());
    assert_eq!(reply["message_reference"]["guild_id"], c.guild.as_str());
    assert_eq!(reply["referenced_message"]["id"], oid.to_string());
    assert_eq!(reply["referenced_message"]["content"], "question");
    // Without allowed_mentions the replied-to author is mentioned.
    assert_eq!(reply["mentions"][0]["id"], c.owner_id.as_str());
    let got = events.expect(&["MESSAGE_CREATE"]);
    assert_eq!(got[0].2["referenced_message"]["id"], oid.to_string());
    assert_eq!(got[0].2["mentions"][0]["member"]["roles"], json!([]));

    // replied_user false: no mention.
    let (_, quiet) = c
        .send(
            &c.member,
            json!({"content": "a", "message_reference": {"message_id": oid},
                   "allowed_mentions": {"parse": [], "replied_user": false}}),
        )
        .await;
    assert_eq!(quiet["mentions"], json!([]));
    // An unknown message: 50035, or a plain message when fail_if_not_exists is false.
    let (st, err) = c
        .send(
            &c.member,
            json!({"content": "a", "message_reference": {"message_id": 5}}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        field_code(&err, &["message_reference"]),
        Some("MESSAGE_REFERENCE_UNKNOWN_MESSAGE")
    );
    let (st, plain) = c
        .send(
            &c.member,
            json!({"content": "a", "message_reference": {"message_id": 5, "fail_if_not_exists": false}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{plain}");
    assert_eq!(plain["type"], 0);
    assert!(plain.get("referenced_message").is_none());
    // Without READ_MESSAGE_HISTORY: 160002.
    c.overwrite(&c.member_id, 0, 1 << 16).await;
    events.drain();
    let (st, err) = c
        .send(
            &c.member,
            json!({"content": "a", "message_reference": {"message_id": oid}}),
        )
        .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(160002)));
    events.expect(&[]);
    // Reading: [] without READ_MESSAGE_HISTORY, 50013 for one message, 10008 unknown.
    let path = format!("/channels/{}/messages", c.channel);
    let (st, list) = c.s.call(Method::GET, &path, Some(&c.member), None).await;
    assert_eq!((st, list), (StatusCode::OK, json!([])));
    let (st, err) =
        c.s.call(Method::GET, &format!("{path}/{oid}"), Some(&c.member), None)
            .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(50013)));
    let (st, err) =
        c.s.call(Method::GET, &format!("{path}/77"), Some(&c.owner), None)
            .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (404, Some(10008)));
    c.s.stop().await;
}

async fn direct_messages(backend: &str) {
    let c = Ctx::new(backend).await;
    let (st, dm) =
        c.s.call(
            Method::POST,
            "/users/@me/channels",
            Some(&c.owner),
            Some(json!({"recipient_id": c.member_id})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{dm}");
    let dm = id_of(&dm);
    let mut events = Events::new(&c.s);
    let (st, m) = c
        .send_to(
            &c.owner,
            &dm,
            json!({"content": "hi <@".to_owned() + &c.member_id + ">"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["mentions"][0]["id"], c.member_id.as_str());
    let got = events.expect(&["CHANNEL_CREATE", "MESSAGE_CREATE"]);
    assert_eq!(
        got[0].1,
        Audience::Users(vec![c.member_id.parse().unwrap()])
    );
    assert_eq!(got[0].2["id"], dm.as_str());
    assert_eq!(got[0].2["recipients"][0]["id"], c.owner_id.as_str());
    assert!(got[1].2.get("guild_id").is_none());
    assert!(got[1].2.get("member").is_none());
    let (st, _) = c.send_to(&c.member, &dm, json!({"content": "yo"})).await;
    assert_eq!(st, StatusCode::OK);
    events.expect(&["MESSAGE_CREATE"]);
    // Not a recipient → 10003.
    let (st, err) = c
        .send_to(
            &c.s.register("stranger", "correct horse").await,
            &dm,
            json!({"content": "a"}),
        )
        .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (404, Some(10003)));
    c.s.stop().await;
}

async fn voice_channels(backend: &str) {
    let c = Ctx::new(backend).await;
    let voice = Ctx::channel_of_type(&c.s, &c.owner, &c.guild, 2).await;
    let (st, m) = c
        .send_to(&c.owner, &voice, json!({"content": "text in voice"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["channel_id"], voice.as_str());
    // Reading a voice channel's messages also takes CONNECT (the member's @everyone lacks it).
    let path = format!("/channels/{voice}/messages");
    let (st, list) = c.s.call(Method::GET, &path, Some(&c.member), None).await;
    assert_eq!((st, list), (StatusCode::OK, json!([])));
    let (st, err) =
        c.s.call(
            Method::GET,
            &format!("{path}/{}", id_of(&m)),
            Some(&c.member),
            None,
        )
        .await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (403, Some(50013)));
    let (_, list) = c.s.call(Method::GET, &path, Some(&c.owner), None).await;
    assert_eq!(list[0]["id"], m["id"]);
    c.s.stop().await;
}

both_backends!(
    send_and_read,
    refusals_change_nothing,
    replies,
    direct_messages,
    voice_channels
);
