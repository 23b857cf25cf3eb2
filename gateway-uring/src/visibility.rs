//! Channel visibility per session: which channels of each guild a session can VIEW, kept from
//! its GUILD_CREATE on, and re-evaluated after every change that can move permissions (roles,
//! overwrites, member roles, ownership, channels). A channel that becomes visible arrives as
//! CHANNEL_CREATE, one that becomes hidden leaves as CHANNEL_DELETE — as Discord does.

use std::collections::{HashMap, HashSet};

use accord_api::services::access::GuildAccess;
use accord_api::views_guild::channel;
use accord_model::{ChannelId, GuildId, Permissions, UserId};

use crate::hub::{Hub, Session, lock};
use crate::route;

/// Whether event `name` can change who sees which channel of its guild.
pub fn may_change(name: &str) -> bool {
    matches!(
        name,
        "GUILD_UPDATE"
            | "GUILD_ROLE_UPDATE"
            | "GUILD_ROLE_DELETE"
            | "CHANNEL_CREATE"
            | "CHANNEL_UPDATE"
            | "GUILD_MEMBER_UPDATE"
    )
}

/// Channel ids in a GUILD_CREATE payload.
pub fn channels_of(guild_create: &serde_json::Value) -> HashSet<ChannelId> {
    guild_create
        .get("channels")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("id").and_then(route::snowflake))
                .map(ChannelId::new)
                .collect()
        })
        .unwrap_or_default()
}

/// The channels a session can view, per guild: sorted ids, one small allocation per guild (a
/// map of hash sets cost every session about 300 bytes for a single guild).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Visible(Vec<(GuildId, Box<[ChannelId]>)>);

impl Visible {
    /// The channels of `guild` it can view, if the guild is known.
    pub fn get(&self, guild: GuildId) -> Option<&[ChannelId]> {
        self.0.iter().find(|(g, _)| *g == guild).map(|(_, c)| &**c)
    }

    /// Sets the channels of `guild`; returns the ones it replaced (empty for a new guild).
    pub fn insert(
        &mut self,
        guild: GuildId,
        channels: impl IntoIterator<Item = ChannelId>,
    ) -> Box<[ChannelId]> {
        let mut ids: Vec<ChannelId> = channels.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let ids = ids.into_boxed_slice();
        match self.0.iter_mut().find(|(g, _)| *g == guild) {
            Some((_, c)) => std::mem::replace(c, ids),
            None => {
                self.0.push((guild, ids));
                Box::default()
            }
        }
    }

    /// Forgets `guild`.
    pub fn remove_guild(&mut self, guild: GuildId) {
        self.0.retain(|(g, _)| *g != guild);
    }

    /// Forgets one channel of `guild` (it was deleted).
    pub fn remove_channel(&mut self, guild: GuildId, channel: ChannelId) {
        if let Some((_, c)) = self.0.iter_mut().find(|(g, _)| *g == guild)
            && c.binary_search(&channel).is_ok()
        {
            *c = c.iter().copied().filter(|id| *id != channel).collect();
        }
    }

    /// Every guild with its channels.
    pub fn iter(&self) -> impl Iterator<Item = (GuildId, &[ChannelId])> {
        self.0.iter().map(|(g, c)| (*g, &**c))
    }
}

/// What changed for one session.
#[derive(Debug, Default)]
pub struct Change {
    /// Channels it can now see.
    pub gained: HashSet<ChannelId>,
    /// Channels it can no longer see.
    pub lost: HashSet<ChannelId>,
    /// THREAD_LIST_SYNC for the active threads of the gained channels, when the guild has any.
    pub thread_sync: Option<String>,
}

