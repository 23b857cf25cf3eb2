//! The README's stdin commands, each run through twilight-http's own request builders (its
//! routes, its rate limiter, which waits out and retries any 429 itself), answered with `DONE` or
//! `FAILED`. Every response body is decoded strictly as the twilight-model type the builder
//! names, with the failing field's path in the error.
//!
//! twilight-http 0.18 learns a bucket only from responses that carry `X-RateLimit-Scope`, which
//! Discord (and Accord) send on 429s only, so a `burst` is absorbed by its retry after each 429
//! (waiting out that response's `X-RateLimit-Reset-After`), not by pacing ahead of time.

use std::any::type_name;
use std::future::IntoFuture;

use base64::Engine;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use twilight_http::Client;
use twilight_http::request::channel::reaction::RequestReactionType;
use twilight_http::response::Response;
use twilight_model::channel::{Channel, ChannelType, Message};
use twilight_model::http::attachment::Attachment;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, MessageMarker, WebhookMarker};

/// One command line, after its `id`.
#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Send {
        channel: Id<ChannelMarker>,
        content: String,
    },
    Reply {
        channel: Id<ChannelMarker>,
        message: Id<MessageMarker>,
        content: String,
    },
    Edit {
        channel: Id<ChannelMarker>,
        message: Id<MessageMarker>,
        content: String,
    },
    React {
        channel: Id<ChannelMarker>,
        message: Id<MessageMarker>,
        emoji: String,
    },
    Unreact {
        channel: Id<ChannelMarker>,
        message: Id<MessageMarker>,
        emoji: String,
    },
    Pin {
        channel: Id<ChannelMarker>,
        message: Id<MessageMarker>,
    },
    CreateThread {
        channel: Id<ChannelMarker>,
        name: String,
    },
    ArchiveThread {
        channel: Id<ChannelMarker>,
    },
    Delete {
        channel: Id<ChannelMarker>,
        message: Id<MessageMarker>,
    },
    CreateWebhook {
        channel: Id<ChannelMarker>,
        name: String,
    },
    ExecuteWebhook {
        webhook: Id<WebhookMarker>,
        token: String,
        content: String,
    },
    Upload {
        channel: Id<ChannelMarker>,
        filename: String,
        data: String,
        #[serde(default)]
        content: Option<String>,
    },
    Burst {
        channel: Id<ChannelMarker>,
        count: usize,
        content: String,
    },
    Quit,
}

/// Splits a stdin line into its `id` and command. `Err((None, _))`: the line has no numeric id
/// and cannot be answered; `Err((Some(id), _))`: answer `FAILED`.
pub fn parse(line: &str) -> Result<(u64, Command), (Option<u64>, String)> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| (None, format!("stdin line is not JSON ({e}): {line}")))?;
    let id = value["id"]
        .as_u64()
        .ok_or_else(|| (None, format!("stdin command without a numeric id: {line}")))?;
    let command = serde_json::from_value(value).map_err(|e| {
        (
            Some(id),
            format!("not a command of the README ({e}): {line}"),
        )
    })?;
    Ok((id, command))
}

/// A twilight-http error with its chain of sources.
fn http_error(what: &str, e: &twilight_http::Error) -> String {
    let mut text = format!("{what}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Sends a request and decodes its body strictly as `T`.
async fn model<T: DeserializeOwned>(
    what: &str,
    request: impl IntoFuture<Output = Result<Response<T>, twilight_http::Error>>,
) -> Result<T, String> {
    let response = request.await.map_err(|e| http_error(what, &e))?;
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("{what}: reading the response body: {e}"))?;
    let mut de = serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        format!(
            "{what}: the response does not deserialise as twilight-model's {}: at {}: {}; JSON: {}",
            type_name::<T>(),
            e.path(),
            e.inner(),
            String::from_utf8_lossy(&body)
        )
    })
}

/// Sends a request whose response has no body.
async fn empty<T>(
    what: &str,
    request: impl IntoFuture<Output = Result<Response<T>, twilight_http::Error>>,
) -> Result<(), String> {
    request.await.map(drop).map_err(|e| http_error(what, &e))
}

/// `name:id` is a custom emoji, anything else a unicode one.
fn reaction(emoji: &str) -> RequestReactionType<'_> {
    let custom = emoji
        .rsplit_once(':')
        .and_then(|(name, id)| Some((name, id.parse().ok()?)));
    match custom {
        Some((name, id)) => RequestReactionType::Custom {
            id,
            name: (!name.is_empty()).then_some(name),
        },
        None => RequestReactionType::Unicode { name: emoji },
    }
}

