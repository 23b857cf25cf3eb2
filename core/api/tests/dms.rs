//! DMs and group DMs: opening a DM (one per pair), creating group DMs, their recipients, editing,
//! leaving and typing — with refusals and exact events, on both backends.

mod common;

use accord_bus::Audience;
use accord_model::{Rights, UserId};
use common::{Events, Server, field_code, id_of};
use reqwest::Method;
use serde_json::{Value, json};

/// A response: status and JSON body (Null when empty).
struct Resp(u16, Value);

impl Resp {
    /// The status and JSON error code.
    fn err(&self) -> (u16, u64) {
        (self.0, self.1["code"].as_u64().unwrap_or(0))
    }
}

/// Sends a request with a token and an optional body.
async fn go(s: &Server, m: Method, path: &str, token: &str, body: Option<Value>) -> Resp {
    let (status, body) = s.call(m, path, Some(token), body).await;
    Resp(status.as_u16(), body)
}

const DMS: &str = "/users/@me/channels";

/// `POST /users/@me/channels`.
async fn open(s: &Server, token: &str, body: Value) -> Resp {
    go(s, Method::POST, DMS, token, Some(body)).await
}

fn to(id: &str) -> Audience {
    Audience::Users(vec![id.parse().unwrap()])
}

/// The sorted ids of a channel's `recipients`.
fn recipient_ids(c: &Value) -> Vec<String> {
    let mut ids: Vec<String> = c["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    ids.sort();
    ids
}

/// Registers `n` users; returns (token, id) pairs.
async fn users(s: &Server, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let token = s.register(&format!("person{i}"), "correct horse").await;
        let id = s.user_id(&token).await;
        out.push((token, id));
    }
    out
}

/// Takes `right` away from a user.
async fn revoke(s: &Server, id: &str, right: Rights) {
    let rights = s.state.config.default_rights() & !right;
    s.state
        .store
        .set_rights(id.parse().unwrap(), rights)
        .await
        .unwrap();
}

async fn open_dm(backend: &str) {
    let s = Server::start(backend).await;
    let people = users(&s, 3).await;
    let [(alice, alice_id), (bob, bob_id), (carol, carol_id)] = &people[..] else {
        unreachable!()
    };
    let mut events = Events::new(&s);
    let Resp(status, dm) = open(&s, alice, json!({"recipient_id": bob_id})).await;
    assert_eq!(status, 200, "{dm}");
    assert_eq!(
        (dm["type"].as_u64(), recipient_ids(&dm)),
        (Some(1), vec![bob_id.clone()])
    );
    assert!(
        dm["last_message_id"].is_null() && dm.get("guild_id").is_none(),
        "{dm}"
    );
    let got = events.expect(&["CHANNEL_CREATE"]);
    assert_eq!((&got[0].1, &got[0].2), (&to(alice_id), &dm));
    let id = id_of(&dm);
    // One DM per pair: asking again, from either side (ids as integers too), returns it and
    // emits nothing.
    let again = open(&s, alice, json!({"recipient_id": bob_id})).await.1;
    assert_eq!(id_of(&again), id);
    let as_int: u64 = alice_id.parse().unwrap();
    let theirs = open(&s, bob, json!({"recipient_id": as_int})).await.1;
    assert_eq!(
        (id_of(&theirs), recipient_ids(&theirs)),
        (id.clone(), vec![alice_id.clone()])
    );
    events.expect(&[]);
    assert_eq!(go(&s, Method::GET, DMS, bob, None).await.1, json!([theirs]));
    let path = format!("/channels/{id}");
    let Resp(status, fetched) = go(&s, Method::GET, &path, alice, None).await;
    assert_eq!((status, &fetched), (200, &dm));

    // Refusals: oneself, unknown users, an empty body, a missing right; outsiders see nothing.
    assert_eq!(
        open(&s, alice, json!({"recipient_id": alice_id}))
            .await
            .err(),
        (400, 50033)
    );
    assert_eq!(
        open(&s, alice, json!({"recipient_id": "1"})).await.err(),
        (404, 10013)
    );
    let resp = open(&s, alice, json!({})).await.1;
    assert_eq!(
        field_code(&resp, &["recipient_id"]),
        Some("BASE_TYPE_REQUIRED")
    );
    revoke(&s, carol_id, Rights::CREATE_DMS).await;
    assert_eq!(
        open(&s, carol, json!({"recipient_id": bob_id})).await.err(),
        (403, 50013)
    );
    assert_eq!(
        go(&s, Method::GET, &path, carol, None).await.err(),
        (404, 10003)
    );
    assert_eq!(go(&s, Method::GET, DMS, carol, None).await.1, json!([]));
    events.expect(&[]);

    // Typing goes to both; a DM cannot be edited; closing returns it and deletes nothing.
    assert_eq!(
        go(&s, Method::POST, &format!("{path}/typing"), bob, None)
            .await
            .0,
        204
    );
    let got = events.expect(&["TYPING_START"]);
    let mut both: Vec<UserId> = vec![alice_id.parse().unwrap(), bob_id.parse().unwrap()];
    both.sort();
    assert_eq!(got[0].1, Audience::Users(both));
    let d = &got[0].2;
    assert_eq!(
        (d["channel_id"].as_str(), d["user_id"].as_str()),
        (Some(&*id), Some(&**bob_id))
    );
    assert!(d["timestamp"].is_u64() && d.get("member").is_none() && d.get("guild_id").is_none());
    let rename = go(&s, Method::PATCH, &path, alice, Some(json!({"name": "x"}))).await;
    assert_eq!(rename.err(), (403, 50003));
    let Resp(status, closed) = go(&s, Method::DELETE, &path, alice, None).await;
    assert_eq!((status, &closed), (200, &dm));
    events.expect(&[]);
    assert_eq!(go(&s, Method::GET, &path, alice, None).await.0, 200);
    let add = format!("{path}/recipients/{carol_id}");
    assert_eq!(
        go(&s, Method::PUT, &add, alice, None).await.err(),
        (400, 50024)
    );
    s.stop().await;
}

