//! Guild prune (`GET`/`POST /guilds/{id}/prune`): who counts as inactive (no message, no read
//! channel and no joining in the guild for `days`), roles and `include_roles`, the hierarchy,
//! the permissions, the parameter shapes clients send, the removals done as kicks (events,
//! member count, thread memberships) and the MEMBER_PRUNE audit entry — on both backends.

mod common;

use accord_model::{DISCORD_EPOCH_MS, GuildId, MessageId, UserId};
use accord_store::{NewMessage, dispatch, sqlx};
use common::{Events, Server, field_code, id_of};
use reqwest::Method;
use serde_json::{Value, json};

/// (status, JSON body).
async fn call(s: &Server, m: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let (status, body) = s.call(m, path, Some(token), body).await;
    (status.as_u16(), body)
}

/// Moves the time `user` joined `guild` back by `days`.
async fn joined_days_ago(s: &Server, guild: &str, user: &str, days: i64) {
    let at = accord_store::now() - chrono::Duration::days(days);
    let (guild, user): (i64, i64) = (guild.parse().unwrap(), user.parse().unwrap());
    dispatch!(s.state.store.db(), |pool| {
        sqlx::query("UPDATE members SET joined_at = $1 WHERE guild_id = $2 AND user_id = $3")
            .bind(at)
            .bind(guild)
            .bind(user)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected()
    });
}

/// Stores a message by `author` in `channel` whose id dates it `days` ago.
async fn message_days_ago(s: &Server, guild: &str, channel: &str, author: &str, days: i64) {
    let at = accord_store::now() - chrono::Duration::days(days);
    let ms = at.timestamp_millis() as u64 - DISCORD_EPOCH_MS;
    let id = MessageId::from_i64(((ms << 22) | 1) as i64);
    let mut new = NewMessage::new(
        id,
        channel.parse().unwrap(),
        author.parse::<UserId>().unwrap(),
        "long ago",
    );
    new.guild_id = Some(guild.parse::<GuildId>().unwrap());
    s.state.store.create_message(&new).await.unwrap();
}

