//! The guild audit log: moderation and configuration actions write entries with their
//! `X-Audit-Log-Reason` and changes (roles, member roles, kicks, bans, channels), readable at
//! `GET /guilds/{id}/audit-logs` with Discord's filters and paging by whoever has
//! VIEW_AUDIT_LOG, and announced with GUILD_AUDIT_LOG_ENTRY_CREATE to those members only. On
//! both backends.

mod common;

use accord_bus::Audience;
use common::{Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Entries of `guild` as `token` reads them with `query`.
async fn log(s: &Server, token: &str, guild: &str, query: &str) -> Vec<Value> {
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/guilds/{guild}/audit-logs{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for key in [
        "application_commands",
        "auto_moderation_rules",
        "guild_scheduled_events",
        "integrations",
        "threads",
        "users",
        "webhooks",
    ] {
        assert!(body[key].is_array(), "{key}: {body}");
    }
    body["audit_log_entries"].as_array().unwrap().clone()
}

fn actions(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["action_type"].as_u64().unwrap())
        .collect()
}

fn change<'a>(entry: &'a Value, key: &str) -> &'a Value {
    entry["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["key"] == key))
        .unwrap_or_else(|| panic!("no change {key} in {entry}"))
}

async fn actions_are_logged(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let owner_id = s.user_id(&owner).await;
    let guild = id_of(&s.guild(&owner, "Moderated").await);
    let mouse = s.register("mouse", "correct horse").await;
    let mouse_id = s.user_id(&mouse).await;
    s.join(&guild, &mouse).await;
    let rat = s.register("rat", "correct horse").await;
    let rat_id = s.user_id(&rat).await;
    s.join(&guild, &rat).await;
    let mut events = Events::new(&s);

    // Role created, renamed, given, taken, deleted.
    let (status, role) = s
        .call_with_reason(
            Method::POST,
            &format!("/guilds/{guild}/roles"),
            &owner,
            json!({"name": "mods", "color": 255}),
            "we need mods",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    let role_id = id_of(&role);
    let created = events.drain();
    let entry_event = created
        .iter()
        .find(|(n, _, _)| n == "GUILD_AUDIT_LOG_ENTRY_CREATE")
        .expect("GUILD_AUDIT_LOG_ENTRY_CREATE");
    assert_eq!(
        entry_event.1,
        Audience::Users(vec![owner_id.parse().unwrap()]),
        "only the owner may read the log yet"
    );
    assert_eq!(entry_event.2["guild_id"], guild.as_str());
    assert_eq!(entry_event.2["action_type"], 30);
    assert_eq!(entry_event.2["target_id"], role_id.as_str());
    assert_eq!(entry_event.2["user_id"], owner_id.as_str());
    assert_eq!(entry_event.2["reason"], "we need mods");

    let (status, _) = s
        .call_with_reason(
            Method::PATCH,
            &format!("/guilds/{guild}/roles/{role_id}"),
            &owner,
            json!({"name": "moderators"}),
            "clearer",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call_with_reason(
            Method::PUT,
            &format!("/guilds/{guild}/members/{mouse_id}/roles/{role_id}"),
            &owner,
            json!({}),
            "promoted",
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call_with_reason(
            Method::DELETE,
            &format!("/guilds/{guild}/members/{mouse_id}/roles/{role_id}"),
            &owner,
            json!({}),
            "demoted",
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A channel created, renamed, deleted; a kick; a ban and its lifting.
    let (status, channel) = s
        .call_with_reason(
            Method::POST,
            &format!("/guilds/{guild}/channels"),
            &owner,
            json!({"name": "rules", "topic": "be nice"}),
            "a place for rules",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let channel_id = id_of(&channel);
    let (status, _) = s
        .call_with_reason(
            Method::PATCH,
            &format!("/channels/{channel_id}"),
            &owner,
            json!({"name": "the-rules"}),
            "style",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call_with_reason(
            Method::DELETE,
            &format!("/channels/{channel_id}"),
            &owner,
            json!({}),
            "unused",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call_with_reason(
            Method::DELETE,
            &format!("/guilds/{guild}/members/{rat_id}"),
            &owner,
            json!({}),
            "squeaky",
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call_with_reason(
            Method::PUT,
            &format!("/guilds/{guild}/bans/{rat_id}"),
            &owner,
            json!({}),
            "still squeaky",
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call_with_reason(
            Method::DELETE,
            &format!("/guilds/{guild}/bans/{rat_id}"),
            &owner,
            json!({}),
            "forgiven",
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Newest first, each with its reason.
    let entries = log(&s, &owner, &guild, "").await;
    assert_eq!(
        actions(&entries),
        [23, 22, 20, 12, 11, 10, 25, 25, 31, 30],
        "{entries:?}"
    );
    let reasons: Vec<&str> = entries
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "forgiven",
            "still squeaky",
            "squeaky",
            "unused",
            "style",
            "a place for rules",
            "demoted",
            "promoted",
            "clearer",
            "we need mods"
        ]
    );
    assert!(entries.iter().all(|e| e["user_id"] == owner_id.as_str()));
    // Changes.
    let role_create = &entries[9];
    assert_eq!(change(role_create, "name")["new_value"], "mods");
    assert_eq!(change(role_create, "color")["new_value"], 255);
    assert!(change(role_create, "name").get("old_value").is_none());
    let role_update = &entries[8];
    assert_eq!(
        role_update["changes"].as_array().unwrap().len(),
        1,
        "{role_update}"
    );
    assert_eq!(change(role_update, "name")["old_value"], "mods");
    assert_eq!(change(role_update, "name")["new_value"], "moderators");
    assert_eq!(entries[7]["target_id"], mouse_id.as_str());
    assert_eq!(
        change(&entries[7], "$add")["new_value"],
        json!([{"id": role_id, "name": "moderators"}])
    );
    assert_eq!(
        change(&entries[6], "$remove")["new_value"],
        json!([{"id": role_id, "name": "moderators"}])
    );
    assert_eq!(entries[5]["target_id"], channel_id.as_str());
    assert_eq!(change(&entries[5], "name")["new_value"], "rules");
    assert_eq!(change(&entries[5], "topic")["new_value"], "be nice");
    assert_eq!(change(&entries[4], "name")["old_value"], "rules");
    assert_eq!(change(&entries[4], "name")["new_value"], "the-rules");
    assert_eq!(change(&entries[3], "name")["old_value"], "the-rules");
    assert!(change(&entries[3], "name").get("new_value").is_none());
    for e in &entries[..3] {
        assert_eq!(e["target_id"], rat_id.as_str(), "{e}");
        assert!(e.get("changes").is_none(), "{e}");
    }
    // The users named: the actor and the user targets.
    let (_, body) = s
        .call(
            Method::GET,
            &format!("/guilds/{guild}/audit-logs"),
            Some(&owner),
            None,
        )
        .await;
    let mut named: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    named.sort_unstable();
    let mut want = vec![owner_id.as_str(), mouse_id.as_str(), rat_id.as_str()];
    want.sort_unstable();
    assert_eq!(named, want);

    // Filters and paging.
    assert_eq!(
        actions(&log(&s, &owner, &guild, "?action_type=25").await),
        [25, 25]
    );
    assert_eq!(
        log(&s, &owner, &guild, &format!("?user_id={mouse_id}"))
            .await
            .len(),
        0
    );
    assert_eq!(
        log(&s, &owner, &guild, &format!("?user_id={owner_id}"))
            .await
            .len(),
        10
    );
    let page = log(&s, &owner, &guild, "?limit=3").await;
    assert_eq!(actions(&page), [23, 22, 20]);
    let next = log(
        &s,
        &owner,
        &guild,
        &format!("?limit=3&before={}", page[2]["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(actions(&next), [12, 11, 10]);
    let oldest = log(&s, &owner, &guild, "?after=0&limit=2").await;
    assert_eq!(actions(&oldest), [30, 31], "ascending with only `after`");
    let after = log(
        &s,
        &owner,
        &guild,
        &format!("?after={}", oldest[1]["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(after.len(), 8);
    assert_eq!(after[0]["action_type"], 25);

    // Bad queries change nothing and say which field.
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?action_type=x", "action_type"),
        ("?before=nope", "before"),
        ("?user_id=abc", "user_id"),
    ] {
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/guilds/{guild}/audit-logs{query}"),
                Some(&owner),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], 50035, "{body}");
        assert!(field_code(&body, &[field]).is_some(), "{query}: {body}");
    }
    s.stop().await;
}

async fn only_those_with_view_audit_log_read_it(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let guild = id_of(&s.guild(&owner, "Private log").await);
    let mouse = s.register("mouse", "correct horse").await;
    let mouse_id = s.user_id(&mouse).await;
    s.join(&guild, &mouse).await;

    let (status, body) = s
        .call(
            Method::GET,
            &format!("/guilds/{guild}/audit-logs"),
            Some(&mouse),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], 50013);

    // A role with VIEW_AUDIT_LOG (1 << 7) opens it, and its holders get the new entries.
    let (status, role) = s
        .call(
            Method::POST,
            &format!("/guilds/{guild}/roles"),
            Some(&owner),
            Some(json!({"name": "auditors", "permissions": "128"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    let role_id = id_of(&role);
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/guilds/{guild}/members/{mouse_id}/roles/{role_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut events = Events::new(&s);
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{guild}/roles/{role_id}"),
            Some(&owner),
            Some(json!({"hoist": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let got = events.drain();
    let (_, audience, entry) = got
        .iter()
        .find(|(n, _, _)| n == "GUILD_AUDIT_LOG_ENTRY_CREATE")
        .expect("GUILD_AUDIT_LOG_ENTRY_CREATE");
    let Audience::Users(users) = audience else {
        panic!("{audience:?}")
    };
    assert!(users.contains(&mouse_id.parse().unwrap()), "{users:?}");
    assert!(
        entry.get("reason").is_none(),
        "no header, no reason: {entry}"
    );
    let entries = log(&s, &mouse, &guild, "").await;
    assert_eq!(actions(&entries), [31, 25, 30]);
    assert_eq!(change(&entries[0], "hoist")["new_value"], true);
    assert_eq!(change(&entries[0], "hoist")["old_value"], false);
    s.stop().await;
}

/// A 1×1 PNG as a data URI.
const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

async fn settings_members_overwrites_invites_webhooks_emojis_and_messages(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let guild = id_of(&s.guild(&owner, "Busy").await);
    let mouse = s.register("mouse", "correct horse").await;
    let mouse_id = s.user_id(&mouse).await;
    s.join(&guild, &mouse).await;
    let (_, channels) = s
        .call(
            Method::GET,
            &format!("/guilds/{guild}/channels"),
            Some(&owner),
            None,
        )
        .await;
    let text = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 0)
        .map(id_of)
        .unwrap();
    let ok = |got: (StatusCode, Value), want: StatusCode| {
        assert_eq!(got.0, want, "{}", got.1);
        got.1
    };
    let send = |method: Method, path: String, body: Value, reason: &'static str| {
        let s = &s;
        let owner = owner.clone();
        async move {
            s.call_with_reason(method, &path, &owner, body, reason)
                .await
        }
    };

    ok(
        send(
            Method::PATCH,
            format!("/guilds/{guild}"),
            json!({"name": "Busier"}),
            "rename",
        )
        .await,
        StatusCode::OK,
    );
    ok(
        send(
            Method::PATCH,
            format!("/guilds/{guild}/members/{mouse_id}"),
            json!({"nick": "Squeak", "mute": true}),
            "nickname",
        )
        .await,
        StatusCode::OK,
    );
    for (method, allow, want) in [
        (Method::PUT, "1024", StatusCode::NO_CONTENT),
        (Method::PUT, "3072", StatusCode::NO_CONTENT),
        (Method::DELETE, "", StatusCode::NO_CONTENT),
    ] {
        ok(
            send(
                method,
                format!("/channels/{text}/permissions/{mouse_id}"),
                json!({"type": 1, "allow": allow, "deny": "0"}),
                "overwrite",
            )
            .await,
            want,
        );
    }
    let invite = ok(
        send(
            Method::POST,
            format!("/channels/{text}/invites"),
            json!({"max_age": 3600}),
            "invite",
        )
        .await,
        StatusCode::OK,
    );
    let code = invite["code"].as_str().unwrap().to_owned();
    ok(
        send(
            Method::DELETE,
            format!("/invites/{code}"),
            json!({}),
            "uninvite",
        )
        .await,
        StatusCode::OK,
    );
    let hook = ok(
        send(
            Method::POST,
            format!("/channels/{text}/webhooks"),
            json!({"name": "Hooky"}),
            "hook",
        )
        .await,
        StatusCode::OK,
    );
    let hook_id = id_of(&hook);
    ok(
        send(
            Method::PATCH,
            format!("/webhooks/{hook_id}"),
            json!({"name": "Hooked"}),
            "rehook",
        )
        .await,
        StatusCode::OK,
    );
    let emoji = ok(
        send(
            Method::POST,
            format!("/guilds/{guild}/emojis"),
            json!({"name": "dot", "image": PNG}),
            "emoji",
        )
        .await,
        StatusCode::CREATED,
    );
    let emoji_id = id_of(&emoji);
    ok(
        send(
            Method::PATCH,
            format!("/guilds/{guild}/emojis/{emoji_id}"),
            json!({"name": "spot"}),
            "re-emoji",
        )
        .await,
        StatusCode::OK,
    );
    ok(
        send(
            Method::DELETE,
            format!("/guilds/{guild}/emojis/{emoji_id}"),
            json!({}),
            "un-emoji",
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    ok(
        send(
            Method::DELETE,
            format!("/webhooks/{hook_id}"),
            json!({}),
            "unhook",
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    // Messages: the mouse writes three; the owner pins, unpins, deletes one and bulk-deletes two.
    let mut messages = Vec::new();
    for i in 0..3 {
        let (status, m) = s
            .call(
                Method::POST,
                &format!("/channels/{text}/messages"),
                Some(&mouse),
                Some(json!({"content": format!("squeak {i}")})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{m}");
        messages.push(id_of(&m));
    }
    ok(
        send(
            Method::PUT,
            format!("/channels/{text}/messages/pins/{}", messages[0]),
            json!({}),
            "pin",
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    ok(
        send(
            Method::DELETE,
            format!("/channels/{text}/messages/pins/{}", messages[0]),
            json!({}),
            "unpin",
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    ok(
        send(
            Method::DELETE,
            format!("/channels/{text}/messages/{}", messages[0]),
            json!({}),
            "spam",
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    ok(
        send(
            Method::POST,
            format!("/channels/{text}/messages/bulk-delete"),
            json!({"messages": [messages[1], messages[2]]}),
            "more spam",
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    // The author deleting their own message is not logged.
    let (_, own) = s
        .call(
            Method::POST,
            &format!("/channels/{text}/messages"),
            Some(&mouse),
            Some(json!({"content": "oops"})),
        )
        .await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/channels/{text}/messages/{}", id_of(&own)),
            Some(&mouse),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let mut entries = log(&s, &owner, &guild, "").await;
    entries.reverse();
    assert_eq!(
        actions(&entries),
        [
            1, 24, 13, 14, 15, 40, 42, 50, 51, 60, 61, 62, 52, 74, 75, 72, 73
        ],
        "{entries:?}"
    );
    let reasons: Vec<&str> = entries
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "rename",
            "nickname",
            "overwrite",
            "overwrite",
            "overwrite",
            "invite",
            "uninvite",
            "hook",
            "rehook",
            "emoji",
            "re-emoji",
            "un-emoji",
            "unhook",
            "pin",
            "unpin",
            "spam",
            "more spam"
        ]
    );
    assert_eq!(change(&entries[0], "name")["old_value"], "Busy");
    assert_eq!(change(&entries[0], "name")["new_value"], "Busier");
    assert_eq!(entries[0]["changes"].as_array().unwrap().len(), 1);
    assert_eq!(entries[1]["target_id"], mouse_id.as_str());
    assert_eq!(change(&entries[1], "nick")["new_value"], "Squeak");
    assert_eq!(change(&entries[1], "mute")["new_value"], true);
    for e in &entries[2..5] {
        assert_eq!(e["target_id"], text.as_str());
        assert_eq!(e["options"]["id"], mouse_id.as_str());
        assert_eq!(e["options"]["type"], "1");
    }
    assert_eq!(change(&entries[2], "allow")["new_value"], "1024");
    assert_eq!(change(&entries[3], "allow")["old_value"], "1024");
    assert_eq!(change(&entries[3], "allow")["new_value"], "3072");
    assert_eq!(change(&entries[4], "allow")["old_value"], "3072");
    assert!(entries[5]["target_id"].is_null());
    assert_eq!(change(&entries[5], "code")["new_value"], code.as_str());
    assert_eq!(
        change(&entries[5], "channel_id")["new_value"],
        text.as_str()
    );
    assert_eq!(change(&entries[6], "code")["old_value"], code.as_str());
    assert_eq!(entries[7]["target_id"], hook_id.as_str());
    assert_eq!(change(&entries[7], "name")["new_value"], "Hooky");
    assert_eq!(change(&entries[8], "name")["new_value"], "Hooked");
    assert_eq!(change(&entries[9], "name")["new_value"], "dot");
    assert_eq!(change(&entries[10], "name")["old_value"], "dot");
    assert_eq!(change(&entries[10], "name")["new_value"], "spot");
    assert_eq!(change(&entries[11], "name")["old_value"], "spot");
    assert_eq!(entries[13]["target_id"], mouse_id.as_str());
    assert_eq!(entries[13]["options"]["channel_id"], text.as_str());
    assert_eq!(entries[13]["options"]["message_id"], messages[0].as_str());
    assert_eq!(entries[15]["target_id"], mouse_id.as_str());
    assert_eq!(entries[15]["options"]["count"], "1");
    assert_eq!(entries[16]["target_id"], text.as_str());
    assert_eq!(entries[16]["options"]["count"], "2");
    // The webhooks the entries name are listed while they exist; this one was deleted.
    let (_, body) = s
        .call(
            Method::GET,
            &format!("/guilds/{guild}/audit-logs?action_type=50"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(body["webhooks"], json!([]), "{body}");
    s.stop().await;
}

async fn a_bot_added(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let owner_id = s.user_id(&owner).await;
    let guild = id_of(&s.guild(&owner, "Bots welcome").await);
    let (app, bot_token) = s.bot(&owner, "Helper").await;
    let bot_id = s.user_id(&format!("Bot {bot_token}")).await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/oauth2/authorize?client_id={app}&scope=bot"),
            Some(&owner),
            Some(json!({"guild_id": guild, "authorize": true, "permissions": "8"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = log(&s, &owner, &guild, "").await;
    assert_eq!(actions(&entries), [28]);
    assert_eq!(entries[0]["target_id"], bot_id.as_str());
    assert_eq!(entries[0]["user_id"], owner_id.as_str());
    // The bot is an administrator now: it may read the log too.
    assert_eq!(
        log(&s, &format!("Bot {bot_token}"), &guild, "").await.len(),
        1
    );
    s.stop().await;
}

async fn stickers(backend: &str) {
    use base64::Engine;
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let guild = id_of(&s.guild(&owner, "Sticky").await);
    let gif = base64::engine::general_purpose::STANDARD
        .decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("name", "wave")
        .text("description", "a friendly wave")
        .text("tags", "wave")
        .part(
            "file",
            reqwest::multipart::Part::bytes(gif).file_name("wave.gif"),
        );
    let resp = s
        .http
        .post(s.url(&format!("/guilds/{guild}/stickers")))
        .header("authorization", &owner)
        .header("x-audit-log-reason", "hello%20there")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let sticker: Value = resp.json().await.unwrap();
    let id = id_of(&sticker);
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{guild}/stickers/{id}"),
            Some(&owner),
            Some(json!({"name": "waves"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/guilds/{guild}/stickers/{id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let entries = log(&s, &owner, &guild, "").await;
    assert_eq!(actions(&entries), [92, 91, 90]);
    assert!(entries.iter().all(|e| e["target_id"] == id.as_str()));
    assert_eq!(entries[2]["reason"], "hello there", "URL-decoded");
    assert_eq!(change(&entries[2], "name")["new_value"], "wave");
    assert_eq!(change(&entries[2], "format_type")["new_value"], 4);
    assert_eq!(entries[1]["changes"].as_array().unwrap().len(), 1);
    assert_eq!(change(&entries[1], "name")["old_value"], "wave");
    assert_eq!(change(&entries[0], "name")["old_value"], "waves");
    s.stop().await;
}

async fn old_entries_are_dropped(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let owner_id: i64 = s.user_id(&owner).await.parse().unwrap();
    let guild = id_of(&s.guild(&owner, "Old news").await);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let at = |days: i64| ((now - days * 86_400_000 - 1_420_070_400_000) << 22) + 1;
    for days in [50, 10] {
        s.state
            .store
            .add_audit_log_entry(&accord_store::AuditLogRecord {
                id: at(days),
                guild_id: guild.parse().unwrap(),
                user_id: Some(owner_id),
                target_id: Some(guild.clone()),
                action_type: 1,
                changes: "[]".into(),
                options: None,
                reason: Some(format!("{days} days ago")),
            })
            .await
            .unwrap();
    }
    assert_eq!(log(&s, &owner, &guild, "").await.len(), 2);
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{guild}"),
            Some(&owner),
            Some(json!({"name": "Fresh news"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let entries = log(&s, &owner, &guild, "").await;
    let reasons: Vec<&Value> = entries.iter().map(|e| &e["reason"]).collect();
    assert_eq!(
        reasons,
        [&Value::Null, &json!("10 days ago")],
        "the 50-day-old entry is gone (45 days kept)"
    );
    s.stop().await;
}

both_backends!(
    old_entries_are_dropped,
    stickers,
    a_bot_added,
    actions_are_logged,
    only_those_with_view_audit_log_read_it,
    settings_members_overwrites_invites_webhooks_emojis_and_messages
);
