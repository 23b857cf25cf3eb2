//! Threads: channels of types 10–12 under a text, announcement, forum or media channel, with
//! their thread-only fields (archive state, lock, counters) and their members.

use accord_model::{ChannelId, GuildId, MessageId, UserId};
use chrono::{DateTime, Utc};

use crate::channels::{ChannelRecord, channel_columns};
use crate::{Result, Store, StoreError, dispatch, now};

/// Message flag HAS_THREAD (1 << 5), set on a message a thread was started from.
const HAS_THREAD: i64 = 1 << 5;

/// What starting a thread writes.
#[derive(Debug, Clone)]
pub struct NewThread {
    /// Snowflake (the starter message's id for a thread started from a message).
    pub id: ChannelId,
    /// Guild.
    pub guild: GuildId,
    /// The channel it is started in.
    pub parent: ChannelId,
    /// 10, 11 or 12.
    pub kind: i32,
    /// Name.
    pub name: String,
    /// The creator (a user, or a webhook's id for a forum post made through a webhook).
    pub owner: UserId,
    /// Whether the creator is a user who joins it at once; otherwise `owner` is a webhook's id
    /// (kept as `owner_webhook_id`).
    pub owner_joins: bool,
    /// Minutes of inactivity before archiving.
    pub auto_archive_duration: i32,
    /// Slow mode in seconds.
    pub rate_limit_per_user: i32,
    /// Private threads: whether non-moderators may invite.
    pub invitable: Option<bool>,
    /// Age-restricted (inherited from the parent).
    pub nsfw: bool,
    /// The message it is started from: flagged HAS_THREAD in the same transaction.
    pub starter: Option<MessageId>,
    /// Forum and media posts: the ids of the parent's tags applied to it.
    pub applied_tags: Vec<i64>,
}

/// A thread member row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThreadMemberRecord {
    /// The thread.
    pub thread_id: i64,
    /// The user.
    pub user_id: i64,
    /// The thread's guild.
    pub guild_id: i64,
    /// When the user joined.
    pub join_timestamp: DateTime<Utc>,
    /// User-thread settings.
    pub flags: i64,
}

/// A change to a thread's own fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ThreadPatch {
    /// New name.
    pub name: Option<String>,
    /// Archive or unarchive (moves `archive_timestamp`).
    pub archived: Option<bool>,
    /// New auto-archive duration (moves `archive_timestamp`).
    pub auto_archive_duration: Option<i32>,
    /// Lock or unlock.
    pub locked: Option<bool>,
    /// Private threads: invitable.
    pub invitable: Option<bool>,
    /// Slow mode.
    pub rate_limit_per_user: Option<i32>,
    /// Channel flags.
    pub flags: Option<i64>,
    /// Forum and media posts: the tags applied (replacing the current ones).
    pub applied_tags: Option<Vec<i64>>,
}

impl ThreadPatch {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.archived.is_none()
            && self.auto_archive_duration.is_none()
            && self.locked.is_none()
            && self.invitable.is_none()
            && self.rate_limit_per_user.is_none()
            && self.flags.is_none()
            && self.applied_tags.is_none()
    }
}

/// The thread member columns.
macro_rules! member_columns {
    () => {
        "thread_id, user_id, guild_id, join_timestamp, flags"
    };
}

/// Removes `user` from every thread of `guild` on `$conn`, keeping the threads' member counts
/// (the member left or was banned).
macro_rules! leave_guild_threads {
    ($conn:expr, $guild:expr, $user:expr) => {{
        sqlx::query(
            "UPDATE channels SET member_count = member_count - 1 WHERE id IN \
             (SELECT thread_id FROM thread_members WHERE guild_id = $1 AND user_id = $2)",
        )
        .bind($guild)
        .bind($user)
        .execute(&mut *$conn)
        .await?;
        sqlx::query("DELETE FROM thread_members WHERE guild_id = $1 AND user_id = $2")
            .bind($guild)
            .bind($user)
            .execute(&mut *$conn)
            .await?;
    }};
}
pub(crate) use leave_guild_threads;

