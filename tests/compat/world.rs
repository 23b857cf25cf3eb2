//! What the compatibility scenarios run against, set up through the public REST API only: the
//! user accounts of one server (an owner, a member who joins and is moderated, a watcher whose
//! presence and typing the bot sees), one guild with a bot per library mode, and a raw user
//! gateway session (tokio-tungstenite) for presence; and [`Env`], all of that for one scenario.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::puppet::{Mode, Options, Puppet};
use crate::server::{Rest, Server, id_of};

/// A user account: its REST client and id.
#[derive(Clone)]
pub struct User {
    pub rest: Rest,
    pub id: String,
    pub token: String,
}

/// The accounts shared by every library mode on one server (registrations are rate limited).
pub struct Users {
    pub owner: User,
    pub joiner: User,
    pub watcher: User,
}

async fn register(anon: &Rest, name: &str) -> Result<User, String> {
    let account = json!({"username": name, "password": "compat harness pw"});
    let reg = anon
        .call("POST", "/auth/register", Some(account), 201)
        .await?;
    let token = reg["token"]
        .as_str()
        .ok_or("register returned no token")?
        .to_owned();
    let rest = anon.as_user(&token);
    let me = rest.call("GET", "/users/@me", None, 200).await?;
    Ok(User {
        rest,
        id: id_of(&me),
        token,
    })
}

impl Users {
    pub async fn register(anon: &Rest, tag: &str) -> Result<Users, String> {
        Ok(Users {
            owner: register(anon, &format!("owner_{tag}")).await?,
            joiner: register(anon, &format!("joiner_{tag}")).await?,
            watcher: register(anon, &format!("watcher_{tag}")).await?,
        })
    }
}

/// Permissions the bot's role gets: enough for every command, and not ADMINISTRATOR (so a
/// channel overwrite can hide a channel from it).
pub const BOT_PERMISSIONS: u64 = (1 << 6) // ADD_REACTIONS
    | (1 << 10) // VIEW_CHANNEL
    | (1 << 11) // SEND_MESSAGES
    | (1 << 13) // MANAGE_MESSAGES
    | (1 << 14) // EMBED_LINKS
    | (1 << 15) // ATTACH_FILES
    | (1 << 16) // READ_MESSAGE_HISTORY
    | (1 << 29) // MANAGE_WEBHOOKS
    | (1 << 34) // MANAGE_THREADS
    | (1 << 51); // PIN_MESSAGES (MANAGE_MESSAGES no longer lets a bot pin)

/// The privileged intents' application flags (presence, members, message content).
const PRIVILEGED_INTENT_FLAGS: u64 = (1 << 12) | (1 << 14) | (1 << 18);

/// One library mode's guild and bot.
pub struct World {
    pub guild: String,
    pub channel: String,
    pub app: String,
    pub bot_id: String,
    pub bot_token: String,
    /// REST as the bot (`Bot <token>`), for checks of what the bot may see.
    pub bot: Rest,
    pub invite: String,
}

/// Creates a guild owned by `owner` and returns its id and its first text channel.
pub async fn create_guild(owner: &Rest, name: &str) -> Result<(String, String), String> {
    let guild = id_of(
        &owner
            .call("POST", "/guilds", Some(json!({"name": name})), 201)
            .await?,
    );
    let channels = owner
        .call("GET", &format!("/guilds/{guild}/channels"), None, 200)
        .await?;
    let channel = channels
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == 0))
        .map(id_of)
        .ok_or_else(|| format!("the new guild has no text channel: {channels}"))?;
    Ok((guild, channel))
}

/// Adds the bot of `app` to `guild` (the owner authorizes it).
pub async fn add_bot(owner: &Rest, app: &str, guild: &str) -> Result<(), String> {
    let add =
        json!({"guild_id": guild, "permissions": BOT_PERMISSIONS.to_string(), "authorize": true});
    let path = format!("/oauth2/authorize?client_id={app}&scope=bot");
    owner.call("POST", &path, Some(add), 200).await.map(drop)
}

