//! A twilight bot driven by Accord's compatibility test (tests/compat.rs).
//!
//! It connects one shard of twilight-gateway (zstd-stream) to Accord, decodes every gateway payload
//! strictly with twilight-model, checks once every READY guild has arrived that it sees the
//! expected guild and text channel, waits for a message from another (non-bot) user containing the
//! trigger text, replies to it with twilight-http, waits for the reply's own MESSAGE_CREATE (so its
//! shape is decoded too) and exits 0. Structured lines on stdout:
//!
//! ```text
//! CONNECT <url>                      each gateway connection the library opens
//! READY guilds=<n> guild=<id> channel=<id> compress=<kind> frames_binary=<n> frames_text=<n>
//! MESSAGE <id> author=<id>           the trigger message as the library parsed it
//! REPLIED <id>                       the reply the library created
//! ERROR <text>                       why it failed (exit status non-zero)
//! ```
//!
//! The shard connects through a local relay (`relay.rs`) that prints CONNECT and counts frames,
//! because twilight gives decompressed binary frames and plain text frames to the application
//! alike. Every option may also come from the environment (`COMPAT_API`, `COMPAT_GATEWAY`, ...).
//! Set `COMPAT_DEBUG=1` to have every decompressed gateway payload printed on stderr.

mod relay;
mod strict;

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use twilight_gateway::{CloseFrame, ConfigBuilder, Intents, Message as WsMessage, Shard, ShardId};
use twilight_model::channel::message::MessageType;
use twilight_model::channel::{ChannelType, Message};
use twilight_model::gateway::event::Event;
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker, MessageMarker, UserMarker};

/// The transport compression this build of twilight-gateway asks for (its `zstd` feature).
const COMPRESSION: &str = "zstd-stream";

/// Command line; mirrors dpy_bot.py and djs_bot.js.
#[derive(Parser)]
#[command(about = "A twilight bot for Accord's compatibility test")]
struct Args {
    /// Versioned REST base, e.g. http://127.0.0.1:3001/api/v10
    #[arg(long, env = "COMPAT_API")]
    api: String,
    /// Gateway URL, e.g. ws://127.0.0.1:3002/
    #[arg(long, env = "COMPAT_GATEWAY")]
    gateway: String,
    /// Bot token (without "Bot ")
    #[arg(long, env = "COMPAT_TOKEN")]
    token: String,
    /// Guild id the bot must see
    #[arg(long, env = "COMPAT_GUILD")]
    guild: Id<GuildMarker>,
    /// Text channel id the bot must see
    #[arg(long, env = "COMPAT_CHANNEL")]
    channel: Id<ChannelMarker>,
    /// Text the awaited message contains
    #[arg(long, env = "COMPAT_TRIGGER")]
    trigger: String,
    /// Transport compression; this build supports only zstd (twilight-gateway's `zstd` feature)
    #[arg(long, env = "COMPAT_COMPRESS", default_value = "zstd", value_parser = ["zstd"])]
    compress: String,
    /// Seconds to wait for READY and then for the trigger
    #[arg(long, env = "COMPAT_TIMEOUT", default_value_t = 60.0)]
    timeout: f64,
}

pub fn out(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// How far the bot got, for the timeout message.
#[derive(Default)]
struct Progress {
    ready: bool,
    guilds: usize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            out(&format!("ERROR {}", e.to_string().trim()));
            return ExitCode::from(2);
        }
    };
    let stats = Arc::new(relay::Stats::default());
    let mut progress = Progress::default();
    let limit = Duration::from_secs_f64(args.timeout);
    let result = tokio::time::timeout(limit, run(&args, &stats, &mut progress)).await;
    let error = match result {
        Ok(Ok(())) => return ExitCode::SUCCESS,
        Ok(Err(e)) => e,
        Err(_) => {
            let (binary, text) = stats.frames();
            format!(
                "timed out after {:.0}s (ready={}, guilds={}, frames_binary={binary}, frames_text={text})",
                args.timeout, progress.ready, progress.guilds
            )
        }
    };
    out(&format!("ERROR {error}"));
    ExitCode::FAILURE
}

