//! Instance-wide settings kept in the database so every process shares them (the token secret).

use crate::{Result, Store, dispatch};

impl Store {
    /// The value of `key`, if set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_scalar(
            "SELECT value FROM instance_settings WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(pool)
        .await?))
    }

    /// Stores `value` under `key` unless a value is already there, and returns the value that
    /// wins. Safe when several processes race to initialise the same key.
    pub async fn setting_or_init(&self, key: &str, value: &str) -> Result<String> {
        dispatch!(self.db(), |pool| {
            sqlx::query("INSERT INTO instance_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
            Ok(
                sqlx::query_scalar("SELECT value FROM instance_settings WHERE key = $1")
                    .bind(key)
                    .fetch_one(pool)
                    .await?,
            )
        })
    }
}