impl World {
    pub async fn set_up(users: &Users, tag: &str) -> Result<World, String> {
        let owner = &users.owner.rest;
        let (guild, channel) = create_guild(owner, &format!("Compat {tag}")).await?;
        let app = id_of(
            &owner
                .call("POST", "/applications", Some(json!({"name": tag})), 201)
                .await?,
        );
        let bot = owner
            .call(
                "POST",
                &format!("/applications/{app}/bot"),
                Some(json!({})),
                201,
            )
            .await?;
        let bot_token = bot["token"]
            .as_str()
            .ok_or("bot creation returned no token")?
            .to_owned();
        let flags = json!({"flags": PRIVILEGED_INTENT_FLAGS});
        owner
            .call("PATCH", &format!("/applications/{app}"), Some(flags), 200)
            .await?;
        add_bot(owner, &app, &guild).await?;
        let invite = owner
            .call(
                "POST",
                &format!("/channels/{channel}/invites"),
                Some(json!({"max_age": 0})),
                200,
            )
            .await?;
        let invite = invite["code"]
            .as_str()
            .ok_or_else(|| format!("invite without code: {invite}"))?
            .to_owned();
        users
            .watcher
            .rest
            .call("POST", &format!("/invites/{invite}"), Some(json!({})), 200)
            .await?;
        Ok(World {
            guild,
            channel,
            app,
            bot_id: id_of(&bot),
            bot: owner.as_user(&format!("Bot {bot_token}")),
            bot_token,
            invite,
        })
    }
}

/// How long an expected event may take to arrive.
pub const EVENT: Duration = Duration::from_secs(15);
/// How long a command may take (a burst waits out 429s).
pub const COMMAND: Duration = Duration::from_secs(60);
/// How long a puppet may take to print READY.
pub const READY: Duration = Duration::from_secs(30);

/// What every scenario runs against.
pub struct Env<'a> {
    pub server: &'a Server,
    pub users: &'a Users,
    pub world: &'a World,
    pub mode: Mode,
    pub tag: String,
}

impl Env<'_> {
    /// Starts a puppet of this mode for the world's bot and waits for its READY.
    pub async fn puppet(&self, intents: &str, shards: u32) -> Result<(Puppet, Value), String> {
        let p = Puppet::spawn(
            self.mode,
            &Options {
                api: &self.server.api,
                gateway: &self.server.relay.url(),
                token: &self.world.bot_token,
                intents,
                shards,
                timeout: READY,
            },
        )?;
        match p.ready(READY + Duration::from_secs(5)).await {
            Ok(ready) => Ok((p, ready)),
            Err(e) => Err(format!("{e}\n{}", p.transcript())),
        }
    }

    /// Posts `content` in `channel` as the owner; returns the message id.
    pub async fn post(&self, channel: &str, content: &str) -> Result<String, String> {
        let path = format!("/channels/{channel}/messages");
        let m = self
            .users
            .owner
            .rest
            .call("POST", &path, Some(json!({"content": content})), 200);
        Ok(id_of(&m.await?))
    }

    /// Reads a message back as the owner.
    pub async fn read(&self, channel: &str, message: &str) -> Result<Value, String> {
        let path = format!("/channels/{channel}/messages/{message}");
        self.users.owner.rest.call("GET", &path, None, 200).await
    }
}

