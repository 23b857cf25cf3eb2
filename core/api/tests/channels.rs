//! Guild channel routes: listing, creating, modifying, deleting and arranging channels,
//! permission overwrites and typing — with their permission checks, refusals and exact events,
//! on both backends.

mod common;

use accord_bus::Audience;
use accord_model::{GuildId, Permissions, RoleId, UserId};
use accord_store::{NewRole, RolePatch};
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

/// Shorthands for [`Server::call`] with a token.
trait Calls {
    async fn go(&self, m: Method, path: &str, token: &str, body: Option<Value>) -> Resp;
    async fn get(&self, path: &str, token: &str) -> Resp {
        self.go(Method::GET, path, token, None).await
    }
    async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.go(Method::POST, path, token, Some(body)).await
    }
    async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.go(Method::PATCH, path, token, Some(body)).await
    }
    async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.go(Method::PUT, path, token, Some(body)).await
    }
    async fn del(&self, path: &str, token: &str) -> Resp {
        self.go(Method::DELETE, path, token, None).await
    }
}

impl Calls for Server {
    async fn go(&self, m: Method, path: &str, token: &str, body: Option<Value>) -> Resp {
        let (status, body) = self.call(m, path, Some(token), body).await;
        Resp(status.as_u16(), body)
    }
}

/// Gives the holder of `token` a new role with `perms` (straight through the store).
async fn grant(s: &Server, gid: &str, token: &str, perms: Permissions) -> String {
    let guild: GuildId = gid.parse().unwrap();
    let user: UserId = s.user_id(token).await.parse().unwrap();
    let id = role(s, gid, perms).await;
    let role_id: RoleId = id.parse().unwrap();
    s.state
        .store
        .add_member_role(guild, user, role_id)
        .await
        .unwrap();
    s.state.permissions.invalidate_guild(guild);
    id
}

/// Creates a role nobody holds.
async fn role(s: &Server, gid: &str, perms: Permissions) -> String {
    let mut role = NewRole::new(s.state.ids.next(), gid.parse().unwrap(), "role");
    role.permissions = perms;
    let id = s
        .state
        .store
        .create_role(&role)
        .await
        .unwrap()
        .id
        .to_string();
    // Written past the API (no dispatch): drop cached standings as a dispatch would.
    s.state.permissions.invalidate_all();
    id
}

/// Sets the permissions of @everyone.
async fn everyone(s: &Server, gid: &str, perms: Permissions) {
    let guild: GuildId = gid.parse().unwrap();
    let patch = RolePatch {
        permissions: Some(perms),
        ..RolePatch::default()
    };
    s.state
        .store
        .update_role(guild, guild.cast(), &patch)
        .await
        .unwrap();
    s.state.permissions.invalidate_guild(guild);
}

/// An owner, a plain member, the guild id and its `general` channel id.
async fn setup(s: &Server) -> (String, String, String, String) {
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    s.join(&gid, &member).await;
    let g = s.get(&format!("/guilds/{gid}"), &owner).await.1;
    let general = g["system_channel_id"].as_str().unwrap().to_owned();
    (owner, member, gid, general)
}

fn to_guild(gid: &str) -> Audience {
    Audience::Guild(gid.parse().unwrap())
}

fn bits(p: Permissions) -> String {
    p.bits().to_string()
}

