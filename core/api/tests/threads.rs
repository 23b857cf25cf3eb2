//! Threads: starting them from a message and without one, forum posts, members, private
//! thread visibility, archiving, locking, auto-archiving, listings, deletion, their events and
//! audit log entries, and refusals that change nothing — on both backends.

mod common;

use accord_bus::Audience;
use accord_model::{ChannelId, Permissions, UserId};
use common::{Events, Server, id_of};
use reqwest::Method;
use serde_json::{Value, json};

async fn start(backend: &str) -> Server {
    Server::start_with(backend, |c| c.rate_limits.enabled = false).await
}

/// (status, JSON body).
async fn call(s: &Server, m: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let (status, body) = s.call(m, path, Some(token), body).await;
    (status.as_u16(), body)
}

fn code(body: &Value) -> u64 {
    body["code"].as_u64().unwrap_or(0)
}

/// Owner, member, guild id, `general` channel id.
async fn setup(s: &Server) -> (String, String, String, String) {
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Threads").await);
    s.join(&gid, &member).await;
    let (_, g) = call(s, Method::GET, &format!("/guilds/{gid}"), &owner, None).await;
    let channel = g["system_channel_id"].as_str().unwrap().to_owned();
    (owner, member, gid, channel)
}

async fn post(s: &Server, channel: &str, token: &str, content: &str) -> (u16, Value) {
    call(
        s,
        Method::POST,
        &format!("/channels/{channel}/messages"),
        token,
        Some(json!({"content": content})),
    )
    .await
}

async fn new_thread(s: &Server, channel: &str, token: &str, body: Value) -> Value {
    let (st, t) = call(
        s,
        Method::POST,
        &format!("/channels/{channel}/threads"),
        token,
        Some(body),
    )
    .await;
    assert_eq!(st, 201, "{t}");
    t
}

