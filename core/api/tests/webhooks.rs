//! Webhook routes: creating, listing, reading, modifying and deleting webhooks (with and
//! without their token), with their permission checks, limits and exact events, on both backends.

mod common;
mod webhooks_util;

use accord_bus::Audience;
use accord_model::GuildId;
use common::{Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use webhooks_util::*;

async fn create_read_modify_delete(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let owner_id = s.user_id(&owner).await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    let cid = text_channel(&s, &gid).await;
    let mut events = Events::new(&s);

    let (status, hook) = s
        .call(
            Method::POST,
            &format!("/channels/{cid}/webhooks"),
            Some(&owner),
            Some(json!({"name": "Announcer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hook}");
    assert_eq!(
        keys(&hook),
        [
            "application_id",
            "avatar",
            "channel_id",
            "guild_id",
            "id",
            "name",
            "token",
            "type",
            "user"
        ]
    );
    assert_eq!(hook["type"], 1);
    assert_eq!(hook["name"], "Announcer");
    assert_eq!(hook["guild_id"], gid.as_str());
    assert_eq!(hook["channel_id"], cid.as_str());
    assert_eq!(hook["avatar"], Value::Null);
    assert_eq!(hook["application_id"], Value::Null);
    assert_eq!(hook["user"]["id"], owner_id.as_str());
    let token = hook["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 68);
    let hid = id_of(&hook);
    let got = events.expect(&["WEBHOOKS_UPDATE"]);
    assert_eq!(got[0].1, Audience::Guild(gid.parse::<GuildId>().unwrap()));
    assert_eq!(got[0].2, json!({"guild_id": gid, "channel_id": cid}));

    // Reading: by channel, by guild, by id, by token (no user).
    for path in [
        format!("/channels/{cid}/webhooks"),
        format!("/guilds/{gid}/webhooks"),
    ] {
        let (status, list) = s.call(Method::GET, &path, Some(&owner), None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list, json!([hook.clone()]));
    }
    let (status, one) = s
        .call(Method::GET, &format!("/webhooks/{hid}"), Some(&owner), None)
        .await;
    assert_eq!((status, &one), (StatusCode::OK, &hook));
    let (status, by_token) = s
        .call(Method::GET, &format!("/webhooks/{hid}/{token}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{by_token}");
    assert!(by_token.get("user").is_none(), "{by_token}");
    assert_eq!(by_token["token"], token.as_str());
    assert_eq!(by_token["name"], "Announcer");
    events.expect(&[]);

    // Modifying by id and by token.
    let (status, renamed) = s
        .call(
            Method::PATCH,
            &format!("/webhooks/{hid}"),
            Some(&owner),
            Some(json!({"name": "Herald", "avatar": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Herald");
    assert_eq!(renamed["user"]["id"], owner_id.as_str());
    let got = events.expect(&["WEBHOOKS_UPDATE"]);
    assert_eq!(got[0].2, json!({"guild_id": gid, "channel_id": cid}));
    let (status, renamed) = s
        .call(
            Method::PATCH,
            &format!("/webhooks/{hid}/{token}"),
            None,
            Some(json!({"name": "Crier"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Crier");
    assert!(renamed.get("user").is_none());
    events.expect(&["WEBHOOKS_UPDATE"]);

    // Moving it to another channel of the guild: an event for each channel.
    let (status, other) = s
        .call(
            Method::POST,
            &format!("/guilds/{gid}/channels"),
            Some(&owner),
            Some(json!({"name": "other"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other = id_of(&other);
    events.drain();
    let (status, moved) = s
        .call(
            Method::PATCH,
            &format!("/webhooks/{hid}"),
            Some(&owner),
            Some(json!({"channel_id": other})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["channel_id"], other.as_str());
    let got = events.expect(&["WEBHOOKS_UPDATE", "WEBHOOKS_UPDATE"]);
    assert_eq!(got[0].2["channel_id"], cid.as_str());
    assert_eq!(got[1].2["channel_id"], other.as_str());

    // Deleting by token, then by id.
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/webhooks/{hid}/{token}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = events.expect(&["WEBHOOKS_UPDATE"]);
    assert_eq!(got[0].2, json!({"guild_id": gid, "channel_id": other}));
    assert_code(
        s.call(Method::GET, &format!("/webhooks/{hid}"), Some(&owner), None)
            .await,
        StatusCode::NOT_FOUND,
        10015,
    );
    let (_, second) = s
        .call(
            Method::POST,
            &format!("/channels/{cid}/webhooks"),
            Some(&owner),
            Some(json!({"name": "Second"})),
        )
        .await;
    events.drain();
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/webhooks/{}", id_of(&second)),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    events.expect(&["WEBHOOKS_UPDATE"]);
    assert_eq!(count(&s, &cid).await, 0);
    s.stop().await;
}

async fn refusals(backend: &str) {
    let s = Server::start_with(backend, |c| c.limits.webhooks_per_channel = 1).await;
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    s.join(&gid, &member).await;
    let cid = text_channel(&s, &gid).await;
    let create = format!("/channels/{cid}/webhooks");
    let mut events = Events::new(&s);

    // Bad names and avatars: 50035, nothing created.
    for (body, code) in [
        (json!({}), "BASE_TYPE_REQUIRED"),
        (json!({"name": ""}), "BASE_TYPE_BAD_LENGTH"),
        (json!({"name": "x".repeat(81)}), "BASE_TYPE_BAD_LENGTH"),
        (json!({"name": "My Clyde"}), "USERNAME_INVALID_CONTAINS"),
        (json!({"name": "DiScOrD hook"}), "USERNAME_INVALID_CONTAINS"),
    ] {
        let got = s
            .call(Method::POST, &create, Some(&owner), Some(body))
            .await;
        assert_eq!(field_code(&got.1, &["name"]), Some(code), "{}", got.1);
        assert_code(got, StatusCode::BAD_REQUEST, 50035);
    }
    let got = s
        .call(
            Method::POST,
            &create,
            Some(&owner),
            Some(json!({"name": "ok", "avatar": "data:image/png;base64,AAAA"})),
        )
        .await;
    assert!(field_code(&got.1, &["avatar"]).is_some(), "{}", got.1);
    assert_code(got, StatusCode::BAD_REQUEST, 50035);

    // Without MANAGE_WEBHOOKS: 50013 for every managing route.
    assert_code(
        s.call(
            Method::POST,
            &create,
            Some(&member),
            Some(json!({"name": "Hook"})),
        )
        .await,
        StatusCode::FORBIDDEN,
        50013,
    );
    assert_code(
        s.call(Method::GET, &create, Some(&member), None).await,
        StatusCode::FORBIDDEN,
        50013,
    );
    assert_code(
        s.call(
            Method::GET,
            &format!("/guilds/{gid}/webhooks"),
            Some(&member),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        50013,
    );
    assert_eq!(count(&s, &cid).await, 0);
    events.expect(&[]);

    let (status, hook) = s
        .call(
            Method::POST,
            &create,
            Some(&owner),
            Some(json!({"name": "Hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hook}");
    let hid = id_of(&hook);
    let token = hook["token"].as_str().unwrap().to_owned();
    events.drain();

    // The limit: 30007.
    assert_code(
        s.call(
            Method::POST,
            &create,
            Some(&owner),
            Some(json!({"name": "Two"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        30007,
    );
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "Mine"}))),
        (Method::DELETE, None),
    ] {
        assert_code(
            s.call(method, &format!("/webhooks/{hid}"), Some(&member), body)
                .await,
            StatusCode::FORBIDDEN,
            50013,
        );
    }
    // Wrong token: 50027; unknown id: 10015.
    let wrong = "x".repeat(68);
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "Mine"}))),
        (Method::DELETE, None),
    ] {
        assert_code(
            s.call(
                method.clone(),
                &format!("/webhooks/{hid}/{wrong}"),
                None,
                body.clone(),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            50027,
        );
        assert_code(
            s.call(method, &format!("/webhooks/1234/{token}"), None, body)
                .await,
            StatusCode::NOT_FOUND,
            10015,
        );
    }
    // A bad new name through PATCH changes nothing.
    assert_code(
        s.call(
            Method::PATCH,
            &format!("/webhooks/{hid}/{token}"),
            None,
            Some(json!({"name": "clyde"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        50035,
    );
    let (_, still) = s
        .call(Method::GET, &format!("/webhooks/{hid}/{token}"), None, None)
        .await;
    assert_eq!(still["name"], "Hook");
    assert_eq!(count(&s, &cid).await, 1);
    events.expect(&[]);
    s.stop().await;
}

/// Deleting a channel takes its webhooks with it, and says so with WEBHOOKS_UPDATE.
async fn channel_delete_takes_webhooks(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    let cid = text_channel(&s, &gid).await;
    let (status, hook) = s
        .call(
            Method::POST,
            &format!("/channels/{cid}/webhooks"),
            Some(&owner),
            Some(json!({"name": "Hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hook}");
    let mut events = Events::new(&s);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/channels/{cid}"),
            Some(&owner),
            None,
        )
        .await;
    assert!(status.is_success());
    // `general` is the guild's system channel, so the guild changes too.
    let got = events.expect(&["CHANNEL_DELETE", "WEBHOOKS_UPDATE", "GUILD_UPDATE"]);
    assert_eq!(got[1].2, json!({"guild_id": gid, "channel_id": cid}));
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/webhooks/{}", id_of(&hook)),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10015))
    );
    s.stop().await;
}

both_backends!(
    create_read_modify_delete,
    refusals,
    channel_delete_takes_webhooks
);
