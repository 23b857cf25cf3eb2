//! The permission matrix: every guild route that needs a permission, walked by a member without
//! it (refused with 50013, nothing emitted) and then with it, granted through a role (succeeds).

mod common;

use common::{Events, Server, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Ids a case's request may refer to.
struct Fixture {
    guild: String,
    channel: String,
    /// A role below the acting member's granted role, held by `target`.
    role: String,
    /// A member below the actor.
    target: String,
    invite: String,
    application: String,
}

type Request = fn(&Fixture) -> (Method, String, Option<Value>);

/// (name, permission bits the route needs, the request).
fn cases() -> Vec<(&'static str, u64, Request)> {
    const MANAGE_GUILD: u64 = 1 << 5;
    const MANAGE_CHANNELS: u64 = 1 << 4;
    const MANAGE_ROLES: u64 = 1 << 28;
    const KICK: u64 = 1 << 1;
    const BAN: u64 = 1 << 2;
    const INVITE: u64 = 1 << 0;
    const SEND: u64 = 1 << 11;
    const NICKS: u64 = 1 << 27;
    const CHANGE_NICK: u64 = 1 << 26;
    const MUTE: u64 = 1 << 22;
    const DEAFEN: u64 = 1 << 23;
    const MODERATE: u64 = 1 << 40;
    vec![
        ("modify guild", MANAGE_GUILD, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}", f.guild),
                Some(json!({"name": "Renamed"})),
            )
        }),
        ("create channel", MANAGE_CHANNELS, |f| {
            (
                Method::POST,
                format!("/guilds/{}/channels", f.guild),
                Some(json!({"name": "new-channel"})),
            )
        }),
        ("channel positions", MANAGE_CHANNELS, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}/channels", f.guild),
                Some(json!([{"id": f.channel, "position": 3}])),
            )
        }),
        ("modify channel", MANAGE_CHANNELS, |f| {
            (
                Method::PATCH,
                format!("/channels/{}", f.channel),
                Some(json!({"name": "renamed"})),
            )
        }),
        ("delete channel", MANAGE_CHANNELS, |f| {
            (Method::DELETE, format!("/channels/{}", f.channel), None)
        }),
        ("put overwrite", MANAGE_ROLES, |f| {
            (
                Method::PUT,
                format!("/channels/{}/permissions/{}", f.channel, f.role),
                Some(json!({"type": 0, "allow": "1024", "deny": "0"})),
            )
        }),
        ("delete overwrite", MANAGE_ROLES, |f| {
            (
                Method::DELETE,
                format!("/channels/{}/permissions/{}", f.channel, f.role),
                None,
            )
        }),
        ("typing", SEND, |f| {
            (
                Method::POST,
                format!("/channels/{}/typing", f.channel),
                None,
            )
        }),
        ("create role", MANAGE_ROLES, |f| {
            (
                Method::POST,
                format!("/guilds/{}/roles", f.guild),
                Some(json!({"name": "fresh"})),
            )
        }),
        ("role positions", MANAGE_ROLES, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}/roles", f.guild),
                Some(json!([{"id": f.role, "position": 1}])),
            )
        }),
        ("modify role", MANAGE_ROLES, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}/roles/{}", f.guild, f.role),
                Some(json!({"name": "edited"})),
            )
        }),
        ("delete role", MANAGE_ROLES, |f| {
            (
                Method::DELETE,
                format!("/guilds/{}/roles/{}", f.guild, f.role),
                None,
            )
        }),
        ("set nickname", NICKS, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}/members/{}", f.guild, f.target),
                Some(json!({"nick": "Renamed"})),
            )
        }),
        ("set member roles", MANAGE_ROLES, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}/members/{}", f.guild, f.target),
                Some(json!({"roles": []})),
            )
        }),
        ("mute", MUTE, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}/members/{}", f.guild, f.target),
                Some(json!({"mute": true})),
            )
        }),
        ("deafen", DEAFEN, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}/members/{}", f.guild, f.target),
                Some(json!({"deaf": true})),
            )
        }),
        ("timeout", MODERATE, |f| {
            let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
            (
                Method::PATCH,
                format!("/guilds/{}/members/{}", f.guild, f.target),
                Some(json!({"communication_disabled_until": until})),
            )
        }),
        ("own nickname", CHANGE_NICK, |f| {
            (
                Method::PATCH,
                format!("/guilds/{}/members/@me", f.guild),
                Some(json!({"nick": "Me"})),
            )
        }),
        ("kick", KICK, |f| {
            (
                Method::DELETE,
                format!("/guilds/{}/members/{}", f.guild, f.target),
                None,
            )
        }),
        ("add member role", MANAGE_ROLES, |f| {
            (
                Method::PUT,
                format!("/guilds/{}/members/{}/roles/{}", f.guild, f.target, f.role),
                None,
            )
        }),
        ("remove member role", MANAGE_ROLES, |f| {
            (
                Method::DELETE,
                format!("/guilds/{}/members/{}/roles/{}", f.guild, f.target, f.role),
                None,
            )
        }),
        ("list bans", BAN, |f| {
            (Method::GET, format!("/guilds/{}/bans", f.guild), None)
        }),
        ("ban", BAN, |f| {
            (
                Method::PUT,
                format!("/guilds/{}/bans/{}", f.guild, f.target),
                Some(json!({})),
            )
        }),
        ("bulk ban", BAN | MANAGE_GUILD, |f| {
            (
                Method::POST,
                format!("/guilds/{}/bulk-ban", f.guild),
                Some(json!({"user_ids": [f.target]})),
            )
        }),
        ("create invite", INVITE, |f| {
            (
                Method::POST,
                format!("/channels/{}/invites", f.channel),
                Some(json!({})),
            )
        }),
        ("channel invites", MANAGE_CHANNELS, |f| {
            (
                Method::GET,
                format!("/channels/{}/invites", f.channel),
                None,
            )
        }),
        ("guild invites", MANAGE_GUILD, |f| {
            (Method::GET, format!("/guilds/{}/invites", f.guild), None)
        }),
        ("delete invite", MANAGE_CHANNELS, |f| {
            (Method::DELETE, format!("/invites/{}", f.invite), None)
        }),
        ("add a bot", MANAGE_GUILD, |f| {
            (
                Method::POST,
                format!(
                    "/oauth2/authorize?client_id={}&scope=bot&permissions=0",
                    f.application
                ),
                Some(json!({"guild_id": f.guild, "permissions": "0", "authorize": true})),
            )
        }),
    ]
}

