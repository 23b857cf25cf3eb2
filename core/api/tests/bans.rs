//! Ban routes: list, get, ban (with message deletion), unban and bulk ban — with BAN_MEMBERS,
//! the hierarchy, the owner's immunity and their exact events, on both backends.

mod common;

use accord_bus::Audience;
use accord_model::{ChannelId, DISCORD_EPOCH_MS, GuildId, MessageId, UserId};
use accord_store::NewMessage;
use common::{Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BAN: u64 = 1 << 2;

fn code(body: &Value) -> Option<u64> {
    body["code"].as_u64()
}

async fn role(s: &Server, token: &str, gid: &str, name: &str, permissions: u64) -> String {
    let (status, role) = s
        .call(
            Method::POST,
            &format!("/guilds/{gid}/roles"),
            Some(token),
            Some(json!({"name": name, "permissions": permissions.to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    id_of(&role)
}

async fn give(s: &Server, token: &str, gid: &str, user: &str, role: &str) {
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/guilds/{gid}/members/{user}/roles/{role}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// Stores a message by `author` in `channel`, written `age_ms` ago.
async fn message(
    s: &Server,
    guild: GuildId,
    channel: ChannelId,
    author: &str,
    age_ms: u64,
) -> MessageId {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let fresh: MessageId = s.state.ids.next();
    let id = MessageId::new(((now - age_ms - DISCORD_EPOCH_MS) << 22) | (fresh.get() & 0x3F_FFFF));
    let mut new = NewMessage::new(id, channel, author.parse::<UserId>().unwrap(), "hello");
    new.guild_id = Some(guild);
    s.state.store.create_message(&new).await.unwrap();
    id
}

async fn ban_and_unban(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let spammer = s.register("spammer", "correct horse").await;
    let bystander = s.register("bystander", "correct horse").await;
    let stranger = s.register("stranger", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    let guild: GuildId = gid.parse().unwrap();
    s.join(&gid, &spammer).await;
    s.join(&gid, &bystander).await;
    let spammer_id = s.user_id(&spammer).await;
    let bystander_id = s.user_id(&bystander).await;
    let stranger_id = s.user_id(&stranger).await;
    let channels = s.state.store.guild_channels(guild).await.unwrap();
    let text: Vec<ChannelId> = channels
        .iter()
        .filter(|c| c.kind == 0 || c.kind == 2)
        .map(|c| c.channel_id())
        .collect();
    let (first, second) = (text[0], text[1]);
    let recent_a = message(&s, guild, first, &spammer_id, 1000).await;
    let recent_b = message(&s, guild, first, &spammer_id, 500).await;
    let recent_c = message(&s, guild, second, &spammer_id, 100).await;
    let old = message(&s, guild, first, &spammer_id, 7_200_000).await;
    let other = message(&s, guild, first, &bystander_id, 100).await;
    let mut events = Events::new(&s);

    let (status, _) = s
        .call_with_reason(
            Method::PUT,
            &format!("/guilds/{gid}/bans/{spammer_id}"),
            &owner,
            json!({"delete_message_seconds": 3600}),
            "spam%20links",
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = events.expect(&[
        "GUILD_BAN_ADD",
        "GUILD_MEMBER_REMOVE",
        "GUILD_DELETE",
        "MESSAGE_DELETE_BULK",
        "MESSAGE_DELETE_BULK",
    ]);
    assert_eq!(got[0].1, Audience::Guild(guild));
    let mut keys: Vec<&String> = got[0].2.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["guild_id", "user"]);
    assert_eq!(got[0].2["user"]["id"], spammer_id.as_str());
    assert_eq!(got[1].2["user"]["id"], spammer_id.as_str());
    assert_eq!(got[2].1, Audience::Users(vec![spammer_id.parse().unwrap()]));
    let mut bulks: Vec<&Value> = vec![&got[3].2, &got[4].2];
    bulks.sort_by_key(|b| b["channel_id"].as_str().unwrap().parse::<u64>().unwrap());
    let by_channel = |c: ChannelId| {
        bulks
            .iter()
            .find(|b| b["channel_id"] == c.to_string())
            .copied()
            .unwrap_or_else(|| panic!("no bulk for {c}"))
    };
    assert_eq!(
        *by_channel(first),
        json!({"ids": [recent_a.to_string(), recent_b.to_string()], "channel_id": first.to_string(), "guild_id": gid})
    );
    assert_eq!(by_channel(second)["ids"], json!([recent_c.to_string()]));
    assert_eq!(got[3].1, Audience::Channel(first.min(second)));
    for (id, channel, kept) in [
        (recent_a, first, false),
        (recent_c, second, false),
        (old, first, true),
        (other, first, true),
    ] {
        let found = s.state.store.message(channel, id).await.unwrap();
        assert_eq!(found.is_some(), kept, "{id}");
    }
    assert!(
        s.state
            .store
            .member(guild, spammer_id.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let (status, ban) = s
        .call(
            Method::GET,
            &format!("/guilds/{gid}/bans/{spammer_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ban}");
    assert_eq!(ban["reason"], "spam links");
    assert_eq!(ban["user"]["id"], spammer_id.as_str());

    // Banning again changes nothing; a banned user cannot come back.
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/guilds/{gid}/bans/{spammer_id}"),
            Some(&owner),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    events.expect(&[]);

    // Users who are not members can be banned too.
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/guilds/{gid}/bans/{stranger_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = events.expect(&["GUILD_BAN_ADD"]);
    assert_eq!(got[0].2["user"]["id"], stranger_id.as_str());
    let (status, list) = s
        .call(
            Method::GET,
            &format!("/guilds/{gid}/bans"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = vec![spammer_id.clone(), stranger_id.clone()];
    expected.sort_by_key(|id| id.parse::<u64>().unwrap());
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, expected);
    let (_, page) = s
        .call(
            Method::GET,
            &format!("/guilds/{gid}/bans?limit=1&after={}", expected[0]),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(page[0]["user"]["id"], expected[1].as_str());
    let (_, page) = s
        .call(
            Method::GET,
            &format!(
                "/guilds/{gid}/bans?before={}&after={}",
                expected[1], expected[1]
            ),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1, "before wins: {page}");
    assert_eq!(page[0]["user"]["id"], expected[0].as_str());
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/guilds/{gid}/bans?limit=1001"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some(50035))
    );

    // Unban.
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/guilds/{gid}/bans/{spammer_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = events.expect(&["GUILD_BAN_REMOVE"]);
    assert_eq!(got[0].2["guild_id"], gid.as_str());
    assert_eq!(got[0].2["user"]["id"], spammer_id.as_str());
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = s
            .call(
                method.clone(),
                &format!("/guilds/{gid}/bans/{spammer_id}"),
                Some(&owner),
                None,
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, Some(10026)),
            "{method}"
        );
    }
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/guilds/{gid}/bans/1"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some(10013)));
    events.expect(&[]);
    s.stop().await;
}

async fn ban_refusals(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let warden = s.register("warden", "correct horse").await;
    let peer = s.register("peer", "correct horse").await;
    let plain = s.register("plain", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    for t in [&warden, &peer, &plain] {
        s.join(&gid, t).await;
    }
    let owner_id = s.user_id(&owner).await;
    let warden_id = s.user_id(&warden).await;
    let peer_id = s.user_id(&peer).await;
    let plain_id = s.user_id(&plain).await;
    let wardens = role(&s, &owner, &gid, "wardens", BAN).await;
    give(&s, &owner, &gid, &warden_id, &wardens).await;
    give(&s, &owner, &gid, &peer_id, &wardens).await;
    let mut events = Events::new(&s);
    let ban = |user: &str| format!("/guilds/{gid}/bans/{user}");

    // Without BAN_MEMBERS nothing is visible or possible.
    for (method, path) in [
        (Method::GET, format!("/guilds/{gid}/bans")),
        (Method::GET, ban(&peer_id)),
        (Method::PUT, ban(&warden_id)),
        (Method::DELETE, ban(&peer_id)),
    ] {
        let (status, body) = s.call(method.clone(), &path, Some(&plain), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, Some(50013)),
            "{method} {path}"
        );
    }
    // Never the owner, an equal, or oneself.
    for who in [&owner_id, &peer_id, &warden_id] {
        let (status, body) = s.call(Method::PUT, &ban(who), Some(&warden), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, Some(50013)),
            "{who}"
        );
    }
    let (status, body) = s
        .call(
            Method::PUT,
            &ban(&plain_id),
            Some(&warden),
            Some(json!({"delete_message_seconds": 604_801})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        field_code(&body, &["delete_message_seconds"]),
        Some("NUMBER_TYPE_MAX")
    );
    events.expect(&[]);
    assert!(
        s.state
            .store
            .ban(gid.parse().unwrap(), plain_id.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // A lower member can be banned by the warden.
    let (status, _) = s
        .call(Method::PUT, &ban(&plain_id), Some(&warden), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    events.expect(&["GUILD_BAN_ADD", "GUILD_MEMBER_REMOVE", "GUILD_DELETE"]);
    s.stop().await;
}

async fn bulk_ban(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let warden = s.register("warden", "correct horse").await;
    let a = s.register("amy", "correct horse").await;
    let b = s.register("ben", "correct horse").await;
    let outsider = s.register("outsider", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    for t in [&warden, &a, &b] {
        s.join(&gid, t).await;
    }
    let owner_id = s.user_id(&owner).await;
    let warden_id = s.user_id(&warden).await;
    let a_id = s.user_id(&a).await;
    let b_id = s.user_id(&b).await;
    let outsider_id = s.user_id(&outsider).await;
    let wardens = role(&s, &owner, &gid, "wardens", BAN).await;
    give(&s, &owner, &gid, &warden_id, &wardens).await;
    let mut events = Events::new(&s);
    let url = format!("/guilds/{gid}/bulk-ban");

    // BAN_MEMBERS alone is not enough.
    let (status, body) = s
        .call(
            Method::POST,
            &url,
            Some(&warden),
            Some(json!({"user_ids": [a_id]})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some(50013)));
    let too_many: Vec<String> = (1..=201).map(|i| i.to_string()).collect();
    let (status, body) = s
        .call(
            Method::POST,
            &url,
            Some(&owner),
            Some(json!({"user_ids": too_many})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        field_code(&body, &["user_ids"]),
        Some("BASE_TYPE_MAX_LENGTH")
    );
    events.expect(&[]);

    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/guilds/{gid}/bans/{b_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    events.drain();
    let (status, result) = s
        .call(
            Method::POST,
            &url,
            Some(&owner),
            Some(json!({"user_ids": [a_id, outsider_id, b_id, owner_id, "1", warden_id]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(
        result["banned_users"],
        json!([a_id, outsider_id, warden_id])
    );
    assert_eq!(
        result["failed_users"],
        json!([b_id, "1"]),
        "the caller is left out"
    );
    events.expect(&[
        "GUILD_BAN_ADD",
        "GUILD_MEMBER_REMOVE",
        "GUILD_DELETE",
        "GUILD_BAN_ADD",
        "GUILD_BAN_ADD",
        "GUILD_MEMBER_REMOVE",
        "GUILD_DELETE",
    ]);

    // Nobody banned: 500000.
    let (status, body) = s
        .call(
            Method::POST,
            &url,
            Some(&owner),
            Some(json!({"user_ids": [a_id, owner_id]})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some(500000))
    );
    assert_eq!(body["message"], "Failed to ban users");
    events.expect(&[]);
    s.stop().await;
}

both_backends!(ban_and_unban, ban_refusals, bulk_ban);
