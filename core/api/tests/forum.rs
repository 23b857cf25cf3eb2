//! Forum and media channels: tags (`available_tags`, ids from the server), the default
//! reaction, sort order, layout and thread slow mode stored and returned on create, modify, GET,
//! GUILD_CREATE and CHANNEL_UPDATE, with Discord's checks and audit entries; and the tags of
//! posts (`applied_tags`) on creation, by webhooks and by `PATCH /channels/{thread.id}`, with
//! moderated tags, REQUIRE_TAG and refusals that change nothing — on both backends.

mod common;

use accord_model::{GuildId, UserId};
use common::{Events, Server, field_code, id_of};
use reqwest::Method;
use serde_json::{Value, json};

/// (status, JSON body).
async fn call(s: &Server, m: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let (status, body) = s.call(m, path, Some(token), body).await;
    (status.as_u16(), body)
}

fn code(body: &Value) -> u64 {
    body["code"].as_u64().unwrap_or(0)
}

/// Owner, member, guild id.
async fn setup(s: &Server) -> (String, String, String) {
    let owner = s.register("owner", "correct horse").await;
    let member = s.register("member", "correct horse").await;
    let gid = id_of(&s.guild(&owner, "Forums").await);
    s.join(&gid, &member).await;
    (owner, member, gid)
}

async fn create_channel(s: &Server, gid: &str, owner: &str, body: Value) -> (u16, Value) {
    call(
        s,
        Method::POST,
        &format!("/guilds/{gid}/channels"),
        owner,
        Some(body),
    )
    .await
}

async fn get_channel(s: &Server, id: &str, token: &str) -> Value {
    let (st, c) = call(s, Method::GET, &format!("/channels/{id}"), token, None).await;
    assert_eq!(st, 200, "{c}");
    c
}

/// The tag named `name` of a channel object.
fn tag<'a>(channel: &'a Value, name: &str) -> &'a Value {
    channel["available_tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tag {name} in {channel}"))
}

