//! Pin routes (the `…/messages/pins` ones and the deprecated `…/pins` ones): pinning, paging,
//! unpinning, their events and the system message, and every refusal changing nothing, on both
//! backends.

mod common;

use accord_bus::Audience;
use accord_model::{ChannelId, GuildId, Permissions, RoleId, UserId};
use accord_store::{NewMessage, NewRole, RolePatch};
use common::{Events, Server, id_of};
use reqwest::Method;
use serde_json::{Value, json};

/// A server without rate limits, with `tweak` applied to the configuration.
async fn start(backend: &str, tweak: impl FnOnce(&mut accord_config::Config)) -> Server {
    Server::start_with(backend, |c| {
        c.rate_limits.enabled = false;
        tweak(c);
    })
    .await
}

/// (status, JSON body).
async fn call(s: &Server, m: Method, path: &str, token: &str) -> (u16, Value) {
    let (status, body) = s.call(m, path, Some(token), None).await;
    (status.as_u16(), body)
}

fn code(body: &Value) -> u64 {
    body["code"].as_u64().unwrap_or(0)
}

/// A message by the holder of `token`, written through the store.
async fn message(s: &Server, channel: &str, guild: Option<&str>, token: &str) -> String {
    let author: UserId = s.user_id(token).await.parse().unwrap();
    let channel: ChannelId = channel.parse().unwrap();
    let mut new = NewMessage::new(s.state.ids.next(), channel, author, "hello");
    new.guild_id = guild.map(|g| g.parse().unwrap());
    s.state
        .store
        .create_message(&new)
        .await
        .unwrap()
        .id
        .to_string()
}

/// Owner, member, guild id, `general` channel id.
async fn setup(s: &Server) -> (String, String, String, String) {
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    s.join(&gid, &member).await;
    let (_, g) = call(s, Method::GET, &format!("/guilds/{gid}"), &owner).await;
    let channel = g["system_channel_id"].as_str().unwrap().to_owned();
    (owner, member, gid, channel)
}

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

async fn grant(s: &Server, gid: &str, token: &str, perms: Permissions) -> RoleId {
    let guild: GuildId = gid.parse().unwrap();
    let mut role = NewRole::new(s.state.ids.next(), guild, "role");
    role.permissions = perms;
    let role = RoleId::from_i64(s.state.store.create_role(&role).await.unwrap().id);
    // Written past the API (no dispatch): drop cached standings as a dispatch would.
    s.state.permissions.invalidate_all();
    let user: UserId = s.user_id(token).await.parse().unwrap();
    s.state
        .store
        .add_member_role(guild, user, role)
        .await
        .unwrap();
    s.state.permissions.invalidate_guild(guild);
    role
}

/// Ids of the pinned messages the new listing returns, and `has_more`.
async fn listed(s: &Server, channel: &str, token: &str, query: &str) -> (Vec<String>, bool) {
    let path = format!("/channels/{channel}/messages/pins{query}");
    let (status, body) = call(s, Method::GET, &path, token).await;
    assert_eq!(status, 200, "{body}");
    let ids = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| id_of(&p["message"]))
        .collect();
    (ids, body["has_more"].as_bool().unwrap())
}

