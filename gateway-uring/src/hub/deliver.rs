//! Routing one dispatch to the sessions that may see it: the audience's sessions (a guild's on
//! the right shard, users', one session's), narrowed by the intent the event needs and, for
//! channel events, by VIEW_CHANNEL, with MESSAGE_CONTENT masking for bots without it.

use std::collections::HashSet;
use std::sync::Arc;

use accord_api::services::viewers::can_view;
use accord_bus::{Audience, Dispatch, LogId};
use accord_model::{ChannelId, GuildId, Intents, UserId};
use serde_json::Value;

use super::{Hub, SELECTIVE, Session, lock};
use crate::core::SharedEvent;
use crate::{route, visibility};

impl Hub {
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
}

fn channel_id(d: &Value, key: &str) -> Option<ChannelId> {
    d.get(key).and_then(route::snowflake).map(ChannelId::new)
}
