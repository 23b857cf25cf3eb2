//! Rules of interactions beyond the basic flow: ephemeral responses stay out of the channel's
//! history (its `last_message_id`, counters and everyone's read state), age-restricted commands
//! only in age-restricted channels, and interaction tokens stored only as hashes — on both
//! backends.

mod common;

use accord_model::{ChannelId, UserId};
use common::{Events, Server, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Setup {
    owner: String,
    owner_id: String,
    member: String,
    app: String,
    bot: String,
    guild: String,
    channel: String,
    command: Value,
}

async fn setup(s: &Server) -> Setup {
    let owner = s.register("owner", "correct horse").await;
    let owner_id = s.user_id(&owner).await;
    let guild = id_of(&s.guild(&owner, "Rules").await);
    let (app, bot) = s.bot_in_guild(&owner, "Helper", &guild, "3072").await;
    let member = s.register("member", "correct horse").await;
    s.join(&guild, &member).await;
    let channel = s.text_channel(&guild).await;
    let command = create_command(
        s,
        &app,
        &bot,
        &guild,
        json!({"name": "ping", "description": "Ping"}),
    )
    .await;
    Setup {
        owner,
        owner_id,
        member,
        app,
        bot,
        guild,
        channel,
        command,
    }
}

async fn create_command(s: &Server, app: &str, bot: &str, guild: &str, body: Value) -> Value {
    let (status, command) = s
        .call(
            Method::POST,
            &format!("/applications/{app}/guilds/{guild}/commands"),
            Some(bot),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{command}");
    command
}

fn invocation(t: &Setup, command: &Value, channel: &str) -> Value {
    json!({
        "type": 2, "application_id": t.app, "guild_id": t.guild, "channel_id": channel,
        "session_id": "session", "nonce": "n",
        "data": {"id": id_of(command), "name": command["name"], "type": 1, "version": command["version"]}
    })
}

/// Invokes `command` in `channel` as the member; returns the INTERACTION_CREATE the bot got.
async fn invoke(s: &Server, t: &Setup, command: &Value, channel: &str) -> Value {
    let mut events = Events::new(s);
    let (status, body) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(invocation(t, command, channel)),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"])[0]
        .2
        .clone()
}

async fn callback(s: &Server, i: &Value, body: Value) -> (StatusCode, Value) {
    let path = format!(
        "/interactions/{}/{}/callback",
        i["id"].as_str().unwrap(),
        i["token"].as_str().unwrap()
    );
    s.call(Method::POST, &path, None, Some(body)).await
}

/// The channel's `last_message_id` and message counters.
async fn history_marks(s: &Server, channel: &str) -> (Option<i64>, i32, i32) {
    let c = s
        .state
        .store
        .channel(channel.parse::<ChannelId>().unwrap())
        .await
        .unwrap()
        .unwrap();
    (c.last_message_id, c.message_count, c.total_message_sent)
}

/// The unread mentions of `user` in `channel`.
async fn unread_mentions(s: &Server, user: &str, channel: &str) -> i32 {
    let channel: ChannelId = channel.parse().unwrap();
    s.state
        .store
        .read_states(user.parse::<UserId>().unwrap())
        .await
        .unwrap()
        .iter()
        .find(|r| r.channel_id == channel.as_i64())
        .map_or(0, |r| r.mention_count)
}

async fn ephemeral_out_of_history(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let (status, said) = s
        .call(
            Method::POST,
            &format!("/channels/{}/messages", t.channel),
            Some(&t.member),
            Some(json!({"content": "before"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{said}");
    let before = history_marks(&s, &t.channel).await;
    assert_eq!(before.0, Some(id_of(&said).parse().unwrap()));
    let mention = format!("hey <@{}>", t.owner_id);

    // An ephemeral answer that mentions the owner: the channel and the owner's read state stay.
    let i = invoke(&s, &t, &t.command, &t.channel).await;
    let (status, body) = callback(
        &s,
        &i,
        json!({"type": 4, "data": {"content": mention, "flags": 64}, }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(history_marks(&s, &t.channel).await, before);
    assert_eq!(unread_mentions(&s, &t.owner_id, &t.channel).await, 0);
    // So is an ephemeral follow-up.
    let hook = format!("/webhooks/{}/{}", t.app, i["token"].as_str().unwrap());
    let (status, follow) = s
        .call(
            Method::POST,
            &hook,
            None,
            Some(json!({"content": mention, "flags": 64})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{follow}");
    assert_eq!(follow["flags"], 64);
    assert_eq!(history_marks(&s, &t.channel).await, before);
    assert_eq!(unread_mentions(&s, &t.owner_id, &t.channel).await, 0);
    // Nor can anyone mark the channel read up to it.
    let (status, err) = s
        .call(
            Method::POST,
            &format!("/channels/{}/messages/{}/ack", t.channel, id_of(&follow)),
            Some(&t.member),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10008))
    );

    // A public answer is in the history: it moves the channel and counts the mention.
    let i = invoke(&s, &t, &t.command, &t.channel).await;
    let (status, body) = callback(&s, &i, json!({"type": 4, "data": {"content": mention}})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, original) = s
        .call(
            Method::GET,
            &format!(
                "/webhooks/{}/{}/messages/@original",
                t.app,
                i["token"].as_str().unwrap()
            ),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{original}");
    let after = history_marks(&s, &t.channel).await;
    assert_eq!(after.0, Some(id_of(&original).parse().unwrap()));
    assert_eq!(after.1, before.1 + 1);
    assert_eq!(unread_mentions(&s, &t.owner_id, &t.channel).await, 1);
    let _ = (&t.owner, &t.bot);
    s.stop().await;
}

/// Age-restricted commands only in age-restricted channels (and not in threads of others).
async fn age_restricted_commands(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let adult = create_command(
        &s,
        &t.app,
        &t.bot,
        &t.guild,
        json!({"name": "adult", "description": "Age-restricted", "nsfw": true}),
    )
    .await;
    assert_eq!(adult["nsfw"], true);
    let mut events = Events::new(&s);
    let (status, err) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(invocation(&t, &adult, &t.channel)),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50001)),
        "{err}"
    );
    events.expect(&[]);
    // The owner too: being allowed everything does not make the channel age-restricted.
    let mut as_owner = invocation(&t, &adult, &t.channel);
    as_owner["nonce"] = json!("o");
    let (status, _) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.owner),
            Some(as_owner),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Other commands still work there.
    invoke(&s, &t, &t.command, &t.channel).await;

    let (status, channel) = s
        .call(
            Method::PATCH,
            &format!("/channels/{}", t.channel),
            Some(&t.owner),
            Some(json!({"nsfw": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{channel}");
    assert_eq!(channel["nsfw"], true);
    let i = invoke(&s, &t, &adult, &t.channel).await;
    assert_eq!(i["data"]["name"], "adult");
    s.stop().await;
}

/// The bot gets the token; the server keeps only its SHA-256 digest, and the digest itself is
/// no token.
async fn tokens_stored_as_digests(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let i = invoke(&s, &t, &t.command, &t.channel).await;
    let token = i["token"].as_str().unwrap().to_owned();
    assert!(token.len() > 40, "{token}");
    let record = s
        .state
        .store
        .interaction(id_of(&i).parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.token_hash, accord_auth::secret_digest(&token));
    assert!(!format!("{record:?}").contains(&token));
    // The digest does not open the interaction, in either route family.
    let mut forged = i.clone();
    forged["token"] = json!(record.token_hash);
    let (status, err) = callback(&s, &forged, json!({"type": 4, "data": {"content": "x"}})).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10062))
    );
    let (status, body) = callback(&s, &i, json!({"type": 4, "data": {"content": "pong"}})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = s
        .call(
            Method::GET,
            &format!(
                "/webhooks/{}/{}/messages/@original",
                t.app, record.token_hash
            ),
            None,
            None,
        )
        .await;
    assert_ne!(status, StatusCode::OK);
    let (status, original) = s
        .call(
            Method::GET,
            &format!("/webhooks/{}/{token}/messages/@original", t.app),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{original}");
    assert_eq!(original["content"], "pong");
    s.stop().await;
}

/// Sends `payload` with `files` as multipart, as the member.
async fn invoke_multipart(
    s: &Server,
    t: &Setup,
    payload: Value,
    files: Vec<(&str, &'static [u8], &str)>,
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new().text("payload_json", payload.to_string());
    for (part, bytes, name) in files {
        form = form.part(
            part.to_owned(),
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    }
    let resp = s
        .http
        .post(s.url("/interactions"))
        .header("authorization", &t.member)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// ATTACHMENT options: the file comes with the invocation, the option names it by `files[n]`,
/// and the bot gets its attachment id and the attachment in `resolved`, stored for the CDN.
async fn attachment_options(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let upload = create_command(
        &s,
        &t.app,
        &t.bot,
        &t.guild,
        json!({"name": "upload", "description": "Take a file", "options": [
            {"name": "file", "description": "The file", "type": 11, "required": true},
            {"name": "note", "description": "A note", "type": 3}
        ]}),
    )
    .await;
    let payload = |value: Value| {
        let mut p = invocation(&t, &upload, &t.channel);
        p["data"]["options"] = json!([{"name": "file", "type": 11, "value": value}]);
        p["data"]["attachments"] = json!([{"id": "0", "filename": "notes today.txt"}]);
        p
    };
    // A value naming no uploaded file, or no file at all: 50035, nothing sent.
    let mut events = Events::new(&s);
    let (status, err) = invoke_multipart(
        &s,
        &t,
        payload(json!(1)),
        vec![("files[0]", b"hello file", "a.txt")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(
        common::field_code(&err, &["data", "options", "0", "value"]),
        Some("APPLICATION_COMMAND_OPTION_VALUE_INVALID")
    );
    let (status, _) = s
        .call(
            Method::POST,
            "/interactions",
            Some(&t.member),
            Some(payload(json!(0))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    events.expect(&[]);

    let (status, body) = invoke_multipart(
        &s,
        &t,
        payload(json!(0)),
        vec![
            ("files[0]", b"hello file", "a.txt"),
            ("files[1]", b"not named by any option", "b.txt"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = events.expect(&["INTERACTION_CREATE", "INTERACTION_CREATE"]);
    let data = &got[0].2["data"];
    let id = data["options"][0]["value"].as_str().expect("attachment id");
    let attachments = data["resolved"]["attachments"].as_object().unwrap();
    assert_eq!(attachments.len(), 1, "{data}");
    let a = &attachments[id];
    assert_eq!(a["id"], id);
    assert_eq!(a["filename"], "notes_today.txt");
    assert_eq!(a["size"], 10);
    assert_eq!(a["content_type"], "text/plain; charset=utf-8");
    assert_eq!(a["ephemeral"], true);
    let url = format!(
        "{}/attachments/{}/{id}/notes_today.txt",
        s.state.config.cdn_public_url(),
        t.channel
    );
    assert_eq!(a["url"], url.as_str());
    assert_eq!(a["proxy_url"], url.as_str());
    let key = format!("{}/{id}/notes_today.txt", t.channel);
    let stored = s.state.blobs.get(&key).await.unwrap().expect("stored file");
    assert_eq!(&stored[..], b"hello file");
    let row = s
        .state
        .store
        .attachment(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.message_id, row.ephemeral), (None, true));

    // Files with a component interaction are refused.
    let mut press = invocation(&t, &upload, &t.channel);
    press["type"] = json!(3);
    let (status, err) = invoke_multipart(&s, &t, press, vec![("files[0]", b"x", "x.txt")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(
        common::field_code(&err, &["files"]),
        Some("ATTACHMENTS_UNEXPECTED")
    );
    s.stop().await;
}

both_backends!(
    attachment_options,
    ephemeral_out_of_history,
    age_restricted_commands,
    tokens_stored_as_digests
);
