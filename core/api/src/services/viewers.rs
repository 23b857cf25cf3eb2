//! Who of many members can see a guild channel, for the gateway's fan-out: cached permissions
//! where present, and for the rest one read each of the guild, its roles, the channel's
//! overwrites and the members' rows — not three reads per member.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use accord_auth::now_ms;
use accord_model::{ChannelId, GuildId, Permissions, UserId};
use accord_store::MemberRecord;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::access::GuildAccess;
use crate::state::AppState;

/// Which of `users` hold VIEW_CHANNEL in the guild channel `channel` (members not in the guild
/// cannot). Results are cached like the single-member checks.
pub async fn can_view(
    state: &AppState,
    guild: GuildId,
    channel: ChannelId,
    users: &[UserId],
) -> ApiResult<HashMap<UserId, bool>> {
    view_map(state, guild, channel, users, HashMap::new()).await
}

/// [`can_view`] with the member rows the caller has read already (`known`): a user whose
/// standing the permission cache does not hold gets it from there rather than from a read.
async fn view_map(
    state: &AppState,
    guild: GuildId,
    channel: ChannelId,
    users: &[UserId],
    mut known: HashMap<UserId, MemberRecord>,
) -> ApiResult<HashMap<UserId, bool>> {
    let now = now_ms() as i64;
    let cache = &state.permissions;
    let generation = cache.generation(guild);
    let mut out = HashMap::with_capacity(users.len());
    let mut need_standing = Vec::new();
    let mut rows = Vec::new();
    let mut standings: Vec<Arc<GuildAccess>> = Vec::new();
    for &user in users {
        if let Some(p) = cache.get(guild, channel, user, now) {
            out.insert(user, p.contains(Permissions::VIEW_CHANNEL));
        } else if let Some(s) = cache.standing(guild, user, now) {
            standings.push(s);
        } else if let Some(row) = known.remove(&user) {
            rows.push(row);
        } else {
            need_standing.push(user);
        }
    }
    if need_standing.is_empty() && rows.is_empty() && standings.is_empty() {
        return Ok(out);
    }
    let record = match cache.channel(channel) {
        Some(c) => c,
        None => {
            let epoch = cache.epoch();
            let c = Arc::new(
                state
                    .store
                    .channel(channel)
                    .await?
                    .ok_or(ApiError::Unknown(Unknown::Channel))?,
            );
            cache.put_channel(c.clone(), epoch);
            c
        }
    };
    if !need_standing.is_empty() || !rows.is_empty() {
        let g = state
            .store
            .guild(guild)
            .await?
            .ok_or(ApiError::Unknown(Unknown::Guild))?;
        let roles = state.store.guild_roles(guild).await?;
        if !need_standing.is_empty() {
            rows.extend(state.store.members_by_ids(guild, &need_standing).await?);
        }
        for m in rows {
            let user = UserId::from_i64(m.user_id);
            let access = Arc::new(GuildAccess::from_parts(user, g.clone(), m, roles.clone()));
            cache.put_standing(access.clone(), generation, access.valid_until_ms(now));
            standings.push(access);
        }
    }
    let source = if record.is_thread() {
        ChannelId::from_i64(record.parent_id.unwrap_or_default())
    } else {
        channel
    };
    let overwrites = state.store.channel_overwrites(source).await?;
    // A private thread is seen by its members (and MANAGE_THREADS holders).
    let members: HashSet<UserId> = if record.kind == 12 {
        state
            .store
            .thread_members(channel, None, u32::MAX)
            .await?
            .iter()
            .map(|m| UserId::from_i64(m.user_id))
            .collect()
    } else {
        HashSet::new()
    };
    for standing in standings {
        let is_member = members.contains(&standing.user_id);
        let p = standing.thread_aware_permissions(&record, &overwrites, is_member);
        let until = standing.valid_until_ms(now);
        cache.put(guild, channel, standing.user_id, p, generation, until);
        out.insert(standing.user_id, p.contains(Permissions::VIEW_CHANNEL));
    }
    for &user in users {
        out.entry(user).or_insert(false);
    }
    Ok(out)
}

/// Every member of `guild` who can see the private thread `thread` now: its members and those
/// who may manage threads in its parent. Read before the thread is deleted, when who saw it
/// can no longer be worked out; one pass over the guild's members, a page at a time, whose
/// rows also give the permission standings the cache does not hold.
pub async fn of_private_thread(
    state: &AppState,
    guild: GuildId,
    thread: ChannelId,
) -> ApiResult<Vec<UserId>> {
    const PAGE: u32 = 1000;
    let mut seeing = Vec::new();
    let mut after = None;
    loop {
        let page = state.store.members(guild, after, PAGE).await?;
        let full = page.len() == PAGE as usize;
        let Some(last) = page.last().map(|m| UserId::from_i64(m.user_id)) else {
            break;
        };
        let users: Vec<UserId> = page.iter().map(|m| UserId::from_i64(m.user_id)).collect();
        let rows = page
            .into_iter()
            .map(|m| (UserId::from_i64(m.user_id), m))
            .collect();
        let visible = view_map(state, guild, thread, &users, rows).await?;
        seeing.extend(users.into_iter().filter(|u| visible.get(u) == Some(&true)));
        if !full {
            break;
        }
        after = Some(last);
    }
    Ok(seeing)
}
