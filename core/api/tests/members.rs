//! Member routes: list (with the bots' GUILD_MEMBERS intent), search, get, modify (nickname,
//! roles, voice, timeout), the caller's own membership, kicks and member roles — with
//! permissions, the hierarchy, managed roles and their exact events, on both backends.

mod common;

use accord_bus::Audience;
use accord_model::{GuildId, RoleId, UserId};
use accord_store::NewRole;
use chrono::{Duration, Utc};
use common::{Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const KICK: u64 = 1 << 1;
const ADMINISTRATOR: u64 = 1 << 3;
const MUTE: u64 = 1 << 22;
const DEAFEN: u64 = 1 << 23;
const MANAGE_NICKNAMES: u64 = 1 << 27;
const MANAGE_ROLES: u64 = 1 << 28;
const MODERATE: u64 = 1 << 40;
const GATEWAY_GUILD_MEMBERS: u64 = 1 << 14;
const GET: Method = Method::GET;
const PUT: Method = Method::PUT;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;
const OK: StatusCode = StatusCode::OK;
const NO_CONTENT: StatusCode = StatusCode::NO_CONTENT;
/// Every field of GUILD_MEMBER_UPDATE (gateway-events.mdx).
const UPDATE_KEYS: &str = "guild_id roles user nick avatar banner joined_at premium_since deaf \
                           mute pending communication_disabled_until flags";

/// One guild's routes, called with paths relative to `/guilds/{id}`.
struct G<'a> {
    s: &'a Server,
    id: String,
}

impl<'a> G<'a> {
    /// Creates a guild owned by the holder of `owner`.
    async fn new(s: &'a Server, owner: &str) -> Self {
        let id = id_of(&s.guild(owner, "Lounge").await);
        Self { s, id }
    }
    fn guild(&self) -> GuildId {
        self.id.parse().unwrap()
    }
    async fn call(&self, m: Method, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let url = format!("/guilds/{}{path}", self.id);
        let body = (!body.is_null()).then_some(body);
        self.s.call(m, &url, Some(token), body).await
    }
    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(GET, path, token, Value::Null).await
    }
    async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(PATCH, path, token, body).await
    }
    /// The status of a bodiless call.
    async fn status(&self, m: Method, path: &str, token: &str) -> StatusCode {
        self.call(m, path, token, Value::Null).await.0
    }
    /// Asserts that the call is refused with the JSON `code` (and the status that goes with it).
    async fn no(&self, m: Method, path: &str, token: &str, body: Value, code: u64) {
        let (status, got) = self.call(m.clone(), path, token, body).await;
        let want = match code {
            10000..=10999 => StatusCode::NOT_FOUND,
            50001 | 50013 => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        assert_eq!(
            (status, got["code"].as_u64()),
            (want, Some(code)),
            "{m} {path}: {got}"
        );
    }
    /// Creates a role with `permissions` and returns its id.
    async fn role(&self, token: &str, name: &str, permissions: u64) -> String {
        let body = json!({"name": name, "permissions": permissions.to_string()});
        let (status, role) = self.call(Method::POST, "/roles", token, body).await;
        assert_eq!(status, OK, "{role}");
        id_of(&role)
    }
    async fn give(&self, token: &str, user: &str, role: &str) {
        let path = format!("/members/{user}/roles/{role}");
        assert_eq!(self.status(PUT, &path, token).await, NO_CONTENT);
    }
    /// Stores a managed role of the bot `bot` (as adding a bot does) and returns its id.
    async fn managed_role(&self, bot: &str) -> RoleId {
        let id: RoleId = self.s.state.ids.next();
        let mut new = NewRole::new(id, self.guild(), "Bot");
        new.managed = true;
        new.bot_id = Some(bot.parse::<UserId>().unwrap());
        self.s.state.store.insert_role(&new).await.unwrap();
        // Written past the API (no dispatch): drop cached standings as a dispatch would.
        self.s.state.permissions.invalidate_all();
        id
    }
}

/// The users' `field` in a list of members.
fn users(list: &Value, field: &str) -> Vec<String> {
    let items = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"));
    let field = |m: &Value| m["user"][field].as_str().unwrap().to_owned();
    items.iter().map(field).collect()
}

