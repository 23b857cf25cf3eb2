//! Custom guild emojis and the roles allowed to use them.

use std::collections::HashMap;

use accord_model::{EmojiId, GuildId, RoleId, UserId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// An emoji row with the ids of the roles allowed to use it (empty = everyone).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmojiRecord {
    /// Snowflake.
    pub id: i64,
    /// Guild.
    pub guild_id: i64,
    /// Name.
    pub name: String,
    /// Uploader.
    pub user_id: Option<i64>,
    /// Must be wrapped in colons.
    pub require_colons: bool,
    /// Managed by an integration.
    pub managed: bool,
    /// Animated.
    pub animated: bool,
    /// Usable (false when boosts lapse).
    pub available: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Allowed role ids, ascending.
    #[sqlx(skip)]
    pub roles: Vec<i64>,
}

impl EmojiRecord {
    /// The typed id.
    pub fn emoji_id(&self) -> EmojiId {
        EmojiId::from_i64(self.id)
    }
}

/// What creating an emoji writes.
#[derive(Debug, Clone)]
pub struct NewEmoji {
    /// Snowflake.
    pub id: EmojiId,
    /// Guild.
    pub guild_id: GuildId,
    /// Name.
    pub name: String,
    /// Uploader.
    pub user_id: Option<UserId>,
    /// Animated.
    pub animated: bool,
    /// Allowed roles (empty = everyone).
    pub roles: Vec<RoleId>,
}

/// A partial update; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct EmojiPatch {
    /// Name.
    pub name: Option<String>,
    /// Replaces the allowed roles.
    pub roles: Option<Vec<RoleId>>,
}

macro_rules! emoji_columns {
    () => {
        "id, guild_id, name, user_id, require_colons, managed, animated, available, created_at"
    };
}

/// Inserts the allowed roles of emoji `$id` on `$conn`.
macro_rules! insert_emoji_roles {
    ($conn:expr, $id:expr, $roles:expr) => {{
        for role in $roles {
            sqlx::query("INSERT INTO emoji_roles (emoji_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind($id)
                .bind(role.as_i64())
                .execute(&mut *$conn)
                .await?;
        }
    }};
}

impl Store {
    /// Creates an emoji with its allowed roles in one transaction.
    pub async fn create_emoji(&self, new: &NewEmoji) -> Result<EmojiRecord> {
        let id = new.id.as_i64();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO emojis (id, guild_id, name, user_id, animated, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(new.guild_id.as_i64())
            .bind(&new.name)
            .bind(new.user_id.map(|u| u.as_i64()))
            .bind(new.animated)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            insert_emoji_roles!(tx, id, &new.roles);
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.emoji(new.guild_id, new.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// An emoji of a guild, with its roles.
    pub async fn emoji(&self, guild: GuildId, id: EmojiId) -> Result<Option<EmojiRecord>> {
        let (row, roles): (Option<EmojiRecord>, Vec<i64>) = dispatch!(self.db(), |pool| {
            let row = sqlx::query_as(concat!(
                "SELECT ",
                emoji_columns!(),
                " FROM emojis WHERE id = $1 AND guild_id = $2"
            ))
            .bind(id.as_i64())
            .bind(guild.as_i64())
            .fetch_optional(pool)
            .await?;
            let roles = sqlx::query_scalar(
                "SELECT role_id FROM emoji_roles WHERE emoji_id = $1 ORDER BY role_id",
            )
            .bind(id.as_i64())
            .fetch_all(pool)
            .await?;
            (row, roles)
        });
        Ok(row.map(|e| EmojiRecord { roles, ..e }))
    }

    /// The emojis of a guild by id, with their roles.
    pub async fn guild_emojis(&self, guild: GuildId) -> Result<Vec<EmojiRecord>> {
        let (mut rows, roles): (Vec<EmojiRecord>, Vec<(i64, i64)>) = dispatch!(self.db(), |pool| {
            let rows = sqlx::query_as(concat!(
                "SELECT ",
                emoji_columns!(),
                " FROM emojis WHERE guild_id = $1 ORDER BY id"
            ))
            .bind(guild.as_i64())
            .fetch_all(pool)
            .await?;
            let roles = sqlx::query_as(
                "SELECT emoji_id, role_id FROM emoji_roles WHERE emoji_id IN \
                 (SELECT id FROM emojis WHERE guild_id = $1) ORDER BY emoji_id, role_id",
            )
            .bind(guild.as_i64())
            .fetch_all(pool)
            .await?;
            (rows, roles)
        });
        let index: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        for (emoji, role) in roles {
            if let Some(&i) = index.get(&emoji) {
                rows[i].roles.push(role);
            }
        }
        Ok(rows)
    }

    /// Renames an emoji and/or replaces its roles, in one transaction.
    pub async fn update_emoji(
        &self,
        guild: GuildId,
        id: EmojiId,
        patch: &EmojiPatch,
    ) -> Result<EmojiRecord> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE emojis SET name = COALESCE($3, name) WHERE id = $1 AND guild_id = $2",
            )
            .bind(id.as_i64())
            .bind(guild.as_i64())
            .bind(&patch.name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(roles) = &patch.roles {
                sqlx::query("DELETE FROM emoji_roles WHERE emoji_id = $1")
                    .bind(id.as_i64())
                    .execute(&mut *tx)
                    .await?;
                insert_emoji_roles!(tx, id.as_i64(), roles);
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.emoji(guild, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes an emoji of a guild.
    pub async fn delete_emoji(&self, guild: GuildId, id: EmojiId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM emojis WHERE id = $1 AND guild_id = $2"
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
}