async fn create_list_get(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid, _) = setup(&s).await;
    let mut events = Events::new(&s);
    let path = format!("/guilds/{gid}/channels");
    let Resp(status, category) = s
        .post(&path, &owner, json!({"name": "Stuff", "type": 4}))
        .await;
    assert_eq!(status, 201, "{category}");
    let cat = id_of(&category);
    let got = events.expect(&["CHANNEL_CREATE"]);
    assert_eq!((&got[0].1, &got[0].2), (&to_guild(&gid), &category));
    assert_eq!(category["type"], 4);
    assert!(
        category.get("topic").is_none(),
        "no topic on categories: {category}"
    );

    let body = json!({"name": "news", "type": 5, "topic": "t", "nsfw": true, "parent_id": cat,
        "position": 7, "default_auto_archive_duration": 1440});
    let Resp(status, news) = s.post(&path, &owner, body).await;
    assert_eq!(status, 201, "{news}");
    for (key, value) in [
        ("type", json!(5)),
        ("name", json!("news")),
        ("topic", json!("t")),
        ("nsfw", json!(true)),
        ("parent_id", json!(cat)),
        ("position", json!(7)),
        ("guild_id", json!(gid)),
        ("permission_overwrites", json!([])),
        ("last_message_id", Value::Null),
        ("default_auto_archive_duration", json!(1440)),
    ] {
        assert_eq!(news[key], value, "{key} in {news}");
    }
    assert_eq!(events.expect(&["CHANNEL_CREATE"])[0].2, news);

    let voice = json!({"name": "Talk", "type": 2, "user_limit": 5});
    let Resp(status, voice) = s.post(&path, &owner, voice).await;
    assert_eq!(status, 201, "{voice}");
    assert_eq!(
        (&voice["bitrate"], &voice["user_limit"]),
        (&json!(64000), &json!(5))
    );
    assert!(
        voice["rtc_region"].is_null() && voice.get("topic").is_none(),
        "{voice}"
    );
    for (kind, name) in [(13, "stage"), (15, "forum"), (16, "media"), (0, "plain")] {
        let Resp(status, c) = s
            .post(&path, &owner, json!({"name": name, "type": kind}))
            .await;
        assert_eq!((status, c["type"].as_u64()), (201, Some(kind)), "{c}");
    }
    assert_eq!(events.names().len(), 5);
    // A new channel without a position goes after every other one.
    let list = s.get(&path, &owner).await.1;
    let last = list.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["name"], "plain");
    assert!(last["position"].as_i64().unwrap() > 7);

    // Members see the list and each channel; outsiders and unknown ids do not.
    let Resp(status, list) = s.get(&path, &member).await;
    assert_eq!(
        (status, list.as_array().unwrap().len()),
        (200, 4 + 7),
        "{list}"
    );
    let Resp(status, fetched) = s.get(&format!("/channels/{}", id_of(&news)), &member).await;
    assert_eq!((status, &fetched), (200, &news));
    let outsider = s.register("outsider", "correct horse").await;
    assert_eq!(s.get(&path, &outsider).await.err(), (403, 50001));
    assert_eq!(
        s.get(&format!("/channels/{cat}"), &outsider).await.err(),
        (403, 50001)
    );
    for bad in ["/channels/1", "/channels/nope"] {
        assert_eq!(s.get(bad, &member).await.err(), (404, 10003), "{bad}");
    }
    assert_eq!(
        s.get("/guilds/1/channels", &member).await.err(),
        (404, 10004)
    );
    events.expect(&[]);
    s.stop().await;
}

