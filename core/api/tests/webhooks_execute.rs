//! Executing webhooks (JSON and multipart, with and without `wait`) and reading, editing and
//! deleting the messages a webhook sent, with their refusals and exact events, on both backends.

mod common;
mod webhooks_util;

use accord_bus::Audience;
use common::{Events, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use webhooks_util::*;

async fn execute(backend: &str) {
    let (s, owner, cid, hid, token) = with_hook(backend).await;
    let at = format!("/webhooks/{hid}/{token}");
    let mut events = Events::new(&s);

    let (status, message) = s
        .call(
            Method::POST,
            &format!("{at}?wait=true"),
            None,
            Some(json!({"content": "hello", "username": "Night Bot"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{message}");
    assert_eq!(message["content"], "hello");
    assert_eq!(message["webhook_id"], hid.as_str());
    assert_eq!(message["channel_id"], cid.as_str());
    assert_eq!(message["author"]["id"], hid.as_str());
    assert_eq!(message["author"]["username"], "Night Bot");
    assert_eq!(message["author"]["discriminator"], "0000");
    assert_eq!(message["author"]["bot"], true);
    let got = events.expect(&["MESSAGE_CREATE"]);
    assert_eq!(got[0].1, Audience::Channel(cid.parse().unwrap()));
    assert_eq!(got[0].2["id"], message["id"]);
    assert_eq!(got[0].2["webhook_id"], hid.as_str());
    assert!(
        got[0].2.get("member").is_none_or(Value::is_null),
        "{}",
        got[0].2
    );

    // Without wait: 204, and the default name.
    let (status, _) = s
        .call(Method::POST, &at, None, Some(json!({"content": "second"})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    events.expect(&["MESSAGE_CREATE"]);

    let (status, list) = s
        .call(
            Method::GET,
            &format!("/channels/{cid}/messages"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["content"], "second");
    assert_eq!(list[0]["author"]["username"], "Announcer");
    assert_eq!(list[0]["webhook_id"], hid.as_str());
    assert_eq!(list[1]["id"], message["id"]);
    // An avatar override naming an image this instance stores (by its CDN path, on whatever
    // host): copied to the webhook's avatars, and the message's author shows it.
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let (status, me) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(&owner),
            Some(json!({"avatar": format!("data:image/png;base64,{png}")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let hash = me["avatar"].as_str().unwrap().to_owned();
    let url = format!(
        "https://cdn.discordapp.com/avatars/{}/{hash}.png?size=128",
        me["id"].as_str().unwrap()
    );
    let (status, message) = s
        .call(
            Method::POST,
            &format!("{at}?wait=true"),
            None,
            Some(json!({"content": "as someone", "avatar_url": url})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{message}");
    assert_eq!(message["author"]["avatar"], hash.as_str());
    assert!(
        s.state
            .blobs
            .head(&format!("avatars/{hid}/{hash}"))
            .await
            .unwrap()
            .is_some(),
        "the override is stored as the webhook's avatar"
    );
    s.stop().await;
}

async fn execute_refusals(backend: &str) {
    let (s, owner, cid, hid, token) = with_hook(backend).await;
    let at = format!("/webhooks/{hid}/{token}");
    let mut events = Events::new(&s);
    assert_code(
        s.call(Method::POST, &at, None, Some(json!({"content": " "})))
            .await,
        StatusCode::BAD_REQUEST,
        50006,
    );
    for (body, field) in [
        (json!({"content": "x", "username": "clyde"}), "username"),
        (json!({"content": "x", "username": ""}), "username"),
        (
            json!({"content": "x", "avatar_url": "not a url"}),
            "avatar_url",
        ),
        (
            json!({"content": "x", "avatar_url": "ftp://images.example/a.png"}),
            "avatar_url",
        ),
    ] {
        let got = s.call(Method::POST, &at, None, Some(body)).await;
        assert!(field_code(&got.1, &[field]).is_some(), "{}", got.1);
        assert_code(got, StatusCode::BAD_REQUEST, 50035);
    }
    let got = s
        .call(
            Method::POST,
            &format!("{at}?thread_id=x1"),
            None,
            Some(json!({"content": "x"})),
        )
        .await;
    assert!(field_code(&got.1, &["thread_id"]).is_some(), "{}", got.1);
    assert_code(got, StatusCode::BAD_REQUEST, 50035);
    assert_code(
        s.call(
            Method::POST,
            &format!("{at}?thread_id=1"),
            None,
            Some(json!({"content": "x"})),
        )
        .await,
        StatusCode::NOT_FOUND,
        10003,
    );
    assert_code(
        s.call(
            Method::POST,
            &at,
            None,
            Some(json!({"content": "x", "thread_name": "not a forum"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        220003,
    );
    assert_code(
        s.call(
            Method::POST,
            &format!("/webhooks/{hid}/{}", "y".repeat(68)),
            None,
            Some(json!({"content": "x"})),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        50027,
    );
    assert_code(
        s.call(
            Method::POST,
            &format!("/webhooks/99999/{token}"),
            None,
            Some(json!({"content": "x"})),
        )
        .await,
        StatusCode::NOT_FOUND,
        10015,
    );
    events.expect(&[]);
    let (_, list) = s
        .call(
            Method::GET,
            &format!("/channels/{cid}/messages"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(list, json!([]));
    s.stop().await;
}

async fn webhook_messages(backend: &str) {
    let (s, owner, cid, hid, token) = with_hook(backend).await;
    let at = format!("/webhooks/{hid}/{token}");
    let (status, message) = s
        .call(
            Method::POST,
            &format!("{at}?wait=true"),
            None,
            Some(json!({"content": "first"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{message}");
    let mid = id_of(&message);
    // A message of a user in the same channel is not the webhook's.
    let (status, theirs) = s
        .call(
            Method::POST,
            &format!("/channels/{cid}/messages"),
            Some(&owner),
            Some(json!({"content": "mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    let theirs = id_of(&theirs);
    let mut events = Events::new(&s);

    let (status, got) = s
        .call(Method::GET, &format!("{at}/messages/{mid}"), None, None)
        .await;
    assert_eq!((status, &got), (StatusCode::OK, &message));

    let (status, edited) = s
        .call(
            Method::PATCH,
            &format!("{at}/messages/{mid}"),
            None,
            Some(json!({"content": "edited"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["content"], "edited");
    assert!(edited["edited_timestamp"].is_string(), "{edited}");
    assert_eq!(edited["webhook_id"], hid.as_str());
    assert_eq!(edited["author"]["id"], hid.as_str());
    let got = events.expect(&["MESSAGE_UPDATE"]);
    assert_eq!(got[0].2["content"], "edited");
    assert_eq!(got[0].2["webhook_id"], hid.as_str());

    // Refusals: another author's message, an unknown message, a wrong token, an empty edit.
    for path in [
        format!("{at}/messages/{theirs}"),
        format!("{at}/messages/12345"),
    ] {
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({"content": "x"}))),
            (Method::DELETE, None),
        ] {
            assert_code(
                s.call(method, &path, None, body).await,
                StatusCode::NOT_FOUND,
                10008,
            );
        }
    }
    assert_code(
        s.call(
            Method::DELETE,
            &format!("/webhooks/{hid}/{}/messages/{mid}", "z".repeat(68)),
            None,
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        50027,
    );
    assert_code(
        s.call(
            Method::PATCH,
            &format!("{at}/messages/{mid}"),
            None,
            Some(json!({"content": ""})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        50006,
    );
    events.expect(&[]);

    let (status, _) = s
        .call(Method::DELETE, &format!("{at}/messages/{mid}"), None, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = events.expect(&["MESSAGE_DELETE"]);
    assert_eq!(got[0].2["id"], mid.as_str());
    assert_eq!(got[0].2["channel_id"], cid.as_str());
    assert_code(
        s.call(Method::GET, &format!("{at}/messages/{mid}"), None, None)
            .await,
        StatusCode::NOT_FOUND,
        10008,
    );
    // The user's message is untouched.
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/channels/{cid}/messages/{theirs}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    s.stop().await;
}

async fn execute_multipart_and_moves(backend: &str) {
    let (s, owner, cid, hid, token) = with_hook(backend).await;
    let mut events = Events::new(&s);
    let form = reqwest::multipart::Form::new()
        .text(
            "payload_json",
            json!({"content": "with a file"}).to_string(),
        )
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"),
        );
    let resp = s
        .http
        .post(s.url(&format!("/webhooks/{hid}/{token}?wait=true")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let message: Value = resp.json().await.unwrap();
    assert_eq!(message["content"], "with a file");
    assert_eq!(message["attachments"][0]["filename"], "a.txt");
    assert_eq!(message["attachments"][0]["size"], 5);
    events.expect(&["MESSAGE_CREATE"]);

    // Moving to a channel of another guild, or without MANAGE_WEBHOOKS there: refused.
    let other_guild = id_of(&s.guild(&owner, "Elsewhere").await);
    let foreign = text_channel(&s, &other_guild).await;
    let member = s.register("member", "correct horse").await;
    let gid = s
        .state
        .store
        .channel(cid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .guild_id
        .unwrap()
        .to_string();
    s.join(&gid, &member).await;
    events.drain();
    assert_code(
        s.call(
            Method::PATCH,
            &format!("/webhooks/{hid}"),
            Some(&owner),
            Some(json!({"channel_id": foreign})),
        )
        .await,
        StatusCode::NOT_FOUND,
        10003,
    );
    // channel_id is ignored with the token.
    let (status, same) = s
        .call(
            Method::PATCH,
            &format!("/webhooks/{hid}/{token}"),
            None,
            Some(json!({"channel_id": foreign})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["channel_id"], cid.as_str());
    events.expect(&["WEBHOOKS_UPDATE"]);
    assert_code(
        s.call(
            Method::PATCH,
            &format!("/webhooks/{hid}"),
            Some(&member),
            Some(json!({"channel_id": cid})),
        )
        .await,
        StatusCode::FORBIDDEN,
        50013,
    );
    events.expect(&[]);
    s.stop().await;
}

/// Webhooks in threads (`?thread_id=`) and forum posts (`thread_name`).
async fn execute_in_threads(backend: &str) {
    let (s, owner, cid, hid, token) = with_hook(backend).await;
    let at = format!("/webhooks/{hid}/{token}");
    let (status, thread) = s
        .call(
            Method::POST,
            &format!("/channels/{cid}/threads"),
            Some(&owner),
            Some(json!({"name": "hooked", "type": 11})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{thread}");
    let tid = id_of(&thread);
    let mut events = Events::new(&s);
    let (status, message) = s
        .call(
            Method::POST,
            &format!("{at}?wait=true&thread_id={tid}"),
            None,
            Some(json!({"content": "in the thread"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{message}");
    assert_eq!(message["channel_id"], tid.as_str());
    let got = events.expect(&["MESSAGE_CREATE"]);
    assert_eq!(got[0].1, Audience::Channel(tid.parse().unwrap()));
    let mid = id_of(&message);
    let (status, _) = s
        .call(
            Method::GET,
            &format!("{at}/messages/{mid}?thread_id={tid}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_code(
        s.call(Method::GET, &format!("{at}/messages/{mid}"), None, None)
            .await,
        StatusCode::NOT_FOUND,
        10008,
    );
    let (status, edited) = s
        .call(
            Method::PATCH,
            &format!("{at}/messages/{mid}?thread_id={tid}"),
            None,
            Some(json!({"content": "edited in the thread"})),
        )
        .await;
    assert_eq!(
        (status, &edited["content"]),
        (StatusCode::OK, &json!("edited in the thread"))
    );
    events.expect(&["MESSAGE_UPDATE"]);

    // A forum's webhook posts into new or existing posts only.
    let gid = s
        .state
        .store
        .channel(cid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .guild_id
        .unwrap();
    let (status, forum) = s
        .call(
            Method::POST,
            &format!("/guilds/{gid}/channels"),
            Some(&owner),
            Some(json!({"name": "board", "type": 15})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{forum}");
    let fid = id_of(&forum);
    let (status, hook) = s
        .call(
            Method::POST,
            &format!("/channels/{fid}/webhooks"),
            Some(&owner),
            Some(json!({"name": "Poster"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hook}");
    let fat = format!(
        "/webhooks/{}/{}",
        id_of(&hook),
        hook["token"].as_str().unwrap()
    );
    events.drain();
    assert_code(
        s.call(Method::POST, &fat, None, Some(json!({"content": "where?"})))
            .await,
        StatusCode::BAD_REQUEST,
        220001,
    );
    assert_code(
        s.call(
            Method::POST,
            &format!("{fat}?thread_id={tid}"),
            None,
            Some(json!({"content": "x", "thread_name": "both"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        220002,
    );
    assert!(events.names().is_empty());
    let (status, post) = s
        .call(
            Method::POST,
            &format!("{fat}?wait=true"),
            None,
            Some(json!({"content": "a new post", "thread_name": "Announcements"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    assert_eq!(
        post["channel_id"], post["id"],
        "a post's first message shares its id"
    );
    let got = events.expect(&["THREAD_CREATE", "MESSAGE_CREATE"]);
    assert_eq!(got[0].2["name"], "Announcements");
    assert_eq!(got[0].2["parent_id"], fid.as_str());
    assert_eq!(got[0].2["owner_id"], id_of(&hook).as_str());
    // Another post's thread is not this forum's: unknown.
    assert_code(
        s.call(
            Method::POST,
            &format!("{fat}?thread_id={tid}"),
            None,
            Some(json!({"content": "x"})),
        )
        .await,
        StatusCode::NOT_FOUND,
        10003,
    );
    let post_id = post["id"].as_str().unwrap();
    let (status, more) = s
        .call(
            Method::POST,
            &format!("{fat}?wait=true&thread_id={post_id}"),
            None,
            Some(json!({"content": "a reply"})),
        )
        .await;
    assert_eq!(
        (status, &more["channel_id"]),
        (StatusCode::OK, &json!(post_id))
    );
    let (_, t) = s
        .call(
            Method::GET,
            &format!("/channels/{post_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(t["message_count"], 2);
    s.stop().await;
}

both_backends!(
    execute_in_threads,
    execute,
    execute_refusals,
    webhook_messages,
    execute_multipart_and_moves
);