async fn list_search_get(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let alice = s.register("alice", "correct horse").await;
    let albert = s.register("albert", "correct horse").await;
    let g = G::new(&s, &owner).await;
    s.join(&g.id, &alice).await;
    s.join(&g.id, &albert).await;
    let (owner_id, alice_id) = (s.user_id(&owner).await, s.user_id(&alice).await);
    let albert_id = s.user_id(&albert).await;

    let (status, one) = g.get("/members", &alice).await;
    assert_eq!(status, OK, "{one}");
    assert_eq!(
        users(&one, "id"),
        [owner_id.as_str()],
        "limit defaults to 1"
    );
    let (_, all) = g.get("/members?limit=1000", &alice).await;
    assert_eq!(users(&all, "id"), [&*owner_id, &*alice_id, &*albert_id]);
    for key in "roles joined_at deaf mute flags nick pending".split(' ') {
        assert!(all[0].get(key).is_some(), "{key} in {}", all[0]);
    }
    let path = format!("/members?limit=5&after={alice_id}");
    assert_eq!(
        users(&g.get(&path, &alice).await.1, "id"),
        [albert_id.as_str()]
    );
    for bad in ["limit=0", "limit=1001", "limit=x", "after=nope"] {
        let path = format!("/members?{bad}");
        g.no(GET, &path, &alice, Value::Null, 50035).await;
    }

    // Search: case-insensitive prefix of username, display name or nickname.
    let path = format!("/members/{albert_id}");
    assert_eq!(g.patch(&path, &owner, json!({"nick": "Zed"})).await.0, OK);
    let (status, found) = g.get("/members/search?query=AL&limit=10", &alice).await;
    assert_eq!(status, OK, "{found}");
    assert_eq!(users(&found, "username"), ["alice", "albert"]);
    let (_, found) = g.get("/members/search?query=al", &alice).await;
    assert_eq!(users(&found, "username"), ["alice"], "limit defaults to 1");
    let (_, found) = g.get("/members/search?query=zE&limit=5", &alice).await;
    assert_eq!(users(&found, "username"), ["albert"]);
    assert_eq!(found[0]["nick"], "Zed");
    let (_, found) = g.get("/members/search?query=lice&limit=5", &alice).await;
    assert_eq!(found, json!([]), "prefixes only");
    let (status, body) = g.get("/members/search?limit=5", &alice).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_code(&body, &["query"]), Some("BASE_TYPE_REQUIRED"));

    // One member; unknown ones are 10007; outsiders 50001.
    let (status, got) = g.get(&format!("/members/{albert_id}"), &alice).await;
    assert_eq!((status, &got["nick"]), (OK, &json!("Zed")));
    assert_eq!(got["user"]["id"], albert_id.as_str());
    let outsider = s.register("outsider", "correct horse").await;
    let outsider_id = s.user_id(&outsider).await;
    for id in [outsider_id.as_str(), "1", "nope"] {
        let path = format!("/members/{id}");
        g.no(GET, &path, &alice, Value::Null, 10007).await;
    }
    g.no(GET, "/members", &outsider, Value::Null, 50001).await;

    // Bots list members only with the GUILD_MEMBERS intent enabled.
    let (app, bot) = s.bot(&owner, "Lister").await;
    let bot = format!("Bot {bot}");
    s.join(&g.id, &bot).await;
    g.no(GET, "/members", &bot, Value::Null, 50001).await;
    let flags = Some(json!({"flags": GATEWAY_GUILD_MEMBERS}));
    let path = format!("/applications/{app}");
    let (status, body) = s.call(PATCH, &path, Some(&owner), flags).await;
    assert_eq!(status, OK, "{body}");
    let (status, list) = g.get("/members?limit=10", &bot).await;
    assert_eq!((status, users(&list, "id").len()), (OK, 4), "{list}");
    s.stop().await;
}