async fn create_refusals(backend: &str) {
    let s = Server::start_with(backend, |c| c.limits.channels_per_guild = 6).await;
    let (owner, member, gid, general) = setup(&s).await;
    let path = format!("/guilds/{gid}/channels");
    let mut events = Events::new(&s);
    let guild: GuildId = gid.parse().unwrap();
    let count = || async { s.state.store.guild_channels(guild).await.unwrap().len() };
    assert_eq!(count().await, 4);
    let mine = json!({"name": "mine"});
    assert_eq!(s.post(&path, &member, mine).await.err(), (403, 50013));

    let long = "x".repeat(101);
    let ow_type = vec!["permission_overwrites", "0", "type"];
    let cases = [
        (json!({"name": "a", "type": 1}), vec!["type"]),
        (json!({"name": "a", "type": 11}), vec!["type"]),
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": long}), vec!["name"]),
        (
            json!({"name": "a", "topic": "t".repeat(1025)}),
            vec!["topic"],
        ),
        (
            json!({"name": "a", "type": 15, "topic": "t".repeat(4097)}),
            vec!["topic"],
        ),
        (
            json!({"name": "a", "type": 2, "bitrate": 7999}),
            vec!["bitrate"],
        ),
        (
            json!({"name": "a", "type": 2, "bitrate": 96001}),
            vec!["bitrate"],
        ),
        (
            json!({"name": "a", "type": 13, "bitrate": 64001}),
            vec!["bitrate"],
        ),
        (
            json!({"name": "a", "type": 2, "user_limit": 100}),
            vec!["user_limit"],
        ),
        (
            json!({"name": "a", "type": 13, "user_limit": 10001}),
            vec!["user_limit"],
        ),
        (
            json!({"name": "a", "rate_limit_per_user": 21601}),
            vec!["rate_limit_per_user"],
        ),
        (
            json!({"name": "a", "rate_limit_per_user": -1}),
            vec!["rate_limit_per_user"],
        ),
        (
            json!({"name": "a", "parent_id": general}),
            vec!["parent_id"],
        ),
        (json!({"name": "a", "parent_id": "1"}), vec!["parent_id"]),
        (
            json!({"name": "a", "type": 4, "parent_id": general}),
            vec!["parent_id"],
        ),
        (
            json!({"name": "a", "type": 2, "video_quality_mode": 3}),
            vec!["video_quality_mode"],
        ),
        (
            json!({"name": "a", "default_auto_archive_duration": 5}),
            vec!["default_auto_archive_duration"],
        ),
        (json!({"name": "a", "flags": 2}), vec!["flags"]),
        (
            json!({"name": "a", "permission_overwrites": [{"id": gid, "type": 2}]}),
            ow_type,
        ),
    ];
    for (body, field) in cases {
        let Resp(status, resp) = s.post(&path, &owner, body.clone()).await;
        assert_eq!(
            (status, resp["code"].as_u64()),
            (400, Some(50035)),
            "{body}: {resp}"
        );
        assert!(field_code(&resp, &field).is_some(), "{body}: {resp}");
    }
    // Accepted boundaries: a forum topic of 4096 characters, a stage of 10000 users.
    let forum = json!({"name": "f", "type": 15, "topic": "t".repeat(4096)});
    assert_eq!(s.post(&path, &owner, forum).await.0, 201);
    let stage = json!({"name": "s", "type": 13, "user_limit": 10000});
    assert_eq!(s.post(&path, &owner, stage).await.0, 201);
    events.drain();
    // Unknown overwrite targets, then the channel limit.
    let ow = |kind: u8| json!({"name": "a", "permission_overwrites": [{"id": "1", "type": kind}]});
    assert_eq!(s.post(&path, &owner, ow(0)).await.err(), (404, 10011));
    assert_eq!(s.post(&path, &owner, ow(1)).await.err(), (404, 10007));
    assert_eq!(count().await, 6);
    let seventh = json!({"name": "seventh"});
    assert_eq!(s.post(&path, &owner, seventh).await.err(), (400, 30013));
    events.expect(&[]);
    s.stop().await;
}

async fn create_with_overwrites(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid, _) = setup(&s).await;
    let path = format!("/guilds/{gid}/channels");
    let mut events = Events::new(&s);
    grant(&s, &gid, &member, Permissions::MANAGE_CHANNELS).await;
    let with = |allow: Permissions| {
        let ow = json!({"id": gid, "type": 0, "allow": bits(allow), "deny": "1024"});
        json!({"name": "private", "permission_overwrites": [ow]})
    };
    // Overwrites need MANAGE_ROLES; a member cannot grant what it lacks, nor MANAGE_ROLES.
    let none = with(Permissions::empty());
    assert_eq!(s.post(&path, &member, none).await.err(), (403, 50013));
    grant(&s, &gid, &member, Permissions::MANAGE_ROLES).await;
    for lacking in [Permissions::MANAGE_GUILD, Permissions::MANAGE_ROLES] {
        assert_eq!(
            s.post(&path, &member, with(lacking)).await.err(),
            (403, 50013)
        );
    }
    events.expect(&[]);
    let Resp(status, c) = s
        .post(&path, &member, with(Permissions::SEND_MESSAGES))
        .await;
    assert_eq!(status, 201, "{c}");
    let expected = json!([{"id": gid, "type": 0, "allow": "2048", "deny": "1024"}]);
    assert_eq!(c["permission_overwrites"], expected);
    events.expect(&["CHANNEL_CREATE"]);
    assert_eq!(
        s.post(&path, &owner, with(Permissions::MANAGE_ROLES))
            .await
            .0,
        201
    );
    s.stop().await;
}

