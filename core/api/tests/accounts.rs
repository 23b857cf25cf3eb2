//! Registration, login, logout, the current user and password changes, on both backends.

mod common;

use accord_bus::Event;
use common::{Server, field_code};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn register_login_and_me(backend: &str) {
    let s = Server::start(backend).await;
    let token = s.register("Alice", "correct horse").await;
    let (status, me) = s.call(Method::GET, "/users/@me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me["username"], "alice",
        "usernames are stored in lower case"
    );
    assert_eq!(me["discriminator"], "0");
    assert_eq!(me["email"], "Alice@example.test", "e-mail kept as given");
    assert!(me["id"].is_string());
    for key in ["global_name", "avatar", "banner", "accent_color"] {
        assert!(me[key].is_null(), "{key} is null");
    }
    assert_eq!(me["mfa_enabled"], false);
    assert_eq!(me["locale"], "en-US");

    // Login by e-mail and by username, case-insensitively.
    for login in ["alice@example.test", "ALICE", "Alice@Example.Test"] {
        let (status, body) = s
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"login": login, "password": "correct horse"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{login}: {body}");
        assert_eq!(body["user_id"], me["id"]);
        let (status, _) = s
            .call(
                Method::GET,
                "/users/@me",
                Some(body["token"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    // The same routes answer under /api/v9 and bare /api.
    for prefix in ["/api/v9", "/api"] {
        let (status, body) = s
            .call(
                Method::GET,
                &format!("{}{prefix}/users/@me", s.origin),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["id"], me["id"]);
    }
    // Others see the public profile only.
    let other = s.register("bob", "correct horse").await;
    let (status, public) = s
        .call(
            Method::GET,
            &format!("/users/{}", me["id"].as_str().unwrap()),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(public["username"], "alice");
    assert!(public.get("email").is_none(), "{public}");
    let (status, body) = s.call(Method::GET, "/users/42", Some(&other), None).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10013))
    );
    let (status, body) = s.call(Method::GET, "/users/nope", Some(&other), None).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50035))
    );
    s.stop().await;
}

async fn registration_errors_change_nothing(backend: &str) {
    let s = Server::start(backend).await;
    s.register("taken", "correct horse").await;
    let before = s.user_count().await;
    let cases = [
        (json!({}), vec![("username", "BASE_TYPE_REQUIRED")]),
        (
            json!({"username": "x", "password": "correct horse"}),
            vec![("username", "BASE_TYPE_BAD_LENGTH")],
        ),
        (
            json!({"username": "bad name", "password": "correct horse"}),
            vec![("username", "USERNAME_INVALID_CHARACTERS")],
        ),
        (
            json!({"username": "fine", "password": "short"}),
            vec![("password", "PASSWORD_TOO_SHORT")],
        ),
        (
            json!({"username": "fine", "password": "correct horse", "email": "nope"}),
            vec![("email", "EMAIL_TYPE_INVALID_EMAIL")],
        ),
        (
            json!({"username": "fine", "password": "correct horse", "date_of_birth": "2020-13-01"}),
            vec![("date_of_birth", "DATE_TYPE_PARSE")],
        ),
        (
            json!({"username": "TAKEN", "password": "correct horse"}),
            vec![("username", "USERNAME_ALREADY_TAKEN")],
        ),
        (
            json!({"username": "fine", "password": "correct horse", "email": "taken@example.test"}),
            vec![("email", "EMAIL_ALREADY_REGISTERED")],
        ),
        (
            json!({"username": 5, "password": "correct horse"}),
            vec![("username", "BASE_TYPE_STRING")],
        ),
        (
            json!({"username": "x", "password": "y"}),
            vec![
                ("username", "BASE_TYPE_BAD_LENGTH"),
                ("password", "PASSWORD_TOO_SHORT"),
            ],
        ),
    ];
    for (body, expected) in cases {
        let (status, resp) = s
            .call(Method::POST, "/auth/register", None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {resp}");
        assert_eq!(resp["code"], 50035, "{resp}");
        assert_eq!(resp["message"], "Invalid Form Body");
        for (field, code) in expected {
            assert_eq!(field_code(&resp, &[field]), Some(code), "{body} → {resp}");
        }
    }
    // Broken JSON and the wrong content type.
    let resp = s
        .http
        .post(s.url("/auth/register"))
        .header("content-type", "application/json")
        .body("{\"username\":")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["code"],
        50109
    );
    let resp = s
        .http
        .post(s.url("/auth/register"))
        .header("content-type", "text/plain")
        .body("username=a")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["code"],
        50035
    );
    assert_eq!(
        s.user_count().await,
        before,
        "refused registrations wrote nothing"
    );
    s.stop().await;
}

