//! Role routes: list, get, create, reorder, modify, delete — with MANAGE_ROLES, the hierarchy,
//! the permission-grant rule, managed roles, the role limit and their exact events, on both
//! backends.

mod common;

use accord_bus::Audience;
use accord_model::{GuildId, RoleId, UserId};
use accord_store::NewRole;
use common::{Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const KICK: u64 = 1 << 1;
const ADMINISTRATOR: u64 = 1 << 3;
const MANAGE_ROLES: u64 = 1 << 28;
const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;
const OK: StatusCode = StatusCode::OK;
const NO_CONTENT: StatusCode = StatusCode::NO_CONTENT;

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
    /// Asserts that the call is refused with the JSON `code` (and the status that goes with it).
    async fn no(&self, m: Method, path: &str, token: &str, body: Value, code: u64) -> Value {
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
        got
    }
    /// Creates a role and returns it.
    async fn create(&self, token: &str, body: Value) -> Value {
        let (status, role) = self.call(POST, "/roles", token, body).await;
        assert_eq!(status, OK, "{role}");
        role
    }
    async fn give(&self, token: &str, user: &str, role: &str) {
        let path = format!("/members/{user}/roles/{role}");
        let (status, body) = self.call(Method::PUT, &path, token, Value::Null).await;
        assert_eq!(status, NO_CONTENT, "{body}");
    }
    async fn roles(&self, token: &str) -> Vec<Value> {
        let (status, roles) = self.call(GET, "/roles", token, Value::Null).await;
        assert_eq!(status, OK, "{roles}");
        roles.as_array().unwrap().clone()
    }
}

/// The positions of the roles `ids` in a role list.
fn positions(roles: &[Value], ids: &[&str]) -> Vec<i64> {
    let position = |id: &&str| {
        let role = roles.iter().find(|r| r["id"] == *id);
        role.unwrap_or_else(|| panic!("no role {id}"))["position"]
            .as_i64()
            .unwrap()
    };
    ids.iter().map(position).collect()
}

async fn create_modify_delete(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let g = G::new(&s, &owner).await;
    let gid = g.id.clone();
    let mut events = Events::new(&s);

    let roles = g.roles(&owner).await;
    assert_eq!(roles.len(), 1);
    let created = g.create(&owner, json!({})).await;
    assert_eq!(
        (&created["name"], &created["position"]),
        (&json!("new role"), &json!(1))
    );
    assert_eq!(
        created["permissions"], roles[0]["permissions"],
        "@everyone's by default"
    );
    assert_eq!(
        (&created["color"], &created["managed"]),
        (&json!(0), &json!(false))
    );
    let got = events.expect(&["GUILD_ROLE_CREATE"]);
    assert_eq!(got[0].1, Audience::Guild(g.guild()));
    assert_eq!(got[0].2, json!({"guild_id": gid, "role": created}));
    let first = id_of(&created);

    // A new role goes just above @everyone; the others move up.
    let body = json!({"name": "mods", "permissions": KICK.to_string(), "color": 0xff0000,
                      "hoist": true, "mentionable": true, "unicode_emoji": "🛡️"});
    let mods = g.create(&owner, body).await;
    assert_eq!(
        (&mods["position"], &mods["permissions"]),
        (&json!(1), &json!(KICK.to_string()))
    );
    assert_eq!(
        (&mods["color"], &mods["colors"]["primary_color"]),
        (&json!(0xff0000), &json!(0xff0000))
    );
    assert_eq!(
        (&mods["hoist"], &mods["unicode_emoji"]),
        (&json!(true), &json!("🛡️"))
    );
    let got = events.expect(&["GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE"]);
    let moved = &got[1].2["role"];
    assert_eq!(
        (&moved["id"], &moved["position"]),
        (&json!(first), &json!(2))
    );
    let mods_id = id_of(&mods);
    let path = format!("/roles/{mods_id}");
    assert_eq!(g.call(GET, &path, &owner, Value::Null).await, (OK, mods));

    let body =
        json!({"name": "moderators", "colors": {"primary_color": 255}, "unicode_emoji": null});
    let (status, updated) = g.call(PATCH, &path, &owner, body).await;
    assert_eq!(status, OK, "{updated}");
    assert_eq!(
        (&updated["name"], &updated["color"]),
        (&json!("moderators"), &json!(255))
    );
    assert_eq!(updated["unicode_emoji"], Value::Null);
    assert_eq!(updated["hoist"], true, "absent fields stay");
    let got = events.expect(&["GUILD_ROLE_UPDATE"]);
    assert_eq!(got[0].2, json!({"guild_id": gid, "role": updated}));

    // @everyone: permissions yes, name no.
    let everyone = format!("/roles/{gid}");
    let (status, role) = g
        .call(PATCH, &everyone, &owner, json!({"permissions": "1024"}))
        .await;
    assert_eq!(
        (status, &role["permissions"]),
        (OK, &json!("1024")),
        "{role}"
    );
    events.expect(&["GUILD_ROLE_UPDATE"]);
    let body = g
        .no(
            PATCH,
            &everyone,
            &owner,
            json!({"name": "everybody"}),
            50035,
        )
        .await;
    assert!(field_code(&body, &["name"]).is_some(), "{body}");

    // Bad bodies change nothing.
    for bad in [
        json!({"color": 0x1000000}),
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"colors": {"primary_color": 1, "secondary_color": 2}}),
    ] {
        g.no(POST, "/roles", &owner, bad, 50035).await;
    }
    let icon = json!({"icon": "data:image/png;base64,AAAA"});
    let body = g.no(POST, "/roles", &owner, icon, 50035).await;
    assert_eq!(field_code(&body, &["icon"]), Some("IMAGE_INVALID"));
    events.expect(&[]);
    assert_eq!(g.roles(&owner).await.len(), 3);

    // Delete; @everyone cannot be.
    assert_eq!(
        g.call(DELETE, &path, &owner, Value::Null).await.0,
        NO_CONTENT
    );
    let got = events.expect(&["GUILD_ROLE_DELETE"]);
    assert_eq!(got[0].1, Audience::Guild(g.guild()));
    assert_eq!(got[0].2, json!({"guild_id": gid, "role_id": mods_id}));
    g.no(DELETE, &everyone, &owner, Value::Null, 50028).await;
    // Unknown roles are 10011 everywhere.
    for method in [GET, PATCH, DELETE] {
        for id in [mods_id.as_str(), "1", "nope"] {
            let path = format!("/roles/{id}");
            g.no(method.clone(), &path, &owner, json!({}), 10011).await;
        }
    }
    // Outsiders see nothing.
    let outsider = s.register("outsider", "correct horse").await;
    g.no(GET, "/roles", &outsider, Value::Null, 50001).await;
    events.expect(&[]);
    s.stop().await;
}