async fn create_group(backend: &str) {
    let s = Server::start(backend).await;
    let people = users(&s, 11).await;
    let (owner, owner_id) = &people[0];
    let mut events = Events::new(&s);
    let others: Vec<&str> = people[1..3].iter().map(|(_, id)| id.as_str()).collect();
    let Resp(status, group) = open(&s, owner, json!({"recipients": others})).await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(
        (group["type"].as_u64(), group["owner_id"].as_str()),
        (Some(3), Some(&**owner_id))
    );
    assert!(
        group["name"].is_null() && group["icon"].is_null(),
        "{group}"
    );
    let mut expected: Vec<String> = others.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(recipient_ids(&group), expected);
    // CHANNEL_CREATE to every recipient, each seeing the others.
    let got = events.expect(&["CHANNEL_CREATE"; 3]);
    let mut seen = Vec::new();
    for (_, audience, d) in &got {
        let Audience::Users(u) = audience else {
            panic!("{audience:?}")
        };
        assert_eq!(u.len(), 1);
        let viewer = u[0].to_string();
        assert_eq!(d["id"], group["id"]);
        assert_eq!(recipient_ids(d).len(), 2);
        assert!(!recipient_ids(d).contains(&viewer));
        seen.push(viewer);
    }
    seen.sort();
    let mut all: Vec<String> = people[0..3].iter().map(|(_, id)| id.clone()).collect();
    all.sort();
    assert_eq!(seen, all);
    let list = go(&s, Method::GET, DMS, &people[2].0, None).await.1;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Refusals: more than 9 others, unknown users, bots, nobody else, bot callers, no right.
    let ten: Vec<&str> = people[1..11].iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(
        open(&s, owner, json!({"recipients": ten})).await.err(),
        (400, 30004)
    );
    let unknown = json!({"recipients": [others[0], "1"]});
    assert_eq!(open(&s, owner, unknown).await.err(), (400, 50033));
    let bot = format!("Bot {}", s.bot(owner, "Helper").await.1);
    let bot_id = s.user_id(&bot).await;
    assert_eq!(
        open(&s, owner, json!({"recipients": [bot_id]})).await.err(),
        (400, 50033)
    );
    let resp = open(&s, owner, json!({"recipients": [owner_id]})).await.1;
    assert_eq!(
        (
            resp["code"].as_u64(),
            field_code(&resp, &["recipients"]).is_some()
        ),
        (Some(50035), true)
    );
    assert_eq!(
        open(&s, &bot, json!({"recipients": others})).await.err(),
        (403, 20001)
    );
    revoke(&s, &people[3].1, Rights::CREATE_GROUP_DMS).await;
    let refused = open(&s, &people[3].0, json!({"recipients": others})).await;
    assert_eq!(refused.err(), (403, 50013));
    events.expect(&[]);
    // Exactly 9 others is allowed; a bot may still open a DM.
    let nine: Vec<&str> = people[1..10].iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(open(&s, owner, json!({"recipients": nine})).await.0, 200);
    assert_eq!(events.names().len(), 10);
    assert_eq!(
        open(&s, &bot, json!({"recipient_id": owner_id})).await.0,
        200
    );
    events.expect(&["CHANNEL_CREATE"]);
    s.stop().await;
}

