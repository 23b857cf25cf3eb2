//! Message components on messages: stored and returned as sent when valid (bot messages,
//! edits, webhook messages), refused with Discord's form errors otherwise.

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
    let channel = s
        .state
        .store
        .guild_channels(guild.parse().unwrap())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == 0)
        .unwrap()
        .id
        .to_string();
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

both_backends!(components_on_messages);
