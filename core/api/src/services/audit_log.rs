//! Writing the guild audit log: one entry per moderation or configuration action, with the
//! `X-Audit-Log-Reason` given, and GUILD_AUDIT_LOG_ENTRY_CREATE to the members who may read
//! it (VIEW_AUDIT_LOG, administrators and the owner).

use accord_bus::Audience;
use accord_model::audit_log::{AuditEntryInfo, AuditLogChange, AuditLogEntry, AuditLogEntryCreate};
use accord_model::{AuditLogEntryId, GuildId, Permissions, UserId};
use accord_store::AuditLogRecord;
use serde_json::Value;

use crate::error::ApiResult;
use crate::services::access::GuildAccess;
use crate::state::AppState;

/// Members read per page when every member may read the log.
const PAGE: u32 = 1000;

/// An entry about to be written.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Discord's action type (`accord_model::audit_log::action`).
    pub action: u16,
    /// The affected entity.
    pub target: Option<String>,
    /// What changed.
    pub changes: Vec<AuditLogChange>,
    /// Optional info.
    pub options: AuditEntryInfo,
}

impl Entry {
    /// An entry of `action` on `target` with no changes yet.
    pub fn new(action: u16, target: impl ToString) -> Self {
        Self {
            action,
            target: Some(target.to_string()),
            changes: Vec::new(),
            options: AuditEntryInfo::default(),
        }
    }

    /// An entry of `action` with no target (invites are named by their changes).
    pub fn untargeted(action: u16) -> Self {
        Self {
            action,
            target: None,
            changes: Vec::new(),
            options: AuditEntryInfo::default(),
        }
    }

    /// Adds a change of `key` when `old` and `new` differ (nulls left out, as Discord does).
    pub fn change(mut self, key: &str, old: impl Into<Value>, new: impl Into<Value>) -> Self {
        let (old, new) = (old.into(), new.into());
        if old != new {
            self.changes.push(AuditLogChange::new(key, old, new));
        }
        self
    }

    /// Adds a change whatever the values (creations and deletions list every field).
    pub fn field(mut self, key: &str, old: impl Into<Value>, new: impl Into<Value>) -> Self {
        self.changes
            .push(AuditLogChange::new(key, old.into(), new.into()));
        self
    }

    /// Adds a change for each of `keys` whose value differs between the objects `old` and
    /// `new` (serialised views; `Null` stands for "did not exist", so a creation lists the new
    /// values and a deletion the old ones).
    pub fn diff(mut self, keys: &[&str], old: &Value, new: &Value) -> Self {
        for key in keys {
            let (o, n) = (
                old.get(*key).cloned().unwrap_or(Value::Null),
                new.get(*key).cloned().unwrap_or(Value::Null),
            );
            if o != n {
                self.changes.push(AuditLogChange::new(key, o, n));
            }
        }
        self
    }

    /// Sets the optional info.
    pub fn options(mut self, options: AuditEntryInfo) -> Self {
        self.options = options;
        self
    }
}

/// The entry object of a stored row.
pub fn view(row: &AuditLogRecord) -> AuditLogEntry {
    AuditLogEntry {
        target_id: row.target_id.clone(),
        changes: serde_json::from_str(&row.changes).unwrap_or_default(),
        user_id: row.user_id.map(UserId::from_i64),
        id: AuditLogEntryId::from_i64(row.id),
        action_type: u16::try_from(row.action_type).unwrap_or_default(),
        options: row
            .options
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok()),
        reason: row.reason.clone(),
    }
}

/// Writes `entry` as done by `actor` in `guild` with `reason`, and announces it. The action
/// itself has already happened: a failure to write is logged, not returned.
pub async fn record(
    state: &AppState,
    guild: GuildId,
    actor: UserId,
    reason: Option<&str>,
    entry: Entry,
) {
    if let Err(e) = write(state, guild, actor, reason, entry).await {
        tracing::error!("audit log of guild {guild}: entry not written: {e:?}");
    }
}

/// [`record`] for an action taken with `access`.
pub async fn by(state: &AppState, access: &GuildAccess, reason: Option<&str>, entry: Entry) {
    record(state, access.guild_id(), access.user_id, reason, entry).await;
}