/// `host:port` and the path (without a trailing slash) of `url` under `scheme`.
fn split_url<'a>(url: &'a str, scheme: &str) -> Result<(&'a str, &'a str), String> {
    let rest = url
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
        .ok_or_else(|| format!("{url} is not a {scheme}:// URL"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    Ok((host, path.trim_end_matches('/')))
}

async fn run(
    args: &Args,
    stats: &Arc<relay::Stats>,
    progress: &mut Progress,
) -> Result<(), String> {
    let (api_host, api_path) = split_url(&args.api, "http")?;
    if api_path != "/api/v10" {
        return Err(format!(
            "--api {}: twilight-http 0.18 always requests /api/v10 on its proxy host",
            args.api
        ));
    }
    let http = twilight_http::Client::builder()
        .proxy(api_host.to_owned(), true)
        .token(args.token.clone())
        .build();

    let (gateway_host, gateway_path) = split_url(&args.gateway, "ws")?;
    let relay = relay::start(gateway_host.to_owned(), stats.clone())
        .await
        .map_err(|e| format!("starting the frame-counting relay: {e}"))?;
    let intents = Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT;
    let config = ConfigBuilder::new(args.token.clone(), intents)
        .proxy_url(format!("ws://{relay}{gateway_path}"))
        .build();
    let mut shard = Shard::with_config(ShardId::ONE, config);
    let debug = std::env::var_os("COMPAT_DEBUG").is_some();

    let mut me: Option<Id<UserMarker>> = None;
    let mut awaited: HashSet<Id<GuildMarker>> = HashSet::new();
    // The reply created through REST and the trigger it answers, until its MESSAGE_CREATE arrives.
    let mut replied: Option<(Id<MessageMarker>, Id<MessageMarker>)> = None;
    let mut guilds: HashMap<Id<GuildMarker>, Vec<(Id<ChannelMarker>, ChannelType)>> =
        HashMap::new();
    loop {
        let message = match shard.next().await {
            None => return Err("the shard stopped before the trigger arrived".into()),
            Some(Err(e)) => return Err(strict::describe_receive_error(&e)),
            Some(Ok(WsMessage::Close(frame))) => {
                eprintln!(
                    "[gateway] closed by the server or transport: {frame:?}; twilight reconnects"
                );
                continue;
            }
            Some(Ok(WsMessage::Text(json))) => json,
        };
        if debug {
            eprintln!("[gateway] {message}");
        }
        match strict::decode(message)? {
            Event::Ready(ready) => {
                me = Some(ready.user.id);
                awaited = ready.guilds.iter().map(|g| g.id).collect();
            }
            Event::GuildCreate(created) => match *created {
                GuildCreate::Available(guild) => {
                    let channels = guild.channels.iter().map(|c| (c.id, c.kind)).collect();
                    awaited.remove(&guild.id);
                    guilds.insert(guild.id, channels);
                    progress.guilds = guilds.len();
                }
                GuildCreate::Unavailable(g) => eprintln!("[gateway] guild {} unavailable", g.id),
            },
            Event::MessageCreate(created) => {
                let message = &created.message;
                if let Some((reply, trigger)) = replied
                    && message.id == reply
                {
                    check_echo(message, trigger, me)?;
                    out(&format!("REPLIED {reply}"));
                    close(&mut shard).await;
                    return Ok(());
                }
                if !message.content.contains(&args.trigger) || Some(message.author.id) == me {
                    continue;
                }
                if !progress.ready {
                    return Err(format!(
                        "trigger message {} arrived before READY",
                        message.id
                    ));
                }
                if replied.is_none() {
                    replied = Some((reply_to(args, &http, message).await?, message.id));
                }
            }
            Event::GatewayInvalidateSession(resumable) => {
                return Err(format!("session invalidated (resumable={resumable})"));
            }
            _ => {}
        }
        if !progress.ready && me.is_some() && awaited.is_empty() {
            ready_line(args, stats, &guilds, me)?;
            progress.ready = true;
        }
    }
}

/// Checks what the bot sees once every READY guild has arrived, and prints READY.
fn ready_line(
    args: &Args,
    stats: &relay::Stats,
    guilds: &HashMap<Id<GuildMarker>, Vec<(Id<ChannelMarker>, ChannelType)>>,
    me: Option<Id<UserMarker>>,
) -> Result<(), String> {
    let ids = || guilds.keys().map(ToString::to_string).collect::<Vec<_>>();
    let channels = guilds.get(&args.guild).ok_or_else(|| {
        format!(
            "ready: guild {} not received (guilds: {:?})",
            args.guild,
            ids()
        )
    })?;
    let kind = channels
        .iter()
        .find(|(id, _)| *id == args.channel)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            format!(
                "ready: channel {} not in guild {}: {channels:?}",
                args.channel, args.guild
            )
        })?;
    if kind != ChannelType::GuildText {
        return Err(format!(
            "ready: channel {} is {kind:?}, not a text channel",
            args.channel
        ));
    }
    for url in stats.urls.lock().unwrap().iter() {
        if !url.contains(&format!("compress={COMPRESSION}")) {
            return Err(format!("gateway URL {url} does not ask for {COMPRESSION}"));
        }
    }
    let (binary, text) = stats.frames();
    if text > 0 || binary == 0 {
        return Err(format!(
            "{text} text and {binary} binary frame(s) received, although {COMPRESSION} sends only binary frames"
        ));
    }
    let me = me.map(|id| id.to_string()).unwrap_or_default();
    out(&format!(
        "READY guilds={} guild={} channel={} compress={COMPRESSION} frames_binary={binary} frames_text={text} user={me}",
        guilds.len(),
        args.guild,
        args.channel
    ));
    Ok(())
}

