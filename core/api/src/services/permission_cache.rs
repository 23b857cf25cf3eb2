//! Computed channel permissions cached per (guild, channel, member), invalidated per guild by a
//! generation counter: any change that can alter permissions in a guild (roles, overwrites,
//! member roles, timeouts, ownership, channels) bumps the guild's generation, which makes every
//! cached entry of that guild stale at once, in O(1).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use accord_model::{ChannelId, GuildId, Permissions, UserId};
use accord_store::ChannelRecord;
use dashmap::DashMap;

use super::access::GuildAccess;

/// Most entries kept before the cache starts over (a bound on memory, not a tuning knob).
const MAX_ENTRIES: usize = 1_000_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    permissions: Permissions,
    generation: u64,
    /// Unix ms after which the entry is stale (a timeout that ends), if any.
    valid_until_ms: Option<i64>,
}

/// A member's whole standing in a guild (guild row, member row, roles), cached under the same
/// generation rule as the computed permissions.
#[derive(Debug, Clone)]
struct Standing {
    access: Arc<GuildAccess>,
    generation: u64,
    valid_until_ms: Option<i64>,
}

/// A guild channel's row, cached under its guild's generation.
#[derive(Debug, Clone)]
struct CachedChannel {
    record: Arc<ChannelRecord>,
    guild: GuildId,
    generation: u64,
}

/// The cache.
#[derive(Debug, Default)]
pub struct PermissionCache {
    entries: DashMap<(GuildId, ChannelId, UserId), Entry>,
    standings: DashMap<(GuildId, UserId), Standing>,
    channels: DashMap<ChannelId, CachedChannel>,
    generations: DashMap<GuildId, u64>,
    /// Bumped by every invalidation of any guild.
    epoch: AtomicU64,
}