async fn modify_channel(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid, general) = setup(&s).await;
    let path = format!("/channels/{general}");
    let mut events = Events::new(&s);
    assert_eq!(
        s.patch(&path, &member, json!({"name": "x"})).await.err(),
        (403, 50013)
    );
    let body = json!({"name": "lobby", "topic": "hello", "nsfw": true, "rate_limit_per_user": 30,
        "position": 4, "parent_id": null});
    let Resp(status, c) = s.patch(&path, &owner, body).await;
    assert_eq!(status, 200, "{c}");
    for (key, value) in [
        ("name", json!("lobby")),
        ("topic", json!("hello")),
        ("nsfw", json!(true)),
        ("type", json!(0)),
        ("position", json!(4)),
        ("parent_id", Value::Null),
        ("rate_limit_per_user", json!(30)),
    ] {
        assert_eq!(c[key], value, "{key} in {c}");
    }
    let got = events.expect(&["CHANNEL_UPDATE"]);
    assert_eq!((&got[0].1, &got[0].2), (&to_guild(&gid), &c));
    // Text becomes announcement; null clears the topic.
    let c = s
        .patch(&path, &owner, json!({"topic": null, "type": 5}))
        .await
        .1;
    assert_eq!((&c["topic"], &c["type"]), (&Value::Null, &json!(5)));
    events.expect(&["CHANNEL_UPDATE"]);
    // Nothing changed: no event.
    s.patch(&path, &owner, json!({"name": "lobby"})).await;
    events.expect(&[]);

    let voice = json!({"name": "v", "type": 2});
    let voice = s
        .post(&format!("/guilds/{gid}/channels"), &owner, voice)
        .await
        .1;
    let voice = format!("/channels/{}", id_of(&voice));
    events.drain();
    let bad = [
        (&path, json!({"type": 2}), "type"),
        (&voice, json!({"type": 0}), "type"),
        (&path, json!({"name": null}), "name"),
        (&path, json!({"name": ""}), "name"),
        (&path, json!({"topic": "t".repeat(1025)}), "topic"),
        (
            &path,
            json!({"parent_id": voice.trim_start_matches("/channels/")}),
            "parent_id",
        ),
        (&voice, json!({"bitrate": 100000}), "bitrate"),
    ];
    for (p, body, field) in bad {
        let Resp(status, resp) = s.patch(p, &owner, body.clone()).await;
        assert_eq!(status, 400, "{body}: {resp}");
        assert!(field_code(&resp, &[field]).is_some(), "{body}: {resp}");
    }
    // Overwrites need MANAGE_ROLES as well.
    grant(&s, &gid, &member, Permissions::MANAGE_CHANNELS).await;
    let overwrites = json!({"permission_overwrites": [{"id": gid, "type": 0, "deny": "2048"}]});
    assert_eq!(
        s.patch(&path, &member, overwrites.clone()).await.err(),
        (403, 50013)
    );
    let unknown = s.patch("/channels/1", &owner, json!({"name": "x"})).await;
    assert_eq!(unknown.err(), (404, 10003));
    events.expect(&[]);
    let Resp(status, c) = s.patch(&path, &member, json!({"name": "renamed"})).await;
    assert_eq!((status, c["name"].as_str()), (200, Some("renamed")));
    events.expect(&["CHANNEL_UPDATE"]);
    let Resp(status, c) = s.patch(&path, &owner, overwrites).await;
    assert_eq!(status, 200);
    let expected = json!([{"id": gid, "type": 0, "allow": "0", "deny": "2048"}]);
    assert_eq!(c["permission_overwrites"], expected);
    let got = events.expect(&["CHANNEL_UPDATE"]);
    assert_eq!(got[0].2["permission_overwrites"], expected);
    // The member can no longer send there: the change took effect at once.
    let typing = s
        .go(Method::POST, &format!("{path}/typing"), &member, None)
        .await;
    assert_eq!(typing.err(), (403, 50013));
    s.stop().await;
}

