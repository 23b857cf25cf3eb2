//! Guild roles (the @everyone role shares its guild's id).

use accord_model::{GuildId, Permissions, RoleId, UserId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// A role row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RoleRecord {
    /// Snowflake.
    pub id: i64,
    /// Guild.
    pub guild_id: i64,
    /// Name.
    pub name: String,
    /// Colour as an RGB integer (0 = none).
    pub color: i32,
    /// Shown separately in the member list.
    pub hoist: bool,
    /// Icon hash.
    pub icon: Option<String>,
    /// Unicode emoji shown as the icon.
    pub unicode_emoji: Option<String>,
    /// Position in the hierarchy.
    pub position: i32,
    /// Permission bits.
    pub permissions: i64,
    /// Managed by an integration or bot.
    pub managed: bool,
    /// Whether anyone may mention it.
    pub mentionable: bool,
    /// Role flags.
    pub flags: i32,
    /// The bot this role belongs to (managed bot roles).
    pub bot_id: Option<i64>,
    /// The integration this role belongs to.
    pub integration_id: Option<i64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl RoleRecord {
    /// The typed id.
    pub fn role_id(&self) -> RoleId {
        RoleId::from_i64(self.id)
    }

    /// The permissions.
    pub fn permissions(&self) -> Permissions {
        Permissions::from_bits_truncate(self.permissions as u64)
    }
}

/// What creating a role writes.
#[derive(Debug, Clone)]
pub struct NewRole {
    /// Snowflake.
    pub id: RoleId,
    /// Guild.
    pub guild_id: GuildId,
    /// Name.
    pub name: String,
    /// Colour.
    pub color: i32,
    /// Hoisted.
    pub hoist: bool,
    /// Icon hash.
    pub icon: Option<String>,
    /// Unicode emoji.
    pub unicode_emoji: Option<String>,
    /// Position.
    pub position: i32,
    /// Permissions.
    pub permissions: Permissions,
    /// Mentionable.
    pub mentionable: bool,
    /// Managed.
    pub managed: bool,
    /// The bot of a managed bot role.
    pub bot_id: Option<UserId>,
}

impl NewRole {
    /// A plain role with no permissions at position 1.
    pub fn new(id: RoleId, guild_id: GuildId, name: impl Into<String>) -> Self {
        Self {
            id,
            guild_id,
            name: name.into(),
            color: 0,
            hoist: false,
            icon: None,
            unicode_emoji: None,
            position: 1,
            permissions: Permissions::empty(),
            mentionable: false,
            managed: false,
            bot_id: None,
        }
    }
}

/// A partial update; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    /// Name.
    pub name: Option<String>,
    /// Colour.
    pub color: Option<i32>,
    /// Hoisted.
    pub hoist: Option<bool>,
    /// Icon hash.
    pub icon: Option<Option<String>>,
    /// Unicode emoji.
    pub unicode_emoji: Option<Option<String>>,
    /// Permissions.
    pub permissions: Option<Permissions>,
    /// Mentionable.
    pub mentionable: Option<bool>,
}

/// The column list of `roles`, in [`RoleRecord`]'s order.
macro_rules! role_columns {
    () => {
        "id, guild_id, name, color, hoist, icon, unicode_emoji, position, permissions, managed, mentionable, flags, bot_id, integration_id, created_at"
    };
}

