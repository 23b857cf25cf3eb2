//! The twilight puppet of Accord's compatibility suite: implements the protocol of
//! tests/compat/README.md with the unmodified twilight 0.18 crates.
//!
//! One `Shard` of twilight-gateway (zstd-stream) per shard id, all polled in this process, each by
//! its own task; every gateway payload is decoded strictly with twilight-model (`strict.rs`:
//! unknown opcodes and dispatch names are errors too), and the README's kinds become `EVENT` lines
//! (`events.rs`). `READY` is printed once every shard has had READY and every guild of those
//! READYs its GUILD_CREATE. Commands read from stdin run through twilight-http's request builders
//! with its default rate limiter (`commands.rs`).
//!
//! Where twilight differs from the other puppets (decisions, since the README leaves them open):
//! - twilight has no default intents: `--intents default` is every non-privileged intent
//!   twilight-model knows (what discord.py's `Intents.default()` is) plus GUILD_MEMBERS and
//!   MESSAGE_CONTENT.
//! - twilight gives the application decompressed binary frames and plain text frames alike as
//!   text, so each shard connects to `--gateway` through a local relay (`relay.rs`) that counts
//!   frames and checks that the upgrade request asks for zstd-stream; a text frame is an `ERROR`.
//!   twilight resumes at READY's `resume_gateway_url` itself, bypassing that relay, so frames of
//!   resumed connections are not counted (READY's counts are those of the identifying
//!   connections, which READY always arrives on).
//! - `EVENT connect` comes from twilight-gateway's own `connecting` log event (`trace.rs`), so it
//!   covers resumes too; its `url` is the base URL twilight logs (it appends
//!   `/?v=10&encoding=json&compress=zstd-stream` itself), with the relay's address replaced by
//!   the `--gateway` URL it relays to.
//! - twilight-http always requests `/api/v10` on its proxy host, so `--api` must end there.
//!
//! Every option may also come from the environment (`COMPAT_API`, `COMPAT_GATEWAY`, ...);
//! `COMPAT_DEBUG=1` sends twilight's debug log and every decompressed payload to stderr.

mod commands;
mod events;
mod relay;
mod strict;
mod trace;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use twilight_gateway::error::ReceiveMessageErrorType;
use twilight_gateway::{CloseFrame, ConfigBuilder, Intents, Message as WsMessage, Shard};
use twilight_model::gateway::event::Event;
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::id::Id;
use twilight_model::id::marker::{GuildMarker, UserMarker};

/// Command line (tests/compat/README.md, "Starting a puppet").
#[derive(Parser)]
#[command(about = "The twilight puppet of Accord's compatibility suite")]
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
    /// Transport compression; twilight-gateway's `zstd` feature makes zstd the only one
    #[arg(long, env = "COMPAT_COMPRESS", value_parser = ["zstd"])]
    compress: String,
    /// default, no-content (default without MESSAGE_CONTENT) or presence (default plus
    /// GUILD_PRESENCES)
    #[arg(long, env = "COMPAT_INTENTS", default_value = "default",
          value_parser = ["default", "no-content", "presence"])]
    intents: String,
    /// Number of shards, all run in this process
    #[arg(long, env = "COMPAT_SHARDS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    shards: u32,
    /// Seconds to wait for READY
    #[arg(long, env = "COMPAT_TIMEOUT", default_value_t = 60.0)]
    timeout: f64,
}

/// Prints one protocol line on stdout.
pub fn out(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Prints an `EVENT` line.
pub fn event(t: &str, shard: u32, fields: Value) {
    out(&format!("EVENT {}", events::line(t, shard, fields)));
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
            out(&format!(
                "ERROR {}",
                e.to_string().trim().replace('\n', " ")
            ));
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out(&format!("ERROR {}", e.replace('\n', " ")));
            ExitCode::FAILURE
        }
    }
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

fn intents(choice: &str) -> Intents {
    let privileged = Intents::GUILD_MEMBERS | Intents::GUILD_PRESENCES | Intents::MESSAGE_CONTENT;
    let default = (Intents::all() - privileged) | Intents::GUILD_MEMBERS | Intents::MESSAGE_CONTENT;
    match choice {
        "no-content" => default - Intents::MESSAGE_CONTENT,
        "presence" => default | Intents::GUILD_PRESENCES,
        _ => default,
    }
}

/// What the READY line waits for and reports.
#[derive(Default)]
struct Gathering {
    shards: u32,
    user: Option<Id<UserMarker>>,
    /// Shards that have had READY.
    ready: HashSet<u32>,
    /// Guilds listed in some shard's READY.
    listed: HashSet<Id<GuildMarker>>,
    /// Guilds whose GUILD_CREATE arrived, with their READY-line entry.
    arrived: HashMap<Id<GuildMarker>, Value>,
    printed: bool,
}