/// Checks the trigger message and replies to it through twilight-http; returns the reply's id.
async fn reply_to(
    args: &Args,
    http: &twilight_http::Client,
    message: &Message,
) -> Result<Id<MessageMarker>, String> {
    out(&format!(
        "MESSAGE {} author={} channel={}",
        message.id, message.author.id, message.channel_id
    ));
    if message.author.bot {
        return Err(format!(
            "trigger message {} came from a bot account",
            message.id
        ));
    }
    if message.channel_id != args.channel {
        return Err(format!(
            "trigger message arrived in channel {}, expected {}",
            message.channel_id, args.channel
        ));
    }
    if message.guild_id != Some(args.guild) {
        return Err(format!(
            "trigger message has guild {:?}, expected {}",
            message.guild_id, args.guild
        ));
    }
    let content = format!("twilight saw {}", args.trigger);
    let response = http
        .create_message(message.channel_id)
        .content(&content)
        .reply(message.id)
        .await
        .map_err(|e| format!("create_message: {e}: {:?}", e.kind()))?;
    let body = response
        .text()
        .await
        .map_err(|e| format!("reading the create_message response: {e}"))?;
    let reply: Message = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&body))
        .map_err(|e| {
            format!(
                "create_message response does not deserialise as a twilight-model Message: at {}: {}; JSON: {body}",
                e.path(),
                e.inner()
            )
        })?;
    let referenced = reply.reference.as_ref().and_then(|r| r.message_id);
    if referenced != Some(message.id) {
        return Err(format!(
            "reply {} came back with message_reference {:?}",
            reply.id, reply.reference
        ));
    }
    Ok(reply.id)
}

/// Checks the gateway's MESSAGE_CREATE for the bot's own reply (a reply, with its reference, as
/// Discord delivers it), so the reply's gateway shape is decoded strictly too.
fn check_echo(
    echo: &Message,
    trigger: Id<MessageMarker>,
    me: Option<Id<UserMarker>>,
) -> Result<(), String> {
    let referenced = echo.reference.as_ref().and_then(|r| r.message_id);
    if echo.kind != MessageType::Reply || referenced != Some(trigger) || Some(echo.author.id) != me
    {
        return Err(format!(
            "MESSAGE_CREATE of the reply {}: type {:?}, message_reference {:?}, author {}; \
             wanted a Reply to {trigger} by the bot",
            echo.id, echo.kind, echo.reference, echo.author.id
        ));
    }
    Ok(())
}

/// Closes the shard normally and waits briefly for the close to complete.
async fn close(shard: &mut Shard) {
    shard.close(CloseFrame::NORMAL);
    let drain = async {
        while let Some(item) = shard.next().await {
            if matches!(item, Ok(WsMessage::Close(_))) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}
