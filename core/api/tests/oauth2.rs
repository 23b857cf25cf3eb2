//! Adding a bot to a guild through `/oauth2/authorize`: the consent screen, the managed role and
//! membership with their exact events, and every refusal, on both backends.

mod common;

use accord_bus::Audience;
use accord_model::{GuildId, Permissions, RoleId, UserId};
use common::{Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Asserts Discord's JSON `code` and the HTTP status that goes with it.
fn assert_code(got: (StatusCode, Value), code: u64) {
    let status = match code {
        40001 => StatusCode::UNAUTHORIZED,
        10000..=10999 => StatusCode::NOT_FOUND,
        30000..=30999 | 50010 | 50024 | 50035 => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    assert_eq!(
        (got.0, got.1["code"].as_u64()),
        (status, Some(code)),
        "{}",
        got.1
    );
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// `/oauth2/authorize?client_id={app}&scope={scope}`.
fn url(app: &str, scope: &str) -> String {
    format!("/oauth2/authorize?client_id={app}&scope={scope}")
}

async fn authorize(s: &Server, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    s.call(Method::POST, path, Some(token), Some(body)).await
}

async fn role_count(s: &Server, gid: &str) -> usize {
    s.state
        .store
        .guild_roles(gid.parse().unwrap())
        .await
        .unwrap()
        .len()
}

async fn add_bot_through_authorize(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let owner_id = s.user_id(&owner).await;
    let dev = s.register("dev", "correct horse").await;
    let (app, bot_token) = s.bot(&dev, "Helper").await;
    let bot = format!("Bot {bot_token}");
    let bot_id = s.user_id(&bot).await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    let cid = s.text_channel(&gid).await;
    // A guild the owner is only a member of is not offered.
    let other = id_of(&s.guild(&dev, "Elsewhere").await);
    s.join(&other, &owner).await;

    let (status, consent) = s
        .call(Method::GET, &url(&app, "bot"), Some(&owner), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    assert_eq!(consent["application"]["id"], app.as_str());
    assert_eq!(consent["bot"]["id"], bot_id.as_str());
    assert_eq!(consent["user"]["id"], owner_id.as_str());
    let guilds = consent["guilds"].as_array().unwrap();
    assert_eq!(guilds.len(), 1, "{consent}");
    assert_eq!(keys(&guilds[0]), ["icon", "id", "name", "permissions"]);
    assert_eq!(guilds[0]["id"], gid.as_str());
    assert_eq!(guilds[0]["name"], "Lounge");
    assert!(guilds[0]["permissions"].is_string());

    let requested =
        Permissions::VIEW_CHANNEL | Permissions::MANAGE_CHANNELS | Permissions::SEND_MESSAGES;
    let mut events = Events::new(&s);
    let roles_before = role_count(&s, &gid).await;
    let (status, done) = authorize(
        &s,
        &owner,
        &format!("{}&permissions=0", url(&app, "bot%20applications.commands")),
        json!({"guild_id": gid, "permissions": requested.bits().to_string(), "authorize": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        done,
        json!({"location": format!("{}/oauth2/authorized", s.state.config.api_public_url())})
    );
    let got = events.expect(&["GUILD_ROLE_CREATE", "GUILD_MEMBER_ADD", "GUILD_CREATE"]);
    let guild: GuildId = gid.parse().unwrap();
    let bot_user: UserId = bot_id.parse().unwrap();
    let (_, audience, payload) = &got[0];
    assert_eq!(*audience, Audience::Guild(guild));
    assert_eq!(keys(payload), ["guild_id", "role"]);
    assert_eq!(payload["guild_id"], gid.as_str());
    let role = &payload["role"];
    let role_id = id_of(role);
    assert_eq!(role["name"], "Helper");
    assert_eq!(role["managed"], true);
    assert_eq!(role["position"], 1);
    assert_eq!(role["permissions"], requested.bits().to_string());
    assert_eq!(role["tags"]["bot_id"], bot_id.as_str());
    let (_, audience, payload) = &got[1];
    assert_eq!(*audience, Audience::Guild(guild));
    assert_eq!(payload["guild_id"], gid.as_str());
    assert_eq!(payload["user"]["id"], bot_id.as_str());
    assert_eq!(payload["user"]["bot"], true);
    assert_eq!(payload["roles"], json!([role_id]));
    let (_, audience, payload) = &got[2];
    assert_eq!(*audience, Audience::Users(vec![bot_user]));
    assert_eq!(payload["id"], gid.as_str());
    assert!(
        payload["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == role_id.as_str())
    );
    assert_eq!(role_count(&s, &gid).await, roles_before + 1);
    let member = s
        .state
        .store
        .member(guild, bot_user)
        .await
        .unwrap()
        .expect("the bot is a member");
    assert_eq!(
        member.role_ids(),
        vec![RoleId::from_i64(role_id.parse().unwrap())]
    );

    // The bot sees the guild with its token and holds the role's permissions.
    let (status, mine) = s
        .call(Method::GET, "/users/@me/guilds", Some(&bot), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], gid.as_str());
    let held: u64 = mine[0]["permissions"].as_str().unwrap().parse().unwrap();
    assert_eq!(held & requested.bits(), requested.bits());
    let (status, list) = s
        .call(
            Method::GET,
            &format!("/channels/{cid}/invites"),
            Some(&bot),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "MANAGE_CHANNELS from its role: {list}"
    );
    assert_code(
        s.call(
            Method::GET,
            &format!("/guilds/{gid}/invites"),
            Some(&bot),
            None,
        )
        .await,
        50013,
    );

    // Adding it again changes nothing.
    let (status, again) = authorize(
        &s,
        &owner,
        &url(&app, "bot"),
        json!({"guild_id": gid, "permissions": "8", "authorize": true}),
    )
    .await;
    assert_eq!((status, &again), (StatusCode::OK, &done));
    events.expect(&[]);
    assert_eq!(role_count(&s, &gid).await, roles_before + 1);
    s.stop().await;
}

async fn authorize_refusals_change_nothing(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let outsider = s.register("outsider", "correct horse").await;
    let dev = s.register("dev", "correct horse").await;
    let (app, bot_token) = s.bot(&dev, "Helper").await;
    let bot = format!("Bot {bot_token}");
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    s.join(&gid, &member).await;
    let body = json!({"guild_id": gid, "permissions": "0", "authorize": true});
    let mut events = Events::new(&s);
    let roles_before = role_count(&s, &gid).await;

    assert_code(
        authorize(&s, &bot, &url(&app, "bot"), body.clone()).await,
        20001,
    );
    assert_code(
        s.call(Method::GET, &url(&app, "bot"), Some(&bot), None)
            .await,
        20001,
    );
    assert_code(
        authorize(&s, &member, &url(&app, "bot"), body.clone()).await,
        50013,
    );
    assert_code(
        authorize(&s, &outsider, &url(&app, "bot"), body.clone()).await,
        50001,
    );
    for client in ["1", "nope"] {
        assert_code(
            authorize(&s, &owner, &url(client, "bot"), body.clone()).await,
            10002,
        );
    }
    let (status, botless) = s
        .call(
            Method::POST,
            "/applications",
            Some(&dev),
            Some(json!({"name": "No Bot"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_code(
        authorize(&s, &owner, &url(&id_of(&botless), "bot"), body.clone()).await,
        50010,
    );
    for (path, field) in [
        (url(&app, "identify"), "scope"),
        (format!("/oauth2/authorize?client_id={app}"), "scope"),
        ("/oauth2/authorize?scope=bot".to_owned(), "client_id"),
    ] {
        let (status, err) = authorize(&s, &owner, &path, body.clone()).await;
        assert_eq!(
            (status, &err["code"]),
            (StatusCode::BAD_REQUEST, &json!(50035)),
            "{path}"
        );
        assert!(field_code(&err, &[field]).is_some(), "{path}: {err}");
    }
    let (_, err) = authorize(&s, &owner, &url(&app, "bot"), json!({"authorize": true})).await;
    assert_eq!(field_code(&err, &["guild_id"]), Some("BASE_TYPE_REQUIRED"));
    assert_code(
        authorize(
            &s,
            &owner,
            &url(&app, "bot"),
            json!({"guild_id": "1", "authorize": true}),
        )
        .await,
        10004,
    );

    // Nobody grants more than they hold: a member with MANAGE_GUILD only cannot grant ADMINISTRATOR.
    let guild: GuildId = gid.parse().unwrap();
    let role_id: RoleId = s.state.ids.next();
    let mut managers = accord_store::NewRole::new(role_id, guild, "managers");
    managers.permissions = Permissions::MANAGE_GUILD;
    s.state.store.create_role(&managers).await.unwrap();
    // Written past the API (no dispatch): drop cached standings as a dispatch would.
    s.state.permissions.invalidate_all();
    let member_id: UserId = s.user_id(&member).await.parse().unwrap();
    s.state
        .store
        .add_member_role(guild, member_id, role_id)
        .await
        .unwrap();
    s.state.permissions.invalidate_guild(guild);
    let roles_before = roles_before + 1;
    assert_code(
        authorize(
            &s,
            &member,
            &url(&app, "bot"),
            json!({"guild_id": gid, "permissions": "8", "authorize": true}),
        )
        .await,
        50013,
    );

    // A declined authorization changes nothing.
    let (status, declined) = authorize(
        &s,
        &owner,
        &url(&app, "bot"),
        json!({"guild_id": gid, "authorize": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        declined["location"]
            .as_str()
            .unwrap()
            .ends_with("/oauth2/authorized?error=access_denied")
    );

    // A banned bot cannot be added.
    let bot_id: UserId = s.user_id(&bot).await.parse().unwrap();
    s.state
        .store
        .create_ban(guild, bot_id, None, None)
        .await
        .unwrap();
    assert_code(
        authorize(&s, &owner, &url(&app, "bot"), body.clone()).await,
        40007,
    );
    s.state.store.delete_ban(guild, bot_id).await.unwrap();

    // A private bot: only its owner may add it.
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/applications/{app}"),
            Some(&dev),
            Some(json!({"bot_public": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_code(
        authorize(&s, &owner, &url(&app, "bot"), body.clone()).await,
        50013,
    );
    assert_code(
        s.call(Method::GET, &url(&app, "bot"), Some(&owner), None)
            .await,
        50013,
    );
    events.expect(&[]);
    assert_eq!(role_count(&s, &gid).await, roles_before);
    assert!(s.state.store.member(guild, bot_id).await.unwrap().is_none());

    let own = id_of(&s.guild(&dev, "Workshop").await);
    events.drain();
    let (status, _) = authorize(
        &s,
        &dev,
        &url(&app, "bot"),
        json!({"guild_id": own, "permissions": "2048", "authorize": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    events.expect(&["GUILD_ROLE_CREATE", "GUILD_MEMBER_ADD", "GUILD_CREATE"]);
    s.stop().await;
}

async fn authorize_respects_limits(backend: &str) {
    let s = Server::start_with(backend, |c| c.limits.guilds_per_bot = 1).await;
    let owner = s.register("owner", "correct horse").await;
    let (app, _) = s.bot(&owner, "Helper").await;
    let first = id_of(&s.guild(&owner, "First").await);
    let second = id_of(&s.guild(&owner, "Second").await);
    let mut events = Events::new(&s);
    let (status, _) = authorize(
        &s,
        &owner,
        &url(&app, "bot"),
        json!({"guild_id": first, "authorize": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    events.expect(&["GUILD_ROLE_CREATE", "GUILD_MEMBER_ADD", "GUILD_CREATE"]);
    let roles_before = role_count(&s, &second).await;
    assert_code(
        authorize(
            &s,
            &owner,
            &url(&app, "bot"),
            json!({"guild_id": second, "authorize": true}),
        )
        .await,
        30001,
    );
    events.expect(&[]);
    assert_eq!(role_count(&s, &second).await, roles_before);
    s.stop().await;
}

both_backends!(
    add_bot_through_authorize,
    authorize_refusals_change_nothing,
    authorize_respects_limits
);