async fn ok(s: &Server, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, resp) = s.call(method.clone(), path, Some(token), body).await;
    assert!(status.is_success(), "{method} {path}: {status} {resp}");
    resp
}

/// A guild where @everyone may only view, `actor` and `target` are members, `actor` will get a
/// role with `permission` above `target`'s role. Returns the fixture and the actor's role id.
async fn fixture(
    s: &Server,
    owner: &str,
    actor: &str,
    target: &str,
    permission: u64,
    app: &str,
) -> (Fixture, String) {
    let guild = id_of(&s.guild(owner, "Matrix").await);
    // @everyone: VIEW_CHANNEL and READ_MESSAGE_HISTORY only.
    let view = (1u64 << 10) | (1 << 16);
    ok(
        s,
        owner,
        Method::PATCH,
        &format!("/guilds/{guild}/roles/{guild}"),
        Some(json!({"permissions": view.to_string()})),
    )
    .await;
    s.join(&guild, actor).await;
    s.join(&guild, target).await;
    let granted = ok(
        s,
        owner,
        Method::POST,
        &format!("/guilds/{guild}/roles"),
        Some(json!({"name": "granted", "permissions": permission.to_string()})),
    )
    .await;
    let role = ok(
        s,
        owner,
        Method::POST,
        &format!("/guilds/{guild}/roles"),
        Some(json!({"name": "lower"})),
    )
    .await;
    let (granted, role) = (id_of(&granted), id_of(&role));
    let target_id = s.user_id(target).await;
    ok(
        s,
        owner,
        Method::PUT,
        &format!("/guilds/{guild}/members/{target_id}/roles/{role}"),
        None,
    )
    .await;
    let (_, g) = s
        .call(Method::GET, &format!("/guilds/{guild}"), Some(owner), None)
        .await;
    let channel = g["system_channel_id"]
        .as_str()
        .expect("system channel")
        .to_owned();
    ok(
        s,
        owner,
        Method::PUT,
        &format!("/channels/{channel}/permissions/{role}"),
        Some(json!({"type": 0, "allow": "0", "deny": "0"})),
    )
    .await;
    let invite = ok(
        s,
        owner,
        Method::POST,
        &format!("/channels/{channel}/invites"),
        Some(json!({})),
    )
    .await;
    let fixture = Fixture {
        guild,
        channel,
        role,
        target: target_id,
        invite: invite["code"].as_str().expect("code").to_owned(),
        application: app.to_owned(),
    };
    (fixture, granted)
}

async fn every_route_needs_its_permission(backend: &str) {
    let s = Server::start_with(backend, |c| c.limits.guilds_per_user = 1000).await;
    let owner = s.register("owner", "correct horse").await;
    let actor = s.register("actor", "correct horse").await;
    let target = s.register("target", "correct horse").await;
    let actor_id = s.user_id(&actor).await;
    let (app, _) = s.bot(&owner, "Matrix Bot").await;
    // The application must be public for a non-owner to add its bot.
    for (name, permission, request) in cases() {
        let (f, granted) = fixture(&s, &owner, &actor, &target, permission, &app).await;
        let mut events = Events::new(&s);
        let (method, path, body) = request(&f);
        let (status, resp) = s
            .call(method.clone(), &path, Some(&actor), body.clone())
            .await;
        assert_eq!(
            (status, resp["code"].as_u64()),
            (StatusCode::FORBIDDEN, Some(50013)),
            "{name} without the permission: {resp}"
        );
        assert_eq!(
            events.names(),
            Vec::<String>::new(),
            "{name}: a refused request emits nothing"
        );

        ok(
            &s,
            &owner,
            Method::PUT,
            &format!("/guilds/{}/members/{actor_id}/roles/{granted}", f.guild),
            None,
        )
        .await;
        events.drain();
        let (status, resp) = s.call(method.clone(), &path, Some(&actor), body).await;
        assert!(
            status.is_success(),
            "{name} with the permission: {method} {path} → {status} {resp}"
        );
    }
    s.stop().await;
}

both_backends!(every_route_needs_its_permission);