/// The number of members that a `GET …/prune{query}` by `token` reports.
async fn count(s: &Server, guild: &str, token: &str, query: &str) -> u64 {
    let (st, body) = call(
        s,
        Method::GET,
        &format!("/guilds/{guild}/prune{query}"),
        token,
        None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    body["pruned"].as_u64().unwrap()
}

async fn member_ids(s: &Server, guild: &str, token: &str) -> Vec<String> {
    let (st, list) = call(
        s,
        Method::GET,
        &format!("/guilds/{guild}/members?limit=1000"),
        token,
        None,
    )
    .await;
    assert_eq!(st, 200, "{list}");
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn role(s: &Server, guild: &str, owner: &str, body: Value) -> String {
    let (st, r) = call(
        s,
        Method::POST,
        &format!("/guilds/{guild}/roles"),
        owner,
        Some(body),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    id_of(&r)
}

async fn give(s: &Server, guild: &str, owner: &str, user: &str, role: &str) {
    let (st, b) = call(
        s,
        Method::PUT,
        &format!("/guilds/{guild}/members/{user}/roles/{role}"),
        owner,
        None,
    )
    .await;
    assert_eq!(st, 204, "{b}");
}

/// Users by name: (token, id).
struct Cast {
    owner: (String, String),
    idle: (String, String),
    talker: (String, String),
    reader: (String, String),
    old_talker: (String, String),
    newbie: (String, String),
    keeper: (String, String),
    trial: (String, String),
    guild: String,
    general: String,
    trial_role: String,
}

/// A guild where everyone joined 10 days ago but `newbie` (today); `talker` posted today,
/// `reader` read a message of today, `old_talker` posted 9 days ago, `idle` did nothing;
/// `keeper` holds a role, `trial` holds the role `trial_role`.
async fn cast(s: &Server) -> Cast {
    let mut users = Vec::new();
    for name in [
        "owner",
        "idle",
        "talker",
        "reader",
        "oldtalker",
        "newbie",
        "keeper",
        "trial",
    ] {
        let token = s.register(name, "correct horse").await;
        let id = s.user_id(&token).await;
        users.push((token, id));
    }
    let owner = users[0].0.clone();
    let guild = id_of(&s.guild(&owner, "Prunable").await);
    let (_, g) = call(s, Method::GET, &format!("/guilds/{guild}"), &owner, None).await;
    let general = g["system_channel_id"].as_str().unwrap().to_owned();
    for (token, id) in &users[1..] {
        s.join(&guild, token).await;
        if id != &users[5].1 {
            joined_days_ago(s, &guild, id, 10).await;
        }
    }
    joined_days_ago(s, &guild, &users[0].1, 10).await;
    let keep_role = role(s, &guild, &owner, json!({"name": "keep"})).await;
    let trial_role = role(s, &guild, &owner, json!({"name": "trial"})).await;
    give(s, &guild, &owner, &users[6].1, &keep_role).await;
    give(s, &guild, &owner, &users[7].1, &trial_role).await;
    // talker speaks today; reader reads the owner's message of today; old_talker spoke 9 days ago.
    let (st, _) = call(
        s,
        Method::POST,
        &format!("/channels/{general}/messages"),
        &users[2].0,
        Some(json!({"content": "still here"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, m) = call(
        s,
        Method::POST,
        &format!("/channels/{general}/messages"),
        &owner,
        Some(json!({"content": "news"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, b) = call(
        s,
        Method::POST,
        &format!("/channels/{general}/messages/{}/ack", id_of(&m)),
        &users[3].0,
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    message_days_ago(s, &guild, &general, &users[4].1, 9).await;
    let mut it = users.into_iter();
    let mut next = || it.next().unwrap();
    Cast {
        owner: next(),
        idle: next(),
        talker: next(),
        reader: next(),
        old_talker: next(),
        newbie: next(),
        keeper: next(),
        trial: next(),
        guild,
        general,
        trial_role,
    }
}

async fn counts_follow_activity_days_and_roles(backend: &str) {
    let s = Server::start(backend).await;
    let c = cast(&s).await;
    let (owner, g) = (&c.owner.0, &c.guild);
    // Inactive for 7 days: idle and old_talker (the owner is never pruned).
    assert_eq!(count(&s, g, owner, "").await, 2);
    assert_eq!(count(&s, g, owner, "?days=7").await, 2);
    // Over 10 days old_talker's message of 9 days ago counts; over 11, everyone joined since.
    assert_eq!(count(&s, g, owner, "?days=8").await, 2);
    assert_eq!(count(&s, g, owner, "?days=10").await, 1);
    assert_eq!(count(&s, g, owner, "?days=11").await, 0);
    // A role included counts its holders (whose only roles are included).
    let tr = &c.trial_role;
    assert_eq!(
        count(&s, g, owner, &format!("?include_roles={tr}")).await,
        3
    );
    assert_eq!(
        count(&s, g, owner, &format!("?days=7&include_roles={tr},123")).await,
        3
    );
    // Bad parameters: 50035 naming the field.
    for (query, field, code) in [
        ("?days=0", "days", "NUMBER_TYPE_MIN"),
        ("?days=31", "days", "NUMBER_TYPE_MAX"),
        ("?days=week", "days", "NUMBER_TYPE_COERCE"),
    ] {
        let (st, b) = call(
            &s,
            Method::GET,
            &format!("/guilds/{g}/prune{query}"),
            owner,
            None,
        )
        .await;
        assert_eq!(st, 400, "{query}: {b}");
        assert_eq!(b["code"], 50035);
        assert_eq!(field_code(&b, &[field]), Some(code), "{b}");
    }
    let (st, b) = call(
        &s,
        Method::GET,
        &format!("/guilds/{g}/prune?include_roles=1,x"),
        owner,
        None,
    )
    .await;
    assert_eq!(st, 400, "{b}");
    assert_eq!(
        field_code(&b, &["include_roles", "1"]),
        Some("NUMBER_TYPE_COERCE")
    );
    // KICK_MEMBERS alone, or MANAGE_GUILD alone, is not enough.
    let kick = role(
        &s,
        g,
        owner,
        json!({"name": "kicker", "permissions": (1u64 << 1).to_string()}),
    )
    .await;
    let manage = role(
        &s,
        g,
        owner,
        json!({"name": "manager", "permissions": (1u64 << 5).to_string()}),
    )
    .await;
    give(&s, g, owner, &c.keeper.1, &kick).await;
    let (st, b) = call(
        &s,
        Method::GET,
        &format!("/guilds/{g}/prune"),
        &c.keeper.0,
        None,
    )
    .await;
    assert_eq!((st, b["code"].as_u64()), (403, Some(50013)), "{b}");
    let (st, b) = call(
        &s,
        Method::POST,
        &format!("/guilds/{g}/prune"),
        &c.keeper.0,
        Some(json!({})),
    )
    .await;
    assert_eq!((st, b["code"].as_u64()), (403, Some(50013)), "{b}");
    give(&s, g, owner, &c.keeper.1, &manage).await;
    // With both, the moderator (whose `keep` role sits above `trial`) counts the same members.
    assert_eq!(
        count(&s, g, &c.keeper.0, &format!("?include_roles={tr}")).await,
        3
    );
    s.stop().await;
}

async fn prune_removes_as_a_kick_does_and_is_logged(backend: &str) {
    let s = Server::start(backend).await;
    let c = cast(&s).await;
    let (owner, g) = (&c.owner.0, &c.guild);
    // idle is in a thread, which loses them.
    let (st, thread) = call(
        &s,
        Method::POST,
        &format!("/channels/{}/threads", c.general),
        owner,
        Some(json!({"name": "chat", "type": 11})),
    )
    .await;
    assert_eq!(st, 201, "{thread}");
    let thread = id_of(&thread);
    let (st, _) = call(
        &s,
        Method::PUT,
        &format!("/channels/{thread}/thread-members/@me"),
        &c.idle.0,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let before = member_ids(&s, g, owner).await;
    assert_eq!(before.len(), 8);

    // A bad day count removes nobody and emits nothing.
    let mut ev = Events::new(&s);
    let (st, b) = call(
        &s,
        Method::POST,
        &format!("/guilds/{g}/prune"),
        owner,
        Some(json!({"days": 31})),
    )
    .await;
    assert_eq!(st, 400, "{b}");
    assert_eq!(field_code(&b, &["days"]), Some("NUMBER_TYPE_MAX"));
    ev.expect(&[]);
    assert_eq!(member_ids(&s, g, owner).await, before);

    // The documented body, with the reason header.
    let (st, b) = s
        .call_with_reason(
            Method::POST,
            &format!("/guilds/{g}/prune"),
            owner,
            json!({"days": 7, "compute_prune_count": true, "include_roles": [c.trial_role]}),
            "spring cleaning",
        )
        .await;
    assert_eq!(st.as_u16(), 200, "{b}");
    assert_eq!(b, json!({"pruned": 3}));
    let events = ev.drain();
    let mut removed: Vec<String> = events
        .iter()
        .filter(|(n, _, _)| n == "GUILD_MEMBER_REMOVE")
        .map(|(_, _, d)| {
            assert_eq!(d["guild_id"], g.as_str());
            d["user"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    removed.sort();
    let mut gone = vec![c.idle.1.clone(), c.old_talker.1.clone(), c.trial.1.clone()];
    gone.sort();
    assert_eq!(removed, gone);
    assert_eq!(
        events
            .iter()
            .filter(|(n, _, _)| n == "GUILD_DELETE")
            .count(),
        3
    );
    let after = member_ids(&s, g, owner).await;
    let mut kept = vec![
        c.owner.1.clone(),
        c.talker.1.clone(),
        c.reader.1.clone(),
        c.newbie.1.clone(),
        c.keeper.1.clone(),
    ];
    kept.sort();
    assert_eq!(after, kept);
    let (_, guild) = call(
        &s,
        Method::GET,
        &format!("/guilds/{g}?with_counts=true"),
        owner,
        None,
    )
    .await;
    assert_eq!(guild["approximate_member_count"], 5, "{guild}");
    let (st, tm) = call(
        &s,
        Method::GET,
        &format!("/channels/{thread}/thread-members/{}", c.idle.1),
        owner,
        None,
    )
    .await;
    assert_eq!(st, 404, "the pruned member left the thread: {tm}");
    // The pruned user no longer sees the guild.
    let (st, _) = call(&s, Method::GET, &format!("/guilds/{g}"), &c.idle.0, None).await;
    assert_eq!(st, 403);

    // The audit entry, read back.
    let (st, log) = call(
        &s,
        Method::GET,
        &format!("/guilds/{g}/audit-logs?action_type=21"),
        owner,
        None,
    )
    .await;
    assert_eq!(st, 200, "{log}");
    let entries = log["audit_log_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    let e = &entries[0];
    assert_eq!(e["action_type"], 21);
    assert_eq!(e["user_id"], c.owner.1.as_str());
    assert_eq!(e["reason"], "spring cleaning");
    assert_eq!(
        e["options"],
        json!({"delete_member_days": "7", "members_removed": "3"})
    );
    assert!(e["target_id"].is_null(), "{e}");

    // compute_prune_count false: `pruned` is null. discord.py's shape (string boolean, roles
    // as one comma-separated string) and the deprecated body reason.
    joined_days_ago(&s, g, &c.newbie.1, 3).await;
    let (st, b) = call(
        &s,
        Method::POST,
        &format!("/guilds/{g}/prune"),
        owner,
        Some(json!({"days": "2", "compute_prune_count": "false", "include_roles": format!("{}, 42", c.trial_role), "reason": "newcomers"})),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b, json!({"pruned": null}));
    assert!(!member_ids(&s, g, owner).await.contains(&c.newbie.1));
    // twilight's shape: the parameters in the POST's query string.
    joined_days_ago(&s, g, &c.talker.1, 40).await;
    let (st, b) = call(
        &s,
        Method::POST,
        &format!("/guilds/{g}/prune?days=1&compute_prune_count=true"),
        owner,
        None,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b, json!({"pruned": 0}), "talker spoke today");
    let (_, log) = call(
        &s,
        Method::GET,
        &format!("/guilds/{g}/audit-logs?action_type=21"),
        owner,
        None,
    )
    .await;
    let options: Vec<(Value, Value, Value)> = log["audit_log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["options"]["delete_member_days"].clone(),
                e["options"]["members_removed"].clone(),
                e["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        options,
        [
            (json!("1"), json!("0"), Value::Null),
            (json!("2"), json!("1"), json!("newcomers")),
            (json!("7"), json!("3"), json!("spring cleaning")),
        ]
    );
    s.stop().await;
}

/// A moderator prunes only members below their highest role; the owner never goes.
async fn hierarchy_is_respected(backend: &str) {
    let s = Server::start(backend).await;
    let c = cast(&s).await;
    let (owner, g) = (&c.owner.0, &c.guild);
    // A moderator role, created last, so at position 1: below `trial` (2) and `keep` (3).
    let moderator = role(
        &s,
        g,
        owner,
        json!({"name": "moderator", "permissions": ((1u64 << 1) | (1u64 << 5)).to_string()}),
    )
    .await;
    give(&s, g, owner, &c.talker.1, &moderator).await;
    let tr = &c.trial_role;
    // The owner would prune trial too; the moderator cannot reach it.
    assert_eq!(
        count(&s, g, owner, &format!("?include_roles={tr}")).await,
        3
    );
    assert_eq!(
        count(&s, g, &c.talker.0, &format!("?include_roles={tr}")).await,
        2
    );
    let (st, b) = call(
        &s,
        Method::POST,
        &format!("/guilds/{g}/prune"),
        &c.talker.0,
        Some(json!({"include_roles": [tr]})),
    )
    .await;
    assert_eq!((st, b), (200, json!({"pruned": 2})));
    let left = member_ids(&s, g, owner).await;
    assert!(left.contains(&c.trial.1) && left.contains(&c.owner.1));
    assert!(!left.contains(&c.idle.1) && !left.contains(&c.old_talker.1));
    s.stop().await;
}

both_backends!(
    counts_follow_activity_days_and_roles,
    prune_removes_as_a_kick_does_and_is_logged,
    hierarchy_is_respected
);