async fn registration_modes_and_rules(backend: &str) {
    let s = Server::start_with(backend, |c| {
        c.register.mode = accord_config::RegisterMode::Closed
    })
    .await;
    let (status, body) = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "amy", "password": "correct horse"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(0))
    );
    assert_eq!(s.user_count().await, 0);
    s.stop().await;

    let s = Server::start_with(backend, |c| {
        c.register.mode = accord_config::RegisterMode::InviteOnly
    })
    .await;
    let (status, body) = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "amy", "password": "correct horse"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_code(&body, &["invite"]), Some("INVITE_REQUIRED"));
    let (_, body) = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "amy", "password": "correct horse", "invite": "nope"})),
        )
        .await;
    assert_eq!(field_code(&body, &["invite"]), Some("INVITE_INVALID"));
    assert_eq!(s.user_count().await, 0);
    // A real invite (made through the store: the invite routes come with the guild work) lets
    // a registration through; an expired or used-up one does not.
    let owner = accord_store::NewUser {
        id: s.state.ids.next(),
        username: "owner".into(),
        discriminator: "0".into(),
        global_name: None,
        email: None,
        bot: false,
        rights: s.state.config.default_rights(),
        date_of_birth: None,
        password_hash: None,
    };
    let owner = s.state.store.create_user(&owner).await.unwrap();
    let guild = accord_store::NewGuild::new(
        s.state.ids.next(),
        "g",
        owner.user_id(),
        accord_model::Permissions::empty(),
    );
    let guild = s.state.store.create_guild(&guild).await.unwrap().guild_id();
    let channel = accord_store::NewChannel::new(s.state.ids.next(), 0, "general");
    let channel = s.state.store.create_channel(guild, &channel).await.unwrap();
    for (code, max_uses) in [("open-door", 0), ("used-up", 1)] {
        let invite = accord_store::NewInvite {
            code: code.into(),
            guild_id: Some(guild),
            channel_id: accord_model::ChannelId::from_i64(channel.id),
            inviter_id: Some(owner.user_id()),
            max_age: 0,
            max_uses,
            temporary: false,
        };
        s.state.store.create_invite(&invite).await.unwrap();
    }
    assert!(s.state.store.use_invite("used-up").await.unwrap());
    let (_, body) = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "amy", "password": "correct horse", "invite": "used-up"})),
        )
        .await;
    assert_eq!(field_code(&body, &["invite"]), Some("INVITE_INVALID"));
    let (status, body) = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "amy", "password": "correct horse", "invite": "open-door"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The new account is in the invite's guild, and the invite counted one use.
    let (_, guilds) = s
        .call(
            Method::GET,
            "/users/@me/guilds",
            Some(body["token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(guilds[0]["id"], guild.to_string());
    assert_eq!(
        s.state
            .store
            .invite("open-door")
            .await
            .unwrap()
            .unwrap()
            .uses,
        1
    );
    s.stop().await;

    let s = Server::start_with(backend, |c| {
        c.register.require_email = true;
        c.register.require_date_of_birth = true;
        c.register.min_age = 18;
        c.register.password.require_digit = true;
    })
    .await;
    let (_, body) = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "amy", "password": "correct horse"})),
        )
        .await;
    assert_eq!(field_code(&body, &["email"]), Some("BASE_TYPE_REQUIRED"));
    assert_eq!(
        field_code(&body, &["date_of_birth"]),
        Some("BASE_TYPE_REQUIRED")
    );
    assert_eq!(
        field_code(&body, &["password"]),
        Some("PASSWORD_REQUIRES_DIGIT")
    );
    let young = (chrono::Utc::now().date_naive() - chrono::Days::new(365 * 10))
        .format("%Y-%m-%d")
        .to_string();
    let (_, body) = s
        .call(Method::POST, "/auth/register", None, Some(json!({"username": "amy", "password": "horse 1", "email": "a@b.io", "date_of_birth": young})))
        .await;
    assert_eq!(
        field_code(&body, &["date_of_birth"]),
        Some("DATE_OF_BIRTH_IS_UNDERAGE")
    );
    assert_eq!(s.user_count().await, 0);
    let (status, _) = s
        .call(Method::POST, "/auth/register", None, Some(json!({"username": "amy", "password": "horse 12", "email": "a@b.io", "date_of_birth": "1990-05-01"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    s.stop().await;
}

async fn login_failures(backend: &str) {
    let s = Server::start(backend).await;
    s.register("carol", "correct horse").await;
    for (login, password) in [("carol", "wrong horse"), ("nobody", "correct horse")] {
        let (status, body) = s
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"login": login, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(field_code(&body, &["login"]), Some("INVALID_LOGIN"));
        assert_eq!(field_code(&body, &["password"]), Some("INVALID_LOGIN"));
    }
    let (status, body) = s
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "carol"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_code(&body, &["password"]), Some("BASE_TYPE_REQUIRED"));
    s.stop().await;
}

async fn unauthenticated_and_forged_tokens(backend: &str) {
    let s = Server::start(backend).await;
    let token = s.register("dave", "correct horse").await;
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    for auth in [
        None,
        Some(""),
        Some("garbage"),
        Some(forged.as_str()),
        Some(&*format!("Bot {token}")),
        Some(&*format!("Bearer {token}")),
    ] {
        let (status, body) = s.call(Method::GET, "/users/@me", auth, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(body, json!({"code": 40001, "message": "401: Unauthorized"}));
    }
    s.stop().await;
}

async fn logout_revokes_only_that_token(backend: &str) {
    let s = Server::start(backend).await;
    let first = s.register("erin", "correct horse").await;
    let (_, login) = s
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "erin", "password": "correct horse"})),
        )
        .await;
    let second = login["token"].as_str().unwrap().to_owned();
    let (status, _) = s
        .call(
            Method::POST,
            "/auth/logout",
            Some(&first),
            Some(json!({"provider": null})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.call(Method::GET, "/users/@me", Some(&first), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.call(Method::GET, "/users/@me", Some(&second), None)
            .await
            .0,
        StatusCode::OK
    );
    // The revocation is stored: a new process (new state from the same database) refuses it too.
    let state2 = accord_api::AppState::new(
        s.state.config.clone(),
        s.state.store.clone(),
        accord_bus::Bus::memory(16),
    )
    .await
    .unwrap();
    assert!(accord_api::extract::auth::authenticate(&state2, &first).is_err());
    assert!(accord_api::extract::auth::authenticate(&state2, &second).is_ok());
    s.stop().await;
}

async fn modify_me_and_user_update_event(backend: &str) {
    let s = Server::start(backend).await;
    let token = s.register("frank", "correct horse").await;
    s.register("grace", "correct horse").await;
    let mut events = s.state.bus.subscribe();
    let (status, me) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(json!({"global_name": "Frank F.", "bio": "hello", "accent_color": 255})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["global_name"], "Frank F.");
    assert_eq!(me["bio"], "hello");
    assert_eq!(me["accent_color"], 255);
    let event = tokio::time::timeout(std::time::Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    let Event::Dispatch(d) = event else {
        panic!("expected a dispatch, got {event:?}")
    };
    assert_eq!(d.name, "USER_UPDATE");
    assert_eq!(
        d.audience,
        accord_bus::Audience::Users(vec![me["id"].as_str().unwrap().parse().unwrap()])
    );
    let data: serde_json::Value = serde_json::from_str(&d.data).unwrap();
    assert_eq!(data["global_name"], "Frank F.");

    // null clears a nullable field.
    let (_, me) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(json!({"global_name": null})),
        )
        .await;
    assert!(me["global_name"].is_null());

    // Changing the username needs the password; a taken name is refused; nothing changes.
    let (status, body) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(json!({"username": "frankie"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_code(&body, &["password"]), Some("BASE_TYPE_REQUIRED"));
    let (_, body) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(json!({"username": "frankie", "password": "wrong"})),
        )
        .await;
    assert_eq!(
        field_code(&body, &["password"]),
        Some("PASSWORD_DOES_NOT_MATCH")
    );
    let (_, body) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(json!({"username": "grace", "password": "correct horse"})),
        )
        .await;
    assert_eq!(
        field_code(&body, &["username"]),
        Some("USERNAME_ALREADY_TAKEN")
    );
    let (_, body) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(json!({"bio": "x".repeat(191)})),
        )
        .await;
    assert_eq!(field_code(&body, &["bio"]), Some("BASE_TYPE_MAX_LENGTH"));
    let (_, me) = s.call(Method::GET, "/users/@me", Some(&token), None).await;
    assert_eq!(
        (me["username"].as_str(), me["bio"].as_str()),
        (Some("frank"), Some("hello"))
    );
    let (status, me) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(json!({"username": "frankie", "password": "correct horse"})),
        )
        .await;
    assert_eq!(
        (status, me["username"].as_str()),
        (StatusCode::OK, Some("frankie"))
    );
    s.stop().await;
}

