//! Application commands: global and guild commands (create-or-replace, list, get, edit, delete,
//! bulk overwrite), Discord's validation and limits, who may manage them, localized lists, and
//! command permissions with their event and audit log entry.

mod common;

use common::{AppInGuild, Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn setup(s: &Server) -> AppInGuild {
    s.app_in_guild("Commands").await
}

fn blep() -> Value {
    json!({
        "name": "blep",
        "type": 1,
        "description": "Send a random adorable animal photo",
        "options": [
            {"name": "animal", "description": "The type of animal", "type": 3, "required": true,
             "choices": [{"name": "Dog", "value": "animal_dog"}, {"name": "Cat", "value": "animal_cat"}]},
            {"name": "only_smol", "description": "Whether to show only baby animals", "type": 5, "required": false}
        ]
    })
}

async fn count(s: &Server, app: &str, guild: Option<&str>) -> usize {
    s.state
        .store
        .commands(app.parse().unwrap(), guild.map(|g| g.parse().unwrap()))
        .await
        .unwrap()
        .len()
}

async fn global_commands(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let base = format!("/applications/{}/commands", t.app);
    let (status, created) = s
        .call(Method::POST, &base, Some(&t.bot), Some(blep()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id_of(&created);
    assert_eq!(created["application_id"], t.app.as_str());
    assert_eq!(created["type"], 1);
    assert_eq!(created["default_member_permissions"], Value::Null);
    assert_eq!(created["dm_permission"], true);
    assert_eq!(created["nsfw"], false);
    assert_eq!(created["integration_types"], json!([0]));
    assert!(created.get("guild_id").is_none());
    assert_eq!(created["options"][0]["choices"][1]["value"], "animal_cat");
    assert!(created["version"].is_string());

    // The same name again replaces it: 200, same id, a new version.
    let mut changed = blep();
    changed["description"] = json!("Another description");
    changed["default_member_permissions"] = json!("32");
    let (status, replaced) = s
        .call(Method::POST, &base, Some(&t.bot), Some(changed))
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(id_of(&replaced), id);
    assert_ne!(replaced["version"], created["version"]);
    assert_eq!(replaced["default_member_permissions"], "32");
    assert_eq!(count(&s, &t.app, None).await, 1);

    // A USER command may have the same name, mixed case and spaces.
    let (status, user_cmd) = s
        .call(
            Method::POST,
            &base,
            Some(&t.bot),
            Some(json!({"name": "High Five", "type": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user_cmd}");
    assert_eq!(user_cmd["description"], "");

    // The owner (user token) may manage them too; others may not.
    let (status, list) = s.call(Method::GET, &base, Some(&t.owner), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    let stranger = s.register("stranger", "correct horse").await;
    let (status, body) = s.call(Method::GET, &base, Some(&stranger), None).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(20012))
    );
    let (_, other_bot) = s.bot(&stranger, "Other").await;
    let (status, body) = s
        .call(
            Method::POST,
            &base,
            Some(&format!("Bot {other_bot}")),
            Some(blep()),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(20012))
    );
    let (status, body) = s
        .call(
            Method::GET,
            "/applications/123/commands",
            Some(&t.bot),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10002))
    );

    // Get, edit, rename onto a taken name, delete.
    let one = format!("{base}/{id}");
    let (status, got) = s.call(Method::GET, &one, Some(&t.bot), None).await;
    assert_eq!((status, id_of(&got)), (StatusCode::OK, id.clone()));
    let (status, edited) = s
        .call(
            Method::PATCH,
            &one,
            Some(&t.bot),
            Some(json!({"description": "Edited", "nsfw": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["description"], "Edited");
    assert_eq!(edited["nsfw"], true);
    assert_eq!(edited["name"], "blep");
    assert_eq!(edited["options"], replaced["options"]);
    let (_, second) = s
        .call(
            Method::POST,
            &base,
            Some(&t.bot),
            Some(json!({"name": "other", "description": "Other"})),
        )
        .await;
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("{base}/{}", id_of(&second)),
            Some(&t.bot),
            Some(json!({"name": "blep"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(40041))
    );
    let (status, _) = s.call(Method::DELETE, &one, Some(&t.bot), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.call(Method::GET, &one, Some(&t.bot), None).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10063))
    );
    let (status, body) = s.call(Method::DELETE, &one, Some(&t.bot), None).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10063))
    );
    // A global command is not reachable through a guild path.
    let (status, body) = s
        .call(
            Method::GET,
            &format!(
                "/applications/{}/guilds/{}/commands/{}",
                t.app,
                t.guild,
                id_of(&second)
            ),
            Some(&t.bot),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10063))
    );
    s.stop().await;
}

