//! Guild routes: create, get, modify, delete, preview, the caller's guilds, leaving — with their
//! permission checks and exact events, on both backends.

mod common;

use accord_bus::Audience;
use accord_model::Rights;
use common::{Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn create_and_read(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let owner_id = s.user_id(&owner).await;
    let mut events = Events::new(&s);
    let guild = s.guild(&owner, "Lounge").await;
    let gid = id_of(&guild);
    assert_eq!(guild["name"], "Lounge");
    assert_eq!(guild["owner_id"], owner_id.as_str());
    let roles = guild["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(
        roles[0]["id"],
        gid.as_str(),
        "@everyone shares the guild's id"
    );
    assert_eq!(roles[0]["name"], "@everyone");
    assert!(roles[0]["permissions"].is_string());

    let got = events.expect(&["GUILD_CREATE"]);
    let (_, audience, create) = &got[0];
    assert_eq!(*audience, Audience::Users(vec![owner_id.parse().unwrap()]));
    assert_eq!(create["id"], gid.as_str());
    assert_eq!(create["member_count"], 1);
    assert_eq!(create["large"], false);
    assert!(create["joined_at"].is_string());
    assert_eq!(create["members"][0]["user"]["id"], owner_id.as_str());
    let channels = create["channels"].as_array().unwrap();
    let kinds: Vec<u64> = channels
        .iter()
        .map(|c| c["type"].as_u64().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == 4).count(),
        2,
        "two categories: {kinds:?}"
    );
    let text = channels
        .iter()
        .find(|c| c["type"] == 0)
        .expect("a text channel");
    let voice = channels
        .iter()
        .find(|c| c["type"] == 2)
        .expect("a voice channel");
    assert_eq!(text["name"], "general");
    assert!(text["parent_id"].is_string());
    assert_eq!(voice["bitrate"], 64000);
    assert_eq!(voice["user_limit"], 0);
    assert_eq!(create["system_channel_id"], text["id"]);

    let (status, fetched) = s
        .call(
            Method::GET,
            &format!("/guilds/{gid}?with_counts=true"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["approximate_member_count"], 1);
    let (_, mine) = s
        .call(Method::GET, "/users/@me/guilds", Some(&owner), None)
        .await;
    assert_eq!(mine[0]["id"], gid.as_str());
    assert_eq!(mine[0]["owner"], true);
    let (_, member) = s
        .call(
            Method::GET,
            &format!("/users/@me/guilds/{gid}/member"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(member["user"]["id"], owner_id.as_str());
    let (status, preview) = s
        .call(
            Method::GET,
            &format!("/guilds/{gid}/preview"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(
        (status, preview["approximate_member_count"].as_i64()),
        (StatusCode::OK, Some(1))
    );

    // Outsiders: no access, no preview; unknown ids are 10004.
    let outsider = s.register("outsider", "correct horse").await;
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/guilds/{gid}"),
            Some(&outsider),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50001))
    );
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/guilds/{gid}/preview"),
            Some(&outsider),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10004))
    );
    for path in ["/guilds/1", "/guilds/nope"] {
        let (status, body) = s.call(Method::GET, path, Some(&outsider), None).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (StatusCode::NOT_FOUND, Some(10004)),
            "{path}"
        );
    }
    let (_, list) = s
        .call(Method::GET, "/users/@me/guilds", Some(&outsider), None)
        .await;
    assert_eq!(list, json!([]));
    s.stop().await;
}