async fn from_message_and_talking(backend: &str) {
    let s = start(backend).await;
    let (owner, member, gid, general) = setup(&s).await;
    let (_, m) = post(&s, &general, &owner, "let us discuss").await;
    let mid = id_of(&m);
    let mut ev = Events::new(&s);
    let (st, t) = call(
        &s,
        Method::POST,
        &format!("/channels/{general}/messages/{mid}/threads"),
        &owner,
        Some(json!({"name": "discussion"})),
    )
    .await;
    assert_eq!(st, 201, "{t}");
    let tid = id_of(&t);
    assert_eq!(tid, mid, "a thread from a message shares its id");
    assert_eq!(t["type"], 11);
    assert_eq!(t["parent_id"], general.as_str());
    assert_eq!(t["guild_id"], gid.as_str());
    assert_eq!(t["owner_id"], s.user_id(&owner).await.as_str());
    assert_eq!(t["thread_metadata"]["archived"], false);
    assert_eq!(t["thread_metadata"]["locked"], false);
    assert_eq!(t["thread_metadata"]["auto_archive_duration"], 1440);
    assert!(t["thread_metadata"].get("invitable").is_none());
    assert_eq!(t["member_count"], 1);
    assert_eq!(t["message_count"], 0);
    assert_eq!(t["member"]["user_id"], s.user_id(&owner).await.as_str());
    let got = ev.expect(&["THREAD_CREATE", "THREAD_MEMBERS_UPDATE", "MESSAGE_UPDATE"]);
    let thread_id: ChannelId = tid.parse().unwrap();
    assert_eq!(got[0].1, Audience::Channel(thread_id));
    assert_eq!(got[0].2["newly_created"], true);
    assert_eq!(
        got[1].2["added_members"][0]["user_id"],
        s.user_id(&owner).await.as_str()
    );
    assert_eq!(got[1].2["member_count"], 1);
    assert!(got[1].2["added_members"][0]["member"]["user"]["id"].is_string());
    assert_eq!(got[2].2["id"], mid.as_str());
    assert_eq!(got[2].2["flags"].as_u64().unwrap() & 32, 32, "HAS_THREAD");
    assert_eq!(got[2].2["thread"]["id"], tid.as_str());

    // A message starts one thread only.
    let (st, body) = call(
        &s,
        Method::POST,
        &format!("/channels/{general}/messages/{mid}/threads"),
        &owner,
        Some(json!({"name": "again"})),
    )
    .await;
    assert_eq!((st, code(&body)), (400, 160004), "{body}");
    assert!(ev.names().is_empty());

    // Talking in it: the author joins, the counters move.
    let (st, msg) = post(&s, &tid, &member, "hello thread").await;
    assert_eq!(st, 200, "{msg}");
    assert_eq!(msg["channel_id"], tid.as_str());
    let got = ev.expect(&["MESSAGE_CREATE", "THREAD_CREATE", "THREAD_MEMBERS_UPDATE"]);
    let member_id = s.user_id(&member).await;
    assert_eq!(
        got[1].1,
        Audience::Users(vec![member_id.parse::<UserId>().unwrap()])
    );
    assert_eq!(got[2].2["member_count"], 2);
    let (_, t) = call(&s, Method::GET, &format!("/channels/{tid}"), &member, None).await;
    assert_eq!(t["message_count"], 1);
    assert_eq!(t["total_message_sent"], 1);
    assert_eq!(t["member_count"], 2);
    assert_eq!(t["last_message_id"], msg["id"]);
    assert_eq!(t["member"]["user_id"], member_id.as_str());

    // Members, the active list, and the guild's channel list without threads.
    let (st, list) = call(
        &s,
        Method::GET,
        &format!("/channels/{tid}/thread-members?with_member=true"),
        &owner,
        None,
    )
    .await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0]["member"]["joined_at"].is_string());
    let (st, one) = call(
        &s,
        Method::GET,
        &format!("/channels/{tid}/thread-members/{member_id}"),
        &owner,
        None,
    )
    .await;
    assert_eq!(
        (st, one["user_id"].as_str()),
        (200, Some(member_id.as_str()))
    );
    let (_, active) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/threads/active"),
        &member,
        None,
    )
    .await;
    assert_eq!(active["threads"][0]["id"], tid.as_str());
    assert_eq!(active["members"][0]["user_id"], member_id.as_str());
    let (_, channels) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/channels"),
        &owner,
        None,
    )
    .await;
    assert!(
        channels
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != tid.as_str())
    );

    // Deleting a message counts it out; leaving and joining.
    let mid2 = id_of(&msg);
    let (st, _) = call(
        &s,
        Method::DELETE,
        &format!("/channels/{tid}/messages/{mid2}"),
        &member,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (_, t) = call(&s, Method::GET, &format!("/channels/{tid}"), &member, None).await;
    assert_eq!(
        (
            t["message_count"].as_u64(),
            t["total_message_sent"].as_u64()
        ),
        (Some(0), Some(1))
    );
    ev.drain();
    let (st, _) = call(
        &s,
        Method::DELETE,
        &format!("/channels/{tid}/thread-members/@me"),
        &member,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let got = ev.expect(&["THREAD_MEMBERS_UPDATE"]);
    assert_eq!(got[0].2["removed_member_ids"][0], member_id.as_str());
    let (st, _) = call(
        &s,
        Method::PUT,
        &format!("/channels/{tid}/thread-members/@me"),
        &member,
        None,
    )
    .await;
    assert_eq!(st, 204);
    ev.expect(&["THREAD_CREATE", "THREAD_MEMBERS_UPDATE"]);
    s.stop().await;
}

async fn private_threads_are_for_members(backend: &str) {
    let s = start(backend).await;
    let (owner, member, gid, general) = setup(&s).await;
    let t = new_thread(&s, &general, &owner, json!({"name": "secret", "type": 12})).await;
    let tid = id_of(&t);
    assert_eq!(t["type"], 12);
    assert_eq!(t["thread_metadata"]["invitable"], true);
    // Not a member: not visible anywhere.
    let (st, body) = call(&s, Method::GET, &format!("/channels/{tid}"), &member, None).await;
    assert_eq!((st, code(&body)), (403, 50001), "{body}");
    let (st, body) = post(&s, &tid, &member, "let me in").await;
    assert_eq!((st, code(&body)), (403, 50001), "{body}");
    let (_, active) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/threads/active"),
        &member,
        None,
    )
    .await;
    assert_eq!(active["threads"], json!([]));
    let guild_create = accord_api::services::guild_payload::guild_create_with(
        &s.state,
        gid.parse().unwrap(),
        s.user_id(&member).await.parse().unwrap(),
        250,
    )
    .await
    .unwrap();
    assert!(guild_create.threads.is_empty());

    // Added by the owner: visible, may talk.
    let member_id = s.user_id(&member).await;
    let mut ev = Events::new(&s);
    let (st, _) = call(
        &s,
        Method::PUT,
        &format!("/channels/{tid}/thread-members/{member_id}"),
        &owner,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let got = ev.expect(&["THREAD_CREATE", "THREAD_MEMBERS_UPDATE"]);
    assert_eq!(got[0].2["member"]["user_id"], member_id.as_str());
    let (st, _) = call(&s, Method::GET, &format!("/channels/{tid}"), &member, None).await;
    assert_eq!(st, 200);
    let (st, _) = post(&s, &tid, &member, "thanks").await;
    assert_eq!(st, 200);
    let guild_create = accord_api::services::guild_payload::guild_create_with(
        &s.state,
        gid.parse().unwrap(),
        member_id.parse().unwrap(),
        250,
    )
    .await
    .unwrap();
    assert_eq!(guild_create.threads.len(), 1);
    let member_obj = guild_create.threads[0].member.as_ref().unwrap();
    assert!(member_obj.id.is_none() && member_obj.user_id.is_none());

    // A member cannot remove others; the creator can.
    let owner_id = s.user_id(&owner).await;
    let (st, body) = call(
        &s,
        Method::DELETE,
        &format!("/channels/{tid}/thread-members/{owner_id}"),
        &member,
        None,
    )
    .await;
    assert_eq!((st, code(&body)), (403, 50013), "{body}");
    let (st, _) = call(
        &s,
        Method::DELETE,
        &format!("/channels/{tid}/thread-members/{member_id}"),
        &owner,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, Method::GET, &format!("/channels/{tid}"), &member, None).await;
    assert_eq!(st, 403, "removed: hidden again");
    s.stop().await;
}

async fn archiving_and_locking(backend: &str) {
    let s = start(backend).await;
    let (owner, member, _gid, general) = setup(&s).await;
    let t = new_thread(&s, &general, &owner, json!({"name": "topic", "type": 11})).await;
    let tid = id_of(&t);
    let (st, _) = call(
        &s,
        Method::PUT,
        &format!("/channels/{tid}/thread-members/@me"),
        &member,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, early) = post(&s, &tid, &member, "before the archive").await;
    assert_eq!(st, 200, "{early}");
    let early = id_of(&early);
    // Only the creator or a moderator renames.
    let mut ev = Events::new(&s);
    let (st, body) = call(
        &s,
        Method::PATCH,
        &format!("/channels/{tid}"),
        &member,
        Some(json!({"name": "mine now"})),
    )
    .await;
    assert_eq!((st, code(&body)), (403, 50013), "{body}");
    assert!(ev.names().is_empty());
    let (st, t) = call(
        &s,
        Method::PATCH,
        &format!("/channels/{tid}"),
        &owner,
        Some(json!({"name": "renamed", "archived": true})),
    )
    .await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["name"], "renamed");
    assert_eq!(t["thread_metadata"]["archived"], true);
    ev.expect(&["THREAD_UPDATE"]);
    // Archived: no joining, listed as archived, a message unarchives it.
    let (st, body) = call(
        &s,
        Method::PUT,
        &format!("/channels/{tid}/thread-members/@me"),
        &owner,
        None,
    )
    .await;
    assert_eq!((st, code(&body)), (400, 50083), "{body}");
    // Nor reactions or edits.
    let (st, body) = call(
        &s,
        Method::PUT,
        &format!("/channels/{tid}/messages/{early}/reactions/%F0%9F%91%8D/@me"),
        &member,
        None,
    )
    .await;
    assert_eq!((st, code(&body)), (400, 50083), "{body}");
    let (st, body) = call(
        &s,
        Method::PATCH,
        &format!("/channels/{tid}/messages/{early}"),
        &member,
        Some(json!({"content": "rewritten"})),
    )
    .await;
    assert_eq!((st, code(&body)), (400, 50083), "{body}");
    assert!(ev.names().is_empty());
    let (st, page) = call(
        &s,
        Method::GET,
        &format!("/channels/{general}/threads/archived/public"),
        &member,
        None,
    )
    .await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["threads"][0]["id"], tid.as_str());
    assert_eq!(page["has_more"], false);
    assert_eq!(
        page["members"][0]["user_id"],
        s.user_id(&member).await.as_str()
    );
    let (st, body) = call(
        &s,
        Method::GET,
        &format!("/channels/{general}/threads/archived/private"),
        &member,
        None,
    )
    .await;
    assert_eq!((st, code(&body)), (403, 50013), "{body}");
    ev.drain();
    let (st, _) = post(&s, &tid, &member, "still here").await;
    assert_eq!(st, 200);
    let got = ev.expect(&[
        "THREAD_UPDATE",
        "THREAD_MEMBER_UPDATE",
        "THREAD_MEMBER_UPDATE",
        "MESSAGE_CREATE",
    ]);
    assert_eq!(got[0].2["thread_metadata"]["archived"], false);
    // Locked and archived: only moderators bring it back.
    let (st, _) = call(
        &s,
        Method::PATCH,
        &format!("/channels/{tid}"),
        &owner,
        Some(json!({"locked": true, "archived": true})),
    )
    .await;
    assert_eq!(st, 200);
    ev.drain();
    let (st, body) = post(&s, &tid, &member, "hello?").await;
    assert_eq!((st, code(&body)), (403, 160005), "{body}");
    let (st, body) = call(
        &s,
        Method::PATCH,
        &format!("/channels/{tid}"),
        &member,
        Some(json!({"archived": false})),
    )
    .await;
    assert_eq!((st, code(&body)), (403, 160005), "{body}");
    assert!(ev.names().is_empty());
    let (_, t) = call(&s, Method::GET, &format!("/channels/{tid}"), &owner, None).await;
    assert_eq!(t["thread_metadata"]["archived"], true);
    s.stop().await;
}

