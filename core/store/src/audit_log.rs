//! Guild audit log entries: written by moderation and configuration actions, read newest (or
//! oldest) first with Discord's filters.

use accord_model::{GuildId, UserId};

use crate::{Result, Store, dispatch};

/// An audit log row; `changes` and `options` hold the entry's JSON.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditLogRecord {
    /// Snowflake (also the time of the action).
    pub id: i64,
    /// Guild.
    pub guild_id: i64,
    /// Who acted (`None` for the system).
    pub user_id: Option<i64>,
    /// The affected entity.
    pub target_id: Option<String>,
    /// Discord's action type.
    pub action_type: i32,
    /// JSON array of changes.
    pub changes: String,
    /// JSON object of optional info.
    pub options: Option<String>,
    /// `X-Audit-Log-Reason`.
    pub reason: Option<String>,
}

/// Which entries to read (`GET /guilds/{id}/audit-logs`).
#[derive(Debug, Clone, Default)]
pub struct AuditLogQuery {
    /// Entries by this user only.
    pub user_id: Option<UserId>,
    /// Entries of this action type only.
    pub action_type: Option<i32>,
    /// Entries with ids below this.
    pub before: Option<i64>,
    /// Entries with ids above this (ascending order when `before` is absent).
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

impl Store {
    /// Writes an entry.
    pub async fn add_audit_log_entry(&self, entry: &AuditLogRecord) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO audit_log_entries \
                 (id, guild_id, user_id, target_id, action_type, changes, options, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(entry.id)
            .bind(entry.guild_id)
            .bind(entry.user_id)
            .bind(&entry.target_id)
            .bind(entry.action_type)
            .bind(&entry.changes)
            .bind(&entry.options)
            .bind(&entry.reason)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The entries of `guild` matching `q`: newest first, or oldest first when only `after`
    /// is given (as Discord orders them).
    pub async fn audit_log_entries(
        &self,
        guild: GuildId,
        q: &AuditLogQuery,
    ) -> Result<Vec<AuditLogRecord>> {
        let mut sql = String::from(
            "SELECT id, guild_id, user_id, target_id, action_type, changes, options, reason \
             FROM audit_log_entries WHERE guild_id = $1 AND id < $2 AND id > $3",
        );
        let mut n = 3;
        if q.user_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND user_id = ${n}"));
        }
        if q.action_type.is_some() {
            n += 1;
            sql.push_str(&format!(" AND action_type = ${n}"));
        }
        let ascending = q.before.is_none() && q.after.is_some();
        sql.push_str(if ascending {
            " ORDER BY id ASC"
        } else {
            " ORDER BY id DESC"
        });
        sql.push_str(&format!(" LIMIT ${}", n + 1));
        let before = q.before.unwrap_or(i64::MAX);
        let after = q.after.unwrap_or(i64::MIN);
        Ok(dispatch!(self.db(), |pool| {
            // Only fixed fragments and placeholder numbers were pushed into `sql`.
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(guild.as_i64())
                .bind(before)
                .bind(after);
            if let Some(user) = q.user_id {
                query = query.bind(user.as_i64());
            }
            if let Some(action) = q.action_type {
                query = query.bind(action);
            }
            query.bind(i64::from(q.limit)).fetch_all(pool).await?
        }))
    }

    /// Removes the entries of `guild` with ids below `before` (older than the retention).
    pub async fn purge_audit_log(&self, guild: GuildId, before: i64) -> Result<u64> {
        Ok(dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM audit_log_entries WHERE guild_id = $1 AND id < $2"
        )
        .bind(guild.as_i64())
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// The users of `guild` who hold any of `roles`.
    pub async fn members_with_roles(&self, guild: GuildId, roles: &[i64]) -> Result<Vec<i64>> {
        let mut users = Vec::new();
        for role in roles {
            let rows: Vec<(i64,)> = dispatch!(self.db(), |pool| sqlx::query_as(
                "SELECT user_id FROM member_roles WHERE guild_id = $1 AND role_id = $2"
            )
            .bind(guild.as_i64())
            .bind(role)
            .fetch_all(pool)
            .await?);
            users.extend(rows.into_iter().map(|(u,)| u));
        }
        users.sort_unstable();
        users.dedup();
        Ok(users)
    }
}
