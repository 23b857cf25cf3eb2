//! Channel permission overwrites (one per channel and role or member).

use accord_model::{ChannelId, GenericId, GuildId, Permissions};

use crate::{Result, Store, StoreError, dispatch};

/// Overwrite type of a role target.
pub const OVERWRITE_ROLE: i32 = 0;
/// Overwrite type of a member target.
pub const OVERWRITE_MEMBER: i32 = 1;

/// A `permission_overwrites` row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OverwriteRecord {
    /// Channel.
    pub channel_id: i64,
    /// Role or user id.
    pub target_id: i64,
    /// 0 = role, 1 = member.
    #[sqlx(rename = "type")]
    pub kind: i32,
    /// Allowed bits.
    pub allow: i64,
    /// Denied bits.
    pub deny: i64,
}

impl OverwriteRecord {
    /// The allowed permissions.
    pub fn allow(&self) -> Permissions {
        Permissions::from_bits_truncate(self.allow as u64)
    }

    /// The denied permissions.
    pub fn deny(&self) -> Permissions {
        Permissions::from_bits_truncate(self.deny as u64)
    }
}

/// What writing an overwrite stores.
#[derive(Debug, Clone)]
pub struct NewOverwrite {
    /// Role or user id.
    pub target_id: GenericId,
    /// 0 = role, 1 = member.
    pub kind: i32,
    /// Allowed bits.
    pub allow: Permissions,
    /// Denied bits.
    pub deny: Permissions,
}

/// Replaces every overwrite of the channel `$channel` (an `i64`) with `$list` on `$conn` (a
/// transaction), for the channel routes that set all of a channel's overwrites at once.
macro_rules! replace_overwrites {
    ($conn:expr, $channel:expr, $list:expr) => {{
        let channel: i64 = $channel;
        let list: &[$crate::overwrites::NewOverwrite] = $list;
        sqlx::query("DELETE FROM permission_overwrites WHERE channel_id = $1")
            .bind(channel)
            .execute(&mut *$conn)
            .await?;
        for o in list {
            sqlx::query(
                "INSERT INTO permission_overwrites (channel_id, target_id, type, allow, deny) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(channel)
            .bind(o.target_id.as_i64())
            .bind(o.kind)
            .bind(o.allow.bits() as i64)
            .bind(o.deny.bits() as i64)
            .execute(&mut *$conn)
            .await?;
        }
    }};
}
pub(crate) use replace_overwrites;

impl Store {
    /// Creates or replaces the overwrite of `target` on `channel`.
    pub async fn upsert_overwrite(
        &self,
        channel: ChannelId,
        o: &NewOverwrite,
    ) -> Result<OverwriteRecord> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(
            "INSERT INTO permission_overwrites (channel_id, target_id, type, allow, deny) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (channel_id, target_id) DO UPDATE SET type = excluded.type, allow = excluded.allow, \
             deny = excluded.deny RETURNING channel_id, target_id, type, allow, deny"
        )
        .bind(channel.as_i64())
        .bind(o.target_id.as_i64())
        .bind(o.kind)
        .bind(o.allow.bits() as i64)
        .bind(o.deny.bits() as i64)
        .fetch_one(pool)
        .await?)
        })
    }

    /// Deletes the overwrite of `target` on `channel`.
    pub async fn delete_overwrite(&self, channel: ChannelId, target: GenericId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM permission_overwrites WHERE channel_id = $1 AND target_id = $2"
        )
        .bind(channel.as_i64())
        .bind(target.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The overwrites of a channel, by target id.
    pub async fn channel_overwrites(&self, channel: ChannelId) -> Result<Vec<OverwriteRecord>> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(
            "SELECT channel_id, target_id, type, allow, deny FROM permission_overwrites WHERE channel_id = $1 \
             ORDER BY target_id"
        )
        .bind(channel.as_i64())
        .fetch_all(pool)
        .await?)
        })
    }

    /// The overwrites of every channel of a guild, by channel then target id (for computing
    /// permissions across the guild at once).
    pub async fn guild_overwrites(&self, guild: GuildId) -> Result<Vec<OverwriteRecord>> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(
            "SELECT channel_id, target_id, type, allow, deny FROM permission_overwrites WHERE channel_id IN \
             (SELECT id FROM channels WHERE guild_id = $1) ORDER BY channel_id, target_id"
        )
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?)
        })
    }
}