async fn password_change_revokes_old_tokens(backend: &str) {
    let s = Server::start(backend).await;
    let token = s.register("heidi", "correct horse").await;
    let (_, login) = s
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "heidi", "password": "correct horse"})),
        )
        .await;
    let other = login["token"].as_str().unwrap().to_owned();
    let (status, body) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(json!({"password": "correct horse", "new_password": "battery staple"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fresh = body["token"]
        .as_str()
        .expect("a new token comes back")
        .to_owned();
    assert_eq!(
        s.call(Method::GET, "/users/@me", Some(&token), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.call(Method::GET, "/users/@me", Some(&other), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.call(Method::GET, "/users/@me", Some(&fresh), None)
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = s
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "heidi", "password": "correct horse"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "heidi", "password": "battery staple"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A new password that breaks the rules changes nothing.
    let (_, body) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&fresh),
            Some(json!({"password": "battery staple", "new_password": "x"})),
        )
        .await;
    assert_eq!(
        field_code(&body, &["new_password"]),
        Some("PASSWORD_TOO_SHORT")
    );
    assert_eq!(
        s.call(Method::GET, "/users/@me", Some(&fresh), None)
            .await
            .0,
        StatusCode::OK
    );
    s.stop().await;
}

both_backends!(
    register_login_and_me,
    registration_errors_change_nothing,
    registration_modes_and_rules,
    login_failures,
    unauthenticated_and_forged_tokens,
    logout_revokes_only_that_token,
    modify_me_and_user_update_event,
    password_change_revokes_old_tokens,
);