impl Gathering {
    /// Prints READY if everything has arrived and it was not printed yet.
    fn maybe_print(&mut self, stats: &relay::Stats) {
        let complete = self.ready.len() == self.shards as usize
            && self.listed.iter().all(|g| self.arrived.contains_key(g));
        if self.printed || !complete {
            return;
        }
        self.printed = true;
        let compress = stats.urls.lock().unwrap().first().and_then(|url| {
            let query = url.split_once('?')?.1;
            query
                .split('&')
                .find_map(|p| p.strip_prefix("compress="))
                .map(str::to_owned)
        });
        let (binary, text) = stats.frames();
        let guilds: BTreeMap<String, &Value> = self
            .arrived
            .iter()
            .map(|(id, g)| (id.to_string(), g))
            .collect();
        let line = json!({
            "user": self.user.map(|u| u.to_string()), "shards": self.shards,
            "compress": compress.unwrap_or_else(|| "json".into()),
            "frames_binary": binary, "frames_text": text, "guilds": guilds,
        });
        out(&format!("READY {line}"));
    }

    fn describe(&self) -> String {
        let missing: Vec<String> = self
            .listed
            .iter()
            .filter(|g| !self.arrived.contains_key(g))
            .map(ToString::to_string)
            .collect();
        format!(
            "{} of {} shard(s) had READY; guilds without GUILD_CREATE: {missing:?}",
            self.ready.len(),
            self.shards
        )
    }
}

/// The READY-line entry of one guild.
fn guild_entry(guild: &twilight_model::guild::Guild, me: Option<Id<UserMarker>>) -> Value {
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    let channels = sorted(guild.channels.iter().map(|c| c.id.to_string()).collect());
    let roles = sorted(guild.roles.iter().map(|r| r.id.to_string()).collect());
    let known = guild.members.iter().any(|m| Some(m.user.id) == me);
    json!({"channels": channels, "roles": roles, "me": known})
}

/// What every shard task shares.
struct Shared {
    gathering: Mutex<Gathering>,
    stats: Arc<relay::Stats>,
    fatal: mpsc::UnboundedSender<String>,
    debug: bool,
}

