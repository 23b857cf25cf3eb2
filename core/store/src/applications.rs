//! Applications and their bot users.

use accord_model::{ApplicationId, UserId};
use chrono::{DateTime, Utc};

use crate::users::{NewUser, UserRecord, user_columns};
use crate::{Result, Store, StoreError, dispatch, now};

/// An application row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApplicationRecord {
    /// Snowflake.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Icon hash.
    pub icon: Option<String>,
    /// The user who owns it.
    pub owner_id: i64,
    /// Its bot user, once created.
    pub bot_user_id: Option<i64>,
    /// Whether anyone may add the bot to a guild.
    pub bot_public: bool,
    /// Whether adding the bot needs the full OAuth2 code grant.
    pub bot_require_code_grant: bool,
    /// Application flags (privileged intents among them).
    pub flags: i64,
    /// Hex-encoded Ed25519 public key for interaction signatures.
    pub verify_key: String,
    /// Where interactions are POSTed, if set.
    pub interactions_endpoint_url: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl ApplicationRecord {
    /// The typed id.
    pub fn application_id(&self) -> ApplicationId {
        ApplicationId::from_i64(self.id)
    }
}

/// What creating an application writes.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Snowflake.
    pub id: ApplicationId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Owner.
    pub owner_id: UserId,
    /// Verify key: hex-encoded Ed25519 public key.
    pub verify_key: String,
    /// The matching Ed25519 private key (hex), used to sign outgoing interaction requests.
    pub signing_key: String,
    /// Initial flags.
    pub flags: i64,
}

/// A partial update; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ApplicationPatch {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Whether anyone may add the bot.
    pub bot_public: Option<bool>,
    /// Whether adding the bot needs the code grant.
    pub bot_require_code_grant: Option<bool>,
    /// Flags.
    pub flags: Option<i64>,
    /// Interactions endpoint; `Some(None)` clears it.
    pub interactions_endpoint_url: Option<Option<String>>,
    /// Icon hash; `Some(None)` clears it.
    pub icon: Option<Option<String>>,
}

macro_rules! app_columns {
    () => {
        "id, name, description, icon, owner_id, bot_user_id, bot_public, bot_require_code_grant, flags, verify_key, interactions_endpoint_url, created_at"
    };
}

impl Store {
    /// Creates an application (without a bot).
    pub async fn create_application(&self, new: &NewApplication) -> Result<ApplicationRecord> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query_as(concat!(
            "INSERT INTO applications (id, name, description, owner_id, verify_key, signing_key, flags, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
            app_columns!()
        ))
        .bind(new.id.as_i64())
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.owner_id.as_i64())
        .bind(&new.verify_key)
        .bind(&new.signing_key)
        .bind(new.flags)
        .bind(now())
        .fetch_one(pool)
        .await?)
        })
    }

    /// An application by id.
    pub async fn application(&self, id: ApplicationId) -> Result<Option<ApplicationRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            app_columns!(),
            " FROM applications WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// The hex-encoded Ed25519 private key an application's outgoing interaction requests are
    /// signed with.
    pub async fn application_signing_key(&self, id: ApplicationId) -> Result<Option<String>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_scalar(
            "SELECT signing_key FROM applications WHERE id = $1"
        )
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// The application whose bot is `bot`.
    pub async fn application_of_bot(&self, bot: UserId) -> Result<Option<ApplicationRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            app_columns!(),
            " FROM applications WHERE bot_user_id = $1"
        ))
        .bind(bot.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// The applications `owner` owns, oldest first.
    pub async fn applications_of(&self, owner: UserId) -> Result<Vec<ApplicationRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            app_columns!(),
            " FROM applications WHERE owner_id = $1 ORDER BY id"
        ))
        .bind(owner.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// Creates the bot user of an application in one transaction; fails with
    /// [`StoreError::Conflict`] if it already has one.
    pub async fn create_bot(&self, app: ApplicationId, bot: &NewUser) -> Result<UserRecord> {
        let created = now();
        dispatch!(self.db(), |pool| {
            // Writes come first: on SQLite a transaction that reads before it writes can fail
            // at once with "database is locked" when another writer got in between.
            let mut tx = pool.begin().await?;
            let user: UserRecord = sqlx::query_as(concat!(
                "INSERT INTO users (id, username, discriminator, global_name, email, bot, rights, date_of_birth, created_at) \
                 VALUES ($1, $2, $3, $4, NULL, TRUE, $5, NULL, $6) RETURNING ",
                user_columns!()
            ))
            .bind(bot.id.as_i64())
            .bind(&bot.username)
            .bind(&bot.discriminator)
            .bind(&bot.global_name)
            .bind(bot.rights.bits() as i64)
            .bind(created)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO credentials (user_id, password_hash, tokens_valid_after_ms, updated_at) VALUES ($1, NULL, 0, $2)")
                .bind(bot.id.as_i64())
                .bind(created)
                .execute(&mut *tx)
                .await?;
            let linked = sqlx::query(
                "UPDATE applications SET bot_user_id = $2 WHERE id = $1 AND bot_user_id IS NULL",
            )
            .bind(app.as_i64())
            .bind(bot.id.as_i64())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if linked == 0 {
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM applications WHERE id = $1")
                        .bind(app.as_i64())
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.rollback().await?;
                return Err(match exists {
                    Some(_) => StoreError::Conflict("applications.bot_user_id".into()),
                    None => StoreError::NotFound,
                });
            }
            tx.commit().await?;
            Ok(user)
        })
    }

    /// Applies a patch and returns the updated application.
    pub async fn update_application(
        &self,
        id: ApplicationId,
        patch: &ApplicationPatch,
    ) -> Result<ApplicationRecord> {
        let endpoint_set = patch.interactions_endpoint_url.is_some();
        let endpoint = patch.interactions_endpoint_url.clone().flatten();
        let icon_set = patch.icon.is_some();
        let icon = patch.icon.clone().flatten();
        dispatch!(self.db(), |pool| {
            let row: Option<ApplicationRecord> = sqlx::query_as(concat!(
                "UPDATE applications SET \
                 name = COALESCE($2, name), \
                 description = COALESCE($3, description), \
                 bot_public = COALESCE($4, bot_public), \
                 bot_require_code_grant = COALESCE($5, bot_require_code_grant), \
                 flags = COALESCE($6, flags), \
                 interactions_endpoint_url = CASE WHEN $7 THEN $8 ELSE interactions_endpoint_url END, \
                 icon = CASE WHEN $9 THEN $10 ELSE icon END \
                 WHERE id = $1 RETURNING ",
                app_columns!()
            ))
            .bind(id.as_i64())
            .bind(&patch.name)
            .bind(&patch.description)
            .bind(patch.bot_public)
            .bind(patch.bot_require_code_grant)
            .bind(patch.flags)
            .bind(endpoint_set)
            .bind(&endpoint)
            .bind(icon_set)
            .bind(&icon)
            .fetch_optional(pool)
            .await?;
            row.ok_or(StoreError::NotFound)
        })
    }
}