impl Store {
    /// Creates a role.
    pub async fn create_role(&self, new: &NewRole) -> Result<RoleRecord> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(concat!(
            "INSERT INTO roles (id, guild_id, name, color, hoist, icon, unicode_emoji, position, permissions, \
             mentionable, managed, bot_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             RETURNING ",
            role_columns!()
        ))
        .bind(new.id.as_i64())
        .bind(new.guild_id.as_i64())
        .bind(&new.name)
        .bind(new.color)
        .bind(new.hoist)
        .bind(&new.icon)
        .bind(&new.unicode_emoji)
        .bind(new.position)
        .bind(new.permissions.bits() as i64)
        .bind(new.mentionable)
        .bind(new.managed)
        .bind(new.bot_id.map(|u| u.as_i64()))
        .bind(now())
        .fetch_one(pool)
        .await?)
        })
    }

    /// Creates a role at `new.position` in one transaction, first moving every other role of the
    /// guild at that position or above (never @everyone) one place up. Returns the new role and
    /// the roles that moved, with their new positions.
    pub async fn insert_role(&self, new: &NewRole) -> Result<(RoleRecord, Vec<RoleRecord>)> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let shifted: Vec<RoleRecord> = sqlx::query_as(concat!(
                "UPDATE roles SET position = position + 1 \
                 WHERE guild_id = $1 AND id <> $1 AND position >= $2 RETURNING ",
                role_columns!()
            ))
            .bind(new.guild_id.as_i64())
            .bind(new.position)
            .fetch_all(&mut *tx)
            .await?;
            let role: RoleRecord = sqlx::query_as(concat!(
                "INSERT INTO roles (id, guild_id, name, color, hoist, icon, unicode_emoji, position, permissions, \
                 mentionable, managed, bot_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 RETURNING ",
                role_columns!()
            ))
            .bind(new.id.as_i64())
            .bind(new.guild_id.as_i64())
            .bind(&new.name)
            .bind(new.color)
            .bind(new.hoist)
            .bind(&new.icon)
            .bind(&new.unicode_emoji)
            .bind(new.position)
            .bind(new.permissions.bits() as i64)
            .bind(new.mentionable)
            .bind(new.managed)
            .bind(new.bot_id.map(|u| u.as_i64()))
            .bind(now())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            let mut shifted = shifted;
            shifted.sort_by_key(|r| (r.position, r.id));
            Ok((role, shifted))
        })
    }

    /// The roles of a guild, by position then id.
    pub async fn guild_roles(&self, guild: GuildId) -> Result<Vec<RoleRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            role_columns!(),
            " FROM roles WHERE guild_id = $1 ORDER BY position, id"
        ))
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// How many members hold each role of a guild that at least one member holds (@everyone
    /// is never counted), as (role id, members).
    pub async fn role_member_counts(&self, guild: GuildId) -> Result<Vec<(i64, i64)>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(
            "SELECT role_id, COUNT(*) FROM member_roles WHERE guild_id = $1 GROUP BY role_id"
        )
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// A role of a guild.
    pub async fn role(&self, guild: GuildId, id: RoleId) -> Result<Option<RoleRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            role_columns!(),
            " FROM roles WHERE id = $1 AND guild_id = $2"
        ))
        .bind(id.as_i64())
        .bind(guild.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// Applies a patch to a role of a guild and returns the updated role.
    pub async fn update_role(
        &self,
        guild: GuildId,
        id: RoleId,
        patch: &RolePatch,
    ) -> Result<RoleRecord> {
        let p = patch;
        dispatch!(self.db(), |pool| {
            let row: Option<RoleRecord> = sqlx::query_as(concat!(
                "UPDATE roles SET \
                 name = COALESCE($3, name), \
                 color = COALESCE($4, color), \
                 hoist = COALESCE($5, hoist), \
                 icon = CASE WHEN $6 THEN $7 ELSE icon END, \
                 unicode_emoji = CASE WHEN $8 THEN $9 ELSE unicode_emoji END, \
                 permissions = COALESCE($10, permissions), \
                 mentionable = COALESCE($11, mentionable) \
                 WHERE id = $1 AND guild_id = $2 RETURNING ",
                role_columns!()
            ))
            .bind(id.as_i64())
            .bind(guild.as_i64())
            .bind(&p.name)
            .bind(p.color)
            .bind(p.hoist)
            .bind(p.icon.is_some())
            .bind(p.icon.clone().flatten())
            .bind(p.unicode_emoji.is_some())
            .bind(p.unicode_emoji.clone().flatten())
            .bind(p.permissions.map(|b| b.bits() as i64))
            .bind(p.mentionable)
            .fetch_optional(pool)
            .await?;
            row.ok_or(StoreError::NotFound)
        })
    }

    /// Deletes a role of a guild (members lose it).
    pub async fn delete_role(&self, guild: GuildId, id: RoleId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM roles WHERE id = $1 AND guild_id = $2"
        )
        .bind(id.as_i64())
        .bind(guild.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Sets the positions of several roles of `guild` in one transaction and returns the
    /// guild's roles; fails with [`StoreError::NotFound`] (changing nothing) if one is not a
    /// role of that guild.
    pub async fn set_role_positions(
        &self,
        guild: GuildId,
        positions: &[(RoleId, i32)],
    ) -> Result<Vec<RoleRecord>> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            for (role, position) in positions {
                let n =
                    sqlx::query("UPDATE roles SET position = $3 WHERE id = $1 AND guild_id = $2")
                        .bind(role.as_i64())
                        .bind(guild.as_i64())
                        .bind(position)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
            }
            let roles: Vec<RoleRecord> = sqlx::query_as(concat!(
                "SELECT ",
                role_columns!(),
                " FROM roles WHERE guild_id = $1 ORDER BY position, id"
            ))
            .bind(guild.as_i64())
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(roles)
        })
    }
}
