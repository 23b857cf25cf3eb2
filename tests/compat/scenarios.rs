//! The compatibility scenarios about messages: ready, messages, webhooks, upload, ratelimits and
//! intents. Each drives the puppet by command, plays the users through REST, and checks both what
//! the puppet's handlers saw and what REST reads back; a failure names the request or event and
//! the field at fault.

use serde_json::{Value, json};

use crate::puppet::{Puppet, fields};
use crate::server::id_of;
use crate::world::{COMMAND, EVENT, Env};

fn sorted_ids(list: &Value) -> Value {
    let mut ids: Vec<String> = list
        .as_array()
        .map(|a| a.iter().map(id_of).collect())
        .unwrap_or_default();
    ids.sort();
    json!(ids)
}

/// READY: the bot's user, the transport, and every guild with its channels, roles and the bot's
/// own member known, compared with what REST lists.
pub async fn ready(env: &Env<'_>, p: &Puppet, ready: &Value) -> Result<(), String> {
    let w = env.world;
    // One connection per shard: a library that had to reconnect before READY was refused or
    // dropped by the gateway.
    let connects: Vec<Value> = p
        .events_before_ready()
        .into_iter()
        .filter(|e| e["t"] == "connect")
        .collect();
    if connects.len() != 1 {
        return Err(format!(
            "EVENT connect: {} connections before READY, wanted 1: {connects:?}",
            connects.len()
        ));
    }
    fields(
        "READY",
        ready,
        &[
            ("user", json!(w.bot_id)),
            ("shards", json!(1)),
            ("compress", json!(env.mode.transport)),
        ],
    )?;
    if env.mode.transport != "json" {
        fields("READY", ready, &[("frames_text", json!(0))])?;
        if ready["frames_binary"].as_u64().unwrap_or(0) == 0 {
            return Err(format!(
                "READY: field `frames_binary` is 0 under {}",
                env.mode.transport
            ));
        }
    }
    let guild = &ready["guilds"][&w.guild];
    if !guild.is_object() {
        return Err(format!(
            "READY: field `guilds` lacks guild {}: {}",
            w.guild, ready["guilds"]
        ));
    }
    let owner = &env.users.owner.rest;
    let channels = owner
        .call("GET", &format!("/guilds/{}/channels", w.guild), None, 200)
        .await?;
    let roles = owner
        .call("GET", &format!("/guilds/{}/roles", w.guild), None, 200)
        .await?;
    let what = format!("READY guilds.{}", w.guild);
    fields(
        &what,
        guild,
        &[
            ("channels", sorted_ids(&channels)),
            ("roles", sorted_ids(&roles)),
            ("me", json!(true)),
        ],
    )
}