async fn pin_list_unpin(backend: &str) {
    let s = start(backend, |_| {}).await;
    let (owner, _, gid, channel) = setup(&s).await;
    let owner_id = s.user_id(&owner).await;
    let m1 = message(&s, &channel, Some(&gid), &owner).await;
    let m2 = message(&s, &channel, Some(&gid), &owner).await;
    let m3 = message(&s, &channel, Some(&gid), &owner).await;
    let mut events = Events::new(&s);

    let path = format!("/channels/{channel}/messages/pins/{m1}");
    assert_eq!(call(&s, Method::PUT, &path, &owner).await.0, 204);
    let got = events.expect(&["CHANNEL_PINS_UPDATE", "MESSAGE_CREATE"]);
    let to_channel = Audience::Channel(channel.parse().unwrap());
    assert_eq!((&got[0].1, &got[1].1), (&to_channel, &to_channel));
    let update = &got[0].2;
    let mut keys: Vec<&String> = update.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["channel_id", "guild_id", "last_pin_timestamp"]);
    assert_eq!(
        (&update["channel_id"], &update["guild_id"]),
        (&json!(channel), &json!(gid))
    );
    let last = update["last_pin_timestamp"].as_str().unwrap().to_owned();
    let system = &got[1].2;
    assert_eq!(
        (
            &system["type"],
            &system["content"],
            &system["author"]["id"],
            &system["guild_id"]
        ),
        (&json!(6), &json!(""), &json!(owner_id), &json!(gid))
    );
    assert_eq!(system["message_reference"]["message_id"], json!(m1));
    assert_eq!(system["message_reference"]["channel_id"], json!(channel));

    // Pinning it again changes nothing.
    assert_eq!(call(&s, Method::PUT, &path, &owner).await.0, 204);
    events.expect(&[]);

    let (status, page) = call(
        &s,
        Method::GET,
        &format!("/channels/{channel}/messages/pins"),
        &owner,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["has_more"], json!(false));
    let item = &page["items"][0];
    assert_eq!(item["pinned_at"], json!(last));
    assert_eq!(
        (&item["message"]["id"], &item["message"]["pinned"]),
        (&json!(m1), &json!(true))
    );
    assert_eq!(item["message"]["content"], json!("hello"));
    assert!(item["message"].get("reactions").is_none(), "{item}");

    // Pinned messages carry their reactions, `me` for the caller.
    let react = format!("/channels/{channel}/messages/{m1}/reactions/%F0%9F%91%8D/@me");
    assert_eq!(call(&s, Method::PUT, &react, &owner).await.0, 204);
    events.expect(&["MESSAGE_REACTION_ADD"]);
    let (_, page) = call(
        &s,
        Method::GET,
        &format!("/channels/{channel}/messages/pins"),
        &owner,
    )
    .await;
    assert_eq!(
        page["items"][0]["message"]["reactions"],
        json!([{"count": 1, "count_details": {"burst": 0, "normal": 1}, "me": true,
            "me_burst": false, "emoji": {"id": null, "name": "👍"}, "burst_colors": []}])
    );

    // The deprecated forms.
    let old = format!("/channels/{channel}/pins/{m2}");
    assert_eq!(call(&s, Method::PUT, &old, &owner).await.0, 204);
    events.expect(&["CHANNEL_PINS_UPDATE", "MESSAGE_CREATE"]);
    let new = format!("/channels/{channel}/messages/pins/{m3}");
    assert_eq!(call(&s, Method::PUT, &new, &owner).await.0, 204);
    events.expect(&["CHANNEL_PINS_UPDATE", "MESSAGE_CREATE"]);
    let (status, list) = call(
        &s,
        Method::GET,
        &format!("/channels/{channel}/pins"),
        &owner,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<String> = list.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, [m3.clone(), m2.clone(), m1.clone()]);

    // Paging by pin time.
    let (first, more) = listed(&s, &channel, &owner, "?limit=2").await;
    assert_eq!((first, more), (vec![m3.clone(), m2.clone()], true));
    let (_, page) = call(
        &s,
        Method::GET,
        &format!("/channels/{channel}/messages/pins?limit=2"),
        &owner,
    )
    .await;
    let before = page["items"][1]["pinned_at"].as_str().unwrap().to_owned();
    let query = format!("?before={}", before.replace('+', "%2B"));
    assert_eq!(
        listed(&s, &channel, &owner, &query).await,
        (vec![m1.clone()], false)
    );
    for bad in ["?limit=0", "?limit=51", "?before=yesterday"] {
        let path = format!("/channels/{channel}/messages/pins{bad}");
        let (status, body) = call(&s, Method::GET, &path, &owner).await;
        assert_eq!((status, code(&body)), (400, 50035), "{bad}: {body}");
    }

    // Unpinning: the newest remaining pin becomes last_pin_timestamp; null once none remain.
    assert_eq!(call(&s, Method::DELETE, &new, &owner).await.0, 204);
    let got = events.expect(&["CHANNEL_PINS_UPDATE"]);
    assert_eq!(got[0].2["last_pin_timestamp"], json!(before));
    assert_eq!(call(&s, Method::DELETE, &new, &owner).await.0, 204);
    events.expect(&[]);
    assert_eq!(call(&s, Method::DELETE, &old, &owner).await.0, 204);
    events.expect(&["CHANNEL_PINS_UPDATE"]);
    assert_eq!(call(&s, Method::DELETE, &path, &owner).await.0, 204);
    let got = events.expect(&["CHANNEL_PINS_UPDATE"]);
    assert_eq!(got[0].2["last_pin_timestamp"], Value::Null);
    assert_eq!(listed(&s, &channel, &owner, "").await, (vec![], false));
    s.stop().await;
}

