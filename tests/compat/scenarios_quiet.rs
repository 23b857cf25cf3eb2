//! The quiet scenario: a message after a quiet spell. A connection that received nothing for a
//! whole heartbeat interval gives its compression state back (`zlib-stream`: its deflate state;
//! `zstd-stream`: its zstd context), and its next messages are compressed alone, once per
//! gateway thread for every quiet connection, and fitted onto the stream the library has been
//! reading (for zstd behind resync blocks that decode to JSON whitespace). The library must read
//! them as it reads everything else.

use serde_json::json;

use crate::puppet::{Puppet, fields};
use crate::server::HEARTBEAT;
use crate::world::{COMMAND, EVENT, Env};

/// Nothing reaches the bot for over two heartbeat intervals (the first heartbeat may still count
/// the last events, the second finds none); then a user posts, the bot sees the message and
/// replies, and sees its own reply.
pub async fn quiet(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let c = env.world.channel.as_str();
    let resyncs = env.server.relay.resyncs();
    tokio::time::sleep(HEARTBEAT * 5 / 2).await;
    let from = p.mark();
    let content = format!("after a quiet spell {}", env.tag);
    let trigger = env.post(c, &content).await?;
    let ev = p
        .event(
            from,
            "message_create",
            "the message after a quiet spell",
            EVENT,
            |e| e["id"] == trigger.as_str(),
        )
        .await?;
    fields(
        "EVENT message_create (after a quiet spell)",
        &ev,
        &[("content", json!(content)), ("channel", json!(c))],
    )?;
    if env.mode.transport == "zstd-stream" && env.server.relay.resyncs() == resyncs {
        return Err(
            "RELAY: the message reached the quiet zstd-stream connection without resync \
             blocks (the connection kept its own context)"
                .into(),
        );
    }
    let reply = p
        .command(
            json!({"cmd": "reply", "channel": c, "message": trigger, "content": "still here"}),
            COMMAND,
        )
        .await?;
    fields("DONE reply", &reply, &[("reference", json!(trigger))])?;
    let rid = reply["id"].as_str().unwrap_or_default().to_owned();
    let ev = p
        .event(from, "message_create", "the bot's reply", EVENT, |e| {
            e["id"] == rid.as_str()
        })
        .await?;
    fields(
        "EVENT message_create (reply after a quiet spell)",
        &ev,
        &[
            ("content", json!("still here")),
            ("author", json!(env.world.bot_id)),
        ],
    )
}