/// Runs a command (all but `quit`); returns the `DONE` fields.
pub async fn run(http: &Client, command: Command) -> Result<Value, String> {
    Ok(match command {
        Command::Send { channel, content } => {
            let m: Message = model(
                "create_message",
                http.create_message(channel).content(&content),
            )
            .await?;
            json!({"id": m.id.to_string()})
        }
        Command::Reply {
            channel,
            message,
            content,
        } => {
            let request = http
                .create_message(channel)
                .content(&content)
                .reply(message);
            let m: Message = model("create_message (reply)", request).await?;
            let reference = m.reference.as_ref().and_then(|r| r.message_id);
            json!({"id": m.id.to_string(), "reference": reference.map(|r| r.to_string())})
        }
        Command::Edit {
            channel,
            message,
            content,
        } => {
            let request = http
                .update_message(channel, message)
                .content(Some(&content));
            let m: Message = model("update_message", request).await?;
            json!({"id": m.id.to_string(), "content": m.content})
        }
        Command::React {
            channel,
            message,
            emoji,
        } => {
            let emoji = reaction(&emoji);
            empty(
                "create_reaction",
                http.create_reaction(channel, message, &emoji),
            )
            .await?;
            json!({})
        }
        Command::Unreact {
            channel,
            message,
            emoji,
        } => {
            let emoji = reaction(&emoji);
            let request = http.delete_current_user_reaction(channel, message, &emoji);
            empty("delete_current_user_reaction", request).await?;
            json!({})
        }
        Command::Pin { channel, message } => {
            empty("create_pin", http.create_pin(channel, message)).await?;
            json!({})
        }
        Command::Delete { channel, message } => {
            empty("delete_message", http.delete_message(channel, message)).await?;
            json!({})
        }
        Command::CreateThread { channel, name } => {
            let request = http.create_thread(channel, &name, ChannelType::PublicThread);
            let t: Channel = model("create_thread", request).await?;
            json!({"id": t.id.to_string(), "parent": t.parent_id.map(|p| p.to_string()),
                   "name": t.name})
        }
        Command::ArchiveThread { channel } => {
            let t: Channel =
                model("update_thread", http.update_thread(channel).archived(true)).await?;
            let archived = t.thread_metadata.as_ref().map(|m| m.archived);
            json!({"id": t.id.to_string(), "archived": archived})
        }
        Command::CreateWebhook { channel, name } => {
            let w: twilight_model::channel::Webhook =
                model("create_webhook", http.create_webhook(channel, &name)).await?;
            json!({"id": w.id.to_string(), "token": w.token})
        }
        Command::ExecuteWebhook {
            webhook,
            token,
            content,
        } => {
            let request = http
                .execute_webhook(webhook, &token)
                .content(&content)
                .wait();
            let m: Message = model("execute_webhook (wait)", request).await?;
            json!({"id": m.id.to_string()})
        }
        Command::Upload {
            channel,
            filename,
            data,
            content,
        } => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&data)
                .map_err(|e| format!("upload: `data` is not base64: {e}"))?;
            let files = [Attachment::from_bytes(filename, bytes, 0)];
            let mut request = http.create_message(channel).attachments(&files);
            if let Some(content) = content.as_deref().filter(|c| !c.is_empty()) {
                request = request.content(content);
            }
            let m: Message = model("create_message (attachment)", request).await?;
            json!({"id": m.id.to_string(), "attachments": crate::events::attachments(&m.attachments)})
        }
        Command::Burst {
            channel,
            count,
            content,
        } => burst(http, channel, count, &content).await?,
        Command::Quit => unreachable!("quit is handled by the caller"),
    })
}

/// `count` sends started at once (contents numbered like the other puppets'); the ids in the
/// order they completed.
async fn burst(
    http: &Client,
    channel: Id<ChannelMarker>,
    count: usize,
    content: &str,
) -> Result<Value, String> {
    let contents: Vec<String> = (0..count).map(|i| format!("{content} {i}")).collect();
    let mut sends: FuturesUnordered<_> = contents
        .iter()
        .enumerate()
        .map(|(i, c)| async move {
            let what = format!("create_message #{i} of the burst");
            model::<Message>(&what, http.create_message(channel).content(c)).await
        })
        .collect();
    let mut ids = Vec::with_capacity(count);
    while let Some(sent) = sends.next().await {
        ids.push(sent?.id.to_string());
    }
    Ok(json!({"ids": ids}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_reports_bad_lines() {
        let (id, cmd) = parse(r#"{"id":3,"cmd":"react","channel":"1","message":"2","emoji":"x"}"#)
            .unwrap_or_else(|_| panic!("a valid command"));
        assert_eq!(id, 3);
        assert!(matches!(cmd, Command::React { .. }));
        assert!(matches!(
            parse(r#"{"id":4,"cmd":"quit"}"#),
            Ok((4, Command::Quit))
        ));
        assert!(matches!(
            parse(r#"{"id":5,"cmd":"fly"}"#),
            Err((Some(5), _))
        ));
        assert!(matches!(parse(r#"{"cmd":"quit"}"#), Err((None, _))));
        assert!(matches!(parse("quit"), Err((None, _))));
    }

    #[test]
    fn custom_emoji_are_name_colon_id() {
        assert!(matches!(
            reaction("party:42"),
            RequestReactionType::Custom {
                name: Some("party"),
                ..
            }
        ));
        assert!(matches!(
            reaction("👍"),
            RequestReactionType::Unicode { name: "👍" }
        ));
        assert!(matches!(
            reaction("a:b"),
            RequestReactionType::Unicode { name: "a:b" }
        ));
    }
}