async fn overwrites(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid, general) = setup(&s).await;
    let member_id = s.user_id(&member).await;
    let mut events = Events::new(&s);
    let ow = |target: &str| format!("/channels/{general}/permissions/{target}");
    let hide = json!({"type": 1, "deny": bits(Permissions::VIEW_CHANNEL)});
    assert_eq!(
        s.put(&ow(&member_id), &member, hide.clone()).await.err(),
        (403, 50013)
    );
    events.expect(&[]);
    assert_eq!(s.put(&ow(&member_id), &owner, hide).await.0, 204);
    let got = events.expect(&["CHANNEL_UPDATE"]);
    assert_eq!(got[0].1, to_guild(&gid));
    let expected = json!([{"id": member_id, "type": 1, "allow": "0", "deny": "1024"}]);
    assert_eq!(got[0].2["permission_overwrites"], expected);
    // Hidden at once: 50001 for the channel, gone from the list.
    let channel = format!("/channels/{general}");
    assert_eq!(s.get(&channel, &member).await.err(), (403, 50001));
    let list = s.get(&format!("/guilds/{gid}/channels"), &member).await.1;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != general.as_str()),
        "{list}"
    );
    assert_eq!(s.del(&ow(&member_id), &owner).await.0, 204);
    let got = events.expect(&["CHANNEL_UPDATE"]);
    assert_eq!(got[0].2["permission_overwrites"], json!([]));
    assert_eq!(s.get(&channel, &member).await.0, 200);

    // Refusals: unknown targets, bad or missing types, missing overwrites, unknown channels.
    assert_eq!(
        s.put(&ow("1"), &owner, json!({"type": 0})).await.err(),
        (404, 10011)
    );
    assert_eq!(
        s.put(&ow("1"), &owner, json!({"type": 1})).await.err(),
        (404, 10007)
    );
    let resp = s.put(&ow(&gid), &owner, json!({"type": 7})).await.1;
    assert_eq!(
        field_code(&resp, &["type"]),
        Some("BASE_TYPE_CHOICES"),
        "{resp}"
    );
    let resp = s.put(&ow(&gid), &owner, json!({"allow": "0"})).await.1;
    assert_eq!(
        field_code(&resp, &["type"]),
        Some("BASE_TYPE_REQUIRED"),
        "{resp}"
    );
    assert_eq!(s.del(&ow(&member_id), &owner).await.err(), (404, 10009));
    let unknown = s
        .put("/channels/1/permissions/1", &owner, json!({"type": 0}))
        .await;
    assert_eq!(unknown.err(), (404, 10003));
    events.expect(&[]);

    // A member with MANAGE_ROLES may only allow or deny what it holds.
    grant(&s, &gid, &member, Permissions::MANAGE_ROLES).await;
    let set = |allow, deny| json!({"type": 0, "allow": bits(allow), "deny": bits(deny)});
    let none = Permissions::empty();
    let lacking = set(Permissions::MANAGE_GUILD, none);
    assert_eq!(s.put(&ow(&gid), &member, lacking).await.err(), (403, 50013));
    let lacking = set(none, Permissions::BAN_MEMBERS);
    assert_eq!(s.put(&ow(&gid), &member, lacking).await.err(), (403, 50013));
    events.expect(&[]);
    let held = set(none, Permissions::SEND_MESSAGES);
    assert_eq!(s.put(&ow(&gid), &member, held).await.0, 204);
    events.expect(&["CHANNEL_UPDATE"]);
    // The owner sets anything; the member then cannot remove bits it lacks.
    let other = role(&s, &gid, none).await;
    let manage_guild = set(Permissions::MANAGE_GUILD, none);
    assert_eq!(s.put(&ow(&other), &owner, manage_guild).await.0, 204);
    events.expect(&["CHANNEL_UPDATE"]);
    assert_eq!(s.del(&ow(&other), &member).await.err(), (403, 50013));
    events.expect(&[]);
    // An overwrite allowing MANAGE_ROLES to the member lifts that limit in the channel.
    let lift = json!({"type": 1, "allow": bits(Permissions::MANAGE_ROLES)});
    assert_eq!(s.put(&ow(&member_id), &owner, lift).await.0, 204);
    events.drain();
    assert_eq!(s.del(&ow(&other), &member).await.0, 204);
    events.expect(&["CHANNEL_UPDATE"]);
    s.stop().await;
}

