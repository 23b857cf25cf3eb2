//! Private channels: DMs (one per pair of users, keyed by `dm_key`) and group DMs, with their
//! recipients.

use accord_model::{ChannelId, UserId};

use crate::channels::{ChannelRecord, channel_columns};
use crate::{Result, Store, dispatch, now};

/// Channel type of a DM (Discord's `DM`).
pub const CHANNEL_TYPE_DM: i32 = 1;
/// Channel type of a group DM (Discord's `GROUP_DM`).
pub const CHANNEL_TYPE_GROUP_DM: i32 = 3;

/// The `dm_key` of the DM between `a` and `b`.
pub fn dm_key(a: UserId, b: UserId) -> String {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

/// What adding a recipient to a group DM did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientAdded {
    /// The user is now a recipient.
    Added,
    /// The user already was one; nothing changed.
    AlreadyRecipient,
    /// The group DM has the maximum number of recipients; nothing changed.
    Full,
}

/// What removing a recipient from a group DM did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientRemoved {
    /// The user was not a recipient; nothing changed.
    NotRecipient,
    /// The user left; `new_owner` is set when they owned the group DM and ownership passed on.
    Removed {
        /// The recipient who now owns the group DM.
        new_owner: Option<UserId>,
    },
    /// The user was the last recipient: the group DM is deleted.
    Deleted,
}

