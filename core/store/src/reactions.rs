//! Message reactions: one row per message, emoji, user and kind (normal or burst).

use std::collections::HashMap;

use accord_model::{ChannelId, EmojiId, GuildId, MessageId, UserId};

use crate::{Result, Store, dispatch, now};

/// The emoji of a reaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionEmoji {
    /// The custom emoji id in decimal, or the unicode emoji itself.
    pub key: String,
    /// Custom emoji id.
    pub id: Option<EmojiId>,
    /// Emoji name (the unicode emoji, or the custom emoji's name).
    pub name: Option<String>,
    /// Animated custom emoji.
    pub animated: bool,
}

impl ReactionEmoji {
    /// A unicode emoji.
    pub fn unicode(emoji: impl Into<String>) -> Self {
        let emoji = emoji.into();
        Self {
            key: emoji.clone(),
            id: None,
            name: Some(emoji),
            animated: false,
        }
    }

    /// A custom emoji.
    pub fn custom(id: EmojiId, name: impl Into<String>, animated: bool) -> Self {
        Self {
            key: id.to_string(),
            id: Some(id),
            name: Some(name.into()),
            animated,
        }
    }
}

/// The reactions with one emoji on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionCount {
    /// Message.
    pub message_id: i64,
    /// Emoji key.
    pub emoji_key: String,
    /// Custom emoji id.
    pub emoji_id: Option<i64>,
    /// Emoji name.
    pub emoji_name: Option<String>,
    /// Animated.
    pub animated: bool,
    /// Normal reactions.
    pub count: i64,
    /// Burst (super) reactions.
    pub burst_count: i64,
    /// Whether the asking user reacted normally.
    pub me: bool,
    /// Whether the asking user burst-reacted.
    pub me_burst: bool,
}

/// [`ReactionCount`] as SQL computes it (flags as 0/1 integers, the same type on both backends).
#[derive(sqlx::FromRow)]
struct CountRow {
    message_id: i64,
    emoji_key: String,
    emoji_id: Option<i64>,
    emoji_name: Option<String>,
    animated: i64,
    count: i64,
    burst_count: i64,
    me: i64,
    me_burst: i64,
}

impl From<CountRow> for ReactionCount {
    fn from(r: CountRow) -> Self {
        Self {
            message_id: r.message_id,
            emoji_key: r.emoji_key,
            emoji_id: r.emoji_id,
            emoji_name: r.emoji_name,
            animated: r.animated != 0,
            count: r.count,
            burst_count: r.burst_count,
            me: r.me != 0,
            me_burst: r.me_burst != 0,
        }
    }
}

/// Aggregates reactions per message and emoji, first reacted first; `$1..$2` is the message id
/// range, `$3` the asking user, and `$tail` narrows the messages.
macro_rules! counts_sql {
    ($tail:literal) => {
        concat!(
            "SELECT message_id, emoji_key, MAX(emoji_id) AS emoji_id, MAX(emoji_name) AS emoji_name, \
             CAST(MAX(CASE WHEN animated THEN 1 ELSE 0 END) AS BIGINT) AS animated, \
             CAST(SUM(CASE WHEN burst THEN 0 ELSE 1 END) AS BIGINT) AS count, \
             CAST(SUM(CASE WHEN burst THEN 1 ELSE 0 END) AS BIGINT) AS burst_count, \
             CAST(SUM(CASE WHEN user_id = $3 AND NOT burst THEN 1 ELSE 0 END) AS BIGINT) AS me, \
             CAST(SUM(CASE WHEN user_id = $3 AND burst THEN 1 ELSE 0 END) AS BIGINT) AS me_burst \
             FROM reactions WHERE message_id BETWEEN $1 AND $2 ",
            $tail,
            " GROUP BY message_id, emoji_key ORDER BY message_id, MIN(created_at), emoji_key"
        )
    };
}

impl Store {
    /// The guild a custom emoji belongs to (reactions may use another guild's emoji), if it
    /// exists.
    pub async fn emoji_guild(&self, emoji: EmojiId) -> Result<Option<GuildId>> {
        let guild: Option<i64> = dispatch!(self.db(), |pool| sqlx::query_scalar(
            "SELECT guild_id FROM emojis WHERE id = $1"
        )
        .bind(emoji.as_i64())
        .fetch_optional(pool)
        .await?);
        Ok(guild.map(GuildId::from_i64))
    }

