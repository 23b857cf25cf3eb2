//! Identify and Resume, run on the tokio side (they read the database): token and intent
//! checks with Discord's close codes, the identify budget and concurrency, READY and one
//! GUILD_CREATE per guild on the session's shard.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accord_api::routes::users::channels::private_channels;
use accord_api::services::guild_payload::guild_create_with;
use accord_api::views::private_user;
use accord_model::{ApplicationFlags, CloseCode, GuildId, Intents, UserId};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::core::{ResumeRefusal, SessionCore};
use crate::frames::Framer;
use crate::hub::{Hub, lock};
use crate::outbox::{OutboxReceiver, outbox};
use crate::route;

/// Most guilds one session may hold before sharding is required (4011).
pub const MAX_GUILDS_PER_SESSION: usize = 2500;
/// The identify concurrency window.
const CONCURRENCY_WINDOW: Duration = Duration::from_secs(5);

/// Identify's data, read leniently: unknown fields are ignored and `intents` may be missing
/// for user accounts.
#[derive(Debug, Deserialize)]
pub struct IdentifyData {
    token: String,
    #[serde(default)]
    shard: Option<[u32; 2]>,
    #[serde(default)]
    intents: Option<u64>,
    #[serde(default)]
    presence: Option<Value>,
    #[serde(default)]
    large_threshold: Option<u32>,
}

/// Resume's data.
#[derive(Debug, Deserialize)]
pub struct ResumeData {
    token: String,
    session_id: String,
    seq: u64,
}

/// How an identify or resume ended, when not with a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Close with this code.
    Close(CloseCode),
    /// Send Invalid Session (op 9) with this `d`.
    InvalidSession(bool),
}

/// Settings that identify needs.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Replay buffer per session.
    pub replay_buffer: usize,
    /// Queue per connection.
    pub send_queue: usize,
    /// Identifies per 5 s per bot and bucket.
    pub max_concurrency: u32,
}

/// Recent identifies per (bot, concurrency bucket).
#[derive(Debug, Default)]
pub struct ConcurrencyGate {
    last: Mutex<std::collections::HashMap<(UserId, u32), Instant>>,
}

impl ConcurrencyGate {
    fn admit(&self, user: UserId, bucket: u32) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        last.retain(|_, t| now.duration_since(*t) < CONCURRENCY_WINDOW);
        if last.contains_key(&(user, bucket)) {
            return false;
        }
        last.insert((user, bucket), now);
        true
    }
}

/// Checks a token as the REST API does (a `Bot ` prefix is accepted and ignored).
fn authenticate(hub: &Hub, token: &str) -> Result<accord_auth::Claims, Refusal> {
    let token = token.strip_prefix("Bot ").unwrap_or(token).trim();
    let claims = hub
        .state
        .signer
        .verify(token)
        .map_err(|_| Refusal::Close(CloseCode::AuthenticationFailed))?;
    hub.state
        .revocations
        .check(&claims)
        .map_err(|_| Refusal::Close(CloseCode::AuthenticationFailed))?;
    Ok(claims)
}