/// A user posts; the bot replies, edits, reacts, unreacts, pins and deletes, each checked through
/// REST and through the event the puppet sees.
pub async fn messages(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let (w, owner) = (env.world, &env.users.owner);
    let c = w.channel.as_str();
    let from = p.mark();
    let content = format!("hello from a user {}", env.tag);
    let trigger = env.post(c, &content).await?;
    let ev = p
        .event(from, "message_create", "the user's message", EVENT, |e| {
            e["id"] == trigger.as_str()
        })
        .await?;
    fields(
        "EVENT message_create (user's message)",
        &ev,
        &[
            ("channel", json!(c)),
            ("guild", json!(w.guild)),
            ("author", json!(owner.id)),
            ("content", json!(content)),
            ("webhook", Value::Null),
        ],
    )?;

    let reply = p
        .command(
            json!({"cmd": "reply", "channel": c, "message": trigger, "content": "a reply"}),
            COMMAND,
        )
        .await?;
    fields("DONE reply", &reply, &[("reference", json!(trigger))])?;
    let rid = reply["id"].as_str().unwrap_or_default().to_owned();
    let read = env.read(c, &rid).await?;
    let what = "GET /channels/{channel_id}/messages/{reply}";
    fields(
        what,
        &read,
        &[
            ("author.id", json!(w.bot_id)),
            ("type", json!(19)),
            ("message_reference.message_id", json!(trigger)),
            ("content", json!("a reply")),
        ],
    )?;
    let ev = p
        .event(from, "message_create", "the bot's reply", EVENT, |e| {
            e["id"] == rid.as_str()
        })
        .await?;
    fields(
        "EVENT message_create (reply)",
        &ev,
        &[("reference", json!(trigger)), ("author", json!(w.bot_id))],
    )?;

    let edited = p
        .command(
            json!({"cmd": "edit", "channel": c, "message": rid, "content": "an edited reply"}),
            COMMAND,
        )
        .await?;
    fields(
        "DONE edit",
        &edited,
        &[("content", json!("an edited reply"))],
    )?;
    fields(
        what,
        &env.read(c, &rid).await?,
        &[("content", json!("an edited reply"))],
    )?;
    let ev = p
        .event(from, "message_update", "the edit", EVENT, |e| {
            e["id"] == rid.as_str()
        })
        .await?;
    fields(
        "EVENT message_update",
        &ev,
        &[
            ("channel", json!(c)),
            ("guild", json!(w.guild)),
            ("content", json!("an edited reply")),
        ],
    )?;

    let (emoji, encoded) = ("\u{1f44d}", "%F0%9F%91%8D");
    let reactions = format!("/channels/{c}/messages/{rid}/reactions/{encoded}");
    p.command(
        json!({"cmd": "react", "channel": c, "message": rid, "emoji": emoji}),
        COMMAND,
    )
    .await?;
    let users = owner.rest.call("GET", &reactions, None, 200).await?;
    if !users
        .as_array()
        .is_some_and(|u| u.iter().any(|u| id_of(u) == w.bot_id))
    {
        return Err(format!(
            "GET {reactions}: the bot is not among the reacting users: {users}"
        ));
    }
    let ev = p
        .event(from, "reaction_add", "the bot's reaction", EVENT, |e| {
            e["message"] == rid.as_str()
        })
        .await?;
    let want = [
        ("channel", json!(c)),
        ("guild", json!(w.guild)),
        ("user", json!(w.bot_id)),
        ("emoji", json!(emoji)),
    ];
    fields("EVENT reaction_add", &ev, &want)?;
    p.command(
        json!({"cmd": "unreact", "channel": c, "message": rid, "emoji": emoji}),
        COMMAND,
    )
    .await?;
    let users = owner.rest.call("GET", &reactions, None, 200).await?;
    if users
        .as_array()
        .is_some_and(|u| u.iter().any(|u| id_of(u) == w.bot_id))
    {
        return Err(format!(
            "GET {reactions}: the bot still reacts after unreact: {users}"
        ));
    }
    let ev = p
        .event(
            from,
            "reaction_remove",
            "the bot's unreaction",
            EVENT,
            |e| e["message"] == rid.as_str(),
        )
        .await?;
    fields("EVENT reaction_remove", &ev, &want)?;

    p.command(json!({"cmd": "pin", "channel": c, "message": rid}), COMMAND)
        .await?;
    fields(what, &env.read(c, &rid).await?, &[("pinned", json!(true))])?;
    let ev = p
        .event(from, "pins_update", "the pin", EVENT, |e| e["channel"] == c)
        .await?;
    fields("EVENT pins_update", &ev, &[("guild", json!(w.guild))])?;

    p.command(
        json!({"cmd": "delete", "channel": c, "message": rid}),
        COMMAND,
    )
    .await?;
    let path = format!("/channels/{c}/messages/{rid}");
    let status = owner.rest.status("GET", &path).await?;
    if status != 404 {
        return Err(format!(
            "GET {path} after delete answered {status}, wanted 404"
        ));
    }
    let ev = p
        .event(from, "message_delete", "the delete", EVENT, |e| {
            e["id"] == rid.as_str()
        })
        .await?;
    fields(
        "EVENT message_delete",
        &ev,
        &[("channel", json!(c)), ("guild", json!(w.guild))],
    )
}

