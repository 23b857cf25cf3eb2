//! Message components on messages: stored and returned as sent when valid (bot messages,
//! edits, webhook messages), refused with Discord's form errors otherwise; components v2
//! (IS_COMPONENTS_V2) with their layouts, ids, and no content or embeds.

mod common;

use common::{Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn row() -> Value {
    json!([
        {"type": 1, "components": [
            {"type": 2, "style": 1, "label": "Yes", "custom_id": "yes"},
            {"type": 2, "style": 5, "label": "Docs", "url": "https://example.com/docs"}
        ]},
        {"type": 1, "components": [
            {"type": 3, "custom_id": "flavour", "placeholder": "Pick one",
             "options": [{"label": "Vanilla", "value": "v"}, {"label": "Chocolate", "value": "c"}]}
        ]}
    ])
}

async fn components_on_messages(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let guild = id_of(&s.guild(&owner, "Components").await);
    let (app, bot) = s.bot(&owner, "Buttons").await;
    let bot = format!("Bot {bot}");
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/oauth2/authorize?client_id={app}&scope=bot"),
            Some(&owner),
            Some(json!({"guild_id": guild, "authorize": true, "permissions": "536873984"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let channel = s.text_channel(&guild).await;
    let messages = format!("/channels/{channel}/messages");
    let (status, sent) = s
        .call(
            Method::POST,
            &messages,
            Some(&bot),
            Some(json!({"content": "Choose", "components": row()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["components"], row());
    let (_, read) = s
        .call(
            Method::GET,
            &format!("{messages}/{}", id_of(&sent)),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(read["components"], row());

    let bad: Vec<(Value, Vec<&str>, &str)> = vec![
        (
            json!([{"type": 2, "style": 1, "label": "x", "custom_id": "x"}]),
            vec!["components", "0", "type"],
            "COMPONENT_LAYOUT_INVALID",
        ),
        (
            json!([{"type": 1, "components": [{"type": 2, "style": 1, "label": "x"}]}]),
            vec!["components", "0", "components", "0", "custom_id"],
            "BASE_TYPE_REQUIRED",
        ),
        (
            json!([{"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "same"}, {"type": 2, "style": 2, "label": "b", "custom_id": "same"}]}]),
            vec!["components", "0", "components", "1", "custom_id"],
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
        (
            json!([{"type": 1, "components": [{"type": 3, "custom_id": "s", "options": []}]}]),
            vec!["components", "0", "components", "0", "options"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            json!([{"type": 1, "components": (0..6).map(|i| json!({"type": 2, "style": 1, "label": "b", "custom_id": format!("b{i}")})).collect::<Vec<_>>()}]),
            vec!["components", "0", "components"],
            "COMPONENT_LAYOUT_INVALID",
        ),
    ];
    for (components, path, code) in bad {
        let (status, err) = s
            .call(
                Method::POST,
                &messages,
                Some(&bot),
                Some(json!({"content": "x", "components": components})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(field_code(&err, &path), Some(code), "{err}");
    }
    // Edits are checked the same way; a valid edit replaces them.
    let one = format!("{messages}/{}", id_of(&sent));
    let (status, err) = s
        .call(
            Method::PATCH,
            &one,
            Some(&bot),
            Some(json!({"components": [{"type": 4, "custom_id": "t", "style": 1}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let only_buttons = json!([row()[0].clone()]);
    let (status, edited) = s
        .call(
            Method::PATCH,
            &one,
            Some(&bot),
            Some(json!({"components": only_buttons})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["components"], only_buttons);

    // Webhook messages too.
    let (status, hook) = s
        .call(
            Method::POST,
            &format!("/channels/{channel}/webhooks"),
            Some(&owner),
            Some(json!({"name": "hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hook}");
    let url = format!(
        "/webhooks/{}/{}?wait=true",
        id_of(&hook),
        hook["token"].as_str().unwrap()
    );
    let (status, err) = s
        .call(
            Method::POST,
            &url,
            None,
            Some(json!({"content": "x", "components": [{"type": 1, "components": []}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, sent) = s
        .call(
            Method::POST,
            &url,
            None,
            Some(json!({"content": "x", "components": row()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["components"], row());
    s.stop().await;
}

const V2: u64 = 1 << 15;

fn layout() -> Value {
    json!([
        {"type": 10, "content": "# Changelog"},
        {"type": 17, "accent_color": 703487, "components": [
            {"type": 9, "components": [{"type": 10, "content": "New levels"}],
             "accessory": {"type": 11, "media": {"url": "https://example.org/thumb.png"},
                           "description": "A thumbnail"}},
            {"type": 14, "divider": true, "spacing": 2},
            {"type": 12, "items": [{"media": {"url": "https://example.org/1.png"}, "spoiler": true}]},
            {"type": 1, "id": 2, "components": [
                {"type": 2, "style": 1, "label": "Play", "custom_id": "play"}]}
        ]}
    ])
}

async fn components_v2(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let guild = id_of(&s.guild(&owner, "Layouts").await);
    let (_app, bot) = s.bot_in_guild(&owner, "Layouts", &guild, "536873984").await;
    let channel = s.text_channel(&guild).await;
    let messages = format!("/channels/{channel}/messages");
    let send = |body: Value| {
        let s = &s;
        let bot = bot.clone();
        let messages = messages.clone();
        async move {
            s.call(Method::POST, &messages, Some(&bot), Some(body))
                .await
        }
    };

    // Without the flag, layouts are refused; with it, content and embeds are.
    let (status, err) = send(json!({"components": layout()})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(
        field_code(&err, &["components", "0", "type"]),
        Some("COMPONENT_LAYOUT_INVALID")
    );
    let (status, err) = send(
        json!({"flags": V2, "content": "hi", "embeds": [{"title": "t"}], "components": layout()}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(field_code(&err, &["content"]).is_some(), "{err}");
    assert!(field_code(&err, &["embeds"]).is_some(), "{err}");
    for (bad, path) in [
        (
            json!([{"type": 17, "components": [{"type": 17, "components": []}]}]),
            vec!["components", "0", "components", "0", "type"],
        ),
        (
            json!([{"type": 9, "components": [{"type": 10, "content": "x"}]}]),
            vec!["components", "0", "accessory"],
        ),
        (
            json!([{"type": 13, "file": {"url": "https://example.org/f.pdf"}}]),
            vec!["components", "0", "file", "url"],
        ),
        (
            json!([{"type": 14, "spacing": 5}]),
            vec!["components", "0", "spacing"],
        ),
        (json!([]), vec!["components"]),
    ] {
        let (status, err) = send(json!({"flags": V2, "components": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
        assert!(field_code(&err, &path).is_some(), "{bad}: {err}");
    }
    let many: Vec<Value> = (0..41)
        .map(|i| json!({"type": 10, "content": format!("line {i}")}))
        .collect();
    let (status, err) = send(json!({"flags": V2, "components": many})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    // Stored and returned with the flag and sequential ids (2 is taken by the action row).
    let (status, sent) = send(json!({"flags": V2, "components": layout()})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["flags"], V2);
    assert_eq!(sent["content"], "");
    let c = &sent["components"];
    assert_eq!(c[0]["id"], 1);
    assert_eq!(c[1]["id"], 3);
    assert_eq!(c[1]["components"][0]["id"], 4);
    assert_eq!(c[1]["components"][0]["accessory"]["id"], 6);
    assert_eq!(c[1]["components"][3]["id"], 2);
    assert_eq!(c[1]["components"][3]["components"][0]["id"], 9);
    assert_eq!(c[1]["accent_color"], 703487);
    assert_eq!(c[1]["components"][2]["items"][0]["spoiler"], true);
    let (_, read) = s
        .call(
            Method::GET,
            &format!("{messages}/{}", id_of(&sent)),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(read["components"], sent["components"]);
    assert_eq!(read["flags"], V2);

    // Edits: content stays forbidden and the flag cannot be removed; a legacy message is
    // upgraded by setting the flag with its content cleared.
    let edit = format!("{messages}/{}", id_of(&sent));
    let (status, err) = s
        .call(
            Method::PATCH,
            &edit,
            Some(&bot),
            Some(json!({"content": "now text"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, edited) = s
        .call(
            Method::PATCH,
            &edit,
            Some(&bot),
            Some(json!({"flags": 0, "components": [{"type": 10, "content": "Replaced"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["flags"], V2);
    assert_eq!(
        edited["components"],
        json!([{"type": 10, "id": 1, "content": "Replaced"}])
    );
    let (status, legacy) = send(json!({"content": "old style"})).await;
    assert_eq!(status, StatusCode::OK, "{legacy}");
    let old = format!("{messages}/{}", id_of(&legacy));
    let (status, err) = s
        .call(
            Method::PATCH,
            &old,
            Some(&bot),
            Some(json!({"flags": V2, "components": [{"type": 10, "content": "new"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(field_code(&err, &["content"]).is_some(), "{err}");
    let (status, upgraded) = s
        .call(
            Method::PATCH,
            &old,
            Some(&bot),
            Some(json!({"flags": V2, "content": null, "components": [{"type": 10, "content": "new"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{upgraded}");
    assert_eq!(upgraded["flags"], V2);
    assert_eq!(upgraded["content"], "");

    // attachment:// media name the message's uploads; the API fills in what it knows.
    let post_files = |payload: Value| {
        let form = reqwest::multipart::Form::new()
            .text("payload_json", payload.to_string())
            .part(
                "files[0]",
                reqwest::multipart::Part::bytes(b"read me".to_vec()).file_name("manual.txt"),
            );
        let req = s
            .http
            .post(s.url(&messages))
            .header("authorization", &bot)
            .multipart(form);
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let file_layout = |name: &str| {
        json!({"flags": V2, "components": [
            {"type": 13, "file": {"url": format!("attachment://{name}")}},
            {"type": 12, "items": [{"media": {"url": format!("attachment://{name}")}}]}
        ]})
    };
    let (status, err) = post_files(file_layout("missing.txt")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, sent) = post_files(file_layout("manual.txt")).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let attachment = &sent["attachments"][0];
    let file = &sent["components"][0];
    assert_eq!(file["name"], "manual.txt");
    assert_eq!(file["size"], 7);
    assert_eq!(file["file"]["attachment_id"], attachment["id"]);
    assert_eq!(file["file"]["url"], attachment["url"]);
    assert_eq!(file["file"]["proxy_url"], attachment["url"]);
    let item = &sent["components"][1]["items"][0]["media"];
    assert_eq!(item["attachment_id"], attachment["id"]);
    assert_eq!(item["url"], attachment["url"]);
    assert_eq!(item["content_type"], attachment["content_type"]);
    s.stop().await;
}

both_backends!(components_on_messages, components_v2);