async fn settings_are_stored_and_returned(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid) = setup(&s).await;
    let mut ev = Events::new(&s);
    let (st, forum) = create_channel(
        &s,
        &gid,
        &owner,
        json!({
            "name": "ideas", "type": 15,
            "available_tags": [
                {"name": "bug", "emoji_name": "🐛", "emoji_id": null},
                {"name": "staff pick", "moderated": true}
            ],
            "default_reaction_emoji": {"emoji_id": null, "emoji_name": "👍"},
            "default_sort_order": 1,
            "default_forum_layout": 2,
            "default_thread_rate_limit_per_user": 30,
            "flags": 16
        }),
    )
    .await;
    assert_eq!(st, 201, "{forum}");
    let fid = id_of(&forum);
    let bug = tag(&forum, "bug").clone();
    let staff = tag(&forum, "staff pick").clone();
    let bug_id: u64 = bug["id"].as_str().unwrap().parse().unwrap();
    let staff_id: u64 = staff["id"].as_str().unwrap().parse().unwrap();
    let made = |id: u64| id >> 22;
    assert!(
        made(bug_id).abs_diff(made(fid.parse().unwrap())) < 60_000,
        "a snowflake made now"
    );
    assert_ne!(bug_id, staff_id);
    assert_eq!(
        bug,
        json!({"id": bug["id"], "name": "bug", "moderated": false, "emoji_id": null, "emoji_name": "🐛"})
    );
    assert_eq!(staff["moderated"], true);
    assert_eq!(
        forum["default_reaction_emoji"],
        json!({"emoji_id": null, "emoji_name": "👍"})
    );
    assert_eq!(forum["default_sort_order"], 1);
    assert_eq!(forum["default_forum_layout"], 2);
    assert_eq!(forum["default_thread_rate_limit_per_user"], 30);
    assert_eq!(forum["flags"], 16);
    let created = ev.expect(&["CHANNEL_CREATE"]);
    assert_eq!(created[0].2["available_tags"], forum["available_tags"]);
    // GET, the guild's channel list and GUILD_CREATE give the same object.
    assert_eq!(get_channel(&s, &fid, &member).await, forum);
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/channels"),
        &member,
        None,
    )
    .await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == fid.as_str())
        .unwrap();
    assert_eq!(listed, &forum);
    let me: UserId = s.user_id(&member).await.parse().unwrap();
    let payload = accord_api::services::guild_payload::guild_create(
        &s.state,
        gid.parse::<GuildId>().unwrap(),
        me,
    )
    .await
    .unwrap();
    let payload = serde_json::to_value(payload).unwrap();
    let in_guild_create = payload["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == fid.as_str())
        .unwrap()
        .clone();
    assert_eq!(in_guild_create["available_tags"], forum["available_tags"]);
    assert_eq!(in_guild_create["default_forum_layout"], 2);

    // Modify: rename `bug` (its id kept), drop the staff pick, add a tag; other settings.
    let (st, changed) = s
        .call_with_reason(
            Method::PATCH,
            &format!("/channels/{fid}"),
            &owner,
            json!({
                "available_tags": [
                    {"id": bug["id"], "name": "bugs", "emoji_name": "🐛"},
                    {"name": "feature", "emoji_id": null, "emoji_name": null},
                    {"id": "123", "name": "made up id"}
                ],
                "default_sort_order": null,
                "default_reaction_emoji": null,
                "default_forum_layout": 1
            }),
            "tidy tags",
        )
        .await;
    assert_eq!(st.as_u16(), 200, "{changed}");
    let tags = changed["available_tags"].as_array().unwrap();
    assert_eq!(tags.len(), 3);
    assert_eq!(tag(&changed, "bugs")["id"], bug["id"]);
    assert_ne!(tag(&changed, "feature")["id"], staff["id"]);
    assert_ne!(
        tag(&changed, "made up id")["id"],
        "123",
        "ids are the server's"
    );
    assert_eq!(changed["default_sort_order"], Value::Null);
    assert_eq!(changed["default_reaction_emoji"], Value::Null);
    assert_eq!(changed["default_forum_layout"], 1);
    let updated = ev.expect(&["CHANNEL_UPDATE"]);
    assert_eq!(updated[0].2, changed);
    assert_eq!(get_channel(&s, &fid, &owner).await, changed);
    let (_, log) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/audit-logs?action_type=11"),
        &owner,
        None,
    )
    .await;
    let entry = &log["audit_log_entries"][0];
    assert_eq!(entry["target_id"], fid.as_str());
    assert_eq!(entry["reason"], "tidy tags");
    let keys: Vec<&str> = entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    for key in [
        "available_tags",
        "default_sort_order",
        "default_reaction_emoji",
        "default_forum_layout",
    ] {
        assert!(keys.contains(&key), "{key} in {entry}");
    }
    let tags_change = entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "available_tags")
        .unwrap();
    assert_eq!(tags_change["old_value"], forum["available_tags"]);
    assert_eq!(tags_change["new_value"], changed["available_tags"]);

    // Media channels have tags but no layout; text channels only the thread slow mode.
    let (st, media) = create_channel(
        &s,
        &gid,
        &owner,
        json!({"name": "gallery", "type": 16, "available_tags": [{"name": "art"}], "default_forum_layout": 2}),
    )
    .await;
    assert_eq!(st, 201, "{media}");
    assert_eq!(media["available_tags"][0]["name"], "art");
    assert!(media.get("default_forum_layout").is_none(), "{media}");
    assert_eq!(media["default_thread_rate_limit_per_user"], 0);
    assert_eq!(media["default_sort_order"], Value::Null);
    let (st, text) = create_channel(
        &s,
        &gid,
        &owner,
        json!({"name": "chat", "available_tags": [{"name": "x"}], "default_thread_rate_limit_per_user": 60}),
    )
    .await;
    assert_eq!(st, 201, "{text}");
    assert!(text.get("available_tags").is_none(), "{text}");
    assert_eq!(text["default_thread_rate_limit_per_user"], 60);
    // A thread there starts with that slow mode.
    let (st, t) = call(
        &s,
        Method::POST,
        &format!("/channels/{}/threads", id_of(&text)),
        &owner,
        Some(json!({"name": "slow", "type": 11})),
    )
    .await;
    assert_eq!(st, 201, "{t}");
    assert_eq!(t["rate_limit_per_user"], 60);
    s.stop().await;
}

