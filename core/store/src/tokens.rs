//! Token revocation: per-user "valid after" instants and individually revoked tokens.

use accord_model::UserId;

use crate::{Result, Store, StoreError, dispatch, now};

impl Store {
    /// Revokes one token (logout). Idempotent.
    pub async fn revoke_token(&self, user: UserId, token_id: &str) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query(
            "INSERT INTO revoked_tokens (user_id, token_id, revoked_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        )
        .bind(user.as_i64())
        .bind(token_id)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Every individually revoked token, to load into the verifier at start.
    pub async fn revoked_tokens(&self) -> Result<Vec<(UserId, String)>> {
        let rows: Vec<(i64, String)> = dispatch!(self.db(), |pool| sqlx::query_as(
            "SELECT user_id, token_id FROM revoked_tokens"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(u, t)| (UserId::from_i64(u), t))
            .collect())
    }

    /// Every user whose tokens issued before some instant are refused, with that instant (ms).
    pub async fn token_cutoffs(&self) -> Result<Vec<(UserId, i64)>> {
        let rows: Vec<(i64, i64)> = dispatch!(self.db(), |pool| {
            sqlx::query_as(
            "SELECT user_id, tokens_valid_after_ms FROM credentials WHERE tokens_valid_after_ms > 0"
        )
        .fetch_all(pool)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|(u, t)| (UserId::from_i64(u), t))
            .collect())
    }

    /// Refuses every token of `user` issued before `valid_after_ms`, and forgets the individual
    /// revocations that instant makes redundant.
    pub async fn set_token_cutoff(&self, user: UserId, valid_after_ms: i64) -> Result<()> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("UPDATE credentials SET tokens_valid_after_ms = $2, updated_at = $3 WHERE user_id = $1")
                .bind(user.as_i64())
                .bind(valid_after_ms)
                .bind(now())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM revoked_tokens WHERE user_id = $1")
                .bind(user.as_i64())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
