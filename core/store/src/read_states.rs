//! Read states: per user and channel, the last acknowledged message and pending mentions.

use accord_model::{ChannelId, MessageId, UserId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, dispatch};

/// A read state row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReadStateRecord {
    /// User.
    pub user_id: i64,
    /// Channel.
    pub channel_id: i64,
    /// Last message read.
    pub last_message_id: Option<i64>,
    /// Newest pin the user has seen.
    pub last_pin_timestamp: Option<DateTime<Utc>>,
    /// Unread mentions.
    pub mention_count: i32,
}

macro_rules! read_state_columns {
    () => {
        "user_id, channel_id, last_message_id, last_pin_timestamp, mention_count"
    };
}

impl Store {
    /// Records that `user` read `channel` up to `message`, with `mention_count` mentions still
    /// unread (0 after a plain ack), and returns the state.
    pub async fn ack_message(
        &self,
        user: UserId,
        channel: ChannelId,
        message: MessageId,
        mention_count: i32,
    ) -> Result<ReadStateRecord> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(concat!(
            "INSERT INTO read_states (user_id, channel_id, last_message_id, mention_count) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, channel_id) DO UPDATE SET last_message_id = excluded.last_message_id, \
             mention_count = excluded.mention_count RETURNING ",
            read_state_columns!()
        ))
        .bind(user.as_i64())
        .bind(channel.as_i64())
        .bind(message.as_i64())
        .bind(mention_count)
        .fetch_one(pool)
        .await?)
        })
    }

    /// Records that `user` saw the pins of `channel` up to `at`.
    pub async fn ack_pins(
        &self,
        user: UserId,
        channel: ChannelId,
        at: DateTime<Utc>,
    ) -> Result<ReadStateRecord> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(concat!(
            "INSERT INTO read_states (user_id, channel_id, last_pin_timestamp) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, channel_id) DO UPDATE SET last_pin_timestamp = excluded.last_pin_timestamp \
             RETURNING ",
            read_state_columns!()
        ))
        .bind(user.as_i64())
        .bind(channel.as_i64())
        .bind(at)
        .fetch_one(pool)
        .await?)
        })
    }

    /// Adds one unread mention in `channel` for each of `users` (after a message mentions them),
    /// in one transaction.
    pub async fn add_mentions(&self, channel: ChannelId, users: &[UserId]) -> Result<()> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            for user in users {
                sqlx::query(
                    "INSERT INTO read_states (user_id, channel_id, mention_count) VALUES ($1, $2, 1) \
                     ON CONFLICT (user_id, channel_id) DO UPDATE SET mention_count = read_states.mention_count + 1",
                )
                .bind(user.as_i64())
                .bind(channel.as_i64())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every read state of a user, by channel id.
    pub async fn read_states(&self, user: UserId) -> Result<Vec<ReadStateRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            read_state_columns!(),
            " FROM read_states WHERE user_id = $1 ORDER BY channel_id"
        ))
        .bind(user.as_i64())
        .fetch_all(pool)
        .await?))
    }
}