/// A request body, the status and code it gets, and the field error expected (path, code).
type Refusal = (Value, u16, u64, Option<(Vec<&'static str>, &'static str)>);

async fn bad_settings_change_nothing(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, _, gid) = setup(&s).await;
    let (st, forum) = create_channel(
        &s,
        &gid,
        &owner,
        json!({"name": "ideas", "type": 15, "available_tags": [{"name": "open", "moderated": true}]}),
    )
    .await;
    assert_eq!(st, 201, "{forum}");
    let fid = id_of(&forum);
    let many: Vec<Value> = (0..21).map(|i| json!({"name": format!("t{i}")})).collect();
    let cases: Vec<Refusal> = vec![
        (json!({"available_tags": many}), 400, 30048, None),
        (
            json!({"available_tags": [{"name": "twenty-one characters"}]}),
            400,
            50035,
            Some((vec!["available_tags", "0", "name"], "BASE_TYPE_MAX_LENGTH")),
        ),
        (
            json!({"available_tags": [{"moderated": true}]}),
            400,
            50035,
            Some((vec!["available_tags", "0", "name"], "BASE_TYPE_REQUIRED")),
        ),
        (
            json!({"available_tags": [{"name": "same"}, {"name": "same"}]}),
            400,
            40061,
            None,
        ),
        (
            json!({"available_tags": [{"name": "both", "emoji_id": "1", "emoji_name": "🐛"}]}),
            400,
            50035,
            Some((vec!["available_tags", "0"], "BASE_TYPE_INVALID")),
        ),
        (
            json!({"available_tags": [{"name": "custom", "emoji_id": "12345"}]}),
            404,
            10014,
            None,
        ),
        (
            json!({"default_reaction_emoji": {"emoji_id": null, "emoji_name": null}}),
            400,
            50035,
            Some((vec!["default_reaction_emoji"], "BASE_TYPE_INVALID")),
        ),
        (
            json!({"default_sort_order": 2}),
            400,
            50035,
            Some((vec!["default_sort_order"], "BASE_TYPE_CHOICES")),
        ),
        (
            json!({"default_forum_layout": 3}),
            400,
            50035,
            Some((vec!["default_forum_layout"], "BASE_TYPE_CHOICES")),
        ),
        (
            json!({"default_thread_rate_limit_per_user": 21601}),
            400,
            50035,
            Some((
                vec!["default_thread_rate_limit_per_user"],
                "NUMBER_TYPE_MAX",
            )),
        ),
        // Every tag is moderated: nobody else could post with REQUIRE_TAG.
        (json!({"flags": 16}), 400, 40066, None),
    ];
    let mut ev = Events::new(&s);
    for (body, status, want, field) in cases {
        let (st, b) = call(
            &s,
            Method::PATCH,
            &format!("/channels/{fid}"),
            &owner,
            Some(body.clone()),
        )
        .await;
        assert_eq!((st, code(&b)), (status, want), "{body} → {b}");
        if let Some((path, c)) = field {
            assert_eq!(field_code(&b, &path), Some(c), "{b}");
        }
    }
    ev.expect(&[]);
    assert_eq!(get_channel(&s, &fid, &owner).await, forum);
    // Creating with the same faults creates nothing.
    let (st, b) = create_channel(
        &s,
        &gid,
        &owner,
        json!({"name": "nope", "type": 15, "flags": 16}),
    )
    .await;
    assert_eq!((st, code(&b)), (400, 40066), "{b}");
    let (st, b) = create_channel(
        &s,
        &gid,
        &owner,
        json!({"name": "nope", "type": 16, "available_tags": [{"name": "a"}, {"name": "a"}]}),
    )
    .await;
    assert_eq!((st, code(&b)), (400, 40061), "{b}");
    ev.expect(&[]);
    // A tag that anyone may apply makes REQUIRE_TAG possible.
    let (st, b) = call(
        &s,
        Method::PATCH,
        &format!("/channels/{fid}"),
        &owner,
        Some(json!({"flags": 16, "available_tags": [{"id": forum["available_tags"][0]["id"], "name": "open", "moderated": true}, {"name": "anyone"}]})),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["flags"], 16);
    // A custom emoji of the guild is accepted; an id of 0 is no emoji.
    let emoji = s
        .state
        .store
        .create_emoji(&accord_store::NewEmoji {
            id: s.state.ids.next(),
            guild_id: gid.parse().unwrap(),
            name: "party".into(),
            user_id: None,
            animated: false,
            roles: Vec::new(),
        })
        .await
        .unwrap();
    let eid = emoji.id.to_string();
    let (st, b) = call(
        &s,
        Method::PATCH,
        &format!("/channels/{fid}"),
        &owner,
        Some(json!({
            "available_tags": [{"name": "anyone", "emoji_id": eid}, {"name": "zero", "emoji_id": "0", "emoji_name": "🙂"}],
            "default_reaction_emoji": {"emoji_id": eid, "emoji_name": null}
        })),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(tag(&b, "anyone")["emoji_id"], eid.as_str());
    assert_eq!(tag(&b, "zero")["emoji_id"], Value::Null);
    assert_eq!(
        b["default_reaction_emoji"],
        json!({"emoji_id": eid, "emoji_name": null})
    );
    s.stop().await;
}

