//! The daily budget of application command creates: one row per command an application created
//! in a scope (a guild, or 0 for its global commands), counted over a rolling day.

use accord_model::{ApplicationId, GuildId};

use crate::{Result, Store, dispatch};

/// A rolling day, in milliseconds.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Store {
    /// Takes `count` creates from the budget of `app` in `guild` (`None`: global) at `now_ms`,
    /// if fewer than `limit` would then have been taken over the last day; returns whether it
    /// did (nothing is recorded when it did not). Rows older than a day are removed on the way.
    pub async fn reserve_command_creates(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
        count: u32,
        limit: u32,
        now_ms: i64,
    ) -> Result<bool> {
        if count == 0 {
            return Ok(true);
        }
        let scope = guild.map_or(0, GuildId::as_i64);
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            // A write first: it locks the application's row, so concurrent reservations of one
            // application count one after the other (PostgreSQL), and on SQLite a transaction
            // that reads before it writes can fail with "database is locked".
            sqlx::query("UPDATE applications SET id = id WHERE id = $1")
                .bind(app.as_i64())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM application_command_creates WHERE application_id = $1 AND scope = $2 AND created_ms <= $3",
            )
            .bind(app.as_i64())
            .bind(scope)
            .bind(now_ms - DAY_MS)
            .execute(&mut *tx)
            .await?;
            let (taken,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM application_command_creates WHERE application_id = $1 AND scope = $2",
            )
            .bind(app.as_i64())
            .bind(scope)
            .fetch_one(&mut *tx)
            .await?;
            if taken + i64::from(count) > i64::from(limit) {
                return Ok(false);
            }
            for _ in 0..count {
                sqlx::query(
                    "INSERT INTO application_command_creates (application_id, scope, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(app.as_i64())
                .bind(scope)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}
