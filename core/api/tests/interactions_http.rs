//! Applications that receive interactions over HTTP: setting `interactions_endpoint_url`
//! verifies it (a signed PING must get a PONG, a badly signed one a 401, non-public addresses
//! only when allowed), and then interactions are POSTed there signed with the application's
//! Ed25519 key instead of going to the gateway; the endpoint's answer is the response.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord_bus::Audience;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use common::{Events, Server, field_code, id_of};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// What the fake application's endpoint saw: every verified body.
type Seen = Arc<Mutex<Vec<Value>>>;

/// Starts an interactions endpoint on a loopback port. With `check`, it verifies signatures
/// with `key` (401 when they do not verify), as Discord requires; without, it accepts anything.
async fn endpoint(key: VerifyingKey, check: bool) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/interactions",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let header = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let signature = hex::decode(header("x-signature-ed25519")).unwrap_or_default();
                let mut signed = header("x-signature-timestamp").into_bytes();
                signed.extend_from_slice(&body);
                let valid = Signature::from_slice(&signature)
                    .is_ok_and(|s| key.verify(&signed, &s).is_ok());
                if check && !valid {
                    return (AxStatus::UNAUTHORIZED, "invalid request signature".to_owned());
                }
                let v: Value = serde_json::from_slice(&body).unwrap();
                log.lock().unwrap().push(v.clone());
                let answer = match v["type"].as_u64() {
                    Some(1) => json!({"type": 1}),
                    _ => json!({"type": 4, "data": {"content": format!("pong from http, {}", v["data"]["options"][0]["value"])}}),
                };
                (AxStatus::OK, answer.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/interactions", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn verify_key(app: &Value) -> VerifyingKey {
    let bytes: [u8; 32] = hex::decode(app["verify_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    VerifyingKey::from_bytes(&bytes).unwrap()
}

async fn http_application(backend: &str) {
    let s = Server::start_with(backend, |c| {
        c.interactions.endpoint_allow_private_addresses = true;
    })
    .await;
    let owner = s.register("owner", "correct horse").await;
    let guild = id_of(&s.guild(&owner, "HTTP interactions").await);
    let (app_id, bot) = s.bot_in_guild(&owner, "Http App", &guild, "3072").await;
    let (_, app) = s
        .call(
            Method::GET,
            &format!("/applications/{app_id}"),
            Some(&owner),
            None,
        )
        .await;
    let key = verify_key(&app);

    // An endpoint that accepts bad signatures is refused; so is an unreachable one.
    let (careless, _) = endpoint(key, false).await;
    for url in [careless.as_str(), "http://127.0.0.1:9/interactions"] {
        let (status, err) = s
            .call(
                Method::PATCH,
                &format!("/applications/{app_id}"),
                Some(&owner),
                Some(json!({"interactions_endpoint_url": url})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {err}");
        assert_eq!(
            field_code(&err, &["interactions_endpoint_url"]),
            Some("APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID")
        );
    }
    let (url, seen) = endpoint(key, true).await;
    let (status, patched) = s
        .call(
            Method::PATCH,
            &format!("/applications/{app_id}"),
            Some(&owner),
            Some(json!({"interactions_endpoint_url": url})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["interactions_endpoint_url"], url.as_str());
    {
        let pings = seen.lock().unwrap();
        assert_eq!(
            pings.len(),
            1,
            "one verified PING (the badly signed one was refused)"
        );
        assert_eq!(pings[0]["type"], 1);
        assert_eq!(pings[0]["application_id"], app_id.as_str());
    }

    let (status, command) = s
        .call(
            Method::POST,
            &format!("/applications/{app_id}/guilds/{guild}/commands"),
            Some(&bot),
            Some(json!({"name": "ping", "description": "Ping over HTTP",
                        "options": [{"name": "word", "description": "A word", "type": 3}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{command}");
    let member = s.register("member", "correct horse").await;
    s.join(&guild, &member).await;
    let member_id = s.user_id(&member).await;
    let channel = s.text_channel(&guild).await;
    let mut events = Events::new(&s);
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&member),
            Some(json!({
                "type": 2, "application_id": app_id, "guild_id": guild, "channel_id": channel,
                "nonce": "h1",
                "data": {"id": id_of(&command), "name": "ping", "type": 1,
                         "options": [{"name": "word", "type": 3, "value": "hello"}]}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The answer arrives asynchronously: wait for it.
    let mut got = Vec::new();
    for _ in 0..60 {
        got.extend(events.drain());
        if got.iter().any(|(n, _, _)| n == "INTERACTION_SUCCESS") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let names: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "INTERACTION_CREATE",
            "MESSAGE_CREATE",
            "INTERACTION_SUCCESS"
        ]
    );
    assert_eq!(
        got[0].1,
        Audience::Users(vec![member_id.parse().unwrap()]),
        "only the user's event: the bot gets nothing over the gateway"
    );
    assert_eq!(got[1].2["content"], "pong from http, \"hello\"");
    assert_eq!(got[1].2["type"], 20);
    let received = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(received["type"], 2);
    assert_eq!(received["data"]["name"], "ping");
    assert_eq!(received["member"]["user"]["id"], member_id.as_str());
    assert_eq!(got[1].2["interaction_metadata"]["id"], received["id"]);
    s.stop().await;
}

async fn private_endpoints_refused_by_default(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let (app_id, _) = s.bot(&owner, "Http App").await;
    let (_, app) = s
        .call(
            Method::GET,
            &format!("/applications/{app_id}"),
            Some(&owner),
            None,
        )
        .await;
    let (url, seen) = endpoint(verify_key(&app), true).await;
    let (status, err) = s
        .call(
            Method::PATCH,
            &format!("/applications/{app_id}"),
            Some(&owner),
            Some(json!({"interactions_endpoint_url": url})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(
        field_code(&err, &["interactions_endpoint_url"]),
        Some("APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID")
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing was sent to a loopback address"
    );
    let (_, app) = s
        .call(
            Method::GET,
            &format!("/applications/{app_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(app["interactions_endpoint_url"], Value::Null);
    s.stop().await;
}

both_backends!(http_application, private_endpoints_refused_by_default);