async fn modify(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let moderator = s.register("moderator", "correct horse").await;
    let target = s.register("target", "correct horse").await;
    let peer = s.register("peer", "correct horse").await;
    let g = G::new(&s, &owner).await;
    for t in [&moderator, &target, &peer] {
        s.join(&g.id, t).await;
    }
    let (owner_id, mod_id) = (s.user_id(&owner).await, s.user_id(&moderator).await);
    let (target_id, peer_id) = (s.user_id(&target).await, s.user_id(&peer).await);
    let low = g.role(&owner, "low", 0).await;
    let powers = MANAGE_NICKNAMES | MANAGE_ROLES | MUTE | DEAFEN | MODERATE;
    let mods = g.role(&owner, "mods", powers).await;
    // New roles go to position 1 (mods 1, low 2): put mods on top.
    let order = json!([{"id": mods, "position": 2}]);
    assert_eq!(g.patch("/roles", &owner, order).await.0, OK);
    g.give(&owner, &mod_id, &mods).await;
    g.give(&owner, &peer_id, &mods).await;
    let mut events = Events::new(&s);
    let tp = format!("/members/{target_id}");

    // The moderator renames, mutes, deafens and gives roles to a lower member.
    let body = json!({"nick": "Tiny", "mute": true, "deaf": true, "roles": [low]});
    let (status, m) = g.patch(&tp, &moderator, body).await;
    assert_eq!(status, OK, "{m}");
    assert_eq!(
        (&m["nick"], &m["mute"], &m["deaf"]),
        (&json!("Tiny"), &json!(true), &json!(true))
    );
    assert_eq!(m["roles"], json!([low]));
    let got = events.expect(&["GUILD_MEMBER_UPDATE"]);
    let (_, audience, payload) = &got[0];
    assert_eq!(*audience, Audience::Guild(g.guild()));
    for key in UPDATE_KEYS.split_whitespace() {
        assert!(payload.get(key).is_some(), "{key} in {payload}");
    }
    assert_eq!(
        (&payload["guild_id"], &payload["nick"]),
        (&json!(g.id), &json!("Tiny"))
    );
    assert_eq!(payload["user"]["id"], target_id.as_str());
    assert_eq!(payload["roles"], json!([low]));

    // Timeouts: up to 28 days; null lifts; never the owner or an administrator.
    let until =
        json!({"communication_disabled_until": (Utc::now() + Duration::days(1)).to_rfc3339()});
    let (status, m) = g.patch(&tp, &moderator, until.clone()).await;
    assert!(
        status == OK && m["communication_disabled_until"].is_string(),
        "{m}"
    );
    events.expect(&["GUILD_MEMBER_UPDATE"]);
    let lift = json!({"communication_disabled_until": null});
    let (status, m) = g.patch(&tp, &moderator, lift).await;
    assert_eq!(
        (status, &m["communication_disabled_until"]),
        (OK, &Value::Null)
    );
    events.expect(&["GUILD_MEMBER_UPDATE"]);
    let too_long = (Utc::now() + Duration::days(29)).to_rfc3339();
    let too_long = json!({"communication_disabled_until": too_long});
    let (status, body) = g.patch(&tp, &moderator, too_long).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        field_code(&body, &["communication_disabled_until"]).is_some(),
        "{body}"
    );
    let path = format!("/members/{owner_id}");
    g.no(PATCH, &path, &owner, until.clone(), 50013).await;
    let admins = g.role(&owner, "admins", ADMINISTRATOR).await;
    g.give(&owner, &target_id, &admins).await;
    events.drain();
    g.no(PATCH, &tp, &owner, until, 50013).await;
    events.expect(&[]);
    let path = format!("/members/{target_id}/roles/{admins}");
    assert_eq!(g.status(DELETE, &path, &owner).await, NO_CONTENT);
    events.expect(&["GUILD_MEMBER_UPDATE"]);

    // Refusals: an equal, the owner, a role at the caller's level, a permission not held.
    for (who, body) in [
        (&peer_id, json!({"nick": "Peer"})),
        (&owner_id, json!({"nick": "Boss"})),
        (&target_id, json!({"roles": [low, mods]})),
    ] {
        g.no(PATCH, &format!("/members/{who}"), &moderator, body, 50013)
            .await;
    }
    let path = format!("/members/{peer_id}");
    g.no(PATCH, &path, &target, json!({"mute": true}), 50013)
        .await;
    // Bad bodies.
    for (body, field) in [
        (json!({"nick": "x".repeat(33)}), "nick"),
        (json!({"channel_id": "123"}), "channel_id"),
        (json!({"roles": ["1"]}), "roles"),
    ] {
        let (status, got) = g.patch(&tp, &owner, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(got["errors"].get(field).is_some(), "{body}: {got}");
    }
    // Managed roles are never given or taken by hand; unknown members are 10007.
    let bot_role = g.managed_role(&target_id).await;
    events.drain();
    let roles = json!({"roles": [low, bot_role.to_string()]});
    g.no(PATCH, &tp, &owner, roles, 50028).await;
    g.no(PATCH, "/members/1", &owner, json!({"nick": "ghost"}), 10007)
        .await;
    events.expect(&[]);
    let (_, still) = g.get(&tp, &owner).await;
    assert_eq!(
        (&still["nick"], &still["roles"]),
        (&json!("Tiny"), &json!([low]))
    );

    // Oneself: CHANGE_NICKNAME (in @everyone by default) through @me and through the id.
    let (status, me) = g
        .patch("/members/@me", &target, json!({"nick": "Me"}))
        .await;
    assert_eq!((status, &me["nick"]), (OK, &json!("Me")), "{me}");
    events.expect(&["GUILD_MEMBER_UPDATE"]);
    let (status, me) = g.patch(&tp, &target, json!({"nick": ""})).await;
    assert_eq!((status, &me["nick"]), (OK, &Value::Null));
    events.expect(&["GUILD_MEMBER_UPDATE"]);
    let (status, nick) = g
        .patch("/members/@me/nick", &target, json!({"nick": "Again"}))
        .await;
    assert_eq!((status, nick), (OK, json!({"nick": "Again"})));
    events.expect(&["GUILD_MEMBER_UPDATE"]);
    let path = format!("/roles/{}", g.id);
    assert_eq!(
        g.patch(&path, &owner, json!({"permissions": "0"})).await.0,
        OK
    );
    events.drain();
    g.no(
        PATCH,
        "/members/@me",
        &target,
        json!({"nick": "Nope"}),
        50013,
    )
    .await;
    // Not an image: refused, naming the field.
    let avatar = json!({"avatar": "data:image/png;base64,AAAA"});
    let (status, body) = g.patch("/members/@me", &target, avatar).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_code(&body, &["avatar"]), Some("IMAGE_INVALID"));
    events.expect(&[]);
    s.stop().await;
}