async fn write(
    state: &AppState,
    guild: GuildId,
    actor: UserId,
    reason: Option<&str>,
    entry: Entry,
) -> ApiResult<()> {
    let options = (!entry.options.is_empty())
        .then(|| serde_json::to_string(&entry.options))
        .transpose()
        .map_err(|e| crate::error::ApiError::Internal(e.to_string()))?;
    let row = AuditLogRecord {
        id: state
            .ids
            .next::<accord_model::id::AuditLogEntryMarker>()
            .as_i64(),
        guild_id: guild.as_i64(),
        user_id: Some(actor.as_i64()),
        target_id: entry.target,
        action_type: i32::from(entry.action),
        changes: serde_json::to_string(&entry.changes)
            .map_err(|e| crate::error::ApiError::Internal(e.to_string()))?,
        options,
        reason: reason.map(str::to_owned),
    };
    state.store.add_audit_log_entry(&row).await?;
    let keep_ms = u64::from(state.config.limits.audit_log_retention_days) * 86_400_000;
    let oldest_kept_ms = accord_auth::now_ms().saturating_sub(keep_ms);
    let cutoff = oldest_kept_ms.saturating_sub(accord_model::DISCORD_EPOCH_MS) << 22;
    state
        .store
        .purge_audit_log(guild, i64::try_from(cutoff).unwrap_or(i64::MAX))
        .await?;
    let readers = readers(state, guild).await?;
    if !readers.is_empty() {
        state
            .dispatch(
                "GUILD_AUDIT_LOG_ENTRY_CREATE",
                Audience::Users(readers),
                &AuditLogEntryCreate {
                    entry: view(&row),
                    guild_id: guild,
                },
            )
            .await;
    }
    Ok(())
}

/// The members of `guild` who may read its audit log.
pub async fn readers(state: &AppState, guild: GuildId) -> ApiResult<Vec<UserId>> {
    let Some(record) = state.store.guild(guild).await? else {
        return Ok(Vec::new());
    };
    let may = |p: i64| {
        let p = Permissions::from_bits_truncate(p as u64);
        p.contains(Permissions::VIEW_AUDIT_LOG) || p.contains(Permissions::ADMINISTRATOR)
    };
    let roles = state.store.guild_roles(guild).await?;
    let mut users: Vec<i64> = if roles
        .iter()
        .any(|r| r.id == guild.as_i64() && may(r.permissions))
    {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = state.store.members(guild, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(UserId::from_i64(last.user_id));
            let full = page.len() == PAGE as usize;
            all.extend(page.iter().map(|m| m.user_id));
            if !full {
                break;
            }
        }
        all
    } else {
        let granting: Vec<i64> = roles
            .iter()
            .filter(|r| may(r.permissions))
            .map(|r| r.id)
            .collect();
        state.store.members_with_roles(guild, &granting).await?
    };
    users.push(record.owner_id);
    users.sort_unstable();
    users.dedup();
    Ok(users.into_iter().map(UserId::from_i64).collect())
}

/// Channel fields a channel entry lists.
const CHANNEL_KEYS: [&str; 16] = [
    "name",
    "type",
    "topic",
    "position",
    "nsfw",
    "rate_limit_per_user",
    "bitrate",
    "user_limit",
    "parent_id",
    "permission_overwrites",
    "flags",
    "available_tags",
    "default_reaction_emoji",
    "default_thread_rate_limit_per_user",
    "default_sort_order",
    "default_forum_layout",
];