async fn delete_channels(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid, general) = setup(&s).await;
    let g = s.get(&format!("/channels/{general}"), &owner).await.1;
    let category = g["parent_id"].as_str().unwrap().to_owned();
    let mut events = Events::new(&s);
    let path = format!("/channels/{category}");
    assert_eq!(s.del(&path, &member).await.err(), (403, 50013));
    events.expect(&[]);
    // A category: its channels lose their parent.
    let Resp(status, deleted) = s.del(&path, &owner).await;
    assert_eq!(
        (status, deleted["id"].as_str()),
        (200, Some(category.as_str()))
    );
    let got = events.expect(&["CHANNEL_DELETE", "CHANNEL_UPDATE"]);
    assert_eq!((&got[0].1, &got[0].2), (&to_guild(&gid), &deleted));
    let child = &got[1].2;
    assert_eq!(
        (child["id"].as_str(), &child["parent_id"]),
        (Some(general.as_str()), &Value::Null)
    );
    assert_eq!(s.get(&path, &owner).await.err(), (404, 10003));
    // The system channel: the guild's reference is cleared.
    let path = format!("/channels/{general}");
    assert_eq!(s.del(&path, &owner).await.0, 200);
    let got = events.expect(&["CHANNEL_DELETE", "GUILD_UPDATE"]);
    assert_eq!(got[1].2["system_channel_id"], Value::Null);
    let g = s.get(&format!("/guilds/{gid}"), &owner).await.1;
    assert_eq!(g["system_channel_id"], Value::Null);
    assert_eq!(s.del(&path, &owner).await.err(), (404, 10003));
    events.expect(&[]);
    s.stop().await;
}

