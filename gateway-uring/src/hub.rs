//! The process's sessions, indexed by id, by user and by guild (and guild and intent), with the
//! bus channels they need; [`Hub::deliver`] (`hub/deliver.rs`) routes every dispatch from the
//! bus to the sessions of its audience that may see it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use accord_api::AppState;
use accord_bus::{Audience, LogId};
use accord_model::{GuildId, Intents, UserId};
use dashmap::DashMap;
use serde_json::Value;

use crate::core::SessionCore;
use crate::route;

mod deliver;

/// A shared session.
pub type Session = Arc<Mutex<SessionCore>>;

/// Locks a session (a poisoned lock still holds consistent data: every update is one push).
pub fn lock(s: &Session) -> MutexGuard<'_, SessionCore> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Intents that few sessions hold (two are privileged) and whose events are many — every
/// member coming online, typing or joining: the hub also indexes each guild's sessions by them.
const SELECTIVE: [Intents; 3] = [
    Intents::GUILD_PRESENCES,
    Intents::GUILD_MESSAGE_TYPING,
    Intents::GUILD_MEMBERS,
];

/// The registry of sessions and their indexes.
#[derive(Debug)]
pub struct Hub {
    /// The API state (store, caches, config).
    pub state: AppState,
    sessions: DashMap<Arc<str>, Session>,
    by_user: DashMap<UserId, HashSet<Arc<str>>>,
    /// The sessions of each guild, by id. They hold the sessions themselves (not only ids), so
    /// a fan-out to a guild's 10,000 sessions costs no lookup in `sessions` per recipient.
    by_guild: DashMap<GuildId, HashMap<Arc<str>, Session>>,
    /// The sessions of a guild that hold one of the [`SELECTIVE`] intents (by its bits).
    by_guild_intent: DashMap<(GuildId, u64), HashMap<Arc<str>, Session>>,
    /// The tokio runtime and a handle on this hub, for work started from sync code.
    tokio: std::sync::OnceLock<(tokio::runtime::Handle, std::sync::Weak<Hub>)>,
    /// Voice states by (guild, user).
    pub voice: DashMap<(GuildId, UserId), crate::voice::VoiceState>,
    /// Users whose presence may have changed (see `presence::spawn_publisher`).
    presence_changes: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<UserId>>,
    /// The event-log position of the last event delivered (Redis bus only).
    pub(crate) position: Mutex<LogId>,
    /// Work for the bus task, between events (see `relay`).
    pub(crate) commands:
        std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<crate::relay::Command>>,
}