/// The puppet creates a webhook and executes it with `wait=true`; it sees the message.
pub async fn webhooks(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let (w, c) = (env.world, env.world.channel.as_str());
    let from = p.mark();
    let hook = p
        .command(
            json!({"cmd": "create_webhook", "channel": c, "name": "compat hook"}),
            COMMAND,
        )
        .await?;
    let (hid, token) = (
        hook["id"].as_str().unwrap_or_default(),
        hook["token"].as_str().unwrap_or_default(),
    );
    if hid.is_empty() || token.is_empty() {
        return Err(format!(
            "DONE create_webhook: fields `id` and `token` wanted: {hook}"
        ));
    }
    let read = env
        .users
        .owner
        .rest
        .call("GET", &format!("/webhooks/{hid}"), None, 200)
        .await?;
    fields(
        "GET /webhooks/{webhook_id}",
        &read,
        &[("channel_id", json!(c)), ("name", json!("compat hook"))],
    )?;
    let ev = p
        .event(from, "webhooks_update", "the new webhook", EVENT, |e| {
            e["channel"] == c
        })
        .await?;
    fields("EVENT webhooks_update", &ev, &[("guild", json!(w.guild))])?;
    let content = format!("from a webhook {}", env.tag);
    let sent = p
        .command(
            json!({"cmd": "execute_webhook", "webhook": hid, "token": token, "content": content}),
            COMMAND,
        )
        .await?;
    let mid = sent["id"].as_str().unwrap_or_default().to_owned();
    let read = env.read(c, &mid).await?;
    fields(
        "GET the webhook's message",
        &read,
        &[("webhook_id", json!(hid)), ("content", json!(content))],
    )?;
    let ev = p
        .event(
            from,
            "message_create",
            "the webhook's message",
            EVENT,
            |e| e["id"] == mid.as_str(),
        )
        .await?;
    fields(
        "EVENT message_create (webhook)",
        &ev,
        &[
            ("webhook", json!(hid)),
            ("channel", json!(c)),
            ("guild", json!(w.guild)),
            ("content", json!(content)),
        ],
    )
}

/// Standard base64 (the attachment data the `upload` command carries).
fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The puppet uploads a file; the attachment's metadata is checked in its answer, its event and
/// REST, and the URL in its answer is fetched from the CDN: the same bytes come back.
pub async fn upload(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let (w, c) = (env.world, env.world.channel.as_str());
    let data: Vec<u8> = (0..1500u32).map(|i| (i * 7 % 251) as u8).collect();
    let from = p.mark();
    let cmd = json!({"cmd": "upload", "channel": c, "filename": "compat.bin", "data": base64(&data), "content": "a file"});
    let sent = p.command(cmd, COMMAND).await?;
    let want = [
        ("filename", json!("compat.bin")),
        ("size", json!(data.len())),
    ];
    fields("DONE upload attachments[0]", &sent["attachments"][0], &want)?;
    let mid = sent["id"].as_str().unwrap_or_default().to_owned();
    let read = env.read(c, &mid).await?;
    let what = "GET /channels/{channel_id}/messages/{upload} attachments[0]";
    fields(what, &read["attachments"][0], &want)?;
    if read["attachments"][0]["url"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        return Err(format!(
            "{what}: field `url` is missing: {}",
            read["attachments"]
        ));
    }
    fields(
        what,
        &read["attachments"][0],
        &[
            ("id", sent["attachments"][0]["id"].clone()),
            ("url", sent["attachments"][0]["url"].clone()),
        ],
    )?;
    fetch_attachment(env, &sent["attachments"][0], &data).await?;
    let ev = p
        .event(from, "message_create", "the upload", EVENT, |e| {
            e["id"] == mid.as_str()
        })
        .await?;
    fields(
        "EVENT message_create (upload) attachments[0]",
        &ev["attachments"][0],
        &want,
    )?;
    fields(
        "EVENT message_create (upload)",
        &ev,
        &[("guild", json!(w.guild)), ("author", json!(w.bot_id))],
    )
}