impl PermissionCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The guild's current generation. Read it *before* loading the rows permissions are computed
    /// from, and pass it to [`PermissionCache::put`]: a change committed in between then makes
    /// the new entry stale at once instead of caching an outdated result.
    pub fn generation(&self, guild: GuildId) -> u64 {
        self.generations.get(&guild).map_or(0, |g| *g)
    }

    /// The cached permissions, if still valid at `now_ms`.
    pub fn get(
        &self,
        guild: GuildId,
        channel: ChannelId,
        user: UserId,
        now_ms: i64,
    ) -> Option<Permissions> {
        let entry = *self.entries.get(&(guild, channel, user))?;
        let fresh = entry.generation == self.generation(guild)
            && entry.valid_until_ms.is_none_or(|until| now_ms < until);
        fresh.then_some(entry.permissions)
    }

    /// Stores permissions computed from rows read at `generation`; `valid_until_ms` bounds
    /// entries that depend on time.
    #[allow(clippy::too_many_arguments)]
    pub fn put(
        &self,
        guild: GuildId,
        channel: ChannelId,
        user: UserId,
        permissions: Permissions,
        generation: u64,
        valid_until_ms: Option<i64>,
    ) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(
            (guild, channel, user),
            Entry {
                permissions,
                generation,
                valid_until_ms,
            },
        );
    }

    /// The cached standing of `user` in `guild`, if still valid at `now_ms`.
    pub fn standing(&self, guild: GuildId, user: UserId, now_ms: i64) -> Option<Arc<GuildAccess>> {
        let entry = self.standings.get(&(guild, user))?.clone();
        let fresh = entry.generation == self.generation(guild)
            && entry.valid_until_ms.is_none_or(|until| now_ms < until);
        fresh.then_some(entry.access)
    }

    /// Stores a standing loaded at `generation` (see [`PermissionCache::generation`]).
    pub fn put_standing(
        &self,
        access: Arc<GuildAccess>,
        generation: u64,
        valid_until_ms: Option<i64>,
    ) {
        if self.standings.len() >= MAX_ENTRIES {
            self.standings.clear();
        }
        let key = (access.guild_id(), access.user_id);
        self.standings.insert(
            key,
            Standing {
                access,
                generation,
                valid_until_ms,
            },
        );
    }

    /// The count of invalidations so far. Read it before loading a channel row (whose guild is
    /// not known yet) and pass it to [`PermissionCache::put_channel`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The cached row of a guild channel, if its guild has not changed since it was read.
    pub fn channel(&self, channel: ChannelId) -> Option<Arc<ChannelRecord>> {
        let entry = self.channels.get(&channel)?.clone();
        (entry.generation == self.generation(entry.guild)).then_some(entry.record)
    }

    /// Caches a guild channel's row read after `epoch` was taken; nothing is cached if any guild
    /// was invalidated meanwhile (the row may predate a change whose invalidation came before
    /// the guild's generation could be read). Rows of private channels are not cached.
    pub fn put_channel(&self, record: Arc<ChannelRecord>, epoch: u64) {
        let Some(guild) = record.guild_id.map(GuildId::from_i64) else {
            return;
        };
        let generation = self.generation(guild);
        if self.epoch() != epoch {
            return;
        }
        if self.channels.len() >= MAX_ENTRIES {
            self.channels.clear();
        }
        let id = ChannelId::from_i64(record.id);
        self.channels.insert(
            id,
            CachedChannel {
                record,
                guild,
                generation,
            },
        );
    }

    /// Makes every cached entry of `guild` stale.
    pub fn invalidate_guild(&self, guild: GuildId) {
        // The epoch first: a channel row loaded before this change and cached after the
        // generation below moved must see the epoch moved too (see `put_channel`).
        self.epoch.fetch_add(1, Ordering::AcqRel);
        *self.generations.entry(guild).or_insert(0) += 1;
    }

    /// Makes every cached entry stale (after missed events).
    pub fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
        self.standings.clear();
        self.channels.clear();
        for mut g in self.generations.iter_mut() {
            *g += 1;
        }
    }

    /// The guild whose cached entries dispatch `d` makes stale: events that move permissions
    /// guild-wide, and changes to threads (a thread's row is cached under its guild's
    /// generation, and a private thread's members decide who sees it).
    pub fn invalidated_guild(d: &accord_bus::Dispatch) -> Option<GuildId> {
        match &d.audience {
            accord_bus::Audience::Guild(g) if Self::invalidated_by(&d.name) => Some(*g),
            _ if matches!(
                d.name.as_str(),
                "THREAD_UPDATE" | "THREAD_DELETE" | "THREAD_MEMBERS_UPDATE"
            ) =>
            {
                #[derive(serde::Deserialize)]
                struct Of {
                    guild_id: GuildId,
                }
                serde_json::from_str::<Of>(&d.data).ok().map(|o| o.guild_id)
            }
            _ => None,
        }
    }

    /// Whether a dispatch of this name can change permissions in its guild.
    pub fn invalidated_by(event: &str) -> bool {
        matches!(
            event,
            "GUILD_UPDATE"
                | "GUILD_DELETE"
                | "GUILD_ROLE_CREATE"
                | "GUILD_ROLE_UPDATE"
                | "GUILD_ROLE_DELETE"
                | "CHANNEL_CREATE"
                | "CHANNEL_UPDATE"
                | "CHANNEL_DELETE"
                | "GUILD_MEMBER_ADD"
                | "GUILD_MEMBER_UPDATE"
                | "GUILD_MEMBER_REMOVE"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_go_stale_by_guild_and_by_time() {
        let cache = PermissionCache::new();
        let (g1, g2) = (GuildId::new(1), GuildId::new(2));
        let (c, u) = (ChannelId::new(3), UserId::new(4));
        cache.put(
            g1,
            c,
            u,
            Permissions::VIEW_CHANNEL,
            cache.generation(g1),
            None,
        );
        cache.put(
            g2,
            c,
            u,
            Permissions::SEND_MESSAGES,
            cache.generation(g2),
            Some(1_000),
        );
        assert_eq!(cache.get(g1, c, u, 0), Some(Permissions::VIEW_CHANNEL));
        assert_eq!(cache.get(g2, c, u, 999), Some(Permissions::SEND_MESSAGES));
        assert_eq!(cache.get(g2, c, u, 1_000), None, "expired with the timeout");
        cache.invalidate_guild(g1);
        assert_eq!(cache.get(g1, c, u, 0), None);
        // Computed from rows read before an invalidation: stale as soon as it is stored.
        let before = cache.generation(g1);
        cache.invalidate_guild(g1);
        cache.put(g1, c, u, Permissions::ADMINISTRATOR, before, None);
        assert_eq!(cache.get(g1, c, u, 0), None);
        cache.put(
            g1,
            c,
            u,
            Permissions::ADMINISTRATOR,
            cache.generation(g1),
            None,
        );
        assert_eq!(cache.get(g1, c, u, 0), Some(Permissions::ADMINISTRATOR));
        assert!(PermissionCache::invalidated_by("GUILD_ROLE_UPDATE"));
        assert!(!PermissionCache::invalidated_by("TYPING_START"));
    }
}
