//! Modals with Discord's current layout: Labels (type 18) wrapping a text input or a string
//! select, text displays, and the answers to them (a select's `values`) checked and shaped as
//! Discord sends them in MODAL_SUBMIT — on both backends.

mod common;

use common::{Events, Server, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Setup {
    member: String,
    app: String,
    guild: String,
    channel: String,
}

/// A guild with a bot and its `ask` command, a member, and the bot's INTERACTION_CREATE of the
/// member's invocation.
async fn setup(s: &Server) -> (Setup, Value) {
    let owner = s.register("owner", "correct horse").await;
    let guild = id_of(&s.guild(&owner, "Modals").await);
    let (app, bot) = s.bot_in_guild(&owner, "Helper", &guild, "3072").await;
    let member = s.register("member", "correct horse").await;
    s.join(&guild, &member).await;
    let channel = s.text_channel(&guild).await;
    let (status, command) = s
        .call(
            Method::POST,
            &format!("/applications/{app}/guilds/{guild}/commands"),
            Some(&bot),
            Some(json!({"name": "ask", "description": "Ask"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{command}");
    let mut events = Events::new(s);
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&member),
            Some(json!({
                "type": 2, "application_id": app, "guild_id": guild, "channel_id": channel,
                "session_id": "session", "nonce": "n",
                "data": {"id": id_of(&command), "name": "ask", "type": 1}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let i = events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"])[0]
        .2
        .clone();
    let t = Setup {
        member,
        app,
        guild,
        channel,
    };
    (t, i)
}

async fn callback(s: &Server, i: &Value, body: Value) -> (StatusCode, Value) {
    let path = format!(
        "/interactions/{}/{}/callback",
        i["id"].as_str().unwrap(),
        i["token"].as_str().unwrap()
    );
    s.call(Method::POST, &path, None, Some(body)).await
}

fn bug_modal() -> Value {
    json!({"custom_id": "bug_modal", "title": "Bugs", "components": [
        {"type": 10, "content": "Tell us about bugs."},
        {"type": 18, "id": 7, "label": "What's your favorite bug?", "description": "Pick some",
         "component": {"type": 3, "custom_id": "favorite_bug", "max_values": 2, "options": [
            {"label": "Ant", "value": "ant"}, {"label": "Butterfly", "value": "butterfly"},
            {"label": "Caterpillar", "value": "caterpillar"}]}},
        {"type": 18, "label": "Why is it your favorite?",
         "component": {"type": 4, "custom_id": "why", "style": 2, "max_length": 20}},
        {"type": 18, "label": "Anything else?",
         "component": {"type": 3, "custom_id": "extra", "required": false, "options": [
            {"label": "Yes", "value": "yes"}]}}
    ]})
}

async fn labels_and_selects(backend: &str) {
    let s = Server::start(backend).await;
    let (t, i) = setup(&s).await;

    // Refused forms: a label over 45 characters, a label around a button, a disabled select,
    // a required select that allows none.
    let mut bad_forms = Vec::new();
    let mut m = bug_modal();
    m["components"][1]["label"] = json!("x".repeat(46));
    bad_forms.push((m, vec!["data", "components", "1", "label"]));
    let mut m = bug_modal();
    m["components"][2]["component"] =
        json!({"type": 2, "style": 1, "custom_id": "b", "label": "B"});
    bad_forms.push((m, vec!["data", "components", "2", "component"]));
    let mut m = bug_modal();
    m["components"][1]["component"]["disabled"] = json!(true);
    bad_forms.push((m, vec!["data", "components", "1", "component", "disabled"]));
    let mut m = bug_modal();
    m["components"][1]["component"]["min_values"] = json!(0);
    bad_forms.push((
        m,
        vec!["data", "components", "1", "component", "min_values"],
    ));
    for (form, path) in bad_forms {
        let (status, err) = callback(&s, &i, json!({"type": 9, "data": form})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(common::field_code(&err, &path).is_some(), "{path:?}: {err}");
    }

    let mut events = Events::new(&s);
    let (status, body) = callback(&s, &i, json!({"type": 9, "data": bug_modal()})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["INTERACTION_MODAL_CREATE", "INTERACTION_SUCCESS"]);
    assert_eq!(got[0].2["components"], bug_modal()["components"]);

    let submit = |answers: Value| {
        json!({
            "type": 5, "application_id": t.app, "guild_id": t.guild, "channel_id": t.channel,
            "session_id": "session", "nonce": "s",
            "data": {"id": i["id"], "custom_id": "bug_modal", "components": answers}
        })
    };
    let label = |c: Value| json!({"type": 18, "component": c});
    let bug =
        |values: Value| label(json!({"type": 3, "custom_id": "favorite_bug", "values": values}));
    let why = label(json!({"type": 4, "custom_id": "why", "value": "They fly"}));
    for bad in [
        // Not among the options, repeated, too many, none for a required select.
        json!([bug(json!(["spider"])), why.clone()]),
        json!([bug(json!(["ant", "ant"])), why.clone()]),
        json!([bug(json!(["ant", "butterfly", "caterpillar"])), why.clone()]),
        json!([bug(json!([])), why.clone()]),
        // A text answer for the select; a missing required text input.
        json!([
            label(json!({"type": 4, "custom_id": "favorite_bug", "value": "ant"})),
            why.clone()
        ]),
        json!([bug(json!(["ant"]))]),
    ] {
        let (status, err) = s
            .call(
                Method::POST,
                "/interactions",
                Some(&t.member),
                Some(submit(bad.clone())),
            )
            .await;
        assert_eq!(
            (status, err["code"].as_u64()),
            (StatusCode::BAD_REQUEST, Some(50035)),
            "{bad} → {err}"
        );
    }
    events.expect(&[]);

    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(submit(json!([bug(json!(["butterfly", "ant"])), why]))),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"]);
    let data = &got[0].2["data"];
    assert_eq!(got[0].2["type"], 5);
    assert_eq!(
        data["components"],
        json!([
            {"type": 10},
            {"type": 18, "id": 7, "component":
                {"type": 3, "custom_id": "favorite_bug", "values": ["butterfly", "ant"]}},
            {"type": 18, "component": {"type": 4, "custom_id": "why", "value": "They fly"}},
            {"type": 18, "component": {"type": 3, "custom_id": "extra", "values": []}}
        ])
    );
    s.stop().await;
}

both_backends!(labels_and_selects);