impl Store {
    /// Starts a thread and (when `owner_joins`) makes its creator its first member, in one
    /// transaction, unless the
    /// guild already has `max_active` active threads (then `Ok(None)`, writing nothing).
    /// [`StoreError::Conflict`] if the id is taken (a thread was already started from that
    /// message).
    pub async fn create_thread(
        &self,
        new: &NewThread,
        max_active: u32,
    ) -> Result<Option<(ChannelRecord, Option<ThreadMemberRecord>)>> {
        let at = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            // Serialises thread creation per guild, so the count below holds.
            sqlx::query("UPDATE guilds SET max_members = max_members WHERE id = $1")
                .bind(new.guild.as_i64())
                .execute(&mut *tx)
                .await?;
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM channels WHERE guild_id = $1 AND type IN (10, 11, 12) AND NOT archived",
            )
            .bind(new.guild.as_i64())
            .fetch_one(&mut *tx)
            .await?;
            if active >= i64::from(max_active) {
                return Ok(None);
            }
            sqlx::query(
                "INSERT INTO channels (id, type, guild_id, position, name, nsfw, parent_id, owner_id, \
                 rate_limit_per_user, flags, created_at, archived, auto_archive_duration, archive_timestamp, \
                 locked, invitable, member_count, owner_webhook_id, applied_tags) \
                 VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, 0, $9, FALSE, $10, $9, FALSE, $11, $12, $13, $14)",
            )
            .bind(new.id.as_i64())
            .bind(new.kind)
            .bind(new.guild.as_i64())
            .bind(&new.name)
            .bind(new.nsfw)
            .bind(new.parent.as_i64())
            .bind(new.owner_joins.then_some(new.owner.as_i64()))
            .bind(new.rate_limit_per_user)
            .bind(at)
            .bind(new.auto_archive_duration)
            .bind(new.invitable)
            .bind(i32::from(new.owner_joins))
            .bind((!new.owner_joins).then_some(new.owner.as_i64()))
            .bind(sqlx::types::Json(&new.applied_tags))
            .execute(&mut *tx)
            .await?;
            let member: Option<ThreadMemberRecord> = if new.owner_joins {
                Some(
                    sqlx::query_as(concat!(
                        "INSERT INTO thread_members (thread_id, user_id, guild_id, join_timestamp, flags) \
                         VALUES ($1, $2, $3, $4, 0) RETURNING ",
                        member_columns!()
                    ))
                    .bind(new.id.as_i64())
                    .bind(new.owner.as_i64())
                    .bind(new.guild.as_i64())
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?,
                )
            } else {
                None
            };
            if let Some(m) = new.starter {
                sqlx::query("UPDATE messages SET flags = flags | $2 WHERE id = $1")
                    .bind(m.as_i64())
                    .bind(HAS_THREAD)
                    .execute(&mut *tx)
                    .await?;
            }
            let row: ChannelRecord = sqlx::query_as(concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels WHERE id = $1"
            ))
            .bind(new.id.as_i64())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some((row, member)))
        })
    }

    /// Changes a thread's own fields; `archive_timestamp` moves when the archive state or the
    /// auto-archive duration changes, and archiving unpins it (flag PINNED, 1 << 1).
    pub async fn update_thread(&self, id: ChannelId, p: &ThreadPatch) -> Result<ChannelRecord> {
        let at = now();
        dispatch!(self.db(), |pool| {
            let row: Option<ChannelRecord> = sqlx::query_as(concat!(
                "UPDATE channels SET \
                 name = COALESCE($2, name), \
                 archive_timestamp = CASE WHEN ($3 IS NOT NULL AND $3 <> archived) OR \
                 ($4 IS NOT NULL AND $4 <> COALESCE(auto_archive_duration, 0)) THEN $9 ELSE archive_timestamp END, \
                 archived = COALESCE($3, archived), \
                 auto_archive_duration = COALESCE($4, auto_archive_duration), \
                 locked = COALESCE($5, locked), \
                 invitable = CASE WHEN type = 12 THEN COALESCE($6, invitable) ELSE invitable END, \
                 rate_limit_per_user = COALESCE($7, rate_limit_per_user), \
                 flags = CASE WHEN $3 THEN COALESCE($8, flags) & ~2 ELSE COALESCE($8, flags) END, \
                 applied_tags = COALESCE($10, applied_tags) \
                 WHERE id = $1 AND type IN (10, 11, 12) RETURNING ",
                channel_columns!()
            ))
            .bind(id.as_i64())
            .bind(&p.name)
            .bind(p.archived)
            .bind(p.auto_archive_duration)
            .bind(p.locked)
            .bind(p.invitable)
            .bind(p.rate_limit_per_user)
            .bind(p.flags)
            .bind(at)
            .bind(p.applied_tags.as_ref().map(sqlx::types::Json))
            .fetch_optional(pool)
            .await?;
            row.ok_or(StoreError::NotFound)
        })
    }

    /// The active (unarchived) threads of a guild, oldest first.
    pub async fn active_threads(&self, guild: GuildId) -> Result<Vec<ChannelRecord>> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE guild_id = $1 AND type IN (10, 11, 12) AND NOT archived ORDER BY id"
        ))
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?)
        })
    }

    /// Every active thread of every guild (the auto-archive sweep).
    pub async fn all_active_threads(&self) -> Result<Vec<ChannelRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE type IN (10, 11, 12) AND NOT archived ORDER BY id"
        ))
        .fetch_all(pool)
        .await?))
    }

    /// Archived threads of `parent` of the given types, most recently archived first, archived
    /// before `before`; at most `limit`.
    pub async fn archived_threads(
        &self,
        parent: ChannelId,
        kinds: &[i32],
        before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<ChannelRecord>> {
        let (a, b) = (
            kinds.first().copied().unwrap_or(-1),
            kinds.get(1).copied().unwrap_or(-1),
        );
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE parent_id = $1 AND type IN ($2, $3) AND archived \
             AND ($4 IS NULL OR archive_timestamp < $4) ORDER BY archive_timestamp DESC, id DESC LIMIT $5"
        ))
        .bind(parent.as_i64())
        .bind(a)
        .bind(b)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?)
        })
    }

    /// Archived private threads of `parent` that `user` is a member of, newest id first,
    /// with ids below `before`; at most `limit`.
    pub async fn joined_archived_private_threads(
        &self,
        parent: ChannelId,
        user: UserId,
        before: Option<ChannelId>,
        limit: u32,
    ) -> Result<Vec<ChannelRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE parent_id = $1 AND type = 12 AND archived \
             AND id IN (SELECT thread_id FROM thread_members WHERE user_id = $2) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(parent.as_i64())
        .bind(user.as_i64())
        .bind(before.map(|b| b.as_i64()))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?))
    }

    /// Adds `user` to a thread; `None` if they already were a member.
    pub async fn add_thread_member(
        &self,
        thread: ChannelId,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<ThreadMemberRecord>> {
        let at = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let added: Option<ThreadMemberRecord> = sqlx::query_as(concat!(
                "INSERT INTO thread_members (thread_id, user_id, guild_id, join_timestamp, flags) \
                 VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING RETURNING ",
                member_columns!()
            ))
            .bind(thread.as_i64())
            .bind(user.as_i64())
            .bind(guild.as_i64())
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            if added.is_some() {
                sqlx::query("UPDATE channels SET member_count = member_count + 1 WHERE id = $1")
                    .bind(thread.as_i64())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(added)
        })
    }

    /// Removes `user` from a thread; false if they were not a member.
    pub async fn remove_thread_member(&self, thread: ChannelId, user: UserId) -> Result<bool> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("DELETE FROM thread_members WHERE thread_id = $1 AND user_id = $2")
                .bind(thread.as_i64())
                .bind(user.as_i64())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                sqlx::query("UPDATE channels SET member_count = member_count - 1 WHERE id = $1")
                    .bind(thread.as_i64())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    /// One thread member.
    pub async fn thread_member(
        &self,
        thread: ChannelId,
        user: UserId,
    ) -> Result<Option<ThreadMemberRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            member_columns!(),
            " FROM thread_members WHERE thread_id = $1 AND user_id = $2"
        ))
        .bind(thread.as_i64())
        .bind(user.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// A thread's members by user id, after `after`; at most `limit`.
    pub async fn thread_members(
        &self,
        thread: ChannelId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<ThreadMemberRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            member_columns!(),
            " FROM thread_members WHERE thread_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3"
        ))
        .bind(thread.as_i64())
        .bind(after.map_or(0, |a| a.as_i64()))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?))
    }

    /// `user`'s memberships in the threads of `guild`.
    pub async fn user_thread_memberships(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Vec<ThreadMemberRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            member_columns!(),
            " FROM thread_members WHERE guild_id = $1 AND user_id = $2"
        ))
        .bind(guild.as_i64())
        .bind(user.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// Counts a deleted message out of its thread's `message_count` (a no-op for other
    /// channels).
    pub async fn thread_message_deleted(&self, thread: ChannelId, count: i32) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query(
                "UPDATE channels SET message_count = CASE WHEN message_count > $2 THEN message_count - $2 ELSE 0 END \
                 WHERE id = $1 AND type IN (10, 11, 12)",
            )
            .bind(thread.as_i64())
            .bind(count)
            .execute(pool)
            .await?;
            Ok(())
        })
    }
}