/// A forum with tags `bug`, `feature` and the moderated `staff`, REQUIRE_TAG, and a thread
/// slow mode of 30 s; returns (forum id, bug, feature, staff).
async fn tagged_forum(s: &Server, gid: &str, owner: &str) -> (String, String, String, String) {
    let (st, forum) = create_channel(
        s,
        gid,
        owner,
        json!({
            "name": "support", "type": 15, "flags": 16, "default_thread_rate_limit_per_user": 30,
            "available_tags": [{"name": "bug"}, {"name": "feature"}, {"name": "staff", "moderated": true}]
        }),
    )
    .await;
    assert_eq!(st, 201, "{forum}");
    let id = |n: &str| tag(&forum, n)["id"].as_str().unwrap().to_owned();
    (id_of(&forum), id("bug"), id("feature"), id("staff"))
}

async fn posts_carry_tags(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, member, gid) = setup(&s).await;
    let (fid, bug, feature, staff) = tagged_forum(&s, &gid, &owner).await;
    let post = |tags: Value| json!({"name": "help", "message": {"content": "it broke"}, "applied_tags": tags});
    let at = format!("/channels/{fid}/threads");
    let mut ev = Events::new(&s);
    // Refusals: no tag (REQUIRE_TAG), a tag of no channel, six tags, a moderated tag.
    for (tags, status, want) in [
        (json!([]), 400, 40067),
        (Value::Null, 400, 40067),
        (json!(["42"]), 404, 10087),
        (
            json!([bug, feature, bug, feature, bug, feature]),
            400,
            50035,
        ),
        (json!([staff]), 403, 50013),
    ] {
        let (st, b) = call(&s, Method::POST, &at, &member, Some(post(tags.clone()))).await;
        assert_eq!((st, code(&b)), (status, want), "{tags} → {b}");
    }
    ev.expect(&[]);
    let (_, active) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/threads/active"),
        &owner,
        None,
    )
    .await;
    assert_eq!(active["threads"], json!([]));

    // A member's post with tags (repeats dropped) and the forum's thread slow mode.
    let (st, p) = call(
        &s,
        Method::POST,
        &at,
        &member,
        Some(post(json!([bug, bug, feature]))),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["applied_tags"], json!([bug, feature]));
    assert_eq!(p["rate_limit_per_user"], 30);
    let got = ev.expect(&["THREAD_CREATE", "THREAD_MEMBERS_UPDATE", "MESSAGE_CREATE"]);
    assert_eq!(got[0].2["applied_tags"], json!([bug, feature]));
    let pid = id_of(&p);
    assert_eq!(
        get_channel(&s, &pid, &owner).await["applied_tags"],
        json!([bug, feature])
    );
    // A moderator may apply the moderated tag.
    let (st, p2) = call(&s, Method::POST, &at, &owner, Some(post(json!([staff])))).await;
    assert_eq!(st, 201, "{p2}");
    assert_eq!(p2["applied_tags"], json!([staff]));
    ev.drain();

    // Editing a post's tags: its creator, not the moderated ones.
    let patch = |tags: Value| json!({ "applied_tags": tags });
    let at = format!("/channels/{pid}");
    let (st, t) = call(
        &s,
        Method::PATCH,
        &at,
        &member,
        Some(patch(json!([feature]))),
    )
    .await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["applied_tags"], json!([feature]));
    let got = ev.expect(&["THREAD_UPDATE"]);
    assert_eq!(got[0].2["applied_tags"], json!([feature]));
    let (_, log) = call(
        &s,
        Method::GET,
        &format!("/guilds/{gid}/audit-logs?action_type=111"),
        &owner,
        None,
    )
    .await;
    let change = &log["audit_log_entries"][0]["changes"][0];
    assert_eq!(
        change,
        &json!({"key": "applied_tags", "old_value": [bug, feature], "new_value": [feature]})
    );
    for (token, tags, status, want) in [
        (&member, json!([feature, staff]), 403, 50013),
        (&member, json!(["42"]), 404, 10087),
        (
            &member,
            json!([bug, feature, bug, feature, bug, feature]),
            400,
            50035,
        ),
    ] {
        let (st, b) = call(&s, Method::PATCH, &at, token, Some(patch(tags.clone()))).await;
        assert_eq!((st, code(&b)), (status, want), "{tags} → {b}");
    }
    ev.expect(&[]);
    let (st, t) = call(
        &s,
        Method::PATCH,
        &at,
        &owner,
        Some(patch(json!([feature, staff]))),
    )
    .await;
    assert_eq!((st, &t["applied_tags"]), (200, &json!([feature, staff])));
    // Taking the moderated tag off is the moderators' too.
    let (st, b) = call(
        &s,
        Method::PATCH,
        &at,
        &member,
        Some(patch(json!([feature]))),
    )
    .await;
    assert_eq!((st, code(&b)), (403, 50013), "{b}");
    // Someone else's post is not theirs to tag.
    let other = s.register("other", "correct horse").await;
    s.join(&gid, &other).await;
    let (st, b) = call(&s, Method::PATCH, &at, &other, Some(patch(json!([bug])))).await;
    assert_eq!((st, code(&b)), (403, 50013), "{b}");
    assert_eq!(
        get_channel(&s, &pid, &owner).await["applied_tags"],
        json!([feature, staff])
    );
    s.stop().await;
}