/// Runs Identify: on success the session is registered and READY with its GUILD_CREATEs is
/// already queued on the returned receiver.
pub async fn identify(
    hub: Arc<Hub>,
    gate: Arc<ConcurrencyGate>,
    settings: SessionSettings,
    framer: Framer,
    data: IdentifyData,
) -> Result<(Arc<str>, OutboxReceiver), Refusal> {
    let claims = authenticate(&hub, &data.token)?;
    let state = &hub.state;
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "identify failed");
        Refusal::Close(CloseCode::UnknownError)
    };
    let user = state
        .store
        .user(claims.user_id)
        .await
        .map_err(|e| internal(&e))?
        .filter(|u| !u.disabled && !u.deleted)
        .ok_or(Refusal::Close(CloseCode::AuthenticationFailed))?;

    // Intents: bots must send them; user accounts get everything.
    let intents = match (data.intents, user.bot) {
        (Some(raw), _) if Intents::has_undefined_bits(raw) => {
            return Err(Refusal::Close(CloseCode::InvalidIntents));
        }
        (Some(raw), _) => Intents::from_bits_truncate(raw),
        (None, true) => return Err(Refusal::Close(CloseCode::InvalidIntents)),
        (None, false) => Intents::all(),
    };
    let mut application = None;
    if user.bot {
        let app = state
            .store
            .application_of_bot(claims.user_id)
            .await
            .map_err(|e| internal(&e))?
            .ok_or(Refusal::Close(CloseCode::AuthenticationFailed))?;
        let flags = ApplicationFlags::from_bits_truncate(app.flags as u64);
        let allowed =
            |full: ApplicationFlags, limited: ApplicationFlags| flags.intersects(full | limited);
        let needs = [
            (
                Intents::GUILD_PRESENCES,
                ApplicationFlags::GATEWAY_PRESENCE,
                ApplicationFlags::GATEWAY_PRESENCE_LIMITED,
            ),
            (
                Intents::GUILD_MEMBERS,
                ApplicationFlags::GATEWAY_GUILD_MEMBERS,
                ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED,
            ),
            (
                Intents::MESSAGE_CONTENT,
                ApplicationFlags::GATEWAY_MESSAGE_CONTENT,
                ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED,
            ),
        ];
        if needs
            .iter()
            .any(|(intent, full, limited)| intents.contains(*intent) && !allowed(*full, *limited))
        {
            return Err(Refusal::Close(CloseCode::DisallowedIntents));
        }
        application = Some(json!({"id": app.id.to_string(), "flags": flags.bits()}));
    }

    // Shards.
    let shard = data.shard.unwrap_or([0, 1]);
    if shard[1] == 0 || shard[0] >= shard[1] {
        return Err(Refusal::Close(CloseCode::InvalidShard));
    }
    let all_guilds = state
        .store
        .guild_ids_of_user(claims.user_id)
        .await
        .map_err(|e| internal(&e))?;
    let guilds: Vec<GuildId> = all_guilds
        .into_iter()
        .filter(|g| route::shard_of(Some(*g), shard[1]) == shard[0])
        .collect();
    if guilds.len() > MAX_GUILDS_PER_SESSION {
        return Err(Refusal::Close(CloseCode::ShardingRequired));
    }

    // Budget and concurrency (bots only, as Discord).
    if user.bot {
        let bucket = shard[0] % settings.max_concurrency.max(1);
        if !gate.admit(claims.user_id, bucket) {
            return Err(Refusal::InvalidSession(false));
        }
        if !state.identifies.take(claims.user_id) {
            tracing::warn!(user = %claims.user_id, "daily identify budget exhausted");
            return Err(Refusal::Close(CloseCode::RateLimited));
        }
    }

    // Register first so nothing published from now on is missed; it queues until READY.
    let id: Arc<str> = new_session_id().into();
    let (tx, rx) = outbox(settings.send_queue);
    let mut core = SessionCore::new(
        id.clone(),
        claims.user_id,
        user.bot,
        intents,
        shard,
        framer,
        settings.replay_buffer,
        tx,
    );
    core.token = (claims.issued_ms, claims.token_id.clone());
    if let Some(p) = data
        .presence
        .as_ref()
        .and_then(crate::presence::Presence::parse)
    {
        core.presence = p;
    }
    let sees_presences = intents.contains(Intents::GUILD_PRESENCES);
    // Discord's range and default.
    let large_threshold = data.large_threshold.unwrap_or(50).clamp(50, 250);
    let session = Arc::new(Mutex::new(core));
    // Subscribed before registering and before reading what READY shows: every event
    // published from here on reaches the session, and anything earlier is in the state read.
    hub.want(&hub.channels_of(claims.user_id, &id, guilds.iter().copied()))
        .await;
    hub.insert(session.clone(), &guilds);

    let built = async {
        let mut initial: Vec<(String, Arc<str>)> = Vec::with_capacity(guilds.len() + 1);
        let mut visible = crate::visibility::Visible::default();
        let mut ready = json!({
            "v": framer_version(),
            "user": private_user(&user),
            "guilds": guilds.iter().map(|g| json!({"id": g.to_string(), "unavailable": true})).collect::<Vec<_>>(),
            "session_id": &*id,
            "session_type": "normal",
            "resume_gateway_url": state.config.gateway_public_url(),
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "guild_join_requests": [],
        });
        if data.shard.is_some() {
            ready["shard"] = json!(shard);
        }
        if let Some(app) = application {
            ready["application"] = app;
        }
        if !user.bot {
            let dms = private_channels(state, claims.user_id).await?;
            ready["private_channels"] = serde_json::to_value(dms).unwrap_or(Value::Null);
            // What the user has read, per channel (user clients badge unread channels from it).
            let entries: Vec<Value> = state
                .store
                .read_states(claims.user_id)
                .await?
                .iter()
                .map(|r| {
                    json!({
                        "id": r.channel_id.to_string(),
                        "last_message_id": r.last_message_id.map(|m| m.to_string()),
                        "mention_count": r.mention_count,
                        "last_pin_timestamp": r.last_pin_timestamp.map(accord_api::views_guild::timestamp),
                    })
                })
                .collect();
            ready["read_state"] = json!({"version": 1, "partial": false, "entries": entries});
        }
        initial.push(("READY".into(), ready.to_string().into()));
        for g in &guilds {
            let mut payload =
                guild_create_with(state, *g, claims.user_id, large_threshold).await?;
            if sees_presences {
                let gid = g.to_string();
                let users: Vec<_> = payload
                    .members
                    .iter()
                    .filter_map(|m| Some(m.user.as_ref()?.id))
                    .collect();
                let seen = crate::presence::seen_many(&hub, &users).await;
                payload.presences = users
                    .iter()
                    .zip(seen)
                    .filter(|(_, (status, _))| status != "offline")
                    .map(|(user, (status, activities))| {
                        crate::presence::object(*user, Some(&gid), &status, &activities)
                    })
                    .collect();
            }
            payload.voice_states = crate::voice::of_guild(&hub, *g).await;
            visible.insert(*g, payload.channels.iter().map(|c| c.id));
            let text = serde_json::to_string(&payload)
                .map_err(|e| accord_api::ApiError::Internal(e.to_string()))?;
            initial.push(("GUILD_CREATE".into(), text.into()));
        }
        Ok::<_, accord_api::ApiError>((initial, visible))
    }
    .await;
    match built {
        Ok((initial, visible)) => {
            let mut core = lock(&session);
            core.visible = visible;
            core.start(initial);
            drop(core);
            hub.presence_changed(claims.user_id);
            Ok((id, rx))
        }
        Err(e) => {
            hub.remove(&id);
            Err(internal(&e))
        }
    }
}