/// Recomputes visibility in `guild` for `sessions`, records it, and returns the changes along
/// with the channel objects to send (by id).
pub async fn recompute(
    hub: &Hub,
    guild: GuildId,
    sessions: &[Session],
) -> (HashMap<usize, Change>, HashMap<ChannelId, String>) {
    let store = &hub.state.store;
    let (channels, overwrites) = match (
        store.guild_channels(guild).await,
        store.guild_overwrites(guild).await,
    ) {
        (Ok(c), Ok(o)) => (c, o),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot reload channels for visibility");
            return (HashMap::new(), HashMap::new());
        }
    };
    let any_threads = match store.active_threads(guild).await {
        Ok(t) => !t.is_empty(),
        Err(e) => {
            tracing::error!(error = %e, "cannot load active threads for visibility");
            false
        }
    };
    let mut changes = HashMap::new();
    let mut objects = HashMap::new();
    for (i, s) in sessions.iter().enumerate() {
        let user: UserId = lock(s).user;
        let Ok(standing) = GuildAccess::load(&hub.state, guild, user).await else {
            // No longer a member: GUILD_DELETE/MEMBER_REMOVE handle it.
            continue;
        };
        let visible: HashSet<ChannelId> = channels
            .iter()
            .filter(|c| {
                standing
                    .channel_permissions(c, &overwrites)
                    .contains(Permissions::VIEW_CHANNEL)
            })
            .map(|c| c.channel_id())
            .collect();
        let before: HashSet<ChannelId> = lock(s)
            .visible
            .insert(guild, visible.iter().copied())
            .iter()
            .copied()
            .collect();
        let mut change = Change {
            gained: visible.difference(&before).copied().collect(),
            lost: before.difference(&visible).copied().collect(),
            thread_sync: None,
        };
        if any_threads && !change.gained.is_empty() {
            change.thread_sync =
                thread_list_sync(hub, &standing, &overwrites, &change.gained).await;
        }
        for id in change.gained.iter().chain(change.lost.iter()) {
            if let Some(c) = channels.iter().find(|c| c.channel_id() == *id) {
                objects.entry(*id).or_insert_with(|| {
                    serde_json::to_string(&channel(c, &overwrites)).unwrap_or_default()
                });
            }
        }
        if !change.gained.is_empty() || !change.lost.is_empty() {
            changes.insert(i, change);
        }
    }
    (changes, objects)
}

/// THREAD_LIST_SYNC for the active threads of `parents` that `standing`'s member can view
/// (threads.mdx: sent when a session gains access to channels).
async fn thread_list_sync(
    hub: &Hub,
    standing: &GuildAccess,
    overwrites: &[accord_store::OverwriteRecord],
    parents: &HashSet<ChannelId>,
) -> Option<String> {
    let mut ids: Vec<ChannelId> = parents.iter().copied().collect();
    ids.sort_unstable();
    let threads = match accord_api::services::guild_payload::visible_active_threads(
        &hub.state,
        standing,
        overwrites,
        Some(&ids),
    )
    .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = ?e, "cannot load threads for THREAD_LIST_SYNC");
            return None;
        }
    };
    let mut threads = threads;
    let members: Vec<_> = threads.iter_mut().filter_map(|t| t.member.take()).collect();
    let payload = serde_json::json!({
        "guild_id": standing.guild_id(),
        "channel_ids": ids,
        "threads": threads,
        "members": members,
    });
    Some(payload.to_string())
}

/// Sends CHANNEL_CREATE for gained and CHANNEL_DELETE for lost channels to one session
/// (GUILDS intent and shard permitting).
pub fn announce(
    session: &Session,
    guild: GuildId,
    change: &Change,
    objects: &HashMap<ChannelId, String>,
    skip_create_of: Option<ChannelId>,
) {
    let mut core = lock(session);
    if route::shard_of(Some(guild), core.shard[1]) != core.shard[0]
        || route::required_intent("CHANNEL_CREATE", true).is_some_and(|i| !core.intents.contains(i))
    {
        return;
    }
    for id in &change.gained {
        if Some(*id) == skip_create_of {
            continue;
        }
        if let Some(o) = objects.get(id) {
            core.push("CHANNEL_CREATE", o);
        }
    }
    for id in &change.lost {
        if let Some(o) = objects.get(id) {
            core.push("CHANNEL_DELETE", o);
        }
    }
    if let Some(sync) = &change.thread_sync {
        core.push("THREAD_LIST_SYNC", sync);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_channels_per_guild() {
        let (g1, g2) = (GuildId::new(1), GuildId::new(2));
        let c = ChannelId::new;
        let mut v = Visible::default();
        assert!(v.insert(g1, [c(9), c(3), c(9)]).is_empty());
        assert_eq!(v.get(g1), Some(&[c(3), c(9)][..]));
        assert_eq!(&*v.insert(g1, [c(4)]), &[c(3), c(9)]);
        v.insert(g2, [c(7), c(8)]);
        v.remove_channel(g2, c(7));
        v.remove_channel(g2, c(100));
        assert_eq!(v.get(g2), Some(&[c(8)][..]));
        v.remove_guild(g1);
        assert_eq!(v.get(g1), None);
        assert_eq!(v.iter().count(), 1);
    }
}
