//! Pinned messages of a channel, newest pin first, and the channel's `last_pin_timestamp`.

use std::collections::HashMap;

use accord_model::{ChannelId, MessageId};
use chrono::{DateTime, Utc};

use crate::messages::{MessageRecord, message_columns};
use crate::{Result, Store, StoreError, dispatch, now};

/// A pinned message and when it was pinned.
#[derive(Debug, Clone, PartialEq)]
pub struct PinnedMessage {
    /// When it was pinned.
    pub pinned_at: DateTime<Utc>,
    /// The message.
    pub message: MessageRecord,
}

impl Store {
    /// Pins a message of `channel` and updates the channel's `last_pin_timestamp`, in one
    /// transaction. Returns false if it was already pinned; [`StoreError::NotFound`] if the
    /// message is not in the channel.
    pub async fn pin_message(&self, channel: ChannelId, message: MessageId) -> Result<bool> {
        let at = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            // The write comes first, so a SQLite transaction takes its write lock at once.
            let pinned = sqlx::query(
                "INSERT INTO pins (message_id, channel_id, pinned_at) SELECT id, channel_id, $3 FROM messages \
                 WHERE id = $1 AND channel_id = $2 ON CONFLICT DO NOTHING",
            )
            .bind(message.as_i64())
            .bind(channel.as_i64())
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !pinned {
                let already: Option<i64> = sqlx::query_scalar(
                    "SELECT message_id FROM pins WHERE message_id = $1 AND channel_id = $2",
                )
                .bind(message.as_i64())
                .bind(channel.as_i64())
                .fetch_optional(&mut *tx)
                .await?;
                if already.is_none() {
                    return Err(StoreError::NotFound);
                }
            }
            if pinned {
                sqlx::query("UPDATE channels SET last_pin_timestamp = $2 WHERE id = $1")
                    .bind(channel.as_i64())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(pinned)
        })
    }

    /// [`Store::pin_message`] unless `channel` already has `max` pins: then `None`, writing
    /// nothing. The channel row is locked while counting so concurrent pins cannot pass the
    /// limit. `Some(false)`: it was already pinned; [`StoreError::NotFound`] if the message is not
    /// in the channel.
    pub async fn pin_message_limited(
        &self,
        channel: ChannelId,
        message: MessageId,
        max: u32,
    ) -> Result<Option<bool>> {
        let at = now();
        let (c, m) = (channel.as_i64(), message.as_i64());
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE channels SET last_pin_timestamp = last_pin_timestamp WHERE id = $1",
            )
            .bind(c)
            .execute(&mut *tx)
            .await?;
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM messages WHERE id = $1 AND channel_id = $2")
                    .bind(m)
                    .bind(c)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
            let pinned: Option<i64> =
                sqlx::query_scalar("SELECT message_id FROM pins WHERE message_id = $1")
                    .bind(m)
                    .fetch_optional(&mut *tx)
                    .await?;
            if pinned.is_some() {
                return Ok(Some(false));
            }
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pins WHERE channel_id = $1")
                .bind(c)
                .fetch_one(&mut *tx)
                .await?;
            if count >= i64::from(max) {
                return Ok(None);
            }
            sqlx::query("INSERT INTO pins (message_id, channel_id, pinned_at) VALUES ($1, $2, $3)")
                .bind(m)
                .bind(c)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE channels SET last_pin_timestamp = $2 WHERE id = $1")
                .bind(c)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(true))
        })
    }

    /// Unpins a message of `channel` and sets the channel's `last_pin_timestamp` to its newest
    /// remaining pin, in one transaction. Returns false if it was not pinned.
    pub async fn unpin_message(&self, channel: ChannelId, message: MessageId) -> Result<bool> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let unpinned =
                sqlx::query("DELETE FROM pins WHERE message_id = $1 AND channel_id = $2")
                    .bind(message.as_i64())
                    .bind(channel.as_i64())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
            if unpinned {
                sqlx::query(
                    "UPDATE channels SET last_pin_timestamp = \
                     (SELECT MAX(pinned_at) FROM pins WHERE channel_id = $1) WHERE id = $1",
                )
                .bind(channel.as_i64())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(unpinned)
        })
    }

    /// Up to `limit` pinned messages of a channel pinned before `before` (if given), newest pin
    /// first.
    pub async fn pins(
        &self,
        channel: ChannelId,
        before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<PinnedMessage>> {
        let c = channel.as_i64();
        let pins: Vec<(i64, DateTime<Utc>)> = dispatch!(self.db(), |pool| {
            sqlx::query_as(
            "SELECT message_id, pinned_at FROM pins WHERE channel_id = $1 AND ($2 IS NULL OR pinned_at < $2) \
             ORDER BY pinned_at DESC, message_id DESC LIMIT $3"
        )
        .bind(c)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
        });
        let (Some(low), Some(high)) = (
            pins.iter().map(|p| p.0).min(),
            pins.iter().map(|p| p.0).max(),
        ) else {
            return Ok(Vec::new());
        };
        let mut rows: Vec<MessageRecord> = dispatch!(self.db(), |pool| sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE channel_id = $1 AND id BETWEEN $2 AND $3 \
             AND id IN (SELECT message_id FROM pins WHERE channel_id = $1)"
        ))
        .bind(c)
        .bind(low)
        .bind(high)
        .fetch_all(pool)
        .await?);
        self.load_message_extras(channel, &mut rows, true).await?;
        let mut by_id: HashMap<i64, MessageRecord> = rows.into_iter().map(|m| (m.id, m)).collect();
        Ok(pins
            .into_iter()
            .filter_map(|(id, pinned_at)| {
                by_id
                    .remove(&id)
                    .map(|message| PinnedMessage { pinned_at, message })
            })
            .collect())
    }

    /// Number of pinned messages in a channel.
    pub async fn pin_count(&self, channel: ChannelId) -> Result<i64> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM pins WHERE channel_id = $1"
        )
        .bind(channel.as_i64())
        .fetch_one(pool)
        .await?))
    }
}