impl Hub {
    /// An empty hub.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            sessions: DashMap::new(),
            by_user: DashMap::new(),
            by_guild: DashMap::new(),
            by_guild_intent: DashMap::new(),
            presence_changes: std::sync::OnceLock::new(),
            voice: DashMap::new(),
            tokio: std::sync::OnceLock::new(),
            position: Mutex::new(LogId::ZERO),
            commands: std::sync::OnceLock::new(),
        }
    }

    /// Asks the bus task to checkpoint session `id` (its client acknowledged everything up
    /// to `ack`); nothing happens without a Redis bus.
    pub fn checkpoint(&self, id: &Arc<str>) {
        if self.state.bus.redis_bus().is_some()
            && let Some(tx) = self.commands.get()
        {
            let _ = tx.send(crate::relay::Command::Checkpoint(id.clone()));
        }
    }

    /// Starts publishing presence changes (needs the tokio runtime).
    pub fn start_presences(self: &Arc<Self>) {
        let tx = crate::presence::spawn_publisher(self.clone());
        let _ = self.presence_changes.set(tx);
        let _ = self
            .tokio
            .set((tokio::runtime::Handle::current(), Arc::downgrade(self)));
    }

    /// Notes that `user`'s presence may have changed.
    pub fn presence_changed(&self, user: UserId) {
        if let Some(tx) = self.presence_changes.get() {
            let _ = tx.send(user);
        }
    }

    /// Sends a dispatch to one session. It goes through the bus like every other dispatch, so
    /// that the event log holds everything a session received (see `handoff`).
    pub async fn send_to(&self, session: &Arc<str>, name: &str, payload: &Value) {
        self.state
            .dispatch(name, Audience::Session(session.clone()), payload)
            .await;
    }

    /// The bus channels a session needs (Redis bus): its user's, its own, its guilds'.
    pub(crate) fn channels_of(
        &self,
        user: UserId,
        session: &str,
        guilds: impl IntoIterator<Item = GuildId>,
    ) -> Vec<String> {
        let Some(bus) = self.state.bus.redis_bus() else {
            return Vec::new();
        };
        let mut channels = vec![bus.user_channel(user), bus.session_channel(session)];
        channels.extend(guilds.into_iter().map(|g| bus.guild_channel(g)));
        channels
    }

    /// Subscribes to `channels` (a Redis bus that receives only chosen channels); returns
    /// whether any was new — events published on it before now were not received.
    pub(crate) async fn want(&self, channels: &[String]) -> bool {
        let Some(bus) = self.state.bus.redis_bus() else {
            return false;
        };
        match bus.want(channels).await {
            Ok(fresh) => fresh,
            Err(e) => {
                // The subscriber reconnects, subscribes again and reports a gap.
                tracing::error!(error = %e, "cannot subscribe on the bus");
                false
            }
        }
    }

    /// Lets go of `channels` (in the background).
    fn unwant(&self, channels: Vec<String>) {
        if channels.is_empty() {
            return;
        }
        if let (Some(bus), Some((rt, _))) = (self.state.bus.redis_bus(), self.tokio.get()) {
            let bus = bus.clone();
            rt.spawn(async move {
                if let Err(e) = bus.unwant(&channels).await {
                    tracing::warn!(error = %e, "cannot unsubscribe on the bus");
                }
            });
        }
    }

    /// Forgets what is cached about `guild` once no session here is in it: without sessions
    /// there, this process may stop receiving its events (which invalidate the cache).
    fn left_guild(&self, guild: GuildId) {
        if !self.by_guild.contains_key(&guild) {
            self.state.permissions.invalidate_guild(guild);
        }
    }

    /// The sessions of `user`.
    pub fn sessions_of(&self, user: UserId) -> Vec<Session> {
        self.of_users(&[user])
    }

    /// Number of sessions (attached or waiting for a resume).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// A session by id.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.sessions.get(id).map(|s| s.clone())
    }

    /// Registers a session (it receives events from now on; they queue until it starts).
    pub fn insert(&self, session: Session, guilds: &[GuildId]) {
        let (id, user, intents) = {
            let mut core = lock(&session);
            core.guilds.extend(guilds.iter().copied());
            (core.id.clone(), core.user, core.intents)
        };
        self.by_user.entry(user).or_default().insert(id.clone());
        for g in guilds {
            self.index(&id, &session, intents, *g);
        }
        self.sessions.insert(id, session);
    }

    /// Adds `session` (id `id`) to the indexes of `guild`.
    fn index(&self, id: &Arc<str>, session: &Session, intents: Intents, guild: GuildId) {
        self.by_guild
            .entry(guild)
            .or_default()
            .insert(id.clone(), session.clone());
        for intent in SELECTIVE {
            if intents.contains(intent) {
                self.by_guild_intent
                    .entry((guild, intent.bits()))
                    .or_default()
                    .insert(id.clone(), session.clone());
            }
        }
    }

    /// Takes session `id` out of the indexes of `guild`.
    fn unindex(&self, id: &str, intents: Intents, guild: GuildId) {
        if let Some(mut set) = self.by_guild.get_mut(&guild) {
            set.remove(id);
        }
        self.by_guild.remove_if(&guild, |_, s| s.is_empty());
        for intent in SELECTIVE {
            if intents.contains(intent) {
                let key = (guild, intent.bits());
                if let Some(mut set) = self.by_guild_intent.get_mut(&key) {
                    set.remove(id);
                }
                self.by_guild_intent.remove_if(&key, |_, s| s.is_empty());
            }
        }
    }

    /// Ends a session for good.
    pub fn remove(&self, id: &str) {
        if self.forget(id, true)
            && let Some(bus) = self.state.bus.redis_bus()
            && let Some((rt, _)) = self.tokio.get()
        {
            let (bus, id) = (bus.clone(), id.to_owned());
            rt.spawn(async move {
                if let Err(e) = bus.delete_session(&id).await {
                    tracing::warn!(error = %e, "cannot delete an ended session's record");
                }
            });
        }
    }

    /// Drops a session from this process; `ended` says whether it ended (then its presence
    /// and voice state go with it) or lives on elsewhere. Returns whether it was here.
    pub(crate) fn forget(&self, id: &str, ended: bool) -> bool {
        let Some((id, session)) = self.sessions.remove(id) else {
            return false;
        };
        let core = lock(&session);
        if let Some(mut set) = self.by_user.get_mut(&core.user) {
            set.remove(&id);
        }
        self.by_user.remove_if(&core.user, |_, s| s.is_empty());
        for g in &core.guilds {
            self.unindex(&id, core.intents, *g);
            self.left_guild(*g);
        }
        let user = core.user;
        let channels = self.channels_of(user, &id, core.guilds.iter().copied());
        drop(core);
        self.unwant(channels);
        if !ended {
            return true;
        }
        self.presence_changed(user);
        if self
            .voice
            .iter()
            .any(|e| e.key().1 == user && e.value().session == id)
            && let Some((rt, hub)) = self.tokio.get()
            && let Some(hub) = hub.upgrade()
        {
            rt.spawn(crate::voice::session_ended(hub, user, id));
        }
        true
    }

    /// All sessions.
    pub(crate) fn all(&self) -> Vec<Session> {
        self.sessions.iter().map(|e| e.value().clone()).collect()
    }

    /// Adds `guild` to a session (if on its shard); returns whether it was new.
    fn add_guild(&self, session: &Session, guild: GuildId) -> bool {
        let mut core = lock(session);
        if route::shard_of(Some(guild), core.shard[1]) == core.shard[0] && core.guilds.insert(guild)
        {
            self.index(&core.id, session, core.intents, guild);
            return true;
        }
        false
    }

    fn drop_guild(&self, session: &Session, guild: GuildId) {
        let mut core = lock(session);
        core.visible.remove_guild(guild);
        if core.guilds.remove(&guild) {
            self.unindex(&core.id, core.intents, guild);
            drop(core);
            self.left_guild(guild);
            if let Some(bus) = self.state.bus.redis_bus() {
                self.unwant(vec![bus.guild_channel(guild)]);
            }
        }
    }

    fn of_users(&self, users: &[UserId]) -> Vec<Session> {
        users
            .iter()
            .filter_map(|u| self.by_user.get(u).map(|s| s.clone()))
            .flatten()
            .filter_map(|id| self.get(&id))
            .collect()
    }

    /// Ends the sessions of `user` whose identifying token matches `revoked`: their
    /// connections close with 4004 and they cannot be resumed.
    pub fn end_sessions(&self, user: UserId, revoked: impl Fn(&(u64, String)) -> bool) {
        for s in self.of_users(&[user]) {
            let id = {
                let mut core = lock(&s);
                if !revoked(&core.token) {
                    continue;
                }
                core.close(accord_model::CloseCode::AuthenticationFailed.code());
                core.id.clone()
            };
            self.remove(&id);
        }
    }

    /// Removes sessions detached for longer than `timeout`.
    pub fn reap(&self, timeout: Duration) {
        let expired: Vec<Arc<str>> = self
            .sessions
            .iter()
            .filter(|e| {
                lock(e.value())
                    .detached_at
                    .is_some_and(|t| t.elapsed() > timeout)
            })
            .map(|e| e.key().clone())
            .collect();
        for id in expired {
            self.remove(&id);
        }
    }
}
