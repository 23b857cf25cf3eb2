//! Request Guild Members (op 8): GUILD_MEMBERS_CHUNK events of at most 1,000 members for the
//! requesting session only — all members (needs GUILD_MEMBERS for bots), a name prefix (at most
//! 100), or up to 100 user ids with `not_found`; `nonce` (up to 32 bytes) echoed.

use std::sync::Arc;

use accord_api::views::public_user;
use accord_api::views_guild::member;
use accord_model::{GuildId, Intents, UserId};
use accord_store::{MemberRecord, StoreError};
use serde_json::{Value, json};

use crate::hub::{Hub, lock};

/// Members per chunk.
const CHUNK: usize = 1000;
/// Most members a prefix query or a user-id list returns.
const QUERY_LIMIT: usize = 100;

fn ids<T>(v: &Value, make: fn(u64) -> T) -> Vec<T> {
    crate::route::snowflakes(v).into_iter().map(make).collect()
}

/// Answers one op 8 from `session`.
pub async fn request(hub: Arc<Hub>, session: Arc<str>, d: Value) {
    let Some(s) = hub.get(&session) else { return };
    let (bot, intents, guilds) = {
        let core = lock(&s);
        (core.bot, core.intents, core.guilds.clone())
    };
    let nonce = d
        .get("nonce")
        .and_then(Value::as_str)
        .filter(|n| n.len() <= 32);
    let presences = d.get("presences").and_then(Value::as_bool) == Some(true);
    let limit = d.get("limit").and_then(Value::as_u64).unwrap_or(0) as usize;
    let user_ids = d.get("user_ids").map(|v| ids(v, UserId::new));
    let query = d.get("query").and_then(Value::as_str).unwrap_or("");
    for guild in ids(d.get("guild_id").unwrap_or(&Value::Null), GuildId::new) {
        if !guilds.contains(&guild) {
            continue;
        }
        let found = match &user_ids {
            Some(wanted) => {
                let wanted: Vec<UserId> = wanted.iter().copied().take(QUERY_LIMIT).collect();
                hub.state
                    .store
                    .members_by_ids(guild, &wanted)
                    .await
                    .map(|m| (m, Some(wanted)))
            }
            None if query.is_empty() => {
                if bot && !intents.contains(Intents::GUILD_MEMBERS) {
                    tracing::debug!(%guild, "member list requested without GUILD_MEMBERS");
                    continue;
                }
                all_members(&hub, guild, limit).await.map(|m| (m, None))
            }
            None => {
                let cap = if limit == 0 {
                    QUERY_LIMIT
                } else {
                    limit.min(QUERY_LIMIT)
                };
                by_prefix(&hub, guild, query, cap).await.map(|m| (m, None))
            }
        };
        let (members, wanted) = match found {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "member request failed");
                continue;
            }
        };
        let user_ids: Vec<UserId> = members
            .iter()
            .map(|m| UserId::from_i64(m.user_id))
            .collect();
        let users = match hub.state.store.users(&user_ids).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "member request failed");
                continue;
            }
        };
        let views: Vec<Value> = members
            .iter()
            .map(|m| {
                let u = users.iter().find(|u| u.id == m.user_id).map(public_user);
                serde_json::to_value(member(m, u)).unwrap_or(Value::Null)
            })
            .collect();
        let chunk_count = views.len().div_ceil(CHUNK).max(1);
        let not_found: Option<Vec<String>> = wanted.map(|w| {
            w.iter()
                .filter(|u| !user_ids.contains(u))
                .map(|u| u.to_string())
                .collect()
        });
        let mut chunks: Vec<&[Value]> = views.chunks(CHUNK).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for (index, chunk) in chunks.into_iter().enumerate() {
            let mut payload = json!({
                "guild_id": guild.to_string(),
                "members": chunk,
                "chunk_index": index,
                "chunk_count": chunk_count,
            });
            if let Some(nf) = &not_found {
                payload["not_found"] = json!(nf);
            }
            if presences {
                payload["presences"] = json!([]);
            }
            if let Some(n) = nonce {
                payload["nonce"] = json!(n);
            }
            hub.send_to(&session, "GUILD_MEMBERS_CHUNK", &payload).await;
        }
    }
}

/// Every member (or the first `limit`, 0 = all), by user id.
async fn all_members(
    hub: &Hub,
    guild: GuildId,
    limit: usize,
) -> Result<Vec<MemberRecord>, StoreError> {
    let mut out: Vec<MemberRecord> = Vec::new();
    let mut after = None;
    loop {
        let page = hub.state.store.members(guild, after, CHUNK as u32).await?;
        let done = page.len() < CHUNK;
        after = page.last().map(|m| UserId::from_i64(m.user_id));
        out.extend(page);
        if done || (limit > 0 && out.len() >= limit) {
            break;
        }
    }
    if limit > 0 {
        out.truncate(limit);
    }
    Ok(out)
}

/// Members whose username, global name or nickname starts with `query` (case-insensitive).
async fn by_prefix(
    hub: &Hub,
    guild: GuildId,
    query: &str,
    cap: usize,
) -> Result<Vec<MemberRecord>, StoreError> {
    let q = query.to_lowercase();
    let starts = |s: &str| s.to_lowercase().starts_with(&q);
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = hub
            .state
            .store
            .member_names(guild, after, CHUNK as u32)
            .await?;
        let done = page.len() < CHUNK;
        after = page.last().map(|m| UserId::from_i64(m.user_id));
        for m in &page {
            if starts(&m.username)
                || m.global_name.as_deref().is_some_and(starts)
                || m.nick.as_deref().is_some_and(starts)
            {
                ids.push(UserId::from_i64(m.user_id));
            }
        }
        if done || ids.len() >= cap {
            break;
        }
    }
    ids.truncate(cap);
    hub.state.store.members_by_ids(guild, &ids).await
}