/// A user's own gateway session (JSON, no compression), heartbeating in the background until
/// closed: while it is open the user is online. The dispatches it receives after READY are kept
/// for [`UserSession::dispatch`].
pub struct UserSession {
    /// READY's `session_id` (what Discord's client names in `POST /interactions`).
    pub session_id: String,
    dispatches: mpsc::UnboundedReceiver<Value>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

fn text(msg: &Message) -> Option<Value> {
    match msg {
        Message::Text(t) => serde_json::from_str(t.as_str()).ok(),
        _ => None,
    }
}

impl UserSession {
    /// Connects to `gateway` (`ws://host:port`), identifies with status `online` and waits for
    /// READY.
    pub async fn open(gateway: &str, token: &str) -> Result<UserSession, String> {
        let url = format!("{gateway}/?v=10&encoding=json");
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| format!("user gateway connect {url}: {e}"))?;
        let step = Duration::from_secs(10);
        let hello = tokio::time::timeout(step, ws.next())
            .await
            .map_err(|_| "user gateway: no Hello in 10 s".to_owned())?
            .ok_or("user gateway closed before Hello")?
            .map_err(|e| format!("user gateway: {e}"))?;
        let interval = text(&hello)
            .and_then(|h| h["d"]["heartbeat_interval"].as_u64())
            .ok_or_else(|| format!("user gateway: first frame is not Hello: {hello:?}"))?;
        let identify = json!({"op": 2, "d": {
            "token": token,
            "properties": {"os": "linux", "browser": "accord-compat", "device": "accord-compat"},
            "presence": {"status": "online", "since": 0, "activities": [], "afk": false},
        }});
        ws.send(Message::text(identify.to_string()))
            .await
            .map_err(|e| format!("user gateway identify: {e}"))?;
        let ready = async {
            while let Some(m) = ws.next().await {
                let m = m.map_err(|e| format!("user gateway: {e}"))?;
                if let Message::Close(c) = &m {
                    return Err(format!("user gateway closed after Identify: {c:?}"));
                }
                if let Some(v) = text(&m).filter(|v| v["t"] == "READY") {
                    return Ok(v["d"]["session_id"].as_str().unwrap_or_default().to_owned());
                }
            }
            Err("user gateway ended before READY".to_owned())
        };
        let session_id = tokio::time::timeout(step, ready)
            .await
            .map_err(|_| "user gateway: no READY in 10 s".to_owned())??;
        let (stop, mut stopped) = oneshot::channel();
        let (seen, dispatches) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut beat = tokio::time::interval(Duration::from_millis(interval));
            beat.tick().await;
            let mut seq = Value::Null;
            loop {
                tokio::select! {
                    _ = &mut stopped => {
                        // Code 1000 ends the session (other codes leave it resumable, and online).
                        let normal = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
                        let _ = ws.close(Some(normal)).await;
                        // Read until the server's close frame (or the end) so the close is clean.
                        let _ = tokio::time::timeout(Duration::from_secs(2), async {
                            while let Some(Ok(_)) = ws.next().await {}
                        }).await;
                        return;
                    }
                    _ = beat.tick() => {
                        let hb = json!({"op": 1, "d": seq});
                        if ws.send(Message::text(hb.to_string())).await.is_err() { return; }
                    }
                    m = ws.next() => match m {
                        Some(Ok(m)) => {
                            let Some(v) = text(&m) else { continue };
                            if let Some(s) = v.get("s").cloned().filter(|s| !s.is_null()) {
                                seq = s;
                            }
                            if v["op"] == 0 {
                                let _ = seen.send(v);
                            }
                        }
                        _ => return,
                    }
                }
            }
        });
        Ok(UserSession {
            session_id,
            dispatches,
            stop: Some(stop),
            task,
        })
    }

    /// The next dispatch of type `t` (`{t, s, d}`) for which `wanted` holds, within `EVENT`;
    /// dispatches passed over are dropped.
    pub async fn dispatch(
        &mut self,
        t: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let find = async {
            while let Some(v) = self.dispatches.recv().await {
                if v["t"] == t && wanted(&v["d"]) {
                    return Ok(v);
                }
            }
            Err(format!("the user's gateway session ended before {t}"))
        };
        tokio::time::timeout(EVENT, find).await.map_err(|_| {
            format!("the user's gateway session saw no matching {t} within {EVENT:?}")
        })?
    }

    /// Closes the session (WebSocket close code 1000, which ends it) and waits for it to end.
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for UserSession {
    fn drop(&mut self) {
        self.task.abort();
    }
}
