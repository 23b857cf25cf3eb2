//! The `threads` scenario: the bot starts a thread through its library, sees a user join it and
//! talk in it, answers inside it and archives it, then sees the owner delete it — each step
//! checked through REST and the library's own events.

use serde_json::json;

use crate::puppet::{Puppet, fields};
use crate::world::{COMMAND, EVENT, Env};

pub async fn threads(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let (w, c) = (env.world, env.world.channel.as_str());
    let owner = &env.users.owner;
    let from = p.mark();
    let name = format!("thread {}", env.tag);
    let t = p
        .command(
            json!({"cmd": "create_thread", "channel": c, "name": name}),
            COMMAND,
        )
        .await?;
    fields(
        "DONE create_thread",
        &t,
        &[("parent", json!(c)), ("name", json!(name))],
    )?;
    let tid = t["id"].as_str().unwrap_or_default().to_owned();
    let read = owner
        .rest
        .call("GET", &format!("/channels/{tid}"), None, 200)
        .await?;
    fields(
        "GET /channels/{thread_id}",
        &read,
        &[
            ("type", json!(11)),
            ("parent_id", json!(c)),
            ("owner_id", json!(w.bot_id)),
            ("name", json!(name)),
        ],
    )?;
    let ev = p
        .event(from, "thread_create", "the bot's new thread", EVENT, |e| {
            e["channel"] == tid.as_str()
        })
        .await?;
    fields(
        "EVENT thread_create",
        &ev,
        &[
            ("guild", json!(w.guild)),
            ("parent", json!(c)),
            ("name", json!(name)),
        ],
    )?;

    // A user joins and talks in it.
    owner
        .rest
        .call(
            "PUT",
            &format!("/channels/{tid}/thread-members/@me"),
            None,
            204,
        )
        .await?;
    p.event(
        from,
        "thread_member_join",
        "the owner joining",
        EVENT,
        |e| e["channel"] == tid.as_str() && e["user"] == owner.id.as_str(),
    )
    .await?;
    let said = format!("in the thread {}", env.tag);
    let mid = env.post(&tid, &said).await?;
    let ev = p
        .event(
            from,
            "message_create",
            "the owner's message in the thread",
            EVENT,
            |e| e["id"] == mid.as_str(),
        )
        .await?;
    fields(
        "EVENT message_create (thread)",
        &ev,
        &[("channel", json!(tid)), ("content", json!(said))],
    )?;

    // The bot answers inside it.
    let answer = format!("answered in the thread {}", env.tag);
    let sent = p
        .command(
            json!({"cmd": "send", "channel": tid, "content": answer}),
            COMMAND,
        )
        .await?;
    let sid = sent["id"].as_str().unwrap_or_default().to_owned();
    let read = env.read(&tid, &sid).await?;
    fields(
        "GET the bot's message in the thread",
        &read,
        &[("channel_id", json!(tid)), ("content", json!(answer))],
    )?;
    if read["author"]["id"] != w.bot_id.as_str() {
        return Err(format!(
            "the thread message's author is not the bot: {read}"
        ));
    }

    // Archived by the bot.
    let a = p
        .command(json!({"cmd": "archive_thread", "channel": tid}), COMMAND)
        .await?;
    fields("DONE archive_thread", &a, &[("archived", json!(true))])?;
    p.event(from, "thread_update", "the thread archived", EVENT, |e| {
        e["channel"] == tid.as_str() && e["archived"] == true
    })
    .await?;
    let read = owner
        .rest
        .call("GET", &format!("/channels/{tid}"), None, 200)
        .await?;
    if read["thread_metadata"]["archived"] != true {
        return Err(format!("GET /channels/{{thread_id}}: not archived: {read}"));
    }
    // Deleted by the owner: the gateway's THREAD_DELETE reaches the library. (discord.js
    // reports its own REST deletion of a thread as a channel deletion, not from the gateway.)
    owner
        .rest
        .call("DELETE", &format!("/channels/{tid}"), None, 200)
        .await?;
    let ev = p
        .event(from, "thread_delete", "the thread deleted", EVENT, |e| {
            e["channel"] == tid.as_str()
        })
        .await?;
    fields("EVENT thread_delete", &ev, &[("parent", json!(c))])?;
    owner
        .rest
        .call("GET", &format!("/channels/{tid}"), None, 404)
        .await
        .map(drop)
}
