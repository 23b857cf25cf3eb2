//! The process's sessions and the fan-out: every dispatch from the bus goes to the sessions of
//! its audience that may see it — guild membership on the right shard, VIEW_CHANNEL for channel
//! events, the intent the event needs — with MESSAGE_CONTENT masking for bots without it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use accord_api::AppState;
use accord_api::services::viewers::can_view;
use accord_bus::{Audience, Dispatch, LogId};
use accord_model::{ChannelId, GuildId, Intents, UserId};
use dashmap::DashMap;
use serde_json::Value;

use crate::core::{SessionCore, SharedEvent};
use crate::{route, visibility};

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

    /// The sessions of `guild`, cloned out of its index entry while it is read.
    fn of_guild(&self, guild: GuildId) -> Vec<Session> {
        self.by_guild
            .get(&guild)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The sessions of `guild` that may receive dispatch `name`: for an event gated by one of
    /// the [`SELECTIVE`] intents only those holding it (a presence update in a guild of many
    /// sessions costs nothing when none asked for presences), otherwise all of them.
    fn of_guild_for(&self, guild: GuildId, name: &str) -> Vec<Session> {
        match route::required_intent(name, true) {
            Some(intent) if SELECTIVE.contains(&intent) => self
                .by_guild_intent
                .get(&(guild, intent.bits()))
                .map(|s| s.values().cloned().collect())
                .unwrap_or_default(),
            _ => self.of_guild(guild),
        }
    }

    /// Keeps only sessions whose user can view `channel` of `guild` (one batched check for
    /// all of them; members whose permissions are cached cost no read).
    async fn viewers(
        &self,
        sessions: Vec<Session>,
        guild: GuildId,
        channel: ChannelId,
    ) -> Vec<Session> {
        let mut users: Vec<UserId> = sessions.iter().map(|s| lock(s).user).collect();
        users.sort_unstable();
        users.dedup();
        match can_view(&self.state, guild, channel, &users).await {
            Ok(visible) => sessions
                .into_iter()
                .filter(|s| visible.get(&lock(s).user).copied().unwrap_or(false))
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, %channel, "channel not viewable (gone?)");
                Vec::new()
            }
        }
    }

    /// Keeps only sessions that can view `channel` of `guild`, read from each session's own
    /// list of the guild's channels it can view (`visibility.rs` keeps those current with
    /// every change that can move permissions, in bus order), so a message costs no
    /// permission computation and no database read per recipient, even when the permission
    /// cache is cold. Sessions without a list for the guild go through [`Hub::viewers`], and so
    /// does everyone when no list holds the channel: threads are never in those lists (their
    /// access also depends on the parent and, for private ones, on membership).
    async fn channel_viewers(
        &self,
        sessions: Vec<Session>,
        guild: GuildId,
        channel: ChannelId,
    ) -> Vec<Session> {
        let mut seeing = Vec::with_capacity(sessions.len());
        let mut hidden = Vec::new();
        let mut unlisted = Vec::new();
        for s in sessions {
            let listed = lock(&s)
                .visible
                .get(guild)
                .map(|ids| ids.binary_search(&channel).is_ok());
            match listed {
                Some(true) => seeing.push(s),
                Some(false) => hidden.push(s),
                None => unlisted.push(s),
            }
        }
        if seeing.is_empty() {
            hidden.append(&mut unlisted);
            return self.viewers(hidden, guild, channel).await;
        }
        if !unlisted.is_empty() {
            seeing.extend(self.viewers(unlisted, guild, channel).await);
        }
        seeing
    }

    /// Delivers one dispatch, at log position `log` when it came from the Redis log; with
    /// `only`, to that session alone (a session being rebuilt from the log). Returns the
    /// sessions that joined a guild whose bus channel this process had to subscribe to just
    /// now: they must be brought up to date from the log (see `relay`).
    pub async fn deliver(
        &self,
        d: &Dispatch,
        log: Option<LogId>,
        only: Option<&Session>,
    ) -> Vec<Session> {
        let scope = |found: Vec<Session>| -> Vec<Session> {
            match only {
                Some(one) => found.into_iter().filter(|s| Arc::ptr_eq(s, one)).collect(),
                None => found,
            }
        };
        let Ok(data) = serde_json::from_str::<Value>(&d.data) else {
            tracing::error!(event = %d.name, "dispatch payload is not JSON");
            return Vec::new();
        };
        let name = d.name.as_str();
        let guild = route::guild_of(name, &data);
        // Visibility moves first (the database already holds the change): who gains or
        // loses which channel.
        let mut moved = None;
        if let Audience::Guild(g) = &d.audience
            && visibility::may_change(name)
        {
            let all = scope(self.of_guild(*g));
            let (changes, objects) = visibility::recompute(self, *g, &all).await;
            moved = Some((*g, all, changes, objects));
        }
        let recipients = match &d.audience {
            Audience::Guild(g) => {
                let all = scope(self.of_guild_for(*g, name));
                match (name, channel_id(&data, "id")) {
                    ("CHANNEL_CREATE", Some(c)) => self.viewers(all, *g, c).await,
                    ("CHANNEL_UPDATE", Some(c)) => {
                        // Sessions that just gained the channel get CHANNEL_CREATE instead.
                        let gained: HashSet<Arc<str>> = moved
                            .as_ref()
                            .map(|(_, sessions, changes, _)| {
                                changes
                                    .iter()
                                    .filter(|(_, ch)| ch.gained.contains(&c))
                                    .map(|(i, _)| lock(&sessions[*i]).id.clone())
                                    .collect()
                            })
                            .unwrap_or_default();
                        self.viewers(all, *g, c)
                            .await
                            .into_iter()
                            .filter(|s| !gained.contains(&lock(s).id))
                            .collect()
                    }
                    _ => all,
                }
            }
            Audience::Channel(c) => match guild {
                Some(g) => {
                    self.channel_viewers(scope(self.of_guild_for(g, name)), g, *c)
                        .await
                }
                None => match self.state.store.recipients(*c).await {
                    Ok(users) => scope(self.of_users(&users)),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot load DM recipients");
                        Vec::new()
                    }
                },
            },
            Audience::Users(users) => scope(self.of_users(users)),
            Audience::Session(id) => scope(self.get(id).into_iter().collect()),
        };
        // THREAD_MEMBERS_UPDATE also reaches the users added or removed, whatever their
        // intents and whether or not they can still see the thread.
        let affected = if name == "THREAD_MEMBERS_UPDATE" {
            route::thread_members_affected(&data)
        } else {
            Vec::new()
        };
        let mut recipients = recipients;
        if !affected.is_empty() {
            for s in scope(self.of_users(&affected)) {
                if !recipients.iter().any(|r| Arc::ptr_eq(r, &s)) {
                    recipients.push(s);
                }
            }
        }
        // With nobody to receive the event itself, visibility changes still go out (a
        // channel hidden from its only viewer still leaves as CHANNEL_DELETE).
        if recipients.is_empty() && moved.as_ref().is_none_or(|(_, _, c, _)| c.is_empty()) {
            return Vec::new();
        }
        // The event as every recipient shares it (see `Kept`).
        let shared = SharedEvent::new(name, d.data.clone());
        let masked: std::sync::OnceLock<Arc<SharedEvent>> = std::sync::OnceLock::new();
        // A user's own presence is not sent back to them.
        let presence_of = (name == "PRESENCE_UPDATE")
            .then(|| data.get("user").and_then(|u| u.get("id")))
            .flatten()
            .and_then(route::snowflake)
            .map(UserId::new);
        let needed = route::required_intent(name, guild.is_some());
        for s in &recipients {
            let mut core = lock(s);
            if presence_of == Some(core.user) || log.is_some_and(|l| l <= core.log_floor) {
                continue;
            }
            if route::shard_of(guild, core.shard[1]) != core.shard[0] {
                continue;
            }
            if let Some(needed) = needed
                && !core.intents.contains(needed)
                && !affected.contains(&core.user)
            {
                continue;
            }
            if core.bot
                && !core.intents.contains(Intents::MESSAGE_CONTENT)
                && route::must_mask(name, &data, core.user)
            {
                let text =
                    masked.get_or_init(|| SharedEvent::new(name, route::masked(&data).to_string()));
                core.push_shared(text.clone());
            } else {
                core.push_shared(shared.clone());
            }
        }
        if let Some((g, sessions, changes, objects)) = &moved {
            let created = (name == "CHANNEL_CREATE")
                .then(|| channel_id(&data, "id"))
                .flatten();
            for (i, change) in changes {
                visibility::announce(&sessions[*i], *g, change, objects, created);
            }
        }
        // Membership changes move sessions in and out of the guild's index.
        match (name, guild, &d.audience) {
            ("GUILD_CREATE", Some(g), Audience::Users(_)) => {
                let visible = visibility::channels_of(&data);
                let mut added = Vec::new();
                for s in &recipients {
                    if self.add_guild(s, g) {
                        added.push(s.clone());
                    }
                    lock(s).visible.insert(g, visible.iter().copied());
                }
                // One subscription per session that gained the guild (they are counted), in
                // one round trip.
                if let Some(bus) = self.state.bus.redis_bus()
                    && !added.is_empty()
                    && self.want(&vec![bus.guild_channel(g); added.len()]).await
                {
                    return added;
                }
            }
            ("CHANNEL_DELETE", Some(g), _) => {
                if let Some(c) = channel_id(&data, "id") {
                    for s in scope(self.of_guild(g)) {
                        lock(&s).visible.remove_channel(g, c);
                    }
                }
            }
            ("GUILD_DELETE", Some(g), _) => {
                for s in &recipients {
                    self.drop_guild(s, g);
                }
            }
            ("GUILD_MEMBER_REMOVE", Some(g), _) => {
                if let Some(user) = data
                    .get("user")
                    .and_then(|u| u.get("id"))
                    .and_then(route::snowflake)
                {
                    for s in scope(self.of_users(&[UserId::new(user)])) {
                        self.drop_guild(&s, g);
                    }
                }
            }
            _ => {}
        }
        Vec::new()
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

fn channel_id(d: &Value, key: &str) -> Option<ChannelId> {
    d.get(key).and_then(route::snowflake).map(ChannelId::new)
}
