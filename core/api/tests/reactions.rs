//! Reaction routes: adding (unicode and custom emoji in their URL forms), listing and removing
//! reactions, their exact events, and every refusal changing nothing, on both backends.

mod common;

use accord_bus::Audience;
use accord_model::{ChannelId, GuildId, MessageId, Permissions, RoleId, UserId};
use accord_store::{NewEmoji, NewMessage, NewRole, RolePatch};
use common::{Events, Server, id_of};
use reqwest::Method;
use serde_json::{Value, json};

/// 👍 percent-encoded, as clients put it in the URL.
const THUMBS: &str = "%F0%9F%91%8D";
/// 🔥 percent-encoded.
const FIRE: &str = "%F0%9F%94%A5";

/// A server without rate limits (reactions have a tight bucket; these tests are about
/// reactions), with `tweak` applied to the configuration.
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

/// An owner, a member, the guild id, its `general` channel and a message the owner wrote there.
struct World {
    owner: String,
    member: String,
    gid: String,
    channel: String,
    message: String,
}

impl World {
    fn reactions(&self) -> String {
        format!(
            "/channels/{}/messages/{}/reactions",
            self.channel, self.message
        )
    }
}

async fn world(s: &Server) -> World {
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    s.join(&gid, &member).await;
    let (_, g) = call(s, Method::GET, &format!("/guilds/{gid}"), &owner).await;
    let channel = g["system_channel_id"].as_str().unwrap().to_owned();
    let message = message(s, &channel, Some(&gid), &owner).await;
    World {
        owner,
        member,
        gid,
        channel,
        message,
    }
}

