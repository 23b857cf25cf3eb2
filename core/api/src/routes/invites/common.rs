//! What the invite routes share: finding a usable invite by code, rendering invites with the
//! guild, channel and inviter they name, and Discord's boolean query strings.

use std::collections::HashMap;

use accord_model::invite::Invite;
use accord_model::{ChannelId, GuildId, UserId};
use accord_store::{ChannelRecord, GuildRecord, InviteRecord, UserRecord};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::state::AppState;
use crate::views_invite::{invite, usable};

/// The invite with `code` if it exists and can still be used (not expired, uses left); 10006
/// otherwise.
pub async fn usable_invite(state: &AppState, code: &str) -> ApiResult<InviteRecord> {
    state
        .store
        .invite(code)
        .await?
        .filter(|i| usable(i, chrono::Utc::now()))
        .ok_or(ApiError::Unknown(Unknown::Invite))
}

/// Keeps the invites that can still be used.
pub fn only_usable(invites: Vec<InviteRecord>) -> Vec<InviteRecord> {
    let now = chrono::Utc::now();
    invites.into_iter().filter(|i| usable(i, now)).collect()
}

/// Renders invites (with or without metadata), loading each guild, channel and inviter once.
pub async fn render(
    state: &AppState,
    records: &[InviteRecord],
    metadata: bool,
) -> ApiResult<Vec<Invite>> {
    let store = &state.store;
    let mut guilds: HashMap<i64, GuildRecord> = HashMap::new();
    let mut channels: HashMap<i64, ChannelRecord> = HashMap::new();
    for r in records {
        if let Some(g) = r.guild_id
            && !guilds.contains_key(&g)
            && let Some(found) = store.guild(GuildId::from_i64(g)).await?
        {
            guilds.insert(g, found);
        }
        if !channels.contains_key(&r.channel_id)
            && let Some(found) = store.channel(ChannelId::from_i64(r.channel_id)).await?
        {
            channels.insert(r.channel_id, found);
        }
    }
    let mut inviter_ids: Vec<UserId> = records
        .iter()
        .filter_map(|r| r.inviter_id.map(UserId::from_i64))
        .collect();
    inviter_ids.sort_unstable();
    inviter_ids.dedup();
    let inviters: HashMap<i64, UserRecord> = store
        .users(&inviter_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(records
        .iter()
        .map(|r| {
            invite(
                r,
                r.guild_id.and_then(|g| guilds.get(&g)),
                channels.get(&r.channel_id),
                r.inviter_id.and_then(|u| inviters.get(&u)),
                metadata,
            )
        })
        .collect())
}

/// Renders one invite.
pub async fn render_one(
    state: &AppState,
    record: &InviteRecord,
    metadata: bool,
) -> ApiResult<Invite> {
    render(state, std::slice::from_ref(record), metadata)
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("rendering an invite gave nothing".to_owned()))
}

/// A boolean query string as Discord reads it (`true`/`True`/`1` are true); 50035 on `field`
/// for anything else but `false`/`False`/`0`.
pub fn query_bool(field: &str, raw: Option<&str>) -> ApiResult<bool> {
    match raw {
        None => Ok(false),
        Some("true" | "True" | "1") => Ok(true),
        Some("false" | "False" | "0") => Ok(false),
        Some(_) => Err(ApiError::field(
            &[field],
            "BASE_TYPE_BOOLEAN",
            "Must be either true or false.",
        )),
    }
}