    /// Adds `user`'s reaction; returns false if it was already there.
    pub async fn add_reaction(
        &self,
        message: MessageId,
        emoji: &ReactionEmoji,
        user: UserId,
        burst: bool,
    ) -> Result<bool> {
        let n = dispatch!(self.db(), |pool| {
            sqlx::query(
            "INSERT INTO reactions (message_id, emoji_key, emoji_id, emoji_name, animated, user_id, burst, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
        )
        .bind(message.as_i64())
        .bind(&emoji.key)
        .bind(emoji.id.map(|e| e.as_i64()))
        .bind(&emoji.name)
        .bind(emoji.animated)
        .bind(user.as_i64())
        .bind(burst)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// [`Store::add_reaction`] unless the emoji is new on the message and the message already
    /// has `max` distinct emojis: then `None`, writing nothing. The message row is locked while
    /// counting so concurrent reactions cannot pass the limit. `Some(false)`: already there.
    pub async fn add_reaction_limited(
        &self,
        message: MessageId,
        emoji: &ReactionEmoji,
        user: UserId,
        burst: bool,
        max: u32,
    ) -> Result<Option<bool>> {
        let m = message.as_i64();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE messages SET flags = flags WHERE id = $1")
                .bind(m)
                .execute(&mut *tx)
                .await?;
            let keys: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT emoji_key FROM reactions WHERE message_id = $1",
            )
            .bind(m)
            .fetch_all(&mut *tx)
            .await?;
            if !keys.contains(&emoji.key) && keys.len() >= max as usize {
                return Ok(None);
            }
            let n = sqlx::query(
                "INSERT INTO reactions (message_id, emoji_key, emoji_id, emoji_name, animated, user_id, burst, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(m)
            .bind(&emoji.key)
            .bind(emoji.id.map(|e| e.as_i64()))
            .bind(&emoji.name)
            .bind(emoji.animated)
            .bind(user.as_i64())
            .bind(burst)
            .bind(now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(Some(n == 1))
        })
    }

    /// Removes `user`'s reactions (normal and burst) with `emoji_key`; returns false if there
    /// were none. Serves both "remove own" and "remove someone else's".
    pub async fn remove_reaction(
        &self,
        message: MessageId,
        emoji_key: &str,
        user: UserId,
    ) -> Result<bool> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM reactions WHERE message_id = $1 AND emoji_key = $2 AND user_id = $3"
        )
        .bind(message.as_i64())
        .bind(emoji_key)
        .bind(user.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n > 0)
    }

    /// Up to `limit` users who reacted with `emoji_key` (burst or normal), with ids above
    /// `after`, ascending.
    pub async fn reaction_users(
        &self,
        message: MessageId,
        emoji_key: &str,
        burst: bool,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserId>> {
        let ids: Vec<i64> = dispatch!(self.db(), |pool| {
            sqlx::query_scalar(
            "SELECT user_id FROM reactions WHERE message_id = $1 AND emoji_key = $2 AND burst = $3 AND user_id > $4 \
             ORDER BY user_id LIMIT $5"
        )
        .bind(message.as_i64())
        .bind(emoji_key)
        .bind(burst)
        .bind(after.map_or(i64::MIN, |u| u.as_i64()))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
        });
        Ok(ids.into_iter().map(UserId::from_i64).collect())
    }

    /// Removes every reaction from a message; returns how many rows went.
    pub async fn remove_all_reactions(&self, message: MessageId) -> Result<u64> {
        dispatch!(self.db(), |pool| Ok(sqlx::query(
            "DELETE FROM reactions WHERE message_id = $1"
        )
        .bind(message.as_i64())
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// Removes every reaction with `emoji_key` from a message; returns how many rows went.
    pub async fn remove_emoji_reactions(&self, message: MessageId, emoji_key: &str) -> Result<u64> {
        dispatch!(self.db(), |pool| Ok(sqlx::query(
            "DELETE FROM reactions WHERE message_id = $1 AND emoji_key = $2"
        )
        .bind(message.as_i64())
        .bind(emoji_key)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// The reactions on a message per emoji, in the order they were first added; `me` marks
    /// the asking user's.
    pub async fn reaction_counts(
        &self,
        message: MessageId,
        me: Option<UserId>,
    ) -> Result<Vec<ReactionCount>> {
        let m = message.as_i64();
        let rows: Vec<CountRow> = dispatch!(self.db(), |pool| sqlx::query_as(counts_sql!(""))
            .bind(m)
            .bind(m)
            .bind(me.map(|u| u.as_i64()))
            .fetch_all(pool)
            .await?);
        Ok(rows.into_iter().map(ReactionCount::from).collect())
    }

    /// [`Store::reaction_counts`] for several messages of a channel at once (a page of
    /// messages), keyed by message id; messages without reactions are absent.
    pub async fn reaction_counts_for(
        &self,
        channel: ChannelId,
        messages: &[MessageId],
        me: Option<UserId>,
    ) -> Result<HashMap<i64, Vec<ReactionCount>>> {
        let (Some(low), Some(high)) = (messages.iter().min(), messages.iter().max()) else {
            return Ok(HashMap::new());
        };
        let rows: Vec<CountRow> = dispatch!(self.db(), |pool| sqlx::query_as(counts_sql!(
            "AND message_id IN (SELECT id FROM messages WHERE channel_id = $4)"
        ))
        .bind(low.as_i64())
        .bind(high.as_i64())
        .bind(me.map(|u| u.as_i64()))
        .bind(channel.as_i64())
        .fetch_all(pool)
        .await?);
        let wanted: std::collections::HashSet<i64> = messages.iter().map(|m| m.as_i64()).collect();
        let mut out: HashMap<i64, Vec<ReactionCount>> = HashMap::new();
        for row in rows.into_iter().filter(|r| wanted.contains(&r.message_id)) {
            out.entry(row.message_id).or_default().push(row.into());
        }
        Ok(out)
    }
}