async fn idle_threads_archive_themselves(backend: &str) {
    let s = start(backend).await;
    let (owner, _member, _gid, general) = setup(&s).await;
    let t = new_thread(
        &s,
        &general,
        &owner,
        json!({"name": "short", "type": 11, "auto_archive_duration": 60}),
    )
    .await;
    let tid = id_of(&t);
    let now = accord_auth::now_ms() as i64;
    let mut ev = Events::new(&s);
    let n = accord_api::services::threads::archive_idle(&s.state, now + 30 * 60_000)
        .await
        .unwrap();
    assert_eq!(n, 0, "not idle for an hour yet");
    assert!(ev.names().is_empty());
    let n = accord_api::services::threads::archive_idle(&s.state, now + 61 * 60_000)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let got = ev.expect(&["THREAD_UPDATE"]);
    assert_eq!(got[0].2["id"], tid.as_str());
    assert_eq!(got[0].2["thread_metadata"]["archived"], true);
    s.stop().await;
}

async fn refusals_change_nothing(backend: &str) {
    let s = start(backend).await;
    let (owner, _member, gid, general) = setup(&s).await;
    let mut ev = Events::new(&s);
    let long = "x".repeat(101);
    for (body, path) in [
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": long}), vec!["name"]),
        (json!({"type": 11}), vec!["name"]),
        (
            json!({"name": "ok", "auto_archive_duration": 30}),
            vec!["auto_archive_duration"],
        ),
        (
            json!({"name": "ok", "rate_limit_per_user": 30000}),
            vec!["rate_limit_per_user"],
        ),
        (json!({"name": "ok", "type": 10}), vec!["type"]),
    ] {
        let (st, resp) = call(
            &s,
            Method::POST,
            &format!("/channels/{general}/threads"),
            &owner,
            Some(body.clone()),
        )
        .await;
        assert_eq!((st, code(&resp)), (400, 50035), "{body}: {resp}");
        let path: Vec<&str> = path.to_vec();
        assert!(common::field_code(&resp, &path).is_some(), "{body}: {resp}");
    }
    assert!(ev.names().is_empty());
    let (_, active) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/threads/active"),
        &owner,
        None,
    )
    .await;
    assert_eq!(active["threads"], json!([]));
    // A voice channel holds no threads; a forum holds no messages but posts.
    let (_, channels) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/channels"),
        &owner,
        None,
    )
    .await;
    let voice = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 2)
        .map(id_of)
        .unwrap();
    let (st, body) = call(
        &s,
        Method::POST,
        &format!("/channels/{voice}/threads"),
        &owner,
        Some(json!({"name": "no"})),
    )
    .await;
    assert_eq!((st, code(&body)), (400, 50024), "{body}");
    let (st, forum) = call(
        &s,
        Method::POST,
        &format!("/guilds/{gid}/channels"),
        &owner,
        Some(json!({"name": "ideas", "type": 15})),
    )
    .await;
    assert_eq!(st, 201, "{forum}");
    let forum = id_of(&forum);
    let (st, body) = post(&s, &forum, &owner, "straight in").await;
    assert_eq!((st, code(&body)), (400, 40058), "{body}");
    let (st, body) = call(
        &s,
        Method::POST,
        &format!("/channels/{forum}/threads"),
        &owner,
        Some(json!({"name": "no message"})),
    )
    .await;
    assert_eq!((st, code(&body)), (400, 50035), "{body}");
    ev.drain();
    let post = new_thread(
        &s,
        &forum,
        &owner,
        json!({"name": "first post", "message": {"content": "what do you think?"}}),
    )
    .await;
    assert_eq!(post["type"], 11);
    assert_eq!(post["message"]["id"], post["id"]);
    assert_eq!(post["message"]["channel_id"], post["id"]);
    assert_eq!(post["message"]["content"], "what do you think?");
    ev.expect(&["THREAD_CREATE", "THREAD_MEMBERS_UPDATE", "MESSAGE_CREATE"]);
    // An empty first message takes the post back.
    let (st, body) = call(
        &s,
        Method::POST,
        &format!("/channels/{forum}/threads"),
        &owner,
        Some(json!({"name": "empty", "message": {}})),
    )
    .await;
    assert_eq!((st, code(&body)), (400, 50006), "{body}");
    ev.expect(&["THREAD_CREATE", "THREAD_MEMBERS_UPDATE", "THREAD_DELETE"]);
    let (_, active) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/threads/active"),
        &owner,
        None,
    )
    .await;
    assert_eq!(active["threads"].as_array().unwrap().len(), 1);
    s.stop().await;
}