async fn permission_and_hierarchy_refusals(backend: &str) {
    let s = Server::start_with(backend, |c| c.limits.roles_per_guild = 5).await;
    let owner = s.register("owner", "correct horse").await;
    let manager = s.register("manager", "correct horse").await;
    let plain = s.register("plain", "correct horse").await;
    let g = G::new(&s, &owner).await;
    s.join(&g.id, &manager).await;
    s.join(&g.id, &plain).await;
    let manager_id = s.user_id(&manager).await;
    let top = id_of(&g.create(&owner, json!({"name": "top"})).await);
    let perms = (MANAGE_ROLES | KICK).to_string();
    let managers = g
        .create(&owner, json!({"name": "managers", "permissions": perms}))
        .await;
    let managers_id = id_of(&managers);
    g.give(&owner, &manager_id, &managers_id).await;
    // top at 2, managers at 1: the manager manages only roles below position 1.
    let mut events = Events::new(&s);

    g.no(POST, "/roles", &plain, json!({"name": "mine"}), 50013)
        .await;
    // Nobody grants what they lack.
    let admins = json!({"name": "admins", "permissions": ADMINISTRATOR.to_string()});
    g.no(POST, "/roles", &manager, admins, 50013).await;
    events.expect(&[]);
    // What they hold, they may grant; the new role sits at 1, below theirs (now 2).
    let body = json!({"name": "helpers", "permissions": KICK.to_string()});
    let helpers = format!("/roles/{}", id_of(&g.create(&manager, body).await));
    events.drain();
    let grant = json!({"permissions": (KICK | ADMINISTRATOR).to_string()});
    g.no(PATCH, &helpers, &manager, grant, 50013).await;
    // Their own role and the one above are out of reach.
    for id in [&managers_id, &top] {
        let path = format!("/roles/{id}");
        g.no(PATCH, &path, &manager, json!({"name": "renamed"}), 50013)
            .await;
        g.no(DELETE, &path, &manager, Value::Null, 50013).await;
    }
    events.expect(&[]);
    let (status, _) = g
        .call(PATCH, &helpers, &manager, json!({"name": "helpers!"}))
        .await;
    assert_eq!(status, OK);
    events.expect(&["GUILD_ROLE_UPDATE"]);

    // Managed roles cannot be deleted, even by the owner.
    let bot_role: RoleId = s.state.ids.next();
    let (_, bot_token) = s.bot(&owner, "Helper").await;
    let bot_id: UserId = s
        .user_id(&format!("Bot {bot_token}"))
        .await
        .parse()
        .unwrap();
    let mut new = NewRole::new(bot_role, g.guild(), "Helper");
    new.managed = true;
    new.bot_id = Some(bot_id);
    s.state.store.insert_role(&new).await.unwrap();
    // Written past the API (no dispatch): drop cached standings as a dispatch would.
    s.state.permissions.invalidate_all();
    let path = format!("/roles/{bot_role}");
    let (_, fetched) = g.call(GET, &path, &owner, Value::Null).await;
    assert_eq!(fetched["managed"], true);
    assert_eq!(fetched["tags"], json!({"bot_id": bot_id.to_string()}));
    g.no(DELETE, &path, &owner, Value::Null, 50028).await;

    // The limit counts every role, @everyone included: 5 now.
    let body = g
        .no(POST, "/roles", &owner, json!({"name": "one more"}), 30005)
        .await;
    assert_eq!(body["message"], "Maximum number of guild roles reached (5)");
    events.expect(&[]);
    assert_eq!(g.roles(&owner).await.len(), 5);
    s.stop().await;
}