async fn create_refusals_change_nothing(backend: &str) {
    let s = Server::start_with(backend, |c| c.limits.guilds_per_user = 1).await;
    let owner = s.register("owner", "correct horse").await;
    let mut events = Events::new(&s);
    let (status, body) = s
        .call(
            Method::POST,
            "/guilds",
            Some(&owner),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_code(&body, &["name"]), Some("BASE_TYPE_BAD_LENGTH"));
    let (_, body) = s
        .call(
            Method::POST,
            "/guilds",
            Some(&owner),
            Some(json!({"name": "ok name", "verification_level": 9})),
        )
        .await;
    assert_eq!(
        field_code(&body, &["verification_level"]),
        Some("BASE_TYPE_CHOICES")
    );
    let (_, body) = s
        .call(
            Method::POST,
            "/guilds",
            Some(&owner),
            Some(json!({"name": "ok name", "channels": [{"name": "a", "type": 99}]})),
        )
        .await;
    assert_eq!(
        field_code(&body, &["channels", "0", "type"]),
        Some("BASE_TYPE_CHOICES")
    );
    events.expect(&[]);
    s.guild(&owner, "first").await;
    events.drain();
    let (status, body) = s
        .call(
            Method::POST,
            "/guilds",
            Some(&owner),
            Some(json!({"name": "second"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(30001))
    );
    assert_eq!(body["message"], "Maximum number of guilds reached (1)");
    events.expect(&[]);

    let (_, bot) = s.bot(&owner, "Bot").await;
    let (status, body) = s
        .call(
            Method::POST,
            "/guilds",
            Some(&format!("Bot {bot}")),
            Some(json!({"name": "bots"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(20001))
    );
    let limited = s.register("limited", "correct horse").await;
    let id = s.user_id(&limited).await.parse().unwrap();
    s.state
        .store
        .set_rights(id, s.state.config.default_rights() & !Rights::CREATE_GUILDS)
        .await
        .unwrap();
    let (status, body) = s
        .call(
            Method::POST,
            "/guilds",
            Some(&limited),
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50013))
    );
    events.expect(&[]);
    assert_eq!(
        s.call(Method::GET, "/users/@me/guilds", Some(&limited), None)
            .await
            .1,
        json!([])
    );
    s.stop().await;
}

async fn modify_transfer_delete(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let member_id = s.user_id(&member).await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    s.join(&gid, &member).await;
    let mut events = Events::new(&s);

    // A member without MANAGE_GUILD can change nothing.
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{gid}"),
            Some(&member),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50013))
    );
    events.expect(&[]);
    let (status, guild) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{gid}"),
            Some(&owner),
            Some(json!({"name": "Salon", "description": "hi", "afk_timeout": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{guild}");
    assert_eq!(
        (guild["name"].as_str(), guild["afk_timeout"].as_u64()),
        (Some("Salon"), Some(60))
    );
    let got = events.expect(&["GUILD_UPDATE"]);
    assert_eq!(got[0].1, Audience::Guild(gid.parse().unwrap()));
    assert_eq!(got[0].2["name"], "Salon");
    let (_, body) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{gid}"),
            Some(&owner),
            Some(json!({"afk_timeout": 61})),
        )
        .await;
    assert_eq!(
        field_code(&body, &["afk_timeout"]),
        Some("BASE_TYPE_CHOICES")
    );
    let (_, body) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{gid}"),
            Some(&owner),
            Some(json!({"system_channel_id": "1"})),
        )
        .await;
    assert_eq!(
        field_code(&body, &["system_channel_id"]),
        Some("CHANNEL_INVALID")
    );
    events.expect(&[]);

    // Only the owner deletes; the owner cannot leave; a member can.
    let (status, body) = s
        .call(
            Method::DELETE,
            &format!("/guilds/{gid}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50013))
    );
    let (status, body) = s
        .call(
            Method::DELETE,
            &format!("/users/@me/guilds/{gid}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50055))
    );
    events.expect(&[]);

    // Ownership transfer: owner only, to a member.
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{gid}"),
            Some(&owner),
            Some(json!({"owner_id": "12345"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, guild) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{gid}"),
            Some(&owner),
            Some(json!({"owner_id": member_id})),
        )
        .await;
    assert_eq!(
        (status, guild["owner_id"].as_str()),
        (StatusCode::OK, Some(member_id.as_str()))
    );
    events.expect(&["GUILD_UPDATE"]);
    // The former owner is now a plain member and may leave.
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/users/@me/guilds/{gid}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = events.expect(&["GUILD_MEMBER_REMOVE", "GUILD_DELETE"]);
    assert_eq!(got[0].2["guild_id"], gid.as_str());
    assert!(matches!(&got[1].1, Audience::Users(u) if u.len() == 1));
    let (status, _) = s
        .call(Method::GET, &format!("/guilds/{gid}"), Some(&owner), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/guilds/{gid}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = events.expect(&["GUILD_DELETE"]);
    assert_eq!(got[0].2, json!({"id": gid}));
    let (status, body) = s
        .call(Method::GET, &format!("/guilds/{gid}"), Some(&member), None)
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10004))
    );
    s.stop().await;
}

both_backends!(
    create_and_read,
    create_refusals_change_nothing,
    modify_transfer_delete
);