async fn deleting_threads(backend: &str) {
    let s = start(backend).await;
    let (owner, member, gid, general) = setup(&s).await;
    let t = new_thread(&s, &general, &owner, json!({"name": "doomed", "type": 11})).await;
    let tid = id_of(&t);
    let mut ev = Events::new(&s);
    let (st, body) = call(
        &s,
        Method::DELETE,
        &format!("/channels/{tid}"),
        &member,
        None,
    )
    .await;
    assert_eq!((st, code(&body)), (403, 50013), "{body}");
    assert!(ev.names().is_empty());
    let (st, _) = s
        .call_with_reason(
            Method::DELETE,
            &format!("/channels/{tid}"),
            &owner,
            json!({}),
            "spam",
        )
        .await;
    assert_eq!(st.as_u16(), 200);
    let got = ev.expect(&["THREAD_DELETE"]);
    assert_eq!(
        got[0].2,
        json!({"id": tid, "guild_id": gid, "parent_id": general, "type": 11})
    );
    assert_eq!(got[0].1, Audience::Channel(general.parse().unwrap()));
    let (st, _) = call(&s, Method::GET, &format!("/channels/{tid}"), &owner, None).await;
    assert_eq!(st, 404);
    let (_, log) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/audit-logs"),
        &owner,
        None,
    )
    .await;
    let actions: Vec<u64> = log["audit_log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_type"].as_u64().unwrap())
        .collect();
    assert!(actions.starts_with(&[112, 110]), "{actions:?}");
    assert_eq!(log["audit_log_entries"][0]["reason"], "spam");
    // A channel's threads go with it.
    let t = new_thread(&s, &general, &owner, json!({"name": "orphan", "type": 11})).await;
    let (st, _) = call(
        &s,
        Method::DELETE,
        &format!("/channels/{general}"),
        &owner,
        None,
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = call(
        &s,
        Method::GET,
        &format!("/channels/{}", id_of(&t)),
        &owner,
        None,
    )
    .await;
    assert_eq!(st, 404);
    s.stop().await;
}