impl Store {
    /// The DM between `a` and `b` (the same user twice is a DM with oneself), created with id
    /// `id` if it does not exist yet. Returns the channel and whether this call created it; a
    /// second call, even a concurrent one, returns the first channel.
    pub async fn create_dm(
        &self,
        id: ChannelId,
        a: UserId,
        b: UserId,
    ) -> Result<(ChannelRecord, bool)> {
        let key = dm_key(a, b);
        let created = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO channels (id, type, dm_key, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (dm_key) DO NOTHING",
            )
            .bind(id.as_i64())
            .bind(CHANNEL_TYPE_DM)
            .bind(&key)
            .bind(created)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                for user in [a, b] {
                    sqlx::query(
                        "INSERT INTO channel_recipients (channel_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(id.as_i64())
                    .bind(user.as_i64())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            let row: ChannelRecord = sqlx::query_as(concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels WHERE dm_key = $1"
            ))
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok((row, inserted))
        })
    }

    /// The DM between `a` and `b`, if there is one.
    pub async fn dm_between(&self, a: UserId, b: UserId) -> Result<Option<ChannelRecord>> {
        let key = dm_key(a, b);
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE dm_key = $1"
        ))
        .bind(&key)
        .fetch_optional(pool)
        .await?))
    }

    /// Creates a group DM owned by `owner` with `recipients` (the owner is always one of them),
    /// in one transaction.
    pub async fn create_group_dm(
        &self,
        id: ChannelId,
        owner: UserId,
        recipients: &[UserId],
        name: Option<&str>,
        icon: Option<&str>,
    ) -> Result<ChannelRecord> {
        let created = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let row: ChannelRecord = sqlx::query_as(concat!(
                "INSERT INTO channels (id, type, name, icon, owner_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 RETURNING ",
                channel_columns!()
            ))
            .bind(id.as_i64())
            .bind(CHANNEL_TYPE_GROUP_DM)
            .bind(name)
            .bind(icon)
            .bind(owner.as_i64())
            .bind(created)
            .fetch_one(&mut *tx)
            .await?;
            for user in std::iter::once(&owner).chain(recipients) {
                sqlx::query(
                    "INSERT INTO channel_recipients (channel_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(id.as_i64())
                .bind(user.as_i64())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The DMs and group DMs `user` is a recipient of, by id.
    pub async fn private_channels(&self, user: UserId) -> Result<Vec<ChannelRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE guild_id IS NULL AND id IN \
             (SELECT channel_id FROM channel_recipients WHERE user_id = $1) ORDER BY id"
        ))
        .bind(user.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// Adds a recipient to a DM or group DM; returns false if they already were one.
    pub async fn add_recipient(&self, channel: ChannelId, user: UserId) -> Result<bool> {
        let n = dispatch!(self.db(), |pool| {
            sqlx::query(
            "INSERT INTO channel_recipients (channel_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(channel.as_i64())
        .bind(user.as_i64())
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// Removes a recipient; returns false if they were not one.
    pub async fn remove_recipient(&self, channel: ChannelId, user: UserId) -> Result<bool> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM channel_recipients WHERE channel_id = $1 AND user_id = $2"
        )
        .bind(channel.as_i64())
        .bind(user.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Adds `user` to a group DM unless it already has `max` recipients; the channel row is
    /// locked while counting so concurrent additions cannot pass the limit.
    pub async fn add_group_recipient(
        &self,
        channel: ChannelId,
        user: UserId,
        max: usize,
    ) -> Result<RecipientAdded> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE channels SET flags = flags WHERE id = $1")
                .bind(channel.as_i64())
                .execute(&mut *tx)
                .await?;
            let ids: Vec<i64> =
                sqlx::query_scalar("SELECT user_id FROM channel_recipients WHERE channel_id = $1")
                    .bind(channel.as_i64())
                    .fetch_all(&mut *tx)
                    .await?;
            if ids.contains(&user.as_i64()) {
                return Ok(RecipientAdded::AlreadyRecipient);
            }
            if ids.len() >= max {
                return Ok(RecipientAdded::Full);
            }
            sqlx::query("INSERT INTO channel_recipients (channel_id, user_id) VALUES ($1, $2)")
                .bind(channel.as_i64())
                .bind(user.as_i64())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(RecipientAdded::Added)
        })
    }

    /// Removes `user` from a group DM in one transaction: ownership passes to the remaining
    /// recipient with the lowest id when the owner leaves, and the last one out deletes it.
    pub async fn remove_group_recipient(
        &self,
        channel: ChannelId,
        user: UserId,
    ) -> Result<RecipientRemoved> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let owner: Option<Option<i64>> = sqlx::query_scalar(
                "UPDATE channels SET flags = flags WHERE id = $1 RETURNING owner_id",
            )
            .bind(channel.as_i64())
            .fetch_optional(&mut *tx)
            .await?;
            let removed = sqlx::query(
                "DELETE FROM channel_recipients WHERE channel_id = $1 AND user_id = $2",
            )
            .bind(channel.as_i64())
            .bind(user.as_i64())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if removed == 0 {
                return Ok(RecipientRemoved::NotRecipient);
            }
            let next: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(user_id) FROM channel_recipients WHERE channel_id = $1",
            )
            .bind(channel.as_i64())
            .fetch_one(&mut *tx)
            .await?;
            let outcome = match next {
                None => {
                    sqlx::query("DELETE FROM channels WHERE id = $1")
                        .bind(channel.as_i64())
                        .execute(&mut *tx)
                        .await?;
                    RecipientRemoved::Deleted
                }
                Some(next) if owner.flatten() == Some(user.as_i64()) => {
                    sqlx::query("UPDATE channels SET owner_id = $2 WHERE id = $1")
                        .bind(channel.as_i64())
                        .bind(next)
                        .execute(&mut *tx)
                        .await?;
                    RecipientRemoved::Removed {
                        new_owner: Some(UserId::from_i64(next)),
                    }
                }
                Some(_) => RecipientRemoved::Removed { new_owner: None },
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// The recipients of a DM or group DM, by user id.
    pub async fn recipients(&self, channel: ChannelId) -> Result<Vec<UserId>> {
        let ids: Vec<i64> = dispatch!(self.db(), |pool| sqlx::query_scalar(
            "SELECT user_id FROM channel_recipients WHERE channel_id = $1 ORDER BY user_id"
        )
        .bind(channel.as_i64())
        .fetch_all(pool)
        .await?);
        Ok(ids.into_iter().map(UserId::from_i64).collect())
    }
}
