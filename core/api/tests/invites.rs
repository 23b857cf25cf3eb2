//! Invite routes: creating, listing, reading, deleting and accepting invites — with their
//! permission checks, instance rights, limits and exact events, on both backends.

mod common;

use accord_bus::Audience;
use accord_model::{ChannelId, GuildId, Permissions, Rights, RoleId, UserId};
use accord_store::RolePatch;
use common::{Events, Server, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The id of the guild's first channel of `kind` (0 text, 4 category).
async fn channel_of(s: &Server, gid: &str, kind: i32) -> String {
    let channels = s
        .state
        .store
        .guild_channels(gid.parse().unwrap())
        .await
        .unwrap();
    channels
        .iter()
        .find(|c| c.kind == kind)
        .expect("channel of that kind")
        .id
        .to_string()
}

/// Sets @everyone's permissions directly in the store (no event), dropping cached permissions.
async fn set_everyone(s: &Server, gid: &str, permissions: Permissions) {
    let guild: GuildId = gid.parse().unwrap();
    let patch = RolePatch {
        permissions: Some(permissions),
        ..RolePatch::default()
    };
    s.state
        .store
        .update_role(guild, RoleId::from_i64(guild.as_i64()), &patch)
        .await
        .unwrap();
    s.state.permissions.invalidate_guild(guild);
}

/// Takes `right` away from the holder of `token`.
async fn drop_right(s: &Server, token: &str, right: Rights) {
    let id: UserId = s.user_id(token).await.parse().unwrap();
    let user = s.state.store.user(id).await.unwrap().unwrap();
    s.state
        .store
        .set_rights(id, user.rights() & !right)
        .await
        .unwrap();
}

/// Asserts Discord's JSON `code` and the HTTP status that goes with it.
fn assert_code(got: (StatusCode, Value), code: u64) {
    let status = match code {
        40001 => StatusCode::UNAUTHORIZED,
        10000..=10999 => StatusCode::NOT_FOUND,
        30000..=30999 | 50010 | 50024 | 50035 => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    assert_eq!(
        (got.0, got.1["code"].as_u64()),
        (status, Some(code)),
        "{}",
        got.1
    );
}

async fn invite(s: &Server, token: &str, cid: &str, body: Value) -> Value {
    let (status, inv) = s
        .call(
            Method::POST,
            &format!("/channels/{cid}/invites"),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inv}");
    inv
}

async fn uses(s: &Server, code: &str) -> i32 {
    s.state.store.invite(code).await.unwrap().unwrap().uses
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

async fn create_list_get_delete(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let owner_id = s.user_id(&owner).await;
    let member = s.register("member", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    s.join(&gid, &member).await;
    let cid = channel_of(&s, &gid, 0).await;
    let (chan, gl) = (
        format!("/channels/{cid}/invites"),
        format!("/guilds/{gid}/invites"),
    );
    let mut events = Events::new(&s);

    let inv = invite(&s, &owner, &cid, json!({"max_age": 3600, "max_uses": 5})).await;
    let code = inv["code"].as_str().unwrap().to_owned();
    let at = format!("/invites/{code}");
    assert_eq!(code.len(), 8);
    assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{code}");
    assert_eq!(inv["type"], 0);
    assert_eq!(inv["guild"]["id"], gid.as_str());
    assert_eq!(inv["guild"]["name"], "Lounge");
    assert_eq!(inv["channel"]["id"], cid.as_str());
    assert_eq!(inv["channel"]["name"], "general");
    assert_eq!(inv["channel"]["type"], 0);
    assert_eq!(inv["inviter"]["id"], owner_id.as_str());
    assert_eq!(
        (
            &inv["uses"],
            &inv["max_uses"],
            &inv["max_age"],
            &inv["temporary"]
        ),
        (&json!(0), &json!(5), &json!(3600), &json!(false))
    );
    let created: chrono::DateTime<chrono::Utc> =
        inv["created_at"].as_str().unwrap().parse().unwrap();
    let expires: chrono::DateTime<chrono::Utc> =
        inv["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - created).num_seconds(), 3600);

    let got = events.expect(&["INVITE_CREATE"]);
    let (_, audience, payload) = &got[0];
    assert_eq!(*audience, Audience::Guild(gid.parse().unwrap()));
    let expected = "channel_id code created_at expires_at guild_id inviter max_age max_uses";
    let expected: Vec<&str> = expected.split(' ').chain(["temporary", "uses"]).collect();
    assert_eq!(keys(payload), expected);
    assert_eq!(payload["code"], code.as_str());
    assert_eq!(payload["channel_id"], cid.as_str());
    assert_eq!(payload["guild_id"], gid.as_str());
    assert_eq!(payload["inviter"]["id"], owner_id.as_str());
    assert_eq!(
        (&payload["uses"], &payload["max_uses"]),
        (&json!(0), &json!(5))
    );
    assert_eq!(payload["expires_at"], inv["expires_at"]);

    // The same settings again reuse the invite; `unique` makes a new one.
    let again = invite(&s, &owner, &cid, json!({"max_age": 3600, "max_uses": 5})).await;
    assert_eq!(again["code"], code.as_str());
    events.expect(&[]);
    let unique = invite(
        &s,
        &owner,
        &cid,
        json!({"max_age": 3600, "max_uses": 5, "unique": true}),
    )
    .await;
    assert_ne!(unique["code"], code.as_str());
    events.expect(&["INVITE_CREATE"]);
    let default = invite(&s, &owner, &cid, json!({})).await;
    assert_eq!(
        (&default["max_age"], &default["max_uses"]),
        (&json!(86400), &json!(0))
    );
    let forever = invite(&s, &member, &cid, json!({"max_age": 0, "temporary": true})).await;
    assert_eq!(forever["expires_at"], Value::Null);
    assert_eq!(forever["temporary"], true);
    events.expect(&["INVITE_CREATE", "INVITE_CREATE"]);

    // Listing: MANAGE_CHANNELS for a channel, MANAGE_GUILD for the guild.
    for path in [&chan, &gl] {
        let (status, list) = s.call(Method::GET, path, Some(&owner), None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 4, "{path}");
        assert!(
            list.iter()
                .all(|i| i["uses"] == 0 && i["created_at"].is_string())
        );
        assert_code(s.call(Method::GET, path, Some(&member), None).await, 50013);
    }

    // Anyone may read an invite, without a token; a bad token is refused.
    let (status, read) = s.call(Method::GET, &at, None, None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["code"], code.as_str());
    assert_eq!(read["guild"]["id"], gid.as_str());
    assert!(read.get("uses").is_none(), "no metadata: {read}");
    assert!(read.get("approximate_member_count").is_none());
    assert_eq!(read["expires_at"], inv["expires_at"]);
    let (_, counted) = s
        .call(
            Method::GET,
            &format!("/invites/{code}?with_counts=true&with_expiration=true"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(counted["approximate_member_count"], 2);
    assert_eq!(counted["approximate_presence_count"], 0);
    assert_code(s.call(Method::GET, &at, Some("garbage"), None).await, 40001);

    // Deleting: the member lacks MANAGE_CHANNELS and MANAGE_GUILD.
    assert_code(
        s.call(Method::DELETE, &at, Some(&member), None).await,
        50013,
    );
    let outsider = s.register("outsider", "correct horse").await;
    assert_code(
        s.call(Method::DELETE, &at, Some(&outsider), None).await,
        50001,
    );
    events.expect(&[]);
    let (status, deleted) = s.call(Method::DELETE, &at, Some(&owner), None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["code"], code.as_str());
    let got = events.expect(&["INVITE_DELETE"]);
    let (_, audience, payload) = &got[0];
    assert_eq!(*audience, Audience::Guild(gid.parse().unwrap()));
    assert_eq!(
        *payload,
        json!({"channel_id": cid, "guild_id": gid, "code": code})
    );
    for method in [Method::GET, Method::DELETE, Method::POST] {
        assert_code(s.call(method, &at, Some(&owner), None).await, 10006);
    }
    let (_, list) = s.call(Method::GET, &gl, Some(&owner), None).await;
    assert_eq!(list.as_array().unwrap().len(), 3);

    // MANAGE_CHANNELS alone lets the member list and delete the channel's invites.
    set_everyone(
        &s,
        &gid,
        Permissions::VIEW_CHANNEL | Permissions::MANAGE_CHANNELS,
    )
    .await;
    let (status, _) = s.call(Method::GET, &chan, Some(&member), None).await;
    assert_eq!(status, StatusCode::OK);
    let other = unique["code"].as_str().unwrap();
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/invites/{other}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    events.expect(&["INVITE_DELETE"]);
    s.stop().await;
}

async fn create_refusals_change_nothing(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let outsider = s.register("outsider", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    s.join(&gid, &member).await;
    let cid = channel_of(&s, &gid, 0).await;
    let category = channel_of(&s, &gid, 4).await;
    let mut events = Events::new(&s);
    let post = |token: String, channel: String, body: Value| {
        let s = &s;
        async move {
            s.call(
                Method::POST,
                &format!("/channels/{channel}/invites"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    for (body, field, code) in [
        (json!({"max_age": 604_801}), "max_age", "NUMBER_TYPE_MAX"),
        (json!({"max_age": -1}), "max_age", "NUMBER_TYPE_MIN"),
        (json!({"max_uses": 101}), "max_uses", "NUMBER_TYPE_MAX"),
        (json!({"max_uses": -5}), "max_uses", "NUMBER_TYPE_MIN"),
        (json!({"max_age": "soon"}), "max_age", "NUMBER_TYPE_COERCE"),
        (json!({"temporary": 3}), "temporary", "BASE_TYPE_BOOLEAN"),
    ] {
        let (status, err) = post(owner.clone(), cid.clone(), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["code"], 50035);
        assert_eq!(field_code(&err, &[field]), Some(code), "{body}: {err}");
    }
    let (status, _) = post(
        owner.clone(),
        cid.clone(),
        json!({"max_age": 604_800, "max_uses": 100}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the limits themselves are allowed");
    events.expect(&["INVITE_CREATE"]);
    let before = s
        .state
        .store
        .guild_invites(gid.parse().unwrap())
        .await
        .unwrap()
        .len();

    assert_code(
        post(owner.clone(), category.clone(), json!({})).await,
        50024,
    );
    assert_code(post(outsider.clone(), cid.clone(), json!({})).await, 50001);
    assert_code(post(owner.clone(), "1".into(), json!({})).await, 10003);
    assert_code(post(owner.clone(), "nope".into(), json!({})).await, 10003);

    // A DM: invites are for guild channels only.
    let a: UserId = s.user_id(&owner).await.parse().unwrap();
    let b: UserId = s.user_id(&member).await.parse().unwrap();
    let dm_id: ChannelId = s.state.ids.next();
    let (dm, _) = s.state.store.create_dm(dm_id, a, b).await.unwrap();
    assert_code(
        post(owner.clone(), dm.id.to_string(), json!({})).await,
        50003,
    );

    // Without CREATE_INSTANT_INVITE in the channel.
    set_everyone(
        &s,
        &gid,
        Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES,
    )
    .await;
    assert_code(post(member.clone(), cid.clone(), json!({})).await, 50013);
    set_everyone(
        &s,
        &gid,
        Permissions::VIEW_CHANNEL | Permissions::CREATE_INSTANT_INVITE,
    )
    .await;
    // Without the instance right CREATE_INVITES.
    drop_right(&s, &member, Rights::CREATE_INVITES).await;
    assert_code(post(member.clone(), cid.clone(), json!({})).await, 50013);

    events.expect(&[]);
    let after = s
        .state
        .store
        .guild_invites(gid.parse().unwrap())
        .await
        .unwrap()
        .len();
    assert_eq!(before, after, "refusals created nothing");
    s.stop().await;
}

async fn join_through_invites(backend: &str) {
    let s = Server::start(backend).await;
    let owner = s.register("owner", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Lounge").await);
    let cid = channel_of(&s, &gid, 0).await;
    let (chan, gl) = (
        format!("/channels/{cid}/invites"),
        format!("/guilds/{gid}/invites"),
    );
    let inv = invite(&s, &owner, &cid, json!({"max_uses": 2})).await;
    let code = inv["code"].as_str().unwrap().to_owned();
    let at = format!("/invites/{code}");
    let mut events = Events::new(&s);
    let accept = |token: String| {
        let (s, at) = (&s, &at);
        async move { s.call(Method::POST, at, Some(&token), None).await }
    };

    let first = s.register("first", "correct horse").await;
    let first_id = s.user_id(&first).await;
    let (status, joined) = accept(first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["new_member"], true);
    assert_eq!(joined["code"], code.as_str());
    assert_eq!(joined["guild"]["id"], gid.as_str());
    assert_eq!(joined["channel"]["id"], cid.as_str());
    let got = events.expect(&["GUILD_MEMBER_ADD", "GUILD_CREATE"]);
    assert_eq!(got[0].1, Audience::Guild(gid.parse().unwrap()));
    assert_eq!(got[0].2["user"]["id"], first_id.as_str());
    assert_eq!(got[0].2["guild_id"], gid.as_str());
    assert_eq!(got[1].1, Audience::Users(vec![first_id.parse().unwrap()]));
    assert_eq!(got[1].2["id"], gid.as_str());
    assert_eq!(uses(&s, &code).await, 1);
    let (_, mine) = s
        .call(Method::GET, "/users/@me/guilds", Some(&first), None)
        .await;
    assert_eq!(mine[0]["id"], gid.as_str());

    // Already a member: nothing is used or emitted.
    let (status, again) = accept(first.clone()).await;
    assert_eq!(
        (status, &again["new_member"]),
        (StatusCode::OK, &json!(false))
    );
    events.expect(&[]);
    assert_eq!(uses(&s, &code).await, 1);

    // Refusals that use nothing.
    let (_, bot) = s.bot(&owner, "Helper").await;
    assert_code(accept(format!("Bot {bot}")).await, 20001);
    let banned = s.register("banned", "correct horse").await;
    let banned_id: UserId = s.user_id(&banned).await.parse().unwrap();
    s.state
        .store
        .create_ban(gid.parse().unwrap(), banned_id, None, None)
        .await
        .unwrap();
    assert_code(accept(banned.clone()).await, 40007);
    let rightless = s.register("rightless", "correct horse").await;
    drop_right(&s, &rightless, Rights::JOIN_GUILDS).await;
    assert_code(accept(rightless.clone()).await, 50013);
    assert_code(
        s.call(Method::POST, "/invites/nosuchcode", Some(&rightless), None)
            .await,
        10006,
    );
    events.expect(&[]);
    assert_eq!(uses(&s, &code).await, 1);

    // The second use is the last one; then the invite is gone for everyone.
    let second = s.register("second", "correct horse").await;
    let (status, _) = accept(second.clone()).await;
    assert_eq!(status, StatusCode::OK);
    events.expect(&["GUILD_MEMBER_ADD", "GUILD_CREATE"]);
    assert_eq!(uses(&s, &code).await, 2);
    let third = s.register("third", "correct horse").await;
    assert_code(accept(third.clone()).await, 10006);
    assert_code(s.call(Method::GET, &at, None, None).await, 10006);
    let (_, list) = s.call(Method::GET, &gl, Some(&owner), None).await;
    assert_eq!(list, json!([]));
    events.expect(&[]);
    assert_eq!(uses(&s, &code).await, 2);
    assert!(
        s.state
            .store
            .member(
                gid.parse().unwrap(),
                s.user_id(&third).await.parse().unwrap()
            )
            .await
            .unwrap()
            .is_none()
    );

    // An expired invite is unknown, unlisted and unusable.
    let short = invite(&s, &owner, &cid, json!({"max_age": 1, "unique": true})).await;
    let short = short["code"].as_str().unwrap().to_owned();
    events.drain();
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_code(
        s.call(Method::GET, &format!("/invites/{short}"), None, None)
            .await,
        10006,
    );
    assert_code(
        s.call(
            Method::POST,
            &format!("/invites/{short}"),
            Some(&third),
            None,
        )
        .await,
        10006,
    );
    let (_, list) = s.call(Method::GET, &chan, Some(&owner), None).await;
    assert_eq!(list, json!([]));
    events.expect(&[]);
    assert_eq!(uses(&s, &short).await, 0);
    s.stop().await;
}

both_backends!(
    create_list_get_delete,
    create_refusals_change_nothing,
    join_through_invites
);
