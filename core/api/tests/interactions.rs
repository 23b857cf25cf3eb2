//! Interactions over the gateway: a user account invokes a command (`POST /interactions`, JSON
//! or multipart), the options are checked against the command, the bot gets INTERACTION_CREATE
//! and the invoking user INTERACTION_CREATE / SUCCESS / FAILURE; the application answers once
//! within 3 seconds (`/callback`: a message, deferred, ephemeral, autocomplete), then edits
//! `@original` and sends follow-ups with the token.

mod common;

use accord_bus::Audience;
use common::{Events, Server, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Setup {
    owner: String,
    member: String,
    member_id: String,
    app: String,
    bot: String,
    bot_id: String,
    guild: String,
    channel: String,
    blep: Value,
}

async fn setup(s: &Server) -> Setup {
    let owner = s.register("owner", "correct horse").await;
    let guild = id_of(&s.guild(&owner, "Interactions").await);
    let (app, bot) = s.bot_in_guild(&owner, "Helper", &guild, "3072").await;
    let bot_id = s.user_id(&bot).await;
    let member = s.register("member", "correct horse").await;
    s.join(&guild, &member).await;
    let member_id = s.user_id(&member).await;
    let channel = s.text_channel(&guild).await;
    let (status, blep) = s
        .call(
            Method::POST,
            &format!("/applications/{app}/guilds/{guild}/commands"),
            Some(&bot),
            Some(json!({
                "name": "blep", "description": "Send an animal",
                "options": [
                    {"name": "animal", "description": "Which", "type": 3, "required": true,
                     "choices": [{"name": "Dog", "value": "dog"}, {"name": "Cat", "value": "cat"}]},
                    {"name": "count", "description": "How many", "type": 4, "min_value": 1, "max_value": 10},
                    {"name": "who", "description": "Someone", "type": 6},
                    {"name": "text", "description": "Free text", "type": 3, "autocomplete": true}
                ]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{blep}");
    Setup {
        owner,
        member,
        member_id,
        app,
        bot,
        bot_id,
        guild,
        channel,
        blep,
    }
}

fn invocation(t: &Setup, options: Value, nonce: &str) -> Value {
    json!({
        "type": 2, "application_id": t.app, "guild_id": t.guild, "channel_id": t.channel,
        "session_id": "not-a-real-session", "nonce": nonce,
        "data": {"id": id_of(&t.blep), "name": "blep", "type": 1, "version": t.blep["version"], "options": options}
    })
}

/// Invokes and returns the INTERACTION_CREATE the bot received.
async fn invoke(s: &Server, t: &Setup, options: Value, nonce: &str) -> Value {
    let mut events = Events::new(s);
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(invocation(t, options, nonce)),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"]);
    assert_eq!(got[0].1, Audience::Users(vec![t.bot_id.parse().unwrap()]));
    assert_eq!(got[1].1, Audience::Session("not-a-real-session".into()));
    assert_eq!(got[1].2, json!({"id": got[0].2["id"], "nonce": nonce}));
    got[0].2.clone()
}

async fn callback(s: &Server, i: &Value, body: Value) -> (StatusCode, Value) {
    let path = format!(
        "/interactions/{}/{}/callback",
        i["id"].as_str().unwrap(),
        i["token"].as_str().unwrap()
    );
    s.call(Method::POST, &path, None, Some(body)).await
}

async fn invoking(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let i = invoke(
        &s,
        &t,
        json!([{"name": "animal", "type": 3, "value": "cat"}, {"name": "count", "type": 4, "value": 3},
               {"name": "who", "type": 6, "value": t.member_id}]),
        "n1",
    )
    .await;
    assert_eq!(i["type"], 2);
    assert_eq!(i["version"], 1);
    assert_eq!(i["application_id"], t.app.as_str());
    assert_eq!(i["guild_id"], t.guild.as_str());
    assert_eq!(i["channel_id"], t.channel.as_str());
    assert_eq!(i["channel"]["id"], t.channel.as_str());
    assert_eq!(i["channel"]["type"], 0);
    assert_eq!(i["data"]["id"], t.blep["id"]);
    assert_eq!(i["data"]["name"], "blep");
    assert_eq!(i["data"]["guild_id"], t.guild.as_str());
    assert_eq!(
        i["data"]["options"][0],
        json!({"name": "animal", "type": 3, "value": "cat"})
    );
    assert_eq!(
        i["data"]["resolved"]["users"][&t.member_id]["id"],
        t.member_id.as_str()
    );
    assert!(i["data"]["resolved"]["members"][&t.member_id]["roles"].is_array());
    assert_eq!(i["member"]["user"]["id"], t.member_id.as_str());
    assert!(i["member"]["permissions"].is_string());
    assert!(i.get("user").is_none());
    assert!(i["token"].as_str().unwrap().len() > 40);
    let app_permissions: u64 = i["app_permissions"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app_permissions & 3072,
        3072,
        "VIEW_CHANNEL and SEND_MESSAGES"
    );
    assert_eq!(i["entitlements"], json!([]));
    assert_eq!(i["authorizing_integration_owners"], json!({"0": t.guild}));
    assert_eq!(i["context"], 0);
    assert!(i["locale"].is_string());
    assert!(i["attachment_size_limit"].is_u64());

    // Multipart with payload_json, as Discord's client sends it.
    let form = reqwest::multipart::Form::new().text(
        "payload_json",
        invocation(
            &t,
            json!([{"name": "animal", "type": 3, "value": "dog"}]),
            "n2",
        )
        .to_string(),
    );
    let mut events = Events::new(&s);
    let resp = s
        .http
        .post(s.url("/interactions"))
        .header("authorization", &t.member)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"]);

    // Refusals, with nothing dispatched.
    let mut events = Events::new(&s);
    let refused: Vec<(Value, &str, StatusCode, u64)> = vec![
        (
            json!([{"name": "count", "type": 4, "value": 3}]),
            "member",
            StatusCode::BAD_REQUEST,
            50035,
        ),
        (
            json!([{"name": "animal", "type": 3, "value": "fish"}]),
            "member",
            StatusCode::BAD_REQUEST,
            50035,
        ),
        (
            json!([{"name": "animal", "type": 3, "value": "dog"}, {"name": "count", "type": 4, "value": 11}]),
            "member",
            StatusCode::BAD_REQUEST,
            50035,
        ),
        (
            json!([{"name": "animal", "type": 4, "value": 1}]),
            "member",
            StatusCode::BAD_REQUEST,
            50035,
        ),
        (
            json!([{"name": "animal", "type": 3, "value": "dog"}, {"name": "nope", "type": 3, "value": "x"}]),
            "member",
            StatusCode::BAD_REQUEST,
            50035,
        ),
        (
            json!([{"name": "animal", "type": 3, "value": "dog"}]),
            "bot",
            StatusCode::FORBIDDEN,
            20001,
        ),
    ];
    for (options, who, status, code) in refused {
        let token = if who == "bot" { &t.bot } else { &t.member };
        let (got, body) = s
            .call(
                Method::POST,
                "/interactions",
                Some(token),
                Some(invocation(&t, options.clone(), "x")),
            )
            .await;
        assert_eq!(
            (got, body["code"].as_u64()),
            (status, Some(code)),
            "{options} → {body}"
        );
    }
    let mut unknown = invocation(&t, json!([]), "x");
    unknown["data"]["id"] = json!("1");
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(unknown),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10063))
    );
    events.expect(&[]);

    // default_member_permissions "0": administrators (the owner) only.
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!(
                "/applications/{}/guilds/{}/commands/{}",
                t.app,
                t.guild,
                id_of(&t.blep)
            ),
            Some(&t.bot),
            Some(json!({"default_member_permissions": "0"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let options = json!([{"name": "animal", "type": 3, "value": "dog"}]);
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(invocation(&t, options.clone(), "x")),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50013))
    );
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.owner),
            Some(invocation(&t, options.clone(), "x")),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A user entry in the command's permissions lets the member use it again.
    let (status, body) = s
        .call(
            Method::PUT,
            &format!(
                "/applications/{}/guilds/{}/commands/{}/permissions",
                t.app,
                t.guild,
                id_of(&t.blep)
            ),
            Some(&t.owner),
            Some(json!({"permissions": [{"id": t.member_id, "type": 2, "permission": true}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(invocation(&t, options, "x")),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    s.stop().await;
}

async fn responding(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let i = invoke(
        &s,
        &t,
        json!([{"name": "animal", "type": 3, "value": "dog"}]),
        "r1",
    )
    .await;
    let (status, err) = s
        .call(
            Method::POST,
            &format!("/interactions/{}/wrong/callback", i["id"].as_str().unwrap()),
            None,
            Some(json!({"type": 4, "data": {"content": "x"}})),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10062))
    );

    let mut events = Events::new(&s);
    let path = format!(
        "/interactions/{}/{}/callback?with_response=true",
        i["id"].as_str().unwrap(),
        i["token"].as_str().unwrap()
    );
    let (status, answer) = s
        .call(
            Method::POST,
            &path,
            None,
            Some(json!({"type": 4, "data": {"content": "A dog!"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let message = answer["resource"]["message"].clone();
    assert_eq!(answer["interaction"]["id"], i["id"]);
    assert_eq!(answer["interaction"]["response_message_id"], message["id"]);
    assert_eq!(answer["resource"]["type"], 4);
    assert_eq!(message["type"], 20);
    assert_eq!(message["content"], "A dog!");
    assert_eq!(message["author"]["id"], t.bot_id.as_str());
    assert_eq!(message["webhook_id"], t.app.as_str());
    assert_eq!(message["application_id"], t.app.as_str());
    assert_eq!(message["interaction_metadata"]["id"], i["id"]);
    assert_eq!(message["interaction_metadata"]["type"], 2);
    assert_eq!(
        message["interaction_metadata"]["user"]["id"],
        t.member_id.as_str()
    );
    assert_eq!(message["interaction"]["name"], "blep");
    let got = events.expect(&["MESSAGE_CREATE", "INTERACTION_SUCCESS"]);
    assert_eq!(got[0].1, Audience::Channel(t.channel.parse().unwrap()));
    assert_eq!(got[1].2, json!({"id": i["id"], "nonce": "r1"}));
    let (status, err) = callback(&s, &i, json!({"type": 4, "data": {"content": "again"}})).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(40060))
    );

    // @original and follow-ups with the token.
    let hook = format!("/webhooks/{}/{}", t.app, i["token"].as_str().unwrap());
    let (status, original) = s
        .call(
            Method::GET,
            &format!("{hook}/messages/@original"),
            None,
            None,
        )
        .await;
    assert_eq!((status, &original["id"]), (StatusCode::OK, &message["id"]));
    assert_eq!(original["interaction_metadata"]["id"], i["id"]);
    let (status, edited) = s
        .call(
            Method::PATCH,
            &format!("{hook}/messages/@original"),
            None,
            Some(json!({"content": "Two dogs!"})),
        )
        .await;
    assert_eq!(
        (status, edited["content"].as_str()),
        (StatusCode::OK, Some("Two dogs!"))
    );
    let (status, followup) = s
        .call(
            Method::POST,
            &format!("{hook}?wait=true"),
            None,
            Some(json!({"content": "And a cat."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{followup}");
    assert_eq!(followup["type"], 20);
    assert_eq!(
        followup["interaction_metadata"]["original_response_message_id"],
        message["id"]
    );
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("{hook}/messages/{}", id_of(&followup)),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(
            Method::GET,
            &format!("{hook}/messages/{}", id_of(&message)),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Another interaction's token does not reach this message.
    let other = invoke(
        &s,
        &t,
        json!([{"name": "animal", "type": 3, "value": "dog"}]),
        "r2",
    )
    .await;
    let other_hook = format!("/webhooks/{}/{}", t.app, other["token"].as_str().unwrap());
    let (status, err) = s
        .call(
            Method::GET,
            &format!("{other_hook}/messages/{}", id_of(&message)),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10008))
    );

    // Deferred and ephemeral: only the invoker sees it, and it is not in the channel history.
    let mut events = Events::new(&s);
    let (status, body) = callback(&s, &other, json!({"type": 5, "data": {"flags": 64}})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["MESSAGE_CREATE", "INTERACTION_SUCCESS"]);
    assert_eq!(
        got[0].1,
        Audience::Users(vec![t.member_id.parse().unwrap()])
    );
    assert_eq!(got[0].2["flags"], 64 | 128);
    let (status, done) = s
        .call(
            Method::PATCH,
            &format!("{other_hook}/messages/@original"),
            None,
            Some(json!({"content": "Thought about it."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["flags"], 64);
    let got = events.expect(&["MESSAGE_UPDATE"]);
    assert_eq!(
        got[0].1,
        Audience::Users(vec![t.member_id.parse().unwrap()])
    );
    let (_, history) = s
        .call(
            Method::GET,
            &format!("/channels/{}/messages", t.channel),
            Some(&t.owner),
            None,
        )
        .await;
    let ids: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&message["id"].as_str().unwrap()));
    assert!(!ids.contains(&done["id"].as_str().unwrap()));
    let (status, err) = s
        .call(
            Method::GET,
            &format!("/channels/{}/messages/{}", t.channel, id_of(&done)),
            Some(&t.member),
            None,
        )
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10008))
    );
    s.stop().await;
}

async fn deadlines_and_autocomplete(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let i = invoke(
        &s,
        &t,
        json!([{"name": "animal", "type": 3, "value": "dog"}]),
        "late",
    )
    .await;
    let mut events = Events::new(&s);
    tokio::time::sleep(std::time::Duration::from_millis(3300)).await;
    let got = events.expect(&["INTERACTION_FAILURE"]);
    assert_eq!(got[0].2, json!({"id": i["id"], "nonce": "late"}));
    let (status, err) = callback(&s, &i, json!({"type": 4, "data": {"content": "too late"}})).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10062))
    );

    // Autocomplete: partial input, one focused option; the choices go to the invoking session.
    let mut body = invocation(
        &t,
        json!([{"name": "text", "type": 3, "value": "ca", "focused": true}]),
        "ac",
    );
    body["type"] = json!(4);
    let mut events = Events::new(&s);
    let (status, err) = s
        .call(Method::POST, "/interactions", Some(&t.member), Some(body))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{err}");
    let got = events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"]);
    let ac = got[0].2.clone();
    assert_eq!(ac["type"], 4);
    assert_eq!(ac["data"]["options"][0]["focused"], true);
    let (status, err) = callback(&s, &ac, json!({"type": 4, "data": {"content": "no"}})).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50035))
    );
    let (status, _) = callback(
        &s,
        &ac,
        json!({"type": 8, "data": {"choices": [{"name": "Cat", "value": "cat"}]}}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = events.expect(&[
        "APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE",
        "INTERACTION_SUCCESS",
    ]);
    assert_eq!(got[0].1, Audience::Session("not-a-real-session".into()));
    assert_eq!(
        got[0].2["choices"],
        json!([{"name": "Cat", "value": "cat"}])
    );
    s.stop().await;
}

/// Sends a component interaction on `message` and returns what the bot received.
async fn press(s: &Server, t: &Setup, message: &str, data: Value) -> (StatusCode, Value) {
    let mut events = Events::new(s);
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(json!({
                "type": 3, "application_id": t.app, "guild_id": t.guild, "channel_id": t.channel,
                "message_id": message, "message_flags": 0, "session_id": "not-a-real-session",
                "nonce": "c", "data": data
            })),
        )
        .await;
    if status != StatusCode::NO_CONTENT {
        events.expect(&[]);
        return (status, body);
    }
    let got = events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"]);
    assert_eq!(got[0].1, Audience::Users(vec![t.bot_id.parse().unwrap()]));
    (status, got[0].2.clone())
}

async fn components(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let components = json!([
        {"type": 1, "components": [
            {"type": 2, "style": 1, "label": "Yes", "custom_id": "yes"},
            {"type": 2, "style": 4, "label": "Off", "custom_id": "off", "disabled": true}
        ]},
        {"type": 1, "components": [{"type": 3, "custom_id": "flavour",
            "options": [{"label": "Vanilla", "value": "v"}, {"label": "Chocolate", "value": "c"}]}]},
        {"type": 1, "components": [{"type": 5, "custom_id": "who", "max_values": 2}]}
    ]);
    let (status, sent) = s
        .call(
            Method::POST,
            &format!("/channels/{}/messages", t.channel),
            Some(&t.bot),
            Some(json!({"content": "Pick", "components": components})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let mid = id_of(&sent);

    let (status, i) = press(
        &s,
        &t,
        &mid,
        json!({"component_type": 2, "custom_id": "yes"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{i}");
    assert_eq!(i["type"], 3);
    assert_eq!(i["data"], json!({"custom_id": "yes", "component_type": 2}));
    assert_eq!(i["message"]["id"], mid.as_str());
    assert_eq!(i["member"]["user"]["id"], t.member_id.as_str());
    let (status, sel) = press(
        &s,
        &t,
        &mid,
        json!({"component_type": 3, "custom_id": "flavour", "values": ["c"]}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{sel}");
    assert_eq!(sel["data"]["values"], json!(["c"]));
    let (status, who) = press(
        &s,
        &t,
        &mid,
        json!({"component_type": 5, "custom_id": "who", "values": [t.member_id]}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{who}");
    assert_eq!(
        who["data"]["resolved"]["users"][&t.member_id]["id"],
        t.member_id.as_str()
    );
    for bad in [
        json!({"component_type": 3, "custom_id": "flavour", "values": ["x"]}),
        json!({"component_type": 3, "custom_id": "flavour", "values": ["v", "c"]}),
        json!({"component_type": 2, "custom_id": "nope"}),
        json!({"component_type": 2, "custom_id": "off"}),
        json!({"component_type": 3, "custom_id": "yes"}),
    ] {
        let (status, err) = press(&s, &t, &mid, bad.clone()).await;
        assert_eq!(
            (status, err["code"].as_u64()),
            (StatusCode::BAD_REQUEST, Some(50035)),
            "{bad} → {err}"
        );
    }
    // A message not sent by the application has no components of its own to use.
    let (_, mine) = s
        .call(
            Method::POST,
            &format!("/channels/{}/messages", t.channel),
            Some(&t.member),
            Some(json!({"content": "mine"})),
        )
        .await;
    let (status, err) = press(
        &s,
        &t,
        &id_of(&mine),
        json!({"component_type": 2, "custom_id": "yes"}),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50035))
    );

    // UPDATE_MESSAGE edits the message the button is on.
    let mut events = Events::new(&s);
    let (status, body) = callback(
        &s,
        &i,
        json!({"type": 7, "data": {"content": "Picked: yes", "components": []}}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["MESSAGE_UPDATE", "INTERACTION_SUCCESS"]);
    assert_eq!(got[0].2["id"], mid.as_str());
    assert_eq!(got[0].2["content"], "Picked: yes");
    assert_eq!(got[0].2["components"], json!([]));
    // A reply to a select: type 19, referencing the message, with the interaction's metadata.
    let (status, answer) = s
        .call(
            Method::POST,
            &format!(
                "/interactions/{}/{}/callback?with_response=true",
                sel["id"].as_str().unwrap(),
                sel["token"].as_str().unwrap()
            ),
            None,
            Some(json!({"type": 4, "data": {"content": "Chocolate it is"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let reply = &answer["resource"]["message"];
    assert_eq!(reply["type"], 19);
    assert_eq!(reply["message_reference"]["message_id"], mid.as_str());
    assert_eq!(reply["interaction_metadata"]["type"], 3);
    assert_eq!(
        reply["interaction_metadata"]["interacted_message_id"],
        mid.as_str()
    );
    assert!(reply.get("interaction").is_none());
    // DEFERRED_UPDATE_MESSAGE, then @original is the message the select is on.
    let (status, _) = callback(&s, &who, json!({"type": 6})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let hook = format!(
        "/webhooks/{}/{}/messages/@original",
        t.app,
        who["token"].as_str().unwrap()
    );
    let (status, edited) = s
        .call(
            Method::PATCH,
            &hook,
            None,
            Some(json!({"content": "Later"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["id"].as_str(), edited["content"].as_str()),
        (Some(mid.as_str()), Some("Later"))
    );
    s.stop().await;
}

async fn modals(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let i = invoke(
        &s,
        &t,
        json!([{"name": "animal", "type": 3, "value": "dog"}]),
        "m1",
    )
    .await;
    let modal = json!({"custom_id": "feedback", "title": "Tell us",
        "components": [{"type": 1, "components": [
            {"type": 4, "custom_id": "why", "style": 2, "label": "Why?", "min_length": 2, "max_length": 50},
            ]},
            {"type": 1, "components": [{"type": 4, "custom_id": "extra", "style": 1, "label": "More", "required": false}]}]});
    let (status, err) = callback(
        &s,
        &i,
        json!({"type": 9, "data": {"custom_id": "x", "title": "t", "components": []}}),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50035)),
        "{err}"
    );
    let mut events = Events::new(&s);
    let (status, body) = callback(&s, &i, json!({"type": 9, "data": modal})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["INTERACTION_MODAL_CREATE", "INTERACTION_SUCCESS"]);
    assert_eq!(got[0].1, Audience::Session("not-a-real-session".into()));
    assert_eq!(got[0].2["id"], i["id"]);
    assert_eq!(got[0].2["custom_id"], "feedback");
    assert_eq!(got[0].2["application"]["id"], t.app.as_str());

    let submit = |answers: Value| {
        json!({
            "type": 5, "application_id": t.app, "guild_id": t.guild, "channel_id": t.channel,
            "session_id": "not-a-real-session", "nonce": "m2",
            "data": {"id": i["id"], "custom_id": "feedback", "components": answers}
        })
    };
    for bad in [
        json!([{"type": 1, "components": [{"type": 4, "custom_id": "why", "value": "x"}]}]),
        json!([]),
        json!([{"type": 1, "components": [{"type": 4, "custom_id": "nope", "value": "hello"}]}]),
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
    let (status, err) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.owner),
            Some(submit(json!([]))),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10062)),
        "only the invoker submits"
    );
    let mut events = Events::new(&s);
    let answers =
        json!([{"type": 1, "components": [{"type": 4, "custom_id": "why", "value": "Because"}]}]);
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(submit(answers)),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"]);
    let m = got[0].2.clone();
    assert_eq!(m["type"], 5);
    assert_eq!(m["data"]["custom_id"], "feedback");
    assert_eq!(
        m["data"]["components"][0]["components"][0],
        json!({"type": 4, "custom_id": "why", "value": "Because"})
    );
    assert_eq!(m["data"]["components"][1]["components"][0]["value"], "");
    let (status, err) = callback(&s, &m, json!({"type": 9, "data": modal})).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(50035)),
        "no modal after a modal"
    );
    let (status, answer) = s
        .call(
            Method::POST,
            &format!(
                "/interactions/{}/{}/callback?with_response=true",
                m["id"].as_str().unwrap(),
                m["token"].as_str().unwrap()
            ),
            None,
            Some(json!({"type": 4, "data": {"content": "Thanks!", "flags": 64}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["resource"]["message"]["interaction_metadata"]["type"],
        5
    );
    assert_eq!(
        answer["resource"]["message"]["interaction_metadata"]["triggering_interaction_metadata"]["id"],
        i["id"]
    );
    s.stop().await;
}

/// A follow-up sent right after a deferral completes the loading message (Discord's
/// backwards-compatible rule: no new message, the deferral's ephemeral state kept); the next
/// follow-up is a message of its own, naming the original response.
async fn deferred_follow_ups(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let animal = json!([{"name": "animal", "type": 3, "value": "dog"}]);
    for (nonce, deferral_flags) in [("f1", 0), ("f2", 64)] {
        let i = invoke(&s, &t, animal.clone(), nonce).await;
        let hook = format!("/webhooks/{}/{}", t.app, i["token"].as_str().unwrap());
        let mut events = Events::new(&s);
        let (status, body) = callback(
            &s,
            &i,
            json!({"type": 5, "data": {"flags": deferral_flags}}),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let got = events.expect(&["MESSAGE_CREATE", "INTERACTION_SUCCESS"]);
        let loading = got[0].2.clone();
        assert_eq!(loading["flags"], deferral_flags | 128);
        // Without `wait`: follow-ups answer with the message all the same.
        let (status, done) = s
            .call(
                Method::POST,
                &hook,
                None,
                Some(json!({"content": "Found a dog.", "flags": 0})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["id"], loading["id"], "{done}");
        assert_eq!(done["content"], "Found a dog.");
        assert_eq!(done["flags"], deferral_flags, "{done}");
        let got = events.expect(&["MESSAGE_UPDATE"]);
        assert_eq!(got[0].2["id"], loading["id"]);
        let (status, more) = s
            .call(
                Method::POST,
                &format!("{hook}?wait=true"),
                None,
                Some(json!({"content": "And a cat."})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{more}");
        assert_ne!(more["id"], loading["id"]);
        assert_eq!(more["flags"], 0, "{more}");
        assert_eq!(
            more["interaction_metadata"]["original_response_message_id"],
            loading["id"]
        );
        events.expect(&["MESSAGE_CREATE"]);
        let (status, original) = s
            .call(
                Method::GET,
                &format!("{hook}/messages/@original"),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{original}");
        assert_eq!(original["content"], "Found a dog.");
    }
    s.stop().await;
}

both_backends!(
    deferred_follow_ups,
    invoking,
    responding,
    deadlines_and_autocomplete,
    components,
    modals
);