async fn webhook_posts_carry_tags(backend: &str) {
    let s = Server::start(backend).await;
    let (owner, _, gid) = setup(&s).await;
    let (fid, bug, _, staff) = tagged_forum(&s, &gid, &owner).await;
    let (st, hook) = call(
        &s,
        Method::POST,
        &format!("/channels/{fid}/webhooks"),
        &owner,
        Some(json!({"name": "Reporter"})),
    )
    .await;
    assert_eq!(st, 200, "{hook}");
    let at = format!(
        "/webhooks/{}/{}?wait=true",
        id_of(&hook),
        hook["token"].as_str().unwrap()
    );
    let (st, b) = s
        .call(
            Method::POST,
            &at,
            None,
            Some(json!({"content": "crash", "thread_name": "crash report"})),
        )
        .await;
    assert_eq!((st.as_u16(), code(&b)), (400, 40067), "{b}");
    let (st, b) = s
        .call(
            Method::POST,
            &at,
            None,
            Some(json!({"content": "crash", "thread_name": "crash report", "applied_tags": ["7"]})),
        )
        .await;
    assert_eq!((st.as_u16(), code(&b)), (404, 10087), "{b}");
    let (st, m) = s
        .call(
            Method::POST,
            &at,
            None,
            Some(json!({"content": "crash", "thread_name": "crash report", "applied_tags": [bug, staff]})),
        )
        .await;
    assert_eq!(st.as_u16(), 200, "{m}");
    let post = get_channel(&s, m["channel_id"].as_str().unwrap(), &owner).await;
    assert_eq!(post["applied_tags"], json!([bug, staff]));
    assert_eq!(post["rate_limit_per_user"], 30);
    s.stop().await;
}

both_backends!(
    settings_are_stored_and_returned,
    bad_settings_change_nothing,
    posts_carry_tags,
    webhook_posts_carry_tags
);