/// The API version READY reports.
fn framer_version() -> u8 {
    10
}

/// A resumed session.
#[derive(Debug)]
pub struct Resumed {
    /// The session's id.
    pub id: Arc<str>,
    /// The attachment's number.
    pub generation: u64,
    /// Its dispatches from now on.
    pub events: OutboxReceiver,
    /// What it missed, then RESUMED.
    pub missed: Vec<Bytes>,
}

/// Runs Resume: the missed dispatches and RESUMED come back to be written before anything on
/// the new receiver. A session this process does not hold is taken over from the process that
/// checkpointed it last (Redis bus only).
pub async fn resume(
    hub: Arc<Hub>,
    settings: SessionSettings,
    framer: Framer,
    data: ResumeData,
) -> Result<Resumed, Refusal> {
    let claims = authenticate(&hub, &data.token)?;
    let session = match hub.get(&data.session_id) {
        Some(s) => s,
        None => {
            let here = crate::relay::request_take_over(
                &hub,
                &data.session_id,
                claims.user_id,
                framer.encoding,
            )
            .await;
            match hub.get(&data.session_id) {
                Some(s) if here => s,
                _ => return Err(Refusal::InvalidSession(false)),
            }
        }
    };
    let mut core = lock(&session);
    if core.user != claims.user_id || core.framer.encoding != framer.encoding {
        return Err(Refusal::InvalidSession(false));
    }
    let (tx, rx) = outbox(settings.send_queue);
    match core.resume(data.seq, tx) {
        Ok(missed) => Ok(Resumed {
            id: core.id.clone(),
            generation: core.generation(),
            events: rx,
            missed,
        }),
        Err(ResumeRefusal::InvalidSeq) => Err(Refusal::Close(CloseCode::InvalidSeq)),
        Err(ResumeRefusal::TooOld) => {
            let id = core.id.clone();
            drop(core);
            hub.remove(&id);
            Err(Refusal::InvalidSession(false))
        }
    }
}

/// A fresh random session id (32 hex digits, as Discord's).
fn new_session_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