async fn run(args: &Args) -> Result<(), String> {
    let (api_host, api_path) = split_url(&args.api, "http")?;
    if api_path != "/api/v10" {
        return Err(format!(
            "--api {}: twilight-http 0.18 always requests /api/v10 on its proxy host",
            args.api
        ));
    }
    let http = Arc::new(
        twilight_http::Client::builder()
            .proxy(api_host.to_owned(), true)
            .token(args.token.clone())
            .build(),
    );

    let (fatal_tx, mut fatal_rx) = mpsc::unbounded_channel();
    let stats = Arc::new(relay::Stats::default());
    let (gateway_host, gateway_path) = split_url(&args.gateway, "ws")?;
    let mut proxies = Vec::new();
    for shard in 0..args.shards {
        let report = relay::Report {
            shard,
            stats: stats.clone(),
            fatal: fatal_tx.clone(),
        };
        let relay = relay::start(gateway_host.to_owned(), report)
            .await
            .map_err(|e| format!("starting the frame-counting relay: {e}"))?;
        proxies.push(format!("ws://{relay}{gateway_path}"));
    }
    let debug = std::env::var_os("COMPAT_DEBUG").is_some_and(|v| !v.is_empty() && v != "0");
    let gateway = args.gateway.trim_end_matches('/').to_owned();
    trace::init(
        proxies
            .iter()
            .map(|p| (p.clone(), gateway.clone()))
            .collect(),
        debug,
    )?;

    let config = ConfigBuilder::new(args.token.clone(), intents(&args.intents)).build();
    // One bucket of consecutive shard ids; clones of one config share its identify queue.
    let shards = twilight_gateway::bucket(0, 1, args.shards).map(|id| {
        let proxy = proxies[id.number() as usize].clone();
        Shard::with_config(
            id,
            ConfigBuilder::from(config.clone()).proxy_url(proxy).build(),
        )
    });
    let shared = Arc::new(Shared {
        gathering: Mutex::new(Gathering {
            shards: args.shards,
            ..Gathering::default()
        }),
        stats,
        fatal: fatal_tx,
        debug,
    });
    let (close_tx, close_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for shard in shards {
        let number = shard.id().number();
        let task = poll_shard(shard, shared.clone(), close_rx.clone());
        tasks.push(tokio::spawn(trace::SHARD.scope(number, task)));
    }

    let mut lines = stdin_lines();
    let ready_by = tokio::time::Instant::now() + Duration::from_secs_f64(args.timeout);
    let mut waiting_for_ready = true;
    loop {
        tokio::select! {
            Some(e) = fatal_rx.recv() => return Err(e),
            () = tokio::time::sleep_until(ready_by), if waiting_for_ready => {
                let g = shared.gathering.lock().unwrap();
                if !g.printed {
                    let (binary, text) = shared.stats.frames();
                    return Err(format!(
                        "timed out after {}s before READY: {} (frames_binary={binary}, frames_text={text})",
                        args.timeout, g.describe()
                    ));
                }
                waiting_for_ready = false;
            }
            line = lines.recv() => {
                let Some(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                match commands::parse(&line) {
                    Ok((id, commands::Command::Quit)) => {
                        out(&format!("DONE {}", json!({"id": id})));
                        break;
                    }
                    Ok((id, command)) => {
                        let http = http.clone();
                        tokio::spawn(async move {
                            match commands::run(&http, command).await {
                                Ok(result) => {
                                    // The result's own `id` (a message's, a webhook's) wins.
                                    let mut done = json!({"id": id});
                                    if let (Some(d), Value::Object(r)) = (done.as_object_mut(), result) {
                                        d.extend(r);
                                    }
                                    out(&format!("DONE {done}"));
                                }
                                Err(error) => out(&format!("FAILED {}", json!({"id": id, "error": error}))),
                            }
                        });
                    }
                    Err((Some(id), error)) => out(&format!("FAILED {}", json!({"id": id, "error": error}))),
                    Err((None, error)) => return Err(error),
                }
            }
        }
    }
    // `quit` or the end of stdin: close every shard normally.
    let _ = close_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    Ok(())
}

/// Reads stdin lines on a thread; the channel closes at the end of input.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Polls one shard until the close signal: decodes every payload strictly, prints the README's
/// events and gathers READY; anything fatal goes to `shared.fatal`.
async fn poll_shard(mut shard: Shard, shared: Arc<Shared>, mut close: watch::Receiver<bool>) {
    let number = shard.id().number();
    let fail = |e: String| {
        let _ = shared.fatal.send(e);
    };
    let mut last_close = None;
    loop {
        let item = tokio::select! {
            _ = close.changed() => {
                shard.close(CloseFrame::NORMAL);
                let drain = async {
                    while let Some(item) = shard.next().await {
                        if matches!(item, Ok(WsMessage::Close(_))) {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
                return;
            }
            item = shard.next() => item,
        };
        let json = match item {
            None => {
                return fail(format!(
                    "shard {number}: twilight-gateway stopped the shard (last close frame: \
                     {last_close:?})"
                ));
            }
            Some(Err(e)) if matches!(e.kind(), ReceiveMessageErrorType::Reconnect) => {
                eprintln!(
                    "[shard {number}] {}; twilight reconnects",
                    strict::describe_receive_error(&e)
                );
                continue;
            }
            Some(Err(e)) => {
                return fail(format!(
                    "shard {number}: {}",
                    strict::describe_receive_error(&e)
                ));
            }
            Some(Ok(WsMessage::Close(frame))) => {
                eprintln!("[shard {number}] connection closed: {frame:?}");
                last_close = frame;
                continue;
            }
            Some(Ok(WsMessage::Text(json))) => json,
        };
        if shared.debug {
            eprintln!("[shard {number}] {json}");
        }
        let decoded = match strict::decode(json) {
            Ok(decoded) => decoded,
            Err(e) => return fail(format!("shard {number}: {e}")),
        };
        if let Some((t, fields)) = events::fields(&decoded) {
            event(t, number, fields);
        }
        let mut g = shared.gathering.lock().unwrap();
        match decoded {
            Event::Ready(ready) => {
                if g.user.is_some_and(|u| u != ready.user.id) {
                    return fail(format!(
                        "shard {number}: READY for user {}, another shard had {:?}",
                        ready.user.id, g.user
                    ));
                }
                g.user = Some(ready.user.id);
                g.ready.insert(number);
                g.listed.extend(ready.guilds.iter().map(|guild| guild.id));
            }
            Event::GuildCreate(created) => match *created {
                GuildCreate::Available(guild) => {
                    let entry = guild_entry(&guild, g.user);
                    g.arrived.insert(guild.id, entry);
                }
                GuildCreate::Unavailable(guild) => {
                    eprintln!("[shard {number}] guild {} unavailable", guild.id);
                }
            },
            Event::GatewayInvalidateSession(resumable) => {
                eprintln!("[shard {number}] session invalidated (resumable={resumable})");
            }
            _ => {}
        }
        g.maybe_print(&shared.stats);
    }
}