async fn reorder(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let manager = s.register("manager", "correct horse").await;
    let g = G::new(&s, &owner).await;
    s.join(&g.id, &manager).await;
    let manager_id = s.user_id(&manager).await;
    let a = id_of(&g.create(&owner, json!({"name": "a"})).await);
    let b = id_of(&g.create(&owner, json!({"name": "b"})).await);
    let c = id_of(&g.create(&owner, json!({"name": "c"})).await);
    let (a, b, c, gid) = (a.as_str(), b.as_str(), c.as_str(), g.id.as_str());
    // c 1, b 2, a 3.
    let mut events = Events::new(&s);
    let (status, roles) = g
        .call(PATCH, "/roles", &owner, json!([{"id": c, "position": 3}]))
        .await;
    assert_eq!(status, OK, "{roles}");
    let roles = roles.as_array().unwrap();
    assert_eq!(positions(roles, &[gid, b, a, c]), [0, 1, 2, 3]);
    let got = events.expect(&["GUILD_ROLE_UPDATE"; 3]);
    let moved: Vec<(&Value, &Value)> = got
        .iter()
        .map(|(_, _, p)| (&p["role"]["id"], &p["role"]["position"]))
        .collect();
    assert_eq!(
        moved,
        [
            (&json!(b), &json!(1)),
            (&json!(a), &json!(2)),
            (&json!(c), &json!(3))
        ]
    );
    // Asking for the current order changes nothing and says nothing.
    let same = json!([{"id": b, "position": 1}, {"id": gid, "position": 0}]);
    assert_eq!(g.call(PATCH, "/roles", &owner, same).await.0, OK);
    events.expect(&[]);

    // The manager holds a (2) with MANAGE_ROLES: only b (1) is below it.
    let path = format!("/roles/{a}");
    let grant = json!({"permissions": MANAGE_ROLES.to_string()});
    assert_eq!(g.call(PATCH, &path, &owner, grant).await.0, OK);
    g.give(&owner, &manager_id, a).await;
    let (status, counts) = g
        .call(GET, "/roles/member-counts", &manager, Value::Null)
        .await;
    assert_eq!((status, counts), (OK, json!({a: 1, b: 0, c: 0})));
    events.drain();
    for (id, position) in [(c, 1), (a, 1), (b, 2), (b, 3)] {
        let body = json!([{"id": id, "position": position}]);
        g.no(PATCH, "/roles", &manager, body, 50013).await;
    }
    for (bad, path) in [
        (json!([{"id": gid, "position": 1}]), ["0", "position"]),
        (json!([{"id": "1", "position": 1}]), ["0", "id"]),
        (json!([{"id": b, "position": 0}]), ["0", "position"]),
    ] {
        let body = g.no(PATCH, "/roles", &owner, bad, 50035).await;
        assert!(field_code(&body, &path).is_some(), "{body}");
    }
    let same = json!([{"id": b, "position": 1}]);
    assert_eq!(g.call(PATCH, "/roles", &manager, same.clone()).await.0, OK);
    events.expect(&[]);
    assert_eq!(positions(&g.roles(&owner).await, &[b, a, c]), [1, 2, 3]);
    // Permissions follow at once: once a has no MANAGE_ROLES, the manager can reorder nothing.
    let path = format!("/roles/{a}");
    assert_eq!(
        g.call(PATCH, &path, &owner, json!({"permissions": "0"}))
            .await
            .0,
        OK
    );
    g.no(PATCH, "/roles", &manager, same, 50013).await;
    s.stop().await;
}

both_backends!(
    create_modify_delete,
    permission_and_hierarchy_refusals,
    reorder
);