async fn validation(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let base = format!("/applications/{}/commands", t.app);
    let option = |name: &str, kind: u8, required: bool| json!({"name": name, "description": "d", "type": kind, "required": required});
    let too_many: Vec<Value> = (0..26)
        .map(|i| option(&format!("o{i}"), 3, false))
        .collect();
    let cases: Vec<(Value, Vec<&str>, &str)> = vec![
        (
            json!({"name": "Blep", "description": "d"}),
            vec!["name"],
            "APPLICATION_COMMAND_INVALID_NAME",
        ),
        (
            json!({"name": "has space", "description": "d"}),
            vec!["name"],
            "APPLICATION_COMMAND_INVALID_NAME",
        ),
        (
            json!({"name": "a".repeat(33), "description": "d"}),
            vec!["name"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            json!({"description": "d"}),
            vec!["name"],
            "BASE_TYPE_REQUIRED",
        ),
        (
            json!({"name": "nodesc"}),
            vec!["description"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            json!({"name": "ctx", "type": 3, "description": "no"}),
            vec!["description"],
            "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
        ),
        (
            json!({"name": "many", "description": "d", "options": too_many}),
            vec!["options"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            json!({"name": "order", "description": "d", "options": [option("a", 3, false), option("b", 3, true)]}),
            vec!["options", "1", "required"],
            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
        ),
        (
            json!({"name": "dup", "description": "d", "options": [option("a", 3, false), option("a", 4, false)]}),
            vec!["options", "1", "name"],
            "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
        ),
        (
            json!({"name": "optname", "description": "d", "options": [option("Bad", 3, false)]}),
            vec!["options", "0", "name"],
            "APPLICATION_COMMAND_INVALID_NAME",
        ),
        (
            json!({"name": "boolchoices", "description": "d", "options": [{"name": "b", "description": "d", "type": 5, "choices": [{"name": "x", "value": "y"}]}]}),
            vec!["options", "0", "choices"],
            "APPLICATION_COMMAND_OPTION_FIELD_INVALID",
        ),
        (
            json!({"name": "choicetype", "description": "d", "options": [{"name": "n", "description": "d", "type": 4, "choices": [{"name": "x", "value": "y"}]}]}),
            vec!["options", "0", "choices", "0", "value"],
            "APPLICATION_COMMAND_OPTION_CHOICE_VALUE_INVALID",
        ),
        (
            json!({"name": "auto", "description": "d", "options": [{"name": "n", "description": "d", "type": 3, "autocomplete": true, "choices": [{"name": "x", "value": "y"}]}]}),
            vec!["options", "0", "autocomplete"],
            "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
        ),
        (
            json!({"name": "minmax", "description": "d", "options": [{"name": "n", "description": "d", "type": 4, "min_value": 5, "max_value": 1}]}),
            vec!["options", "0", "min_value"],
            "APPLICATION_COMMAND_OPTION_MIN_MAX_INVALID",
        ),
        (
            json!({"name": "intmin", "description": "d", "options": [{"name": "n", "description": "d", "type": 4, "min_value": 1.5}]}),
            vec!["options", "0", "min_value"],
            "NUMBER_TYPE_COERCE",
        ),
        (
            json!({"name": "len", "description": "d", "options": [{"name": "n", "description": "d", "type": 3, "max_length": 6001}]}),
            vec!["options", "0", "max_length"],
            "NUMBER_TYPE_MAX",
        ),
        (
            json!({"name": "chan", "description": "d", "options": [{"name": "n", "description": "d", "type": 3, "channel_types": [0]}]}),
            vec!["options", "0", "channel_types"],
            "APPLICATION_COMMAND_OPTION_FIELD_INVALID",
        ),
        (
            json!({"name": "mixed", "description": "d", "options": [{"name": "s", "description": "d", "type": 1}, option("a", 3, false)]}),
            vec!["options"],
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
        ),
        (
            json!({"name": "deep", "description": "d", "options": [{"name": "g", "description": "d", "type": 2, "options": [{"name": "g2", "description": "d", "type": 2}]}]}),
            vec!["options", "0", "options"],
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
        ),
        (
            json!({"name": "loc", "description": "d", "name_localizations": {"xx": "loc"}}),
            vec!["name_localizations", "xx"],
            "LOCALE_INVALID",
        ),
        (
            json!({"name": "loc2", "description": "d", "name_localizations": {"de": "Groß"}}),
            vec!["name_localizations", "de"],
            "APPLICATION_COMMAND_INVALID_NAME",
        ),
        (
            json!({"name": "entry", "type": 4}),
            vec!["type"],
            "APPLICATION_COMMAND_TYPE_INVALID",
        ),
    ];
    for (body, path, code) in cases {
        let (status, err) = s
            .call(Method::POST, &base, Some(&t.bot), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {err}");
        assert_eq!(err["code"], 50035, "{err}");
        assert_eq!(field_code(&err, &path), Some(code), "{body} → {err}");
    }
    // Wrong JSON types are form errors too.
    let (status, err) = s
        .call(
            Method::POST,
            &base,
            Some(&t.bot),
            Some(json!({"name": "x", "description": "d", "type": 9})),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50035))
    );
    assert_eq!(count(&s, &t.app, None).await, 0);

    // A full valid command: subcommand groups, numbers, channel types, localizations.
    let rich = json!({
        "name": "permissions", "description": "Get or edit permissions for a user or a role",
        "name_localizations": {"de": "berechtigungen", "zh-CN": "权限"},
        "options": [
            {"name": "user", "description": "Get or edit permissions for a user", "type": 2, "options": [
                {"name": "get", "description": "Get permissions for a user", "type": 1, "options": [
                    {"name": "user", "description": "The user to get", "type": 6, "required": true},
                    {"name": "channel", "description": "The channel", "type": 7, "channel_types": [0, 5]}
                ]}
            ]},
            {"name": "number", "description": "Numbers", "type": 1, "options": [
                {"name": "ratio", "description": "A ratio", "type": 10, "min_value": 0.5, "max_value": 2, "autocomplete": true},
                {"name": "text", "description": "Text", "type": 3, "min_length": 0, "max_length": 20}
            ]}
        ]
    });
    let (status, body) = s
        .call(Method::POST, &base, Some(&t.bot), Some(rich.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["options"], rich["options"]);
    assert_eq!(body["name_localizations"]["zh-CN"], "权限");
    s.stop().await;
}

async fn bulk_overwrite(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    for (base, guild) in [
        (format!("/applications/{}/commands", t.app), None),
        (
            format!("/applications/{}/guilds/{}/commands", t.app, t.guild),
            Some(t.guild.as_str()),
        ),
    ] {
        let (status, first) = s
            .call(
                Method::PUT,
                &base,
                Some(&t.bot),
                Some(json!([blep(), {"name": "stay", "description": "Unchanged"}, {"name": "gone", "description": "Removed"}])),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let first = first.as_array().unwrap().clone();
        assert_eq!(first.len(), 3);
        if let Some(g) = guild {
            assert_eq!(first[0]["guild_id"], g);
            assert!(first[0].get("dm_permission").is_none());
        }
        let mut changed = blep();
        changed["description"] = json!("Changed");
        let (status, second) = s
            .call(
                Method::PUT,
                &base,
                Some(&t.bot),
                Some(json!([changed, {"name": "stay", "description": "Unchanged"}, {"name": "New One", "type": 3}])),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{second}");
        let second = second.as_array().unwrap().clone();
        assert_eq!(second[0]["id"], first[0]["id"], "matched by name and type");
        assert_ne!(
            second[0]["version"], first[0]["version"],
            "changed: new version"
        );
        assert_eq!(second[1]["id"], first[1]["id"]);
        assert_eq!(
            second[1]["version"], first[1]["version"],
            "unchanged: same version"
        );
        assert!(first.iter().all(|c| c["id"] != second[2]["id"]));
        let (_, list) = s.call(Method::GET, &base, Some(&t.bot), None).await;
        let mut names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["New One", "blep", "stay"]);

        // Duplicates and invalid entries refuse the whole list.
        let (status, err) = s
            .call(
                Method::PUT,
                &base,
                Some(&t.bot),
                Some(json!([blep(), blep()])),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(
            field_code(&err, &["1", "name"]),
            Some("APPLICATION_COMMANDS_DUPLICATE_NAME")
        );
        let (status, err) = s
            .call(
                Method::PUT,
                &base,
                Some(&t.bot),
                Some(json!([{"name": "ok", "description": "d"}, {"name": "Bad"}])),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(
            field_code(&err, &["1", "name"]),
            Some("APPLICATION_COMMAND_INVALID_NAME")
        );
        assert_eq!(count(&s, &t.app, guild).await, 3);

        // An empty list removes everything.
        let (status, empty) = s
            .call(Method::PUT, &base, Some(&t.bot), Some(json!([])))
            .await;
        assert_eq!((status, empty), (StatusCode::OK, json!([])));
        assert_eq!(count(&s, &t.app, guild).await, 0);
    }
    s.stop().await;
}

async fn limits(backend: &str) {
    let s = Server::start_with(backend, |c| {
        c.interactions.chat_input_commands = 2;
        c.interactions.user_commands = 1;
    })
    .await;
    let t = setup(&s).await;
    let base = format!("/applications/{}/commands", t.app);
    for name in ["one", "two"] {
        let (status, body) = s
            .call(
                Method::POST,
                &base,
                Some(&t.bot),
                Some(json!({"name": name, "description": "d"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = s
        .call(
            Method::POST,
            &base,
            Some(&t.bot),
            Some(json!({"name": "three", "description": "d"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(30032)),
        "{body}"
    );
    // Replacing by name is not a new command; other types count apart.
    let (status, _) = s
        .call(
            Method::POST,
            &base,
            Some(&t.bot),
            Some(json!({"name": "two", "description": "again"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::POST,
            &base,
            Some(&t.bot),
            Some(json!({"name": "two", "type": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s
        .call(
            Method::PUT,
            &base,
            Some(&t.bot),
            Some(json!([{"name": "a", "description": "d"}, {"name": "b", "description": "d"}, {"name": "c", "description": "d"}])),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(30032)),
        "{body}"
    );
    assert_eq!(count(&s, &t.app, None).await, 3);
    // Guild commands have their own count.
    let guild_base = format!("/applications/{}/guilds/{}/commands", t.app, t.guild);
    let (status, _) = s
        .call(
            Method::POST,
            &guild_base,
            Some(&t.bot),
            Some(json!({"name": "three", "description": "d"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    s.stop().await;
}

async fn guild_commands(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let other_guild = id_of(&s.guild(&t.owner, "Without the bot").await);
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/applications/{}/guilds/{other_guild}/commands", t.app),
            Some(&t.bot),
            Some(blep()),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50001)),
        "{body}"
    );
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/applications/{}/guilds/1/commands", t.app),
            Some(&t.bot),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10004))
    );

    let base = format!("/applications/{}/guilds/{}/commands", t.app, t.guild);
    let (status, created) = s
        .call(Method::POST, &base, Some(&t.bot), Some(blep()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["guild_id"], t.guild.as_str());
    // Same name globally: a separate command.
    let (status, global) = s
        .call(
            Method::POST,
            &format!("/applications/{}/commands", t.app),
            Some(&t.bot),
            Some(blep()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(global["id"], created["id"]);
    let one = format!("{base}/{}", id_of(&created));
    let (status, edited) = s
        .call(
            Method::PATCH,
            &one,
            Some(&t.owner),
            Some(json!({"default_member_permissions": "0"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["default_member_permissions"], "0");
    let (status, _) = s.call(Method::DELETE, &one, Some(&t.bot), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(count(&s, &t.app, Some(&t.guild)).await, 0);
    assert_eq!(count(&s, &t.app, None).await, 1);
    s.stop().await;
}

async fn localized_lists(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let base = format!("/applications/{}/commands", t.app);
    let body = json!({
        "name": "birthday", "description": "Wish a friend a happy birthday",
        "name_localizations": {"zh-CN": "生日", "el": "γενέθλια"},
        "description_localizations": {"zh-CN": "祝你朋友生日快乐"},
        "options": [{"name": "age", "type": 4, "description": "Your friend's age",
                     "name_localizations": {"zh-CN": "岁数"}}]
    });
    let (status, _) = s.call(Method::POST, &base, Some(&t.bot), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let resp = s
        .http
        .get(s.url(&base))
        .header("authorization", &t.bot)
        .header("x-discord-locale", "zh-CN")
        .send()
        .await
        .unwrap();
    let list: Value = resp.json().await.unwrap();
    assert_eq!(list[0]["name_localized"], "生日");
    assert_eq!(list[0]["description_localized"], "祝你朋友生日快乐");
    assert_eq!(list[0]["options"][0]["name_localized"], "岁数");
    assert!(list[0].get("name_localizations").is_none());
    let (_, full) = s
        .call(
            Method::GET,
            &format!("{base}?with_localizations=true"),
            Some(&t.bot),
            None,
        )
        .await;
    assert_eq!(full[0]["name_localizations"]["el"], "γενέθλια");
    assert!(full[0].get("name_localized").is_none());
    s.stop().await;
}

async fn permissions(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let base = format!("/applications/{}/guilds/{}/commands", t.app, t.guild);
    let (_, command) = s
        .call(Method::POST, &base, Some(&t.bot), Some(blep()))
        .await;
    let cmd = id_of(&command);
    let url = format!("{base}/{cmd}/permissions");
    let member = s.register("member", "correct horse").await;
    s.join(&t.guild, &member).await;
    let member_id = s.user_id(&member).await;
    let channel = s.text_channel(&t.guild).await;
    let body = json!({"permissions": [
        {"id": member_id, "type": 2, "permission": false},
        {"id": channel, "type": 3, "permission": true},
        {"id": t.guild, "type": 1, "permission": true}
    ]});

    // Nothing set yet.
    let (status, err) = s.call(Method::GET, &url, Some(&t.bot), None).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10066))
    );
    let (status, list) = s
        .call(
            Method::GET,
            &format!("{base}/permissions"),
            Some(&t.bot),
            None,
        )
        .await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));

    let mut events = Events::new(&s);
    // Bots may not edit them; members need MANAGE_GUILD and MANAGE_ROLES.
    let (status, err) = s
        .call(Method::PUT, &url, Some(&t.bot), Some(body.clone()))
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(20001))
    );
    let (status, err) = s
        .call(Method::PUT, &url, Some(&member), Some(body.clone()))
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50013))
    );
    let (status, err) = s
        .call(
            Method::PUT,
            &url,
            Some(&t.owner),
            Some(json!({"permissions": [{"id": "1", "type": 1, "permission": true}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(
        field_code(&err, &["permissions", "0", "id"]),
        Some("APPLICATION_COMMAND_PERMISSIONS_INVALID_ID")
    );
    events.expect(&[]);

    let (status, set) = s
        .call_with_reason(Method::PUT, &url, &t.owner, body.clone(), "only some")
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["id"], cmd.as_str());
    assert_eq!(set["application_id"], t.app.as_str());
    assert_eq!(set["guild_id"], t.guild.as_str());
    assert_eq!(set["permissions"], body["permissions"]);
    let got = events.expect(&[
        "APPLICATION_COMMAND_PERMISSIONS_UPDATE",
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
    ]);
    assert_eq!(
        got[0].1,
        accord_bus::Audience::Guild(t.guild.parse().unwrap())
    );
    assert_eq!(got[0].2, set);
    let entry = &got[1].2;
    assert_eq!(entry["action_type"], 121);
    assert_eq!(entry["target_id"], cmd.as_str());
    assert_eq!(entry["reason"], "only some");
    assert_eq!(entry["options"]["application_id"], t.app.as_str());
    let changes = entry["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    let member_change = changes
        .iter()
        .find(|c| c["key"] == member_id.as_str())
        .unwrap();
    assert_eq!(
        member_change["new_value"],
        json!({"id": member_id, "type": 2, "permission": false})
    );
    assert!(member_change.get("old_value").is_none());

    // Read back (the bot, the owner), the whole guild's list, the audit log.
    let (status, got) = s.call(Method::GET, &url, Some(&t.bot), None).await;
    assert_eq!((status, &got), (StatusCode::OK, &set));
    let (_, list) = s
        .call(
            Method::GET,
            &format!("{base}/permissions"),
            Some(&t.owner),
            None,
        )
        .await;
    assert_eq!(list, json!([set]));
    let (_, log) = s
        .call(
            Method::GET,
            &format!("/guilds/{}/audit-logs?action_type=121", t.guild),
            Some(&t.owner),
            None,
        )
        .await;
    assert_eq!(log["audit_log_entries"].as_array().unwrap().len(), 1);

    // The application id names the permissions of every command.
    let app_wide = format!("{base}/{}/permissions", t.app);
    let (status, all) = s
        .call(
            Method::PUT,
            &app_wide,
            Some(&t.owner),
            Some(json!({"permissions": [{"id": t.guild, "type": 1, "permission": false}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["id"], t.app.as_str());
    // An edit changes only what differs.
    let (status, _) = s
        .call(
            Method::PUT,
            &url,
            Some(&t.owner),
            Some(json!({"permissions": [{"id": member_id, "type": 2, "permission": true}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, log) = s
        .call(
            Method::GET,
            &format!("/guilds/{}/audit-logs?action_type=121", t.guild),
            Some(&t.owner),
            None,
        )
        .await;
    let newest = &log["audit_log_entries"][0];
    assert_eq!(newest["changes"].as_array().unwrap().len(), 3, "{newest}");

    // Renaming the command drops its permissions; unknown commands are 10063.
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("{base}/{cmd}"),
            Some(&t.bot),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = s.call(Method::GET, &url, Some(&t.bot), None).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10066))
    );
    let (status, err) = s
        .call(
            Method::GET,
            &format!("{base}/1/permissions"),
            Some(&t.bot),
            None,
        )
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10063))
    );
    s.stop().await;
}

both_backends!(
    global_commands,
    validation,
    bulk_overwrite,
    limits,
    guild_commands,
    localized_lists,
    permissions
);
