//! Applications, bots, bot tokens and privileged-intent flags, on both backends.

mod common;

use accord_model::Rights;
use common::{Server, field_code};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn bot_lifecycle(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let (status, app) = s
        .call(
            Method::POST,
            "/applications",
            Some(&owner),
            Some(json!({"name": "Helper", "description": "helps"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let id = app["id"].as_str().unwrap().to_owned();
    for key in [
        "id",
        "name",
        "description",
        "icon",
        "bot_public",
        "bot_require_code_grant",
        "owner",
        "verify_key",
        "flags",
        "team",
    ] {
        assert!(app.get(key).is_some(), "application lacks {key}: {app}");
    }
    assert_eq!(
        app["verify_key"].as_str().unwrap().len(),
        64,
        "hex Ed25519 public key"
    );
    assert_eq!(app["owner"]["username"], "owner");
    assert!(app.get("bot").is_none());

    let (status, bot) = s
        .call(
            Method::POST,
            &format!("/applications/{id}/bot"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    assert_eq!(bot["bot"], true);
    assert_eq!(bot["username"], "Helper");
    assert_eq!(bot["discriminator"].as_str().unwrap().len(), 4);
    let bot_token = bot["token"].as_str().unwrap().to_owned();

    // The bot authenticates with the Bot prefix only.
    let (status, me) = s
        .call(
            Method::GET,
            "/users/@me",
            Some(&format!("Bot {bot_token}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], bot["id"]);
    assert_eq!(me["bot"], true);
    assert_eq!(
        s.call(Method::GET, "/users/@me", Some(&bot_token), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // What discord.py reads at login.
    for path in ["/oauth2/applications/@me", "/applications/@me"] {
        let (status, mine) = s
            .call(Method::GET, path, Some(&format!("Bot {bot_token}")), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(mine["id"], app["id"]);
        assert_eq!(mine["bot"]["id"], bot["id"]);
        assert_eq!(mine["owner"]["id"], app["owner"]["id"]);
        let (status, body) = s.call(Method::GET, path, Some(&owner), None).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (StatusCode::FORBIDDEN, Some(20002)),
            "{path} with a user token"
        );
    }
    // Bots may not create applications.
    let (status, body) = s
        .call(
            Method::POST,
            "/applications",
            Some(&format!("Bot {bot_token}")),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(20001))
    );

    // A second bot is refused and nothing changes.
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/applications/{id}/bot"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50035))
    );
    let users = s.user_count().await;

    // Reset: the old token stops working, the new one works.
    let (status, reset) = s
        .call(
            Method::POST,
            &format!("/applications/{id}/bot/reset"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_token = reset["token"].as_str().unwrap();
    assert_ne!(new_token, bot_token);
    assert_eq!(
        s.call(
            Method::GET,
            "/users/@me",
            Some(&format!("Bot {bot_token}")),
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.call(
            Method::GET,
            "/users/@me",
            Some(&format!("Bot {new_token}")),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(s.user_count().await, users);

    // Other people cannot see or touch the application.
    let stranger = s.register("stranger", "correct horse").await;
    for (method, path) in [
        (Method::GET, format!("/applications/{id}")),
        (Method::POST, format!("/applications/{id}/bot/reset")),
        (Method::PATCH, format!("/applications/{id}")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"name": "mine"}));
        let (status, resp) = s.call(method, &path, Some(&stranger), body).await;
        assert_eq!(
            (status, resp["code"].as_u64()),
            (StatusCode::NOT_FOUND, Some(10002)),
            "{path}"
        );
    }
    assert_eq!(
        s.call(
            Method::GET,
            "/users/@me",
            Some(&format!("Bot {new_token}")),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, list) = s
        .call(Method::GET, "/applications", Some(&owner), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        s.call(Method::GET, "/applications", Some(&stranger), None)
            .await
            .1,
        json!([])
    );
    s.stop().await;
}

async fn privileged_intent_flags(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let (id, bot_token) = s.bot(&owner, "Intents").await;
    let members_and_content = (1u64 << 14) | (1 << 18);
    let (status, app) = s
        .call(
            Method::PATCH,
            &format!("/applications/{id}"),
            Some(&owner),
            Some(json!({"flags": members_and_content})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    assert_eq!(app["flags"], members_and_content);
    // A flag that is not a privileged intent is refused, and the flags stay as they were.
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/applications/{id}"),
            Some(&owner),
            Some(json!({"flags": 1u64 << 23})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_code(&body, &["flags"]), Some("BASE_TYPE_INVALID"));
    let (_, app) = s
        .call(
            Method::GET,
            &format!("/applications/{id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(app["flags"], members_and_content);
    // The bot sees its flags; it may edit its description but not its name through @me.
    let bot = format!("Bot {bot_token}");
    let (status, mine) = s
        .call(
            Method::PATCH,
            "/applications/@me",
            Some(&bot),
            Some(json!({"description": "new"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (mine["description"].as_str(), mine["flags"].as_u64()),
        (Some("new"), Some(members_and_content))
    );
    let (status, _) = s
        .call(
            Method::PATCH,
            "/applications/@me",
            Some(&bot),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}

async fn rights_and_limits(backend: &str) {
    let s = Server::start_with(backend, |c| c.limits.applications_per_user = 2).await;
    let owner = s.register("owner", "correct horse").await;
    for name in ["one", "two"] {
        assert_eq!(
            s.call(
                Method::POST,
                "/applications",
                Some(&owner),
                Some(json!({"name": name}))
            )
            .await
            .0,
            StatusCode::CREATED
        );
    }
    let (status, body) = s
        .call(
            Method::POST,
            "/applications",
            Some(&owner),
            Some(json!({"name": "three"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50011))
    );
    let (_, body) = s
        .call(
            Method::POST,
            "/applications",
            Some(&owner),
            Some(json!({"name": ""})),
        )
        .await;
    assert_eq!(field_code(&body, &["name"]), Some("BASE_TYPE_BAD_LENGTH"));

    // Without the CREATE_APPLICATIONS right, 50013.
    let limited = s.register("limited", "correct horse").await;
    let (_, me) = s
        .call(Method::GET, "/users/@me", Some(&limited), None)
        .await;
    let id = me["id"].as_str().unwrap().parse().unwrap();
    s.state
        .store
        .set_rights(
            id,
            s.state.config.default_rights() & !Rights::CREATE_APPLICATIONS,
        )
        .await
        .unwrap();
    let (status, body) = s
        .call(
            Method::POST,
            "/applications",
            Some(&limited),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50013))
    );
    assert_eq!(
        s.call(Method::GET, "/applications", Some(&limited), None)
            .await
            .1,
        json!([])
    );
    s.stop().await;
}

both_backends!(bot_lifecycle, privileged_intent_flags, rights_and_limits);