async fn kicks_and_member_roles(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let alice = s.register("alice", "correct horse").await;
    let bob = s.register("bob", "correct horse").await;
    let carol = s.register("carol", "correct horse").await;
    let g = G::new(&s, &owner).await;
    for t in [&alice, &bob, &carol] {
        s.join(&g.id, t).await;
    }
    let (owner_id, alice_id) = (s.user_id(&owner).await, s.user_id(&alice).await);
    let (bob_id, carol_id) = (s.user_id(&bob).await, s.user_id(&carol).await);
    let kickers = g.role(&owner, "kickers", KICK).await;
    let mut events = Events::new(&s);
    let member = |user: &str| format!("/members/{user}");

    // Without KICK_MEMBERS: refused, nothing happens.
    g.no(DELETE, &member(&bob_id), &alice, Value::Null, 50013)
        .await;
    events.expect(&[]);

    // Giving the role takes effect at once.
    let alice_kickers = format!("/members/{alice_id}/roles/{kickers}");
    assert_eq!(g.status(PUT, &alice_kickers, &owner).await, NO_CONTENT);
    let got = events.expect(&["GUILD_MEMBER_UPDATE"]);
    assert_eq!(got[0].1, Audience::Guild(g.guild()));
    assert_eq!(got[0].2["roles"], json!([kickers]));
    assert_eq!(g.status(PUT, &alice_kickers, &owner).await, NO_CONTENT);
    events.expect(&[]);
    assert_eq!(g.status(DELETE, &member(&bob_id), &alice).await, NO_CONTENT);
    let got = events.expect(&["GUILD_MEMBER_REMOVE", "GUILD_DELETE"]);
    assert_eq!(
        got[0].2,
        json!({"guild_id": g.id, "user": got[0].2["user"]})
    );
    assert_eq!(got[0].2["user"]["id"], bob_id.as_str());
    assert_eq!(got[1].1, Audience::Users(vec![bob_id.parse().unwrap()]));
    g.no(DELETE, &member(&bob_id), &alice, Value::Null, 10007)
        .await;

    // Never the owner, an equal, or oneself.
    let carol_kickers = format!("/members/{carol_id}/roles/{kickers}");
    assert_eq!(g.status(PUT, &carol_kickers, &owner).await, NO_CONTENT);
    events.drain();
    for who in [&owner_id, &carol_id, &alice_id] {
        g.no(DELETE, &member(who), &alice, Value::Null, 50013).await;
    }
    events.expect(&[]);

    // Member roles: MANAGE_ROLES, the role below the caller, never managed or @everyone.
    g.no(DELETE, &carol_kickers, &alice, Value::Null, 50013)
        .await;
    let bot_role = g.managed_role(&carol_id).await.to_string();
    for (method, id, code) in [
        (PUT, &bot_role, 50028),
        (DELETE, &bot_role, 50028),
        (PUT, &g.id, 50028),
        (PUT, &"1".to_owned(), 10011),
    ] {
        let path = format!("/members/{carol_id}/roles/{id}");
        g.no(method, &path, &owner, Value::Null, code).await;
    }
    let path = format!("/members/1/roles/{kickers}");
    g.no(PUT, &path, &owner, Value::Null, 10007).await;
    events.expect(&[]);
    assert_eq!(g.status(DELETE, &carol_kickers, &owner).await, NO_CONTENT);
    let got = events.expect(&["GUILD_MEMBER_UPDATE"]);
    assert_eq!(got[0].2["roles"], json!([]));
    // Carol now ranks below Alice, who may kick her.
    assert_eq!(
        g.status(DELETE, &member(&carol_id), &alice).await,
        NO_CONTENT
    );
    events.expect(&["GUILD_MEMBER_REMOVE", "GUILD_DELETE"]);
    s.stop().await;
}

both_backends!(list_search_get, modify, kicks_and_member_roles);