/// Writes the entry of a channel created (`old` none), changed or deleted (`new` none); the
/// objects are the channel views before and after.
pub async fn channel<T: serde::Serialize>(
    state: &AppState,
    access: &GuildAccess,
    reason: Option<&str>,
    kind: u16,
    old: Option<&T>,
    new: Option<&T>,
) {
    let view = |c: Option<&T>| {
        c.and_then(|c| serde_json::to_value(c).ok())
            .unwrap_or(Value::Null)
    };
    let (old, new) = (view(old), view(new));
    let Some(target) = new
        .get("id")
        .or_else(|| old.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let entry = Entry::new(kind, target).diff(&CHANNEL_KEYS, &old, &new);
    if kind == accord_model::audit_log::action::CHANNEL_UPDATE && entry.changes.is_empty() {
        return;
    }
    by(state, access, reason, entry).await;
}

/// Writes the INVITE_CREATE entry (`created`) or INVITE_DELETE entry of `invite`.
pub async fn invite(
    state: &AppState,
    access: &GuildAccess,
    reason: Option<&str>,
    invite: &accord_store::InviteRecord,
    created: bool,
) {
    use accord_model::audit_log::action;
    let fields = serde_json::json!({
        "code": invite.code,
        "channel_id": invite.channel_id.to_string(),
        "inviter_id": invite.inviter_id.map(|i| i.to_string()),
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "max_age": invite.max_age,
        "temporary": invite.temporary,
        "flags": invite.flags,
    });
    let keys = [
        "code",
        "channel_id",
        "inviter_id",
        "uses",
        "max_uses",
        "max_age",
        "temporary",
        "flags",
    ];
    let (kind, old, new) = if created {
        (action::INVITE_CREATE, Value::Null, fields)
    } else {
        (action::INVITE_DELETE, fields, Value::Null)
    };
    let entry = Entry::untargeted(kind).diff(&keys, &old, &new);
    by(state, access, reason, entry).await;
}

/// Writes the WEBHOOK_CREATE (`old` none), WEBHOOK_UPDATE or WEBHOOK_DELETE (`new` none) entry
/// of a webhook; its avatar's key is `avatar_hash`, as Discord names it.
pub async fn webhook(
    state: &AppState,
    access: &GuildAccess,
    reason: Option<&str>,
    old: Option<&accord_store::WebhookRecord>,
    new: Option<&accord_store::WebhookRecord>,
) {
    use accord_model::audit_log::action;
    let view = |w: Option<&accord_store::WebhookRecord>| {
        w.map_or(Value::Null, |w| {
            serde_json::json!({
                "name": w.name,
                "type": w.kind,
                "channel_id": w.channel_id.map(|c| c.to_string()),
                "avatar_hash": w.avatar,
            })
        })
    };
    let (kind, target) = match (old, new) {
        (None, Some(n)) => (action::WEBHOOK_CREATE, n.id),
        (Some(_), Some(n)) => (action::WEBHOOK_UPDATE, n.id),
        (Some(o), None) => (action::WEBHOOK_DELETE, o.id),
        (None, None) => return,
    };
    let entry = Entry::new(kind, target).diff(
        &["name", "type", "channel_id", "avatar_hash"],
        &view(old),
        &view(new),
    );
    if kind == action::WEBHOOK_UPDATE && entry.changes.is_empty() {
        return;
    }
    by(state, access, reason, entry).await;
}

/// Writes the STICKER_CREATE (`old` none), STICKER_UPDATE or STICKER_DELETE (`new` none) entry
/// of a guild sticker.
pub async fn sticker(
    state: &AppState,
    access: &GuildAccess,
    reason: Option<&str>,
    old: Option<&accord_store::StickerRecord>,
    new: Option<&accord_store::StickerRecord>,
) {
    use accord_model::audit_log::action;
    let view = |st: Option<&accord_store::StickerRecord>| {
        st.map_or(Value::Null, |st| {
            serde_json::json!({
                "name": st.name,
                "description": st.description,
                "tags": st.tags,
                "format_type": st.format_type,
                "available": st.available,
            })
        })
    };
    let (kind, target) = match (old, new) {
        (None, Some(n)) => (action::STICKER_CREATE, n.id),
        (Some(_), Some(n)) => (action::STICKER_UPDATE, n.id),
        (Some(o), None) => (action::STICKER_DELETE, o.id),
        (None, None) => return,
    };
    let entry = Entry::new(kind, target).diff(
        &["name", "description", "tags", "format_type", "available"],
        &view(old),
        &view(new),
    );
    if kind == action::STICKER_UPDATE && entry.changes.is_empty() {
        return;
    }
    by(state, access, reason, entry).await;
}