async fn group_recipients(backend: &str) {
    let s = Server::start(backend).await;
    let people = users(&s, 11).await;
    let [
        (owner, owner_id),
        (member, member_id),
        (third, third_id),
        (newcomer, newcomer_id),
    ] = &people[..4]
    else {
        unreachable!()
    };
    let group = open(&s, owner, json!({"recipients": [member_id, third_id]}))
        .await
        .1;
    let id = id_of(&group);
    let path = format!("/channels/{id}");
    let recipient = |user: &str| format!("{path}/recipients/{user}");
    let mut events = Events::new(&s);

    // Any recipient adds: RECIPIENT_ADD to those already there, CHANNEL_CREATE to the new one.
    let add =
        async |token: &str, user: &str| go(&s, Method::PUT, &recipient(user), token, None).await;
    assert_eq!(add(newcomer, newcomer_id).await.err(), (404, 10003));
    assert_eq!(add(member, newcomer_id).await.0, 204);
    let got = events.expect(&["CHANNEL_RECIPIENT_ADD", "CHANNEL_CREATE"]);
    let mut before: Vec<UserId> = [owner_id, member_id, third_id]
        .iter()
        .map(|i| i.parse().unwrap())
        .collect();
    before.sort();
    assert_eq!(got[0].1, Audience::Users(before));
    assert_eq!(got[0].2["channel_id"], id.as_str());
    assert_eq!(got[0].2["user"]["id"], newcomer_id.as_str());
    assert_eq!(
        (&got[1].1, recipient_ids(&got[1].2).len()),
        (&to(newcomer_id), 3)
    );
    assert_eq!(
        add(member, newcomer_id).await.0,
        204,
        "already there: nothing happens"
    );
    events.expect(&[]);
    assert_eq!(add(member, "1").await.err(), (404, 10013));
    // Up to 10 recipients.
    for (_, user) in &people[4..10] {
        assert_eq!(add(owner, user).await.0, 204);
    }
    events.drain();
    assert_eq!(add(owner, &people[10].1).await.err(), (400, 30004));
    events.expect(&[]);
    assert_eq!(
        s.state
            .store
            .recipients(id.parse().unwrap())
            .await
            .unwrap()
            .len(),
        10
    );

    // Removing: only the owner removes others; anyone removes themselves.
    let remove =
        async |token: &str, user: &str| go(&s, Method::DELETE, &recipient(user), token, None).await;
    assert_eq!(remove(member, third_id).await.err(), (403, 50013));
    assert_eq!(remove(owner, &people[10].1).await.err(), (400, 50033));
    events.expect(&[]);
    assert_eq!(remove(owner, third_id).await.0, 204);
    let got = events.expect(&["CHANNEL_RECIPIENT_REMOVE", "CHANNEL_DELETE"]);
    let Audience::Users(rest) = &got[0].1 else {
        panic!()
    };
    assert_eq!((rest.len(), &got[0].2["user"]["id"]), (9, &json!(third_id)));
    assert_eq!((&got[1].1, &got[1].2["id"]), (&to(third_id), &json!(id)));
    assert_eq!(
        go(&s, Method::GET, &path, third, None).await.err(),
        (404, 10003)
    );
    assert_eq!(remove(newcomer, newcomer_id).await.0, 204);
    events.expect(&["CHANNEL_RECIPIENT_REMOVE", "CHANNEL_DELETE"]);

    // Editing: any recipient renames or sets the icon (an image data URI).
    let edit = async |body: Value| go(&s, Method::PATCH, &path, member, Some(body)).await;
    let Resp(status, c) = edit(json!({"name": "Friends"})).await;
    assert_eq!((status, c["name"].as_str()), (200, Some("Friends")));
    let got = events.expect(&["CHANNEL_UPDATE"; 8]);
    assert!(
        got.iter()
            .all(|(_, _, d)| d["name"] == "Friends" && recipient_ids(d).len() == 7)
    );
    let resp = edit(json!({"icon": "data:image/png;base64,AAAA"})).await.1;
    assert_eq!(
        (
            resp["code"].as_u64(),
            field_code(&resp, &["icon"]).is_some()
        ),
        (Some(50035), true)
    );
    // A 1×1 PNG: stored, and the icon answers its hash.
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let Resp(status, c) = edit(json!({"icon": format!("data:image/png;base64,{png}")})).await;
    assert_eq!(status, 200, "{c}");
    let hash = c["icon"].as_str().expect("icon hash").to_owned();
    assert!(
        hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );
    let got = events.expect(&["CHANNEL_UPDATE"; 8]);
    assert!(got.iter().all(|(_, _, d)| d["icon"] == hash.as_str()));
    let resp = edit(json!({"name": "x".repeat(101)})).await.1;
    assert_eq!(field_code(&resp, &["name"]), Some("BASE_TYPE_BAD_LENGTH"));
    events.expect(&[]);
    assert!(edit(json!({"name": null, "icon": null})).await.1["name"].is_null());
    events.expect(&["CHANNEL_UPDATE"; 8]);

    // The owner leaves: ownership passes on (CHANNEL_UPDATE to the rest); the last one out
    // deletes the group DM.
    let Resp(status, left) = go(&s, Method::DELETE, &path, owner, None).await;
    assert_eq!((status, &left["id"]), (200, &json!(id)));
    let mut names = vec!["CHANNEL_RECIPIENT_REMOVE", "CHANNEL_DELETE"];
    names.extend(["CHANNEL_UPDATE"; 7]);
    let got = events.expect(&names);
    assert_eq!(got[1].1, to(owner_id));
    assert_ne!(got[2].2["owner_id"], json!(owner_id));
    let remaining = std::iter::once(member).chain(people[4..10].iter().map(|(t, _)| t));
    for token in remaining {
        assert_eq!(go(&s, Method::DELETE, &path, token, None).await.0, 200);
    }
    events.drain();
    let gone = s.state.store.channel(id.parse().unwrap()).await.unwrap();
    assert!(gone.is_none(), "the last one out deletes it");
    s.stop().await;
}

both_backends!(open_dm, create_group, group_recipients);