async fn positions(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid, general) = setup(&s).await;
    let path = format!("/guilds/{gid}/channels");
    let other = id_of(
        &s.post(&path, &owner, json!({"name": "Other", "type": 4}))
            .await
            .1,
    );
    let loose = s.post(&path, &owner, json!({"name": "loose"})).await.1;
    let (loose, loose_position) = (id_of(&loose), loose["position"].clone());
    let deny_send = json!({"type": 0, "deny": "2048"});
    s.put(
        &format!("/channels/{other}/permissions/{gid}"),
        &owner,
        deny_send,
    )
    .await;
    let mut events = Events::new(&s);
    let moves = json!([{"id": general, "position": 5}, {"id": loose, "position": 9}]);
    assert_eq!(s.patch(&path, &member, moves).await.err(), (403, 50013));
    let unknown = json!([{"id": "1", "position": 1}]);
    assert_eq!(s.patch(&path, &owner, unknown).await.err(), (404, 10003));
    let two = json!([{"id": general, "parent_id": other}, {"id": loose, "parent_id": other}]);
    assert_eq!(s.patch(&path, &owner, two).await.err(), (400, 40009));
    let resp = s
        .patch(&path, &owner, json!([{"id": loose, "parent_id": general}]))
        .await
        .1;
    assert_eq!(
        field_code(&resp, &["0", "parent_id"]),
        Some("CHANNEL_PARENT_INVALID")
    );
    let resp = s
        .patch(&path, &owner, json!([{"id": other, "parent_id": other}]))
        .await
        .1;
    assert_eq!(
        resp["code"], 50035,
        "categories cannot have a parent: {resp}"
    );
    events.expect(&[]);

    // Only the channels that changed get CHANNEL_UPDATE.
    let moves = json!([{"id": general, "position": 5}, {"id": loose, "position": loose_position}]);
    assert_eq!(s.patch(&path, &owner, moves).await.0, 204);
    let got = events.expect(&["CHANNEL_UPDATE"]);
    assert_eq!(
        (got[0].2["id"].as_str(), got[0].2["position"].as_i64()),
        (Some(&*general), Some(5))
    );
    // Moving into a category with lock_permissions takes its overwrites.
    let lock = json!([{"id": loose, "parent_id": other, "lock_permissions": true}]);
    assert_eq!(s.patch(&path, &owner, lock).await.0, 204);
    let got = events.expect(&["CHANNEL_UPDATE"]);
    assert_eq!(got[0].2["parent_id"], other.as_str());
    let synced = json!([{"id": gid, "type": 0, "allow": "0", "deny": "2048"}]);
    assert_eq!(got[0].2["permission_overwrites"], synced);
    // A member who manages channels reorders, but cannot move one into a category where it
    // may not manage channels.
    grant(&s, &gid, &member, Permissions::MANAGE_CHANNELS).await;
    let member_id = s.user_id(&member).await;
    let deny = json!({"type": 1, "deny": bits(Permissions::MANAGE_CHANNELS)});
    s.put(
        &format!("/channels/{other}/permissions/{member_id}"),
        &owner,
        deny,
    )
    .await;
    events.drain();
    let into = json!([{"id": general, "parent_id": other}]);
    assert_eq!(s.patch(&path, &member, into).await.err(), (403, 50001));
    events.expect(&[]);
    let out = json!([{"id": general, "position": 2, "parent_id": null}]);
    assert_eq!(s.patch(&path, &member, out).await.0, 204);
    let got = events.expect(&["CHANNEL_UPDATE"]);
    assert_eq!(
        (got[0].2["position"].as_i64(), &got[0].2["parent_id"]),
        (Some(2), &Value::Null)
    );
    s.stop().await;
}

async fn typing(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid, general) = setup(&s).await;
    let member_id = s.user_id(&member).await;
    let mut events = Events::new(&s);
    let path = format!("/channels/{general}/typing");
    let Resp(status, body) = s.go(Method::POST, &path, &member, None).await;
    assert_eq!((status, body), (204, Value::Null));
    let got = events.expect(&["TYPING_START"]);
    let (_, audience, d) = &got[0];
    assert_eq!(
        *audience,
        accord_bus::Audience::Channel(general.parse().unwrap())
    );
    assert_eq!(d["channel_id"], general.as_str());
    assert_eq!(
        (d["guild_id"].as_str(), d["user_id"].as_str()),
        (Some(&*gid), Some(&*member_id))
    );
    let now = chrono::Utc::now().timestamp();
    assert!(
        d["timestamp"].is_u64() && (d["timestamp"].as_i64().unwrap() - now).abs() < 5,
        "{d}"
    );
    assert_eq!(d["member"]["user"]["id"], member_id.as_str());
    assert!(d["member"]["joined_at"].is_string());
    // Without SEND_MESSAGES: refused, nothing emitted; categories take no typing.
    everyone(&s, &gid, Permissions::VIEW_CHANNEL).await;
    assert_eq!(
        s.go(Method::POST, &path, &member, None).await.err(),
        (403, 50013)
    );
    let unknown = s
        .go(Method::POST, "/channels/1/typing", &member, None)
        .await;
    assert_eq!(unknown.err(), (404, 10003));
    let c = s.get(&format!("/channels/{general}"), &owner).await.1;
    let category = format!("/channels/{}/typing", c["parent_id"].as_str().unwrap());
    assert_eq!(
        s.go(Method::POST, &category, &owner, None).await.err(),
        (400, 50024)
    );
    events.expect(&[]);
    s.stop().await;
}

both_backends!(
    create_list_get,
    create_refusals,
    create_with_overwrites,
    modify_channel,
    overwrites,
    delete_channels,
    positions,
    typing
);