async fn refusals(backend: &str) {
    let s = start(backend, |c| c.limits.pins_per_channel = 1).await;
    let (owner, member, gid, channel) = setup(&s).await;
    let m1 = message(&s, &channel, Some(&gid), &owner).await;
    let m2 = message(&s, &channel, Some(&gid), &owner).await;
    let mut events = Events::new(&s);
    let pin = |m: &str| format!("/channels/{channel}/messages/pins/{m}");

    // No PIN_MESSAGES; MANAGE_MESSAGES alone no longer pins.
    let (status, body) = call(&s, Method::PUT, &pin(&m1), &member).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    grant(&s, &gid, &member, Permissions::MANAGE_MESSAGES).await;
    let (status, body) = call(&s, Method::PUT, &pin(&m1), &member).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    let old = format!("/channels/{channel}/pins/{m1}");
    let (status, body) = call(&s, Method::PUT, &old, &member).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    events.expect(&[]);
    assert_eq!(listed(&s, &channel, &owner, "").await.0.len(), 0);

    grant(&s, &gid, &member, Permissions::PIN_MESSAGES).await;
    assert_eq!(call(&s, Method::PUT, &pin(&m1), &member).await.0, 204);
    events.expect(&["CHANNEL_PINS_UPDATE", "MESSAGE_CREATE"]);

    // The limit: 30003.
    let (status, body) = call(&s, Method::PUT, &pin(&m2), &owner).await;
    assert_eq!((status, code(&body)), (400, 30003), "{body}");
    events.expect(&[]);
    assert_eq!(
        listed(&s, &channel, &owner, "").await.0,
        std::slice::from_ref(&m1)
    );

    // Concurrent pins in a fresh channel cannot pass the limit together.
    let (_, fresh) = s
        .call(
            Method::POST,
            &format!("/guilds/{gid}/channels"),
            Some(&owner),
            Some(json!({"name": "fresh"})),
        )
        .await;
    let fresh = id_of(&fresh);
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(message(&s, &fresh, Some(&gid), &owner).await);
    }
    events.drain();
    let paths: Vec<String> = ids
        .iter()
        .map(|m| format!("/channels/{fresh}/messages/pins/{m}"))
        .collect();
    let put = |i: usize| call(&s, Method::PUT, &paths[i], &owner);
    let (a, b, c, d) = tokio::join!(put(0), put(1), put(2), put(3));
    let results = [a.0, b.0, c.0, d.0];
    assert_eq!(
        results.iter().filter(|r| **r == 204).count(),
        1,
        "{results:?}"
    );
    assert_eq!(listed(&s, &fresh, &owner, "").await.0.len(), 1);
    events.expect(&["CHANNEL_PINS_UPDATE", "MESSAGE_CREATE"]);

    // Unknown message, a message of another channel, an id that is no snowflake: 10008.
    let (_, other) = s
        .call(
            Method::POST,
            &format!("/guilds/{gid}/channels"),
            Some(&owner),
            Some(json!({"name": "other"})),
        )
        .await;
    let elsewhere = message(&s, &id_of(&other), Some(&gid), &owner).await;
    events.drain();
    for m in ["123456789", elsewhere.as_str(), "nope"] {
        for method in [Method::PUT, Method::DELETE] {
            let (status, body) = call(&s, method.clone(), &pin(m), &owner).await;
            assert_eq!((status, code(&body)), (404, 10008), "{method} {m}: {body}");
        }
    }
    events.expect(&[]);

    // Unpinning without PIN_MESSAGES.
    let plain = s.register("plain", "correct horse").await;
    s.join(&gid, &plain).await;
    events.drain();
    let (status, body) = call(&s, Method::DELETE, &pin(&m1), &plain).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    events.expect(&[]);
    assert_eq!(
        listed(&s, &channel, &owner, "").await.0,
        std::slice::from_ref(&m1)
    );

    // Without READ_MESSAGE_HISTORY the listing is empty.
    everyone(&s, &gid, Permissions::VIEW_CHANNEL).await;
    assert_eq!(listed(&s, &channel, &plain, "").await, (vec![], false));
    let (status, list) = call(
        &s,
        Method::GET,
        &format!("/channels/{channel}/pins"),
        &plain,
    )
    .await;
    assert_eq!((status, list), (200, json!([])));
    s.stop().await;
}

async fn direct_messages(backend: &str) {
    let s = start(backend, |_| {}).await;
    let alice = s.register("alice", "correct horse").await;
    let bob = s.register("bob", "correct horse").await;
    let bob_id = s.user_id(&bob).await;
    let (status, dm) = s
        .call(
            Method::POST,
            "/users/@me/channels",
            Some(&alice),
            Some(json!({"recipient_id": bob_id})),
        )
        .await;
    assert_eq!(status, 200, "{dm}");
    let channel = id_of(&dm);
    let m = message(&s, &channel, None, &alice).await;
    let mut events = Events::new(&s);
    let path = format!("/channels/{channel}/messages/pins/{m}");
    assert_eq!(call(&s, Method::PUT, &path, &bob).await.0, 204);
    let got = events.expect(&["CHANNEL_PINS_UPDATE", "MESSAGE_CREATE"]);
    assert!(got[0].2.get("guild_id").is_none(), "{}", got[0].2);
    assert!(got[1].2.get("guild_id").is_none(), "{}", got[1].2);
    assert_eq!(
        listed(&s, &channel, &alice, "").await.0,
        std::slice::from_ref(&m)
    );
    let eve = s.register("eve", "correct horse").await;
    let (status, body) = call(&s, Method::PUT, &path, &eve).await;
    assert_eq!((status, code(&body)), (404, 10003), "{body}");
    events.expect(&[]);
    s.stop().await;
}

both_backends!(pin_list_unpin, refusals, direct_messages);