/// A message by the holder of `token`, written through the store.
async fn message(s: &Server, channel: &str, guild: Option<&str>, token: &str) -> String {
    let author: UserId = s.user_id(token).await.parse().unwrap();
    let channel: ChannelId = channel.parse().unwrap();
    let mut new = NewMessage::new(s.state.ids.next(), channel, author, "hello");
    new.guild_id = guild.map(|g| g.parse().unwrap());
    let m = s.state.store.create_message(&new).await.unwrap();
    m.id.to_string()
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

async fn grant(s: &Server, gid: &str, token: &str, perms: Permissions) {
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
}

/// A custom emoji of `gid` (limited to `roles` if any).
async fn emoji(s: &Server, gid: &str, name: &str, animated: bool, roles: Vec<RoleId>) -> String {
    let new = NewEmoji {
        id: s.state.ids.next(),
        guild_id: gid.parse().unwrap(),
        name: name.into(),
        user_id: None,
        animated,
        roles,
    };
    s.state
        .store
        .create_emoji(&new)
        .await
        .unwrap()
        .id
        .to_string()
}

/// Ids of the users who reacted with `emoji`.
async fn users(s: &Server, w: &World, emoji: &str, query: &str) -> Vec<String> {
    let (status, body) = call(
        s,
        Method::GET,
        &format!("{}/{emoji}{query}", w.reactions()),
        &w.owner,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().iter().map(id_of).collect()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    k.sort_unstable();
    k
}

async fn add_list_remove(backend: &str) {
    let s = start(backend, |_| {}).await;
    let w = world(&s).await;
    let (owner_id, member_id) = (s.user_id(&w.owner).await, s.user_id(&w.member).await);
    let mut events = Events::new(&s);
    let me = format!("{}/{THUMBS}/@me", w.reactions());
    assert_eq!(call(&s, Method::PUT, &me, &w.member).await.0, 204);
    let got = events.expect(&["MESSAGE_REACTION_ADD"]);
    let (_, audience, d) = &got[0];
    assert_eq!(audience, &Audience::Channel(w.channel.parse().unwrap()));
    assert_eq!(
        keys(d).join(","),
        "burst,burst_colors,channel_id,emoji,guild_id,member,message_author_id,message_id,type,user_id"
    );
    assert_eq!(
        (
            &d["user_id"],
            &d["channel_id"],
            &d["message_id"],
            &d["guild_id"]
        ),
        (
            &json!(member_id),
            &json!(w.channel),
            &json!(w.message),
            &json!(w.gid)
        )
    );
    assert_eq!(d["emoji"], json!({"id": null, "name": "👍"}));
    assert_eq!(d["message_author_id"], json!(owner_id));
    assert_eq!(
        (&d["burst"], &d["burst_colors"], &d["type"]),
        (&json!(false), &json!([]), &json!(0))
    );
    assert_eq!(d["member"]["user"]["id"], json!(member_id));

    // Idempotent: no second event.
    assert_eq!(call(&s, Method::PUT, &me, &w.member).await.0, 204);
    events.expect(&[]);

    // The raw emoji in the URL names the same reaction.
    let raw = format!("{}/👍/@me", w.reactions());
    assert_eq!(call(&s, Method::PUT, &raw, &w.owner).await.0, 204);
    events.expect(&["MESSAGE_REACTION_ADD"]);
    let mut both = vec![owner_id.clone(), member_id.clone()];
    both.sort_by_key(|id| id.parse::<u64>().unwrap());
    assert_eq!(users(&s, &w, THUMBS, "").await, both);
    assert_eq!(users(&s, &w, THUMBS, "?limit=1").await, both[..1]);
    assert_eq!(
        users(&s, &w, THUMBS, &format!("?after={}", both[0])).await,
        both[1..]
    );
    assert!(users(&s, &w, THUMBS, "?type=1").await.is_empty());
    assert!(users(&s, &w, FIRE, "").await.is_empty());
    for bad in ["?type=2", "?limit=0", "?limit=101", "?after=x"] {
        let path = format!("{}/{THUMBS}{bad}", w.reactions());
        let (status, body) = call(&s, Method::GET, &path, &w.owner).await;
        assert_eq!((status, code(&body)), (400, 50035), "{bad}: {body}");
    }

    assert_eq!(call(&s, Method::DELETE, &me, &w.member).await.0, 204);
    let got = events.expect(&["MESSAGE_REACTION_REMOVE"]);
    let d = &got[0].2;
    assert_eq!(
        keys(d).join(","),
        "burst,channel_id,emoji,guild_id,message_id,type,user_id"
    );
    assert_eq!(
        (&d["user_id"], &d["emoji"], &d["burst"], &d["type"]),
        (
            &json!(member_id),
            &json!({"id": null, "name": "👍"}),
            &json!(false),
            &json!(0)
        )
    );
    assert_eq!(users(&s, &w, THUMBS, "").await, [owner_id]);
    // Removing a reaction that is not there: nothing happens.
    assert_eq!(call(&s, Method::DELETE, &me, &w.member).await.0, 204);
    events.expect(&[]);
    s.stop().await;
}

async fn custom_emojis(backend: &str) {
    let s = start(backend, |_| {}).await;
    let w = world(&s).await;
    let blob = emoji(&s, &w.gid, "blob", false, vec![]).await;
    let party = emoji(&s, &w.gid, "party", true, vec![]).await;
    let mut events = Events::new(&s);
    for (form, id, name, animated) in [
        (format!("blob:{blob}"), &blob, "blob", None),
        (format!("a%3Aparty%3A{party}"), &party, "party", Some(true)),
    ] {
        let path = format!("{}/{form}/@me", w.reactions());
        let (status, body) = call(&s, Method::PUT, &path, &w.member).await;
        assert_eq!(status, 204, "{form}: {body}");
        let d = &events.expect(&["MESSAGE_REACTION_ADD"])[0].2;
        let mut want = json!({"id": id, "name": name});
        if let Some(a) = animated {
            want["animated"] = json!(a);
        }
        assert_eq!(d["emoji"], want);
    }
    assert_eq!(
        users(&s, &w, &format!("blob:{blob}"), "").await,
        [s.user_id(&w.member).await]
    );
    let before = s
        .state
        .store
        .reaction_counts(w.message.parse().unwrap(), None)
        .await
        .unwrap();
    // Unknown custom emoji, text that is no emoji: 10014, nothing changes.
    for bad in ["nope:123456789", "thumbsup", "blob:x", "a"] {
        let path = format!("{}/{bad}/@me", w.reactions());
        let (status, body) = call(&s, Method::PUT, &path, &w.member).await;
        assert_eq!((status, code(&body)), (404, 10014), "{bad}: {body}");
    }
    events.expect(&[]);
    let after = s
        .state
        .store
        .reaction_counts(w.message.parse().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(before, after);

    // Another guild's emoji: only for its members, with USE_EXTERNAL_EMOJIS here.
    let other = id_of(&s.guild(&w.owner, "Elsewhere").await);
    let away = emoji(&s, &other, "away", false, vec![]).await;
    let path = format!("{}/away:{away}/@me", w.reactions());
    let (status, body) = call(&s, Method::PUT, &path, &w.member).await;
    assert_eq!((status, code(&body)), (404, 10014), "{body}");
    s.join(&other, &w.member).await;
    everyone(
        &s,
        &w.gid,
        Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY | Permissions::ADD_REACTIONS,
    )
    .await;
    events.drain();
    let (status, body) = call(&s, Method::PUT, &path, &w.member).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    events.expect(&[]);
    grant(&s, &w.gid, &w.member, Permissions::USE_EXTERNAL_EMOJIS).await;
    assert_eq!(call(&s, Method::PUT, &path, &w.member).await.0, 204);
    events.expect(&["MESSAGE_REACTION_ADD"]);

    // An emoji limited to a role the caller lacks.
    let vip_role = NewRole::new(s.state.ids.next(), w.gid.parse().unwrap(), "vip");
    let vip_role = RoleId::from_i64(s.state.store.create_role(&vip_role).await.unwrap().id);
    // Written past the API (no dispatch): drop cached standings as a dispatch would.
    s.state.permissions.invalidate_all();
    let vip = emoji(&s, &w.gid, "vip", false, vec![vip_role]).await;
    let path = format!("{}/vip:{vip}/@me", w.reactions());
    let (status, body) = call(&s, Method::PUT, &path, &w.member).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    events.expect(&[]);

    // Remove the emoji: MESSAGE_REACTION_REMOVE_EMOJI.
    let path = format!("{}/party:{party}", w.reactions());
    assert_eq!(call(&s, Method::DELETE, &path, &w.owner).await.0, 204);
    let got = events.expect(&["MESSAGE_REACTION_REMOVE_EMOJI"]);
    let d = &got[0].2;
    assert_eq!(keys(d).join(","), "channel_id,emoji,guild_id,message_id");
    assert_eq!(
        d["emoji"],
        json!({"id": party, "name": "party", "animated": true})
    );
    assert_eq!(got[0].1, Audience::Channel(w.channel.parse().unwrap()));
    s.stop().await;
}

async fn permissions(backend: &str) {
    let s = start(backend, |_| {}).await;
    let w = world(&s).await;
    let member_id = s.user_id(&w.member).await;
    let owner_id = s.user_id(&w.owner).await;
    let base = Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY;
    everyone(&s, &w.gid, base).await;
    let mut events = Events::new(&s);
    let me = format!("{}/{THUMBS}/@me", w.reactions());
    // A new reaction needs ADD_REACTIONS...
    let (status, body) = call(&s, Method::PUT, &me, &w.member).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    events.expect(&[]);
    assert!(users(&s, &w, THUMBS, "").await.is_empty());
    // ...joining an existing one does not.
    assert_eq!(call(&s, Method::PUT, &me, &w.owner).await.0, 204);
    assert_eq!(call(&s, Method::PUT, &me, &w.member).await.0, 204);
    events.expect(&["MESSAGE_REACTION_ADD", "MESSAGE_REACTION_ADD"]);

    // Another user's reaction, all reactions, one emoji: MANAGE_MESSAGES.
    let theirs = format!("{}/{THUMBS}/{owner_id}", w.reactions());
    let by_emoji = format!("{}/{THUMBS}", w.reactions());
    for path in [&theirs, &by_emoji, &w.reactions()] {
        let (status, body) = call(&s, Method::DELETE, path, &w.member).await;
        assert_eq!((status, code(&body)), (403, 50013), "{path}: {body}");
    }
    events.expect(&[]);
    assert_eq!(users(&s, &w, THUMBS, "").await.len(), 2);
    // Naming oneself is removing one's own reaction.
    let mine = format!("{}/{THUMBS}/{member_id}", w.reactions());
    assert_eq!(call(&s, Method::DELETE, &mine, &w.member).await.0, 204);
    events.expect(&["MESSAGE_REACTION_REMOVE"]);

    grant(&s, &w.gid, &w.member, Permissions::MANAGE_MESSAGES).await;
    assert_eq!(call(&s, Method::DELETE, &theirs, &w.member).await.0, 204);
    let d = &events.expect(&["MESSAGE_REACTION_REMOVE"])[0].2;
    assert_eq!(d["user_id"], json!(owner_id));

    // Remove all.
    assert_eq!(call(&s, Method::PUT, &me, &w.owner).await.0, 204);
    events.expect(&["MESSAGE_REACTION_ADD"]);
    assert_eq!(
        call(&s, Method::DELETE, &w.reactions(), &w.member).await.0,
        204
    );
    let got = events.expect(&["MESSAGE_REACTION_REMOVE_ALL"]);
    assert_eq!(
        got[0].2,
        json!({"channel_id": w.channel, "message_id": w.message, "guild_id": w.gid})
    );
    assert!(users(&s, &w, THUMBS, "").await.is_empty());

    // A timed-out member cannot react, not even to an existing reaction.
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let patch = accord_store::MemberPatch {
        communication_disabled_until: Some(Some(until)),
        ..Default::default()
    };
    let (guild, member): (GuildId, UserId) = (w.gid.parse().unwrap(), member_id.parse().unwrap());
    s.state
        .store
        .update_member(guild, member, &patch)
        .await
        .unwrap();
    s.state.permissions.invalidate_guild(guild);
    assert_eq!(call(&s, Method::PUT, &me, &w.owner).await.0, 204);
    events.drain();
    let (status, body) = call(&s, Method::PUT, &me, &w.member).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    events.expect(&[]);

    // Without READ_MESSAGE_HISTORY nothing at all.
    everyone(
        &s,
        &w.gid,
        Permissions::VIEW_CHANNEL | Permissions::ADD_REACTIONS,
    )
    .await;
    let plain = s.register("plain", "correct horse").await;
    s.join(&w.gid, &plain).await;
    events.drain();
    let (status, body) = call(&s, Method::PUT, &me, &plain).await;
    assert_eq!((status, code(&body)), (403, 50013), "{body}");
    events.expect(&[]);
    s.stop().await;
}

async fn limits_and_unknowns(backend: &str) {
    let s = start(backend, |c| c.limits.reactions_per_message = 2).await;
    let w = world(&s).await;
    let mut events = Events::new(&s);
    for e in [THUMBS, FIRE] {
        let path = format!("{}/{e}/@me", w.reactions());
        assert_eq!(call(&s, Method::PUT, &path, &w.owner).await.0, 204);
    }
    events.expect(&["MESSAGE_REACTION_ADD", "MESSAGE_REACTION_ADD"]);
    let third = format!("{}/%E2%9D%A4%EF%B8%8F/@me", w.reactions());
    let (status, body) = call(&s, Method::PUT, &third, &w.member).await;
    assert_eq!((status, code(&body)), (400, 30010), "{body}");
    events.expect(&[]);
    // Joining one of the two still works.
    let join = format!("{}/{FIRE}/@me", w.reactions());
    assert_eq!(call(&s, Method::PUT, &join, &w.member).await.0, 204);
    events.expect(&["MESSAGE_REACTION_ADD"]);

    // Concurrent new emojis on a fresh message cannot pass the limit together.
    let fresh = message(&s, &w.channel, Some(&w.gid), &w.owner).await;
    let emojis = [
        "%F0%9F%98%80",
        "%F0%9F%98%81",
        "%F0%9F%98%82",
        "%F0%9F%98%83",
        "%F0%9F%98%84",
    ];
    let paths: Vec<String> = emojis
        .iter()
        .map(|e| format!("/channels/{}/messages/{fresh}/reactions/{e}/@me", w.channel))
        .collect();
    let put = |i: usize| call(&s, Method::PUT, &paths[i], &w.owner);
    let (a, b, c, d, e) = tokio::join!(put(0), put(1), put(2), put(3), put(4));
    let results = [a.0, b.0, c.0, d.0, e.0];
    assert_eq!(
        results.iter().filter(|r| **r == 204).count(),
        2,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|r| **r == 400).count(),
        3,
        "{results:?}"
    );
    let counts = s
        .state
        .store
        .reaction_counts(fresh.parse().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(counts.len(), 2);
    assert_eq!(events.names().len(), 2);

    // Unknown message, a message of another channel, an id that is no snowflake: 10008.
    let (_, other) = s
        .call(
            Method::POST,
            &format!("/guilds/{}/channels", w.gid),
            Some(&w.owner),
            Some(json!({"name": "other"})),
        )
        .await;
    let elsewhere = message(&s, &id_of(&other), Some(&w.gid), &w.owner).await;
    events.drain();
    for m in ["123456789", elsewhere.as_str(), "nope"] {
        let path = format!(
            "/channels/{}/messages/{m}/reactions/{THUMBS}/@me",
            w.channel
        );
        let (status, body) = call(&s, Method::PUT, &path, &w.owner).await;
        assert_eq!((status, code(&body)), (404, 10008), "{m}: {body}");
    }
    events.expect(&[]);
    s.stop().await;
}

async fn direct_messages(backend: &str) {
    let s = start(backend, |_| {}).await;
    let alice = s.register("alice", "correct horse").await;
    let bob = s.register("bob", "correct horse").await;
    let (alice_id, bob_id) = (s.user_id(&alice).await, s.user_id(&bob).await);
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
    let msg = message(&s, &channel, None, &alice).await;
    let base = format!("/channels/{channel}/messages/{msg}/reactions");
    let mut events = Events::new(&s);
    assert_eq!(
        call(&s, Method::PUT, &format!("{base}/{THUMBS}/@me"), &bob)
            .await
            .0,
        204
    );
    let got = events.expect(&["MESSAGE_REACTION_ADD"]);
    let d = &got[0].2;
    assert!(
        d.get("guild_id").is_none() && d.get("member").is_none(),
        "{d}"
    );
    assert_eq!(
        (&d["user_id"], &d["message_author_id"]),
        (&json!(bob_id), &json!(alice_id))
    );
    assert_eq!(got[0].1, Audience::Channel(channel.parse().unwrap()));
    // Nobody manages messages in a DM: 50003.
    for path in [
        format!("{base}/{THUMBS}/{bob_id}"),
        format!("{base}/{THUMBS}"),
        base.clone(),
    ] {
        let (status, body) = call(&s, Method::DELETE, &path, &alice).await;
        assert_eq!((status, code(&body)), (403, 50003), "{path}: {body}");
    }
    events.expect(&[]);
    let msg_id: MessageId = msg.parse().unwrap();
    assert_eq!(
        s.state
            .store
            .reaction_counts(msg_id, None)
            .await
            .unwrap()
            .len(),
        1
    );
    // A stranger does not see the DM.
    let eve = s.register("eve", "correct horse").await;
    let (status, body) = call(&s, Method::PUT, &format!("{base}/{THUMBS}/@me"), &eve).await;
    assert_eq!((status, code(&body)), (404, 10003), "{body}");
    s.stop().await;
}

/// Message reads carry the reactions, with `me` from the reader's point of view.
async fn reactions_show_on_messages(backend: &str) {
    let s = start(backend, |_| {}).await;
    let w = world(&s).await;
    let me = format!("{}/{THUMBS}/@me", w.reactions());
    assert_eq!(call(&s, Method::PUT, &me, &w.member).await.0, 204);
    let one = format!("/channels/{}/messages/{}", w.channel, w.message);
    let (status, m) = call(&s, Method::GET, &one, &w.member).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["reactions"][0]["count"], 1);
    assert_eq!(m["reactions"][0]["me"], true);
    assert_eq!(m["reactions"][0]["emoji"]["name"], "\u{1F44D}");
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/channels/{}/messages", w.channel),
        &w.owner,
    )
    .await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == w.message.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["reactions"][0]["count"], 1);
    assert_eq!(
        listed["reactions"][0]["me"], false,
        "the owner did not react"
    );
    s.stop().await;
}

both_backends!(
    reactions_show_on_messages,
    add_list_remove,
    custom_emojis,
    permissions,
    limits_and_unknowns,
    direct_messages
);