/// Fetches the `url` of an attachment as the library reported it; its bytes must be `data`.
async fn fetch_attachment(env: &Env<'_>, attachment: &Value, data: &[u8]) -> Result<(), String> {
    let what = "DONE upload attachments[0].url";
    let url = attachment["url"]
        .as_str()
        .ok_or_else(|| format!("{what}: missing: {attachment}"))?;
    let cdn = &env.server.cdn;
    if !url.starts_with(&format!("{cdn}/attachments/{}/", env.world.channel)) {
        return Err(format!(
            "{what}: `{url}` is not under {cdn}/attachments/{{channel}}/"
        ));
    }
    let resp = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
    if status != 200 || body != data {
        return Err(format!(
            "GET {url}: status {status}, {} bytes (wanted 200 and the {} uploaded bytes)",
            body.len(),
            data.len()
        ));
    }
    // The bytes are not text and match no known type: a download, whatever the name says.
    if kind != "application/octet-stream" {
        return Err(format!(
            "GET {url}: content-type `{kind}`, wanted application/octet-stream"
        ));
    }
    Ok(())
}

/// A burst past the per-route message limit: the library's limiter absorbs every 429.
pub async fn ratelimits(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    const COUNT: usize = 8;
    let c = env.world.channel.as_str();
    let from = p.mark();
    let sent = p
        .command(
            json!({"cmd": "burst", "channel": c, "count": COUNT, "content": "burst"}),
            COMMAND,
        )
        .await?;
    let mut ids: Vec<String> = sent["ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    if ids.len() != COUNT {
        return Err(format!(
            "DONE burst: field `ids` has {} distinct ids, wanted {COUNT}: {sent}",
            ids.len()
        ));
    }
    let path = format!("/channels/{c}/messages?limit=50");
    let listed = env.users.owner.rest.call("GET", &path, None, 200).await?;
    let listed: Vec<String> = listed
        .as_array()
        .map(|a| a.iter().map(id_of).collect())
        .unwrap_or_default();
    if let Some(missing) = ids.iter().find(|i| !listed.contains(i)) {
        return Err(format!("GET {path}: burst message {missing} is not listed"));
    }
    for id in &ids {
        p.event(from, "message_create", "a burst message", EVENT, |e| {
            e["id"] == id.as_str()
        })
        .await?;
    }
    Ok(())
}

/// A bot without MESSAGE_CONTENT: content is empty unless the bot is mentioned.
pub async fn intents(env: &Env<'_>) -> Result<(), String> {
    let (mut p, _) = env.puppet("no-content", 1).await?;
    let result = async {
        let (w, c) = (env.world, env.world.channel.as_str());
        let from = p.mark();
        let plain = env
            .post(c, &format!("no content for you {}", env.tag))
            .await?;
        let ev = p
            .event(from, "message_create", "a plain message", EVENT, |e| {
                e["id"] == plain.as_str()
            })
            .await?;
        fields(
            "EVENT message_create (no MESSAGE_CONTENT, not mentioned)",
            &ev,
            &[("content", json!(""))],
        )?;
        let text = format!("<@{}> you may read this {}", w.bot_id, env.tag);
        let mention = env.post(c, &text).await?;
        let ev = p
            .event(from, "message_create", "a mention", EVENT, |e| {
                e["id"] == mention.as_str()
            })
            .await?;
        fields(
            "EVENT message_create (no MESSAGE_CONTENT, mentioned)",
            &ev,
            &[("content", json!(text))],
        )?;
        // The bot's own messages keep their content too.
        let own = p
            .command(
                json!({"cmd": "send", "channel": c, "content": "my own words"}),
                COMMAND,
            )
            .await?;
        let own = own["id"].as_str().unwrap_or_default().to_owned();
        let ev = p
            .event(
                from,
                "message_create",
                "the bot's own message",
                EVENT,
                |e| e["id"] == own.as_str(),
            )
            .await?;
        fields(
            "EVENT message_create (no MESSAGE_CONTENT, own message)",
            &ev,
            &[("content", json!("my own words"))],
        )
    }
    .await;
    let result = result.map_err(|e| format!("{e}\n{}", p.transcript()));
    p.quit().await;
    result
}