/// A private thread's THREAD_DELETE goes to everyone who saw it: its members and those who may
/// manage threads in its parent, not to other members of the guild.
async fn deleting_a_private_thread_tells_who_saw_it(backend: &str) {
    let s = start(backend).await;
    let (owner, _member, gid, general) = setup(&s).await;
    let moderator = s.register("moderator", "correct horse").await;
    s.join(&gid, &moderator).await;
    let (st, role) = call(
        &s,
        Method::POST,
        &format!("/guilds/{gid}/roles"),
        &owner,
        Some(json!({"name": "thread keepers", "permissions": Permissions::MANAGE_THREADS.bits().to_string()})),
    )
    .await;
    assert_eq!(st, 200, "{role}");
    let moderator_id = s.user_id(&moderator).await;
    let (st, body) = call(
        &s,
        Method::PUT,
        &format!(
            "/guilds/{gid}/members/{moderator_id}/roles/{}",
            id_of(&role)
        ),
        &owner,
        None,
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let t = new_thread(&s, &general, &owner, json!({"name": "quiet", "type": 12})).await;
    let tid = id_of(&t);
    let mut ev = Events::new(&s);
    let (st, body) = call(
        &s,
        Method::DELETE,
        &format!("/channels/{tid}"),
        &owner,
        None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let got = ev.expect(&["THREAD_DELETE"]);
    assert_eq!(got[0].2["type"], 12);
    let Audience::Users(mut told) = got[0].1.clone() else {
        panic!("a private thread's deletion goes to users: {:?}", got[0].1);
    };
    told.sort_unstable();
    let mut expected: Vec<UserId> = [s.user_id(&owner).await, moderator_id]
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    expected.sort_unstable();
    assert_eq!(
        told, expected,
        "the creator and the moderator, not the other member"
    );
    s.stop().await;
}

both_backends!(
    from_message_and_talking,
    private_threads_are_for_members,
    archiving_and_locking,
    idle_threads_archive_themselves,
    refusals_change_nothing,
    deleting_threads,
    deleting_a_private_thread_tells_who_saw_it,
);
