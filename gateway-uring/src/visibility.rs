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

/// What changed for one session.
#[derive(Debug, Default)]
pub struct Change {
    /// Channels it can now see.
    pub gained: HashSet<ChannelId>,
    /// Channels it can no longer see.
    pub lost: HashSet<ChannelId>,
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
    let mut changes = HashMap::new();
    let mut objects = HashMap::new();
    for (i, s) in sessions.iter().enumerate() {
        let user: UserId = lock(s).user;
        let visible: HashSet<ChannelId> = match GuildAccess::load(&hub.state, guild, user).await {
            Ok(standing) => channels
                .iter()
                .filter(|c| {
                    standing
                        .channel_permissions(c, &overwrites)
                        .contains(Permissions::VIEW_CHANNEL)
                })
                .map(|c| c.channel_id())
                .collect(),
            // No longer a member: GUILD_DELETE/MEMBER_REMOVE handle it.
            Err(_) => continue,
        };
        let mut core = lock(s);
        let before = core
            .visible
            .insert(guild, visible.clone())
            .unwrap_or_default();
        let change = Change {
            gained: visible.difference(&before).copied().collect(),
            lost: before.difference(&visible).copied().collect(),
        };
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
}
