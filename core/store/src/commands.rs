//! Application commands (global and per guild) and their permissions in guilds.

use accord_model::{ApplicationId, CommandId, GuildId};

use crate::{Result, Store, StoreError, dispatch};

/// An application command row; `data` is the whole command object as JSON (the columns are
/// copies of its fields, for lookups).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommandRecord {
    /// Snowflake.
    pub id: i64,
    /// Its application.
    pub application_id: i64,
    /// The guild of a guild command; `None` for a global one.
    pub guild_id: Option<i64>,
    /// 1 CHAT_INPUT, 2 USER, 3 MESSAGE, 4 PRIMARY_ENTRY_POINT.
    pub kind: i32,
    /// Name (unique per application, scope and type).
    pub name: String,
    /// Version snowflake, new on every change.
    pub version: i64,
    /// Description, localizations, options, permissions, contexts... as JSON.
    pub data: String,
}

impl CommandRecord {
    /// The typed id.
    pub fn command_id(&self) -> CommandId {
        CommandId::from_i64(self.id)
    }
}

macro_rules! command_columns {
    () => {
        "id, application_id, guild_id, kind, name, version, data"
    };
}

fn scope(guild: Option<GuildId>) -> i64 {
    guild.map_or(0, GuildId::as_i64)
}

impl Store {
    /// The commands of `app` in `guild` (`None`: its global commands), oldest first.
    pub async fn commands(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
    ) -> Result<Vec<CommandRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            command_columns!(),
            " FROM application_commands WHERE application_id = $1 AND scope = $2 ORDER BY id"
        ))
        .bind(app.as_i64())
        .bind(scope(guild))
        .fetch_all(pool)
        .await?))
    }

    /// A command by id, whatever its scope.
    pub async fn command(&self, id: CommandId) -> Result<Option<CommandRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            command_columns!(),
            " FROM application_commands WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// Stores a new command; [`StoreError::Conflict`] when its name is taken in its scope.
    pub async fn insert_command(&self, row: &CommandRecord) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO application_commands (id, application_id, guild_id, scope, kind, name, version, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(row.id)
            .bind(row.application_id)
            .bind(row.guild_id)
            .bind(row.guild_id.unwrap_or(0))
            .bind(row.kind)
            .bind(&row.name)
            .bind(row.version)
            .bind(&row.data)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Replaces a command's name, version and data (its id, type and scope stay). A rename
    /// drops the command's permissions, as Discord does. [`StoreError::NotFound`] when it is
    /// gone, [`StoreError::Conflict`] when the new name is taken.
    pub async fn replace_command(&self, row: &CommandRecord) -> Result<()> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "DELETE FROM application_command_permissions WHERE target_id = $1 \
                 AND EXISTS (SELECT 1 FROM application_commands WHERE id = $1 AND name <> $2)",
            )
            .bind(row.id)
            .bind(&row.name)
            .execute(&mut *tx)
            .await?;
            let done = sqlx::query(
                "UPDATE application_commands SET name = $2, version = $3, data = $4 WHERE id = $1",
            )
            .bind(row.id)
            .bind(&row.name)
            .bind(row.version)
            .bind(&row.data)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                tx.rollback().await?;
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes a command and its permissions; false when there was none.
    pub async fn delete_command(&self, id: CommandId) -> Result<bool> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let gone = sqlx::query("DELETE FROM application_commands WHERE id = $1")
                .bind(id.as_i64())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM application_command_permissions WHERE target_id = $1")
                .bind(id.as_i64())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(gone > 0)
        })
    }

    /// Makes `rows` the whole command list of `app` in `guild` (`None`: global) in one
    /// transaction: rows whose id exists are replaced, the others inserted, and every other
    /// command of the scope (with its permissions) deleted.
    pub async fn overwrite_commands(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
        rows: &[CommandRecord],
    ) -> Result<()> {
        let keep: Vec<i64> = rows.iter().map(|r| r.id).collect();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            // A write first: on SQLite a transaction that reads before it writes can fail at
            // once with "database is locked" when another writer got in between.
            sqlx::query(
                "UPDATE application_commands SET version = version WHERE application_id = $1 AND scope = $2",
            )
            .bind(app.as_i64())
            .bind(scope(guild))
            .execute(&mut *tx)
            .await?;
            let existing: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, name FROM application_commands WHERE application_id = $1 AND scope = $2",
            )
            .bind(app.as_i64())
            .bind(scope(guild))
            .fetch_all(&mut *tx)
            .await?;
            for (id, name) in &existing {
                let kept = rows.iter().find(|r| r.id == *id);
                if kept.is_none_or(|r| r.name != *name) {
                    sqlx::query("DELETE FROM application_command_permissions WHERE target_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                if !keep.contains(id) {
                    sqlx::query("DELETE FROM application_commands WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            for row in rows {
                if existing.iter().any(|(id, _)| *id == row.id) {
                    sqlx::query(
                        "UPDATE application_commands SET name = $2, version = $3, data = $4 WHERE id = $1",
                    )
                    .bind(row.id)
                    .bind(&row.name)
                    .bind(row.version)
                    .bind(&row.data)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query(
                        "INSERT INTO application_commands (id, application_id, guild_id, scope, kind, name, version, data) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(row.id)
                    .bind(row.application_id)
                    .bind(row.guild_id)
                    .bind(row.guild_id.unwrap_or(0))
                    .bind(row.kind)
                    .bind(&row.name)
                    .bind(row.version)
                    .bind(&row.data)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every permissions entry of `app` in `guild`: (command or application id, JSON array).
    pub async fn command_permissions(
        &self,
        app: ApplicationId,
        guild: GuildId,
    ) -> Result<Vec<(i64, String)>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(
            "SELECT target_id, permissions FROM application_command_permissions \
             WHERE application_id = $1 AND guild_id = $2 ORDER BY target_id"
        )
        .bind(app.as_i64())
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// The permissions (JSON array) of one command (or the application) in `guild`.
    pub async fn command_permission(&self, guild: GuildId, target: i64) -> Result<Option<String>> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_scalar(
            "SELECT permissions FROM application_command_permissions WHERE guild_id = $1 AND target_id = $2"
        )
        .bind(guild.as_i64())
        .bind(target)
        .fetch_optional(pool)
        .await?)
        })
    }

    /// Replaces the permissions of one command (or the application) in `guild`; returns the
    /// previous JSON array, if any.
    pub async fn set_command_permissions(
        &self,
        app: ApplicationId,
        guild: GuildId,
        target: i64,
        permissions: &str,
    ) -> Result<Option<String>> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            // Write first (see `overwrite_commands`).
            sqlx::query(
                "UPDATE application_command_permissions SET permissions = permissions WHERE guild_id = $1 AND target_id = $2",
            )
            .bind(guild.as_i64())
            .bind(target)
            .execute(&mut *tx)
            .await?;
            let old: Option<String> = sqlx::query_scalar(
                "SELECT permissions FROM application_command_permissions WHERE guild_id = $1 AND target_id = $2",
            )
            .bind(guild.as_i64())
            .bind(target)
            .fetch_optional(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO application_command_permissions (application_id, guild_id, target_id, permissions) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (guild_id, target_id) DO UPDATE SET permissions = excluded.permissions",
            )
            .bind(app.as_i64())
            .bind(guild.as_i64())
            .bind(target)
            .bind(permissions)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(old)
        })
    }
}
