//! Channels: the queries that create, read, update, arrange and delete guild channels (the
//! row and the values they take are in `channel_record`; DMs and group DMs are created in
//! `dms`).

use accord_model::{ChannelId, GuildId, MessageId};

pub use crate::channel_record::{
    ChannelMove, ChannelPatch, ChannelRecord, DeletedChannel, ForumTagRecord, NewChannel,
};
use crate::overwrites::{NewOverwrite, replace_overwrites};
use crate::{Result, Store, StoreError, dispatch, now};

/// The column list of `channels`, in [`ChannelRecord`]'s order.
macro_rules! channel_columns {
    () => {
        "id, type, guild_id, position, name, topic, nsfw, last_message_id, bitrate, user_limit, rate_limit_per_user, icon, owner_id, application_id, parent_id, last_pin_timestamp, rtc_region, video_quality_mode, default_auto_archive_duration, flags, dm_key, created_at, archived, auto_archive_duration, archive_timestamp, locked, invitable, message_count, total_message_sent, member_count, owner_webhook_id, available_tags, applied_tags, default_reaction_emoji_id, default_reaction_emoji_name, default_thread_rate_limit_per_user, default_sort_order, default_forum_layout"
    };
}

/// Inserts a guild channel and its overwrites on `$conn` (used by `create_channel` and
/// `create_guild`, each inside its own transaction).
macro_rules! insert_guild_channel {
    ($conn:expr, $guild:expr, $new:expr, $created:expr) => {{
        let new: &$crate::channels::NewChannel = $new;
        sqlx::query(
            "INSERT INTO channels (id, type, guild_id, position, name, topic, nsfw, parent_id, bitrate, user_limit, \
             rate_limit_per_user, rtc_region, video_quality_mode, default_auto_archive_duration, flags, created_at, \
             available_tags, default_reaction_emoji_id, default_reaction_emoji_name, default_thread_rate_limit_per_user, \
             default_sort_order, default_forum_layout) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
        )
        .bind(new.id.as_i64())
        .bind(new.kind)
        .bind($guild)
        .bind(new.position)
        .bind(&new.name)
        .bind(&new.topic)
        .bind(new.nsfw)
        .bind(new.parent_id.map(|p| p.as_i64()))
        .bind(new.bitrate)
        .bind(new.user_limit)
        .bind(new.rate_limit_per_user)
        .bind(&new.rtc_region)
        .bind(new.video_quality_mode)
        .bind(new.default_auto_archive_duration)
        .bind(new.flags)
        .bind($created)
        .bind(sqlx::types::Json(&new.available_tags))
        .bind(new.default_reaction.0)
        .bind(&new.default_reaction.1)
        .bind(new.default_thread_rate_limit_per_user)
        .bind(new.default_sort_order)
        .bind(new.default_forum_layout)
        .execute(&mut *$conn)
        .await?;
        for o in &new.overwrites {
            sqlx::query(
                "INSERT INTO permission_overwrites (channel_id, target_id, type, allow, deny) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new.id.as_i64())
            .bind(o.target_id.as_i64())
            .bind(o.kind)
            .bind(o.allow.bits() as i64)
            .bind(o.deny.bits() as i64)
            .execute(&mut *$conn)
            .await?;
        }
    }};
}
/// Runs the UPDATE of a [`ChannelPatch`] on the executor `$exec`, returning the updated row if it exists.
macro_rules! update_channel_row {
    ($exec:expr, $id:expr, $patch:expr) => {{
        let p: &$crate::channels::ChannelPatch = $patch;
        let id: ChannelId = $id;
        sqlx::query_as(concat!(
            "UPDATE channels SET \
             type = COALESCE($2, type), \
             name = CASE WHEN $3 THEN $4 ELSE name END, \
             topic = CASE WHEN $5 THEN $6 ELSE topic END, \
             position = COALESCE($7, position), \
             nsfw = COALESCE($8, nsfw), \
             parent_id = CASE WHEN $9 THEN $10 ELSE parent_id END, \
             bitrate = CASE WHEN $11 THEN $12 ELSE bitrate END, \
             user_limit = CASE WHEN $13 THEN $14 ELSE user_limit END, \
             rate_limit_per_user = COALESCE($15, rate_limit_per_user), \
             icon = CASE WHEN $16 THEN $17 ELSE icon END, \
             owner_id = COALESCE($18, owner_id), \
             rtc_region = CASE WHEN $19 THEN $20 ELSE rtc_region END, \
             video_quality_mode = CASE WHEN $21 THEN $22 ELSE video_quality_mode END, \
             default_auto_archive_duration = CASE WHEN $23 THEN $24 ELSE default_auto_archive_duration END, \
             flags = COALESCE($25, flags), \
             available_tags = COALESCE($26, available_tags), \
             default_reaction_emoji_id = CASE WHEN $27 THEN $28 ELSE default_reaction_emoji_id END, \
             default_reaction_emoji_name = CASE WHEN $27 THEN $29 ELSE default_reaction_emoji_name END, \
             default_thread_rate_limit_per_user = CASE WHEN $30 THEN $31 ELSE default_thread_rate_limit_per_user END, \
             default_sort_order = CASE WHEN $32 THEN $33 ELSE default_sort_order END, \
             default_forum_layout = CASE WHEN $34 THEN $35 ELSE default_forum_layout END \
             WHERE id = $1 RETURNING ",
            channel_columns!()
        ))
        .bind(id.as_i64())
        .bind(p.kind)
        .bind(p.name.is_some())
        .bind(p.name.clone().flatten())
        .bind(p.topic.is_some())
        .bind(p.topic.clone().flatten())
        .bind(p.position)
        .bind(p.nsfw)
        .bind(p.parent_id.is_some())
        .bind(p.parent_id.flatten().map(|c| c.as_i64()))
        .bind(p.bitrate.is_some())
        .bind(p.bitrate.flatten())
        .bind(p.user_limit.is_some())
        .bind(p.user_limit.flatten())
        .bind(p.rate_limit_per_user)
        .bind(p.icon.is_some())
        .bind(p.icon.clone().flatten())
        .bind(p.owner_id.map(|u| u.as_i64()))
        .bind(p.rtc_region.is_some())
        .bind(p.rtc_region.clone().flatten())
        .bind(p.video_quality_mode.is_some())
        .bind(p.video_quality_mode.flatten())
        .bind(p.default_auto_archive_duration.is_some())
        .bind(p.default_auto_archive_duration.flatten())
        .bind(p.flags)
        .bind(p.available_tags.as_ref().map(sqlx::types::Json))
        .bind(p.default_reaction.is_some())
        .bind(p.default_reaction.as_ref().and_then(|r| r.0))
        .bind(p.default_reaction.as_ref().and_then(|r| r.1.clone()))
        .bind(p.default_thread_rate_limit_per_user.is_some())
        .bind(p.default_thread_rate_limit_per_user.flatten())
        .bind(p.default_sort_order.is_some())
        .bind(p.default_sort_order.flatten())
        .bind(p.default_forum_layout.is_some())
        .bind(p.default_forum_layout.flatten())
        .fetch_optional($exec)
        .await?
    }};
}
pub(crate) use channel_columns;
pub(crate) use insert_guild_channel;

impl Store {
    /// Creates a channel in `guild` with its permission overwrites, in one transaction.
    pub async fn create_channel(&self, guild: GuildId, new: &NewChannel) -> Result<ChannelRecord> {
        let created = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            insert_guild_channel!(tx, guild.as_i64(), new, created);
            let row: ChannelRecord = sqlx::query_as(concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels WHERE id = $1"
            ))
            .bind(new.id.as_i64())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Creates a channel like [`Store::create_channel`] unless `guild` already has `max`
    /// channels (then `None`, writing nothing); the guild row is locked while counting so
    /// concurrent creations cannot pass the limit.
    pub async fn create_channel_limited(
        &self,
        guild: GuildId,
        new: &NewChannel,
        max: u32,
    ) -> Result<Option<ChannelRecord>> {
        let created = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE guilds SET max_members = max_members WHERE id = $1")
                .bind(guild.as_i64())
                .execute(&mut *tx)
                .await?;
            let count: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM channels WHERE guild_id = $1 AND type NOT IN (10, 11, 12)",
            )
            .bind(guild.as_i64())
            .fetch_one(&mut *tx)
            .await?;
            if count >= i64::from(max) {
                return Ok(None);
            }
            insert_guild_channel!(tx, guild.as_i64(), new, created);
            let row: ChannelRecord = sqlx::query_as(concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels WHERE id = $1"
            ))
            .bind(new.id.as_i64())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(row))
        })
    }

    /// A channel by id.
    pub async fn channel(&self, id: ChannelId) -> Result<Option<ChannelRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// The channels of a guild (threads aside), by position then id.
    pub async fn guild_channels(&self, guild: GuildId) -> Result<Vec<ChannelRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE guild_id = $1 AND type NOT IN (10, 11, 12) ORDER BY position, id"
        ))
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// Applies a patch and returns the updated channel.
    pub async fn update_channel(
        &self,
        id: ChannelId,
        patch: &ChannelPatch,
    ) -> Result<ChannelRecord> {
        dispatch!(self.db(), |pool| {
            let row: Option<ChannelRecord> = update_channel_row!(pool, id, patch);
            row.ok_or(StoreError::NotFound)
        })
    }

    /// Applies a patch and, when `overwrites` is given, replaces the channel's overwrites with
    /// them, in one transaction.
    pub async fn modify_channel(
        &self,
        id: ChannelId,
        patch: &ChannelPatch,
        overwrites: Option<&[NewOverwrite]>,
    ) -> Result<ChannelRecord> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let row: Option<ChannelRecord> = update_channel_row!(&mut *tx, id, patch);
            let row = row.ok_or(StoreError::NotFound)?;
            if let Some(list) = overwrites {
                replace_overwrites!(tx, id.as_i64(), list);
            }
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Applies several [`ChannelMove`]s to channels of `guild` in one transaction; fails with
    /// [`StoreError::NotFound`] (changing nothing) if one is not a channel of that guild.
    pub async fn arrange_channels(&self, guild: GuildId, moves: &[ChannelMove]) -> Result<()> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            for m in moves {
                let n = sqlx::query(
                    "UPDATE channels SET position = COALESCE($3, position), \
                     parent_id = CASE WHEN $4 THEN $5 ELSE parent_id END WHERE id = $1 AND guild_id = $2",
                )
                .bind(m.id.as_i64())
                .bind(guild.as_i64())
                .bind(m.position)
                .bind(m.parent_id.is_some())
                .bind(m.parent_id.flatten().map(|c| c.as_i64()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                if let Some(list) = &m.overwrites {
                    replace_overwrites!(tx, m.id.as_i64(), list);
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Sets the positions of several channels of `guild` in one transaction; fails with
    /// [`StoreError::NotFound`] (changing nothing) if one is not a channel of that guild.
    pub async fn set_channel_positions(
        &self,
        guild: GuildId,
        positions: &[(ChannelId, i32)],
    ) -> Result<()> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            for (channel, position) in positions {
                let n = sqlx::query(
                    "UPDATE channels SET position = $3 WHERE id = $1 AND guild_id = $2",
                )
                .bind(channel.as_i64())
                .bind(guild.as_i64())
                .bind(position)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes a channel (its messages, overwrites, invites, webhooks and recipients go with it).
    pub async fn delete_channel(&self, id: ChannelId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM channels WHERE id = $1"
        )
        .bind(id.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Deletes a channel of `guild` in one transaction: the guild's references to it are
    /// cleared, the channel's threads are deleted and the channels of a deleted category lose
    /// their parent (messages, overwrites, invites and webhooks go with the channel). [`StoreError::NotFound`] if it is not a
    /// channel of that guild.
    pub async fn delete_guild_channel(
        &self,
        guild: GuildId,
        id: ChannelId,
    ) -> Result<DeletedChannel> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let guild_changed = sqlx::query(
                "UPDATE guilds SET \
                 afk_channel_id = CASE WHEN afk_channel_id = $2 THEN NULL ELSE afk_channel_id END, \
                 system_channel_id = CASE WHEN system_channel_id = $2 THEN NULL ELSE system_channel_id END, \
                 rules_channel_id = CASE WHEN rules_channel_id = $2 THEN NULL ELSE rules_channel_id END, \
                 public_updates_channel_id = CASE WHEN public_updates_channel_id = $2 THEN NULL \
                 ELSE public_updates_channel_id END \
                 WHERE id = $1 AND $2 IN (afk_channel_id, system_channel_id, rules_channel_id, public_updates_channel_id)",
            )
            .bind(guild.as_i64())
            .bind(id.as_i64())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            // A channel's threads go with it.
            sqlx::query(
                "DELETE FROM channels WHERE parent_id = $1 AND guild_id = $2 AND type IN (10, 11, 12)",
            )
            .bind(id.as_i64())
            .bind(guild.as_i64())
            .execute(&mut *tx)
            .await?;
            let orphans: Vec<ChannelRecord> = sqlx::query_as(concat!(
                "UPDATE channels SET parent_id = NULL WHERE parent_id = $1 AND guild_id = $2 RETURNING ",
                channel_columns!()
            ))
            .bind(id.as_i64())
            .bind(guild.as_i64())
            .fetch_all(&mut *tx)
            .await?;
            let n = sqlx::query("DELETE FROM channels WHERE id = $1 AND guild_id = $2")
                .bind(id.as_i64())
                .bind(guild.as_i64())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
            Ok(DeletedChannel {
                orphans,
                guild_changed,
            })
        })
    }

    /// Sets (or clears) the newest message id of a channel.
    pub async fn set_last_message_id(
        &self,
        channel: ChannelId,
        message: Option<MessageId>,
    ) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "UPDATE channels SET last_message_id = $2 WHERE id = $1"
        )
        .bind(channel.as_i64())
        .bind(message.map(|m| m.as_i64()))
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
