//! Guild bans.

use accord_model::{ChannelId, GuildId, MessageId, UserId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// A ban row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BanRecord {
    /// Guild.
    pub guild_id: i64,
    /// Banned user.
    pub user_id: i64,
    /// Reason given.
    pub reason: Option<String>,
    /// Who banned them.
    pub moderator_id: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl BanRecord {
    /// The typed user id.
    pub fn user(&self) -> UserId {
        UserId::from_i64(self.user_id)
    }
}

macro_rules! ban_columns {
    () => {
        "guild_id, user_id, reason, moderator_id, created_at"
    };
}

impl Store {
    /// Bans `user` from `guild` and removes their membership, in one transaction. Returns the
    /// ban and whether a membership was removed. A second ban of the same user fails with
    /// [`StoreError::Conflict`] (and changes nothing).
    pub async fn create_ban(
        &self,
        guild: GuildId,
        user: UserId,
        reason: Option<&str>,
        moderator: Option<UserId>,
    ) -> Result<(BanRecord, bool)> {
        let created = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let ban: BanRecord = sqlx::query_as(concat!(
                "INSERT INTO bans (guild_id, user_id, reason, moderator_id, created_at) VALUES ($1, $2, $3, $4, $5) \
                 RETURNING ",
                ban_columns!()
            ))
            .bind(guild.as_i64())
            .bind(user.as_i64())
            .bind(reason)
            .bind(moderator.map(|m| m.as_i64()))
            .bind(created)
            .fetch_one(&mut *tx)
            .await?;
            let removed = sqlx::query("DELETE FROM members WHERE guild_id = $1 AND user_id = $2")
                .bind(guild.as_i64())
                .bind(user.as_i64())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            crate::threads::leave_guild_threads!(tx, guild.as_i64(), user.as_i64());
            tx.commit().await?;
            Ok((ban, removed))
        })
    }

    /// The ban of `user` in `guild`, if any.
    pub async fn ban(&self, guild: GuildId, user: UserId) -> Result<Option<BanRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            ban_columns!(),
            " FROM bans WHERE guild_id = $1 AND user_id = $2"
        ))
        .bind(guild.as_i64())
        .bind(user.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// Up to `limit` bans of a guild by user id ascending: those after `after` if given, else
    /// the last ones before `before` if given, else the first ones (Discord's paging).
    pub async fn bans(
        &self,
        guild: GuildId,
        before: Option<UserId>,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<BanRecord>> {
        let newest_first = before.is_some() && after.is_none();
        let before = before.map(|u| u.as_i64());
        let after = after.map(|u| u.as_i64());
        let limit = i64::from(limit);
        let mut rows: Vec<BanRecord> = dispatch!(self.db(), |pool| {
            let q = if newest_first {
                sqlx::query_as(concat!(
                    "SELECT ",
                    ban_columns!(),
                    " FROM bans WHERE guild_id = $1 AND ($2 IS NULL OR user_id < $2) \
                     AND ($3 IS NULL OR user_id > $3) ORDER BY user_id DESC LIMIT $4"
                ))
            } else {
                sqlx::query_as(concat!(
                    "SELECT ",
                    ban_columns!(),
                    " FROM bans WHERE guild_id = $1 AND ($2 IS NULL OR user_id < $2) \
                     AND ($3 IS NULL OR user_id > $3) ORDER BY user_id LIMIT $4"
                ))
            };
            q.bind(guild.as_i64())
                .bind(before)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        if newest_first {
            rows.reverse();
        }
        Ok(rows)
    }

    /// Deletes the messages `user` wrote in the channels (threads included) of `guild` with ids
    /// from `since` on, in one statement (their mentions, attachments, reactions and pins go
    /// with them). Returns the deleted ids grouped by channel, channels and ids ascending.
    pub async fn delete_user_messages_since(
        &self,
        guild: GuildId,
        user: UserId,
        since: MessageId,
    ) -> Result<Vec<(ChannelId, Vec<MessageId>)>> {
        let mut rows: Vec<(i64, i64)> = dispatch!(self.db(), |pool| sqlx::query_as(
            "DELETE FROM messages WHERE author_id = $2 AND id >= $3 \
             AND channel_id IN (SELECT id FROM channels WHERE guild_id = $1) \
             RETURNING channel_id, id",
        )
        .bind(guild.as_i64())
        .bind(user.as_i64())
        .bind(since.as_i64())
        .fetch_all(pool)
        .await?);
        rows.sort_unstable();
        let mut out: Vec<(ChannelId, Vec<MessageId>)> = Vec::new();
        for (channel, id) in rows {
            let channel = ChannelId::from_i64(channel);
            match out.last_mut() {
                Some((c, ids)) if *c == channel => ids.push(MessageId::from_i64(id)),
                _ => out.push((channel, vec![MessageId::from_i64(id)])),
            }
        }
        Ok(out)
    }

    /// Lifts a ban.
    pub async fn delete_ban(&self, guild: GuildId, user: UserId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM bans WHERE guild_id = $1 AND user_id = $2"
        )
        .bind(guild.as_i64())
        .bind(user.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
