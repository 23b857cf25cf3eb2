//! Invites.

use accord_model::{ChannelId, GuildId, UserId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// An invite row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InviteRecord {
    /// The code in the URL.
    pub code: String,
    /// Guild it leads to (None for group DM invites).
    pub guild_id: Option<i64>,
    /// Channel it leads to.
    pub channel_id: i64,
    /// Who made it.
    pub inviter_id: Option<i64>,
    /// Target type (1 stream, 2 embedded application).
    pub target_type: Option<i32>,
    /// Target user for stream invites.
    pub target_user_id: Option<i64>,
    /// Target application for activity invites.
    pub target_application_id: Option<i64>,
    /// Lifetime in seconds (0 = forever).
    pub max_age: i32,
    /// Most uses (0 = unlimited).
    pub max_uses: i32,
    /// Uses so far.
    pub uses: i32,
    /// Whether membership is temporary.
    pub temporary: bool,
    /// Invite flags.
    pub flags: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry (None = never).
    pub expires_at: Option<DateTime<Utc>>,
}

/// What creating an invite writes.
#[derive(Debug, Clone)]
pub struct NewInvite {
    /// The code.
    pub code: String,
    /// Guild.
    pub guild_id: Option<GuildId>,
    /// Channel.
    pub channel_id: ChannelId,
    /// Creator.
    pub inviter_id: Option<UserId>,
    /// Lifetime in seconds (0 = forever).
    pub max_age: i32,
    /// Most uses (0 = unlimited).
    pub max_uses: i32,
    /// Temporary membership.
    pub temporary: bool,
}

macro_rules! invite_columns {
    () => {
        "code, guild_id, channel_id, inviter_id, target_type, target_user_id, target_application_id, max_age, max_uses, uses, temporary, flags, created_at, expires_at"
    };
}

impl Store {
    /// Creates an invite.
    pub async fn create_invite(&self, new: &NewInvite) -> Result<InviteRecord> {
        let created = now();
        let expires =
            (new.max_age > 0).then(|| created + chrono::Duration::seconds(new.max_age.into()));
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(concat!(
            "INSERT INTO invites (code, guild_id, channel_id, inviter_id, max_age, max_uses, temporary, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            invite_columns!()
        ))
        .bind(&new.code)
        .bind(new.guild_id.map(|g| g.as_i64()))
        .bind(new.channel_id.as_i64())
        .bind(new.inviter_id.map(|u| u.as_i64()))
        .bind(new.max_age)
        .bind(new.max_uses)
        .bind(new.temporary)
        .bind(created)
        .bind(expires)
        .fetch_one(pool)
        .await?)
        })
    }

    /// An invite by code.
    pub async fn invite(&self, code: &str) -> Result<Option<InviteRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            invite_columns!(),
            " FROM invites WHERE code = $1"
        ))
        .bind(code)
        .fetch_optional(pool)
        .await?))
    }

    /// Whether the invite exists, has not expired and has uses left.
    pub async fn invite_usable(&self, code: &str) -> Result<bool> {
        let Some(invite) = self.invite(code).await? else {
            return Ok(false);
        };
        let expired = invite.expires_at.is_some_and(|at| at <= Utc::now());
        let used_up = invite.max_uses > 0 && invite.uses >= invite.max_uses;
        Ok(!expired && !used_up)
    }

    /// The invites of a guild, oldest first.
    pub async fn guild_invites(&self, guild: GuildId) -> Result<Vec<InviteRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            invite_columns!(),
            " FROM invites WHERE guild_id = $1 ORDER BY created_at, code"
        ))
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// The invites of a channel, oldest first.
    pub async fn channel_invites(&self, channel: ChannelId) -> Result<Vec<InviteRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            invite_columns!(),
            " FROM invites WHERE channel_id = $1 ORDER BY created_at, code"
        ))
        .bind(channel.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// Deletes an invite and returns what it was.
    pub async fn delete_invite(&self, code: &str) -> Result<InviteRecord> {
        let row: Option<InviteRecord> = dispatch!(self.db(), |pool| sqlx::query_as(concat!(
            "DELETE FROM invites WHERE code = $1 RETURNING ",
            invite_columns!()
        ))
        .bind(code)
        .fetch_optional(pool)
        .await?);
        row.ok_or(StoreError::NotFound)
    }

    /// Counts one use of an invite if, and only if, it exists, has not expired and has uses
    /// left — in a single statement, so concurrent joins cannot exceed `max_uses`. Returns
    /// whether the use was counted.
    pub async fn use_invite(&self, code: &str) -> Result<bool> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "UPDATE invites SET uses = uses + 1 WHERE code = $1 \
             AND (expires_at IS NULL OR expires_at > $2) AND (max_uses = 0 OR uses < max_uses)"
        )
        .bind(code)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Gives back one use counted by [`Store::use_invite`] (when the join it was counted for
    /// failed), never going below zero.
    pub async fn release_invite_use(&self, code: &str) -> Result<()> {
        dispatch!(self.db(), |pool| sqlx::query(
            "UPDATE invites SET uses = uses - 1 WHERE code = $1 AND uses > 0"
        )
        .bind(code)
        .execute(pool)
        .await
        .map(|_| ())?);
        Ok(())
    }

    /// Deletes every expired invite; returns how many went.
    pub async fn delete_expired_invites(&self) -> Result<u64> {
        dispatch!(self.db(), |pool| Ok(sqlx::query(
            "DELETE FROM invites WHERE expires_at IS NOT NULL AND expires_at <= $1"
        )
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()))
    }
}
