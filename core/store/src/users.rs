//! Users and their password credentials.

use accord_model::{Rights, UserId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// A user row: people, bots and system accounts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRecord {
    /// Snowflake.
    pub id: i64,
    /// Name (unique with the discriminator, case-insensitively).
    pub username: String,
    /// `"0"` for people (unique usernames); four digits for bots.
    pub discriminator: String,
    /// Display name.
    pub global_name: Option<String>,
    /// Avatar hash.
    pub avatar: Option<String>,
    /// Banner hash.
    pub banner: Option<String>,
    /// Banner colour.
    pub accent_color: Option<i32>,
    /// About me.
    pub bio: String,
    /// Pronouns.
    pub pronouns: String,
    /// Whether this is a bot account.
    pub bot: bool,
    /// Whether this is an official system account.
    pub system: bool,
    /// E-mail, if given.
    pub email: Option<String>,
    /// Whether the e-mail is verified.
    pub verified: bool,
    /// Whether two-factor authentication is on.
    pub mfa_enabled: bool,
    /// Chosen locale.
    pub locale: String,
    /// Private flags.
    pub flags: i64,
    /// Public flags.
    pub public_flags: i64,
    /// Nitro-style premium type (always 0 here unless an operator sets it).
    pub premium_type: i32,
    /// Instance rights bitfield.
    pub rights: i64,
    /// ISO date of birth, if given.
    pub date_of_birth: Option<String>,
    /// Disabled by an operator or by the user.
    pub disabled: bool,
    /// Deleted (kept as a tombstone so messages keep an author).
    pub deleted: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl UserRecord {
    /// The typed id.
    pub fn user_id(&self) -> UserId {
        UserId::from_i64(self.id)
    }

    /// The instance rights.
    pub fn rights(&self) -> Rights {
        Rights::from_bits(self.rights as u64)
    }
}

/// What registering (or creating a bot) writes.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Snowflake.
    pub id: UserId,
    /// Name.
    pub username: String,
    /// Discriminator (`"0"` for people).
    pub discriminator: String,
    /// Display name.
    pub global_name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Bot account?
    pub bot: bool,
    /// Instance rights.
    pub rights: Rights,
    /// ISO date of birth.
    pub date_of_birth: Option<String>,
    /// Argon2id PHC string; None for accounts that cannot log in with a password (bots).
    pub password_hash: Option<String>,
}

/// A partial update of the profile; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New username.
    pub username: Option<String>,
    /// New discriminator.
    pub discriminator: Option<String>,
    /// New display name.
    pub global_name: Option<Option<String>>,
    /// New avatar hash.
    pub avatar: Option<Option<String>>,
    /// New banner hash.
    pub banner: Option<Option<String>>,
    /// New accent colour.
    pub accent_color: Option<Option<i32>>,
    /// New bio.
    pub bio: Option<String>,
    /// New pronouns.
    pub pronouns: Option<String>,
    /// New e-mail (clears verification).
    pub email: Option<Option<String>>,
    /// New locale.
    pub locale: Option<String>,
}

/// The column list of `users`, in [`UserRecord`]'s order.
macro_rules! user_columns {
    () => {
        "id, username, discriminator, global_name, avatar, banner, accent_color, bio, pronouns, bot, system, email, verified, mfa_enabled, locale, flags, public_flags, premium_type, rights, date_of_birth, disabled, deleted, created_at"
    };
}
pub(crate) use user_columns;

/// `SELECT <user columns> FROM users <tail>`.
macro_rules! select_user {
    ($tail:literal) => {
        concat!("SELECT ", user_columns!(), " FROM users ", $tail)
    };
}

impl Store {
    /// Creates a user and its credentials in one transaction.
    pub async fn create_user(&self, new: &NewUser) -> Result<UserRecord> {
        let created = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let user: UserRecord = sqlx::query_as(concat!(
                "INSERT INTO users (id, username, discriminator, global_name, email, bot, rights, date_of_birth, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
                user_columns!()
            ))
            .bind(new.id.as_i64())
            .bind(&new.username)
            .bind(&new.discriminator)
            .bind(&new.global_name)
            .bind(&new.email)
            .bind(new.bot)
            .bind(new.rights.bits() as i64)
            .bind(&new.date_of_birth)
            .bind(created)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO credentials (user_id, password_hash, tokens_valid_after_ms, updated_at) VALUES ($1, $2, 0, $3)")
                .bind(new.id.as_i64())
                .bind(&new.password_hash)
                .bind(created)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(user)
        })
    }

    /// A user by id (deleted users included: they are tombstones that messages still point at).
    pub async fn user(&self, id: UserId) -> Result<Option<UserRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(select_user!(
            "WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// Users by id, in no particular order (one query per 500 ids).
    pub async fn users(&self, ids: &[UserId]) -> Result<Vec<UserRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {} FROM users WHERE id IN ({})",
                user_columns!(),
                placeholders.join(", ")
            );
            let rows: Vec<UserRecord> = dispatch!(self.db(), |pool| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    query = query.bind(id.as_i64());
                }
                query.fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// The person (not bot) who logs in with `login`, an e-mail address or a username
    /// (case-insensitive), with their password hash.
    pub async fn user_for_login(
        &self,
        login: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>> {
        let user: Option<UserRecord> = dispatch!(self.db(), |pool| {
            sqlx::query_as(select_user!(
            "WHERE bot = FALSE AND deleted = FALSE AND (lower(email) = lower($1) OR (lower(username) = lower($1) AND discriminator = '0')) LIMIT 1"
        ))
        .bind(login)
        .fetch_optional(pool)
        .await?
        });
        let Some(user) = user else { return Ok(None) };
        let hash = self.password_hash(user.user_id()).await?;
        Ok(Some((user, hash)))
    }

    /// Whether `username#discriminator` is taken (case-insensitive).
    pub async fn name_taken(&self, username: &str, discriminator: &str) -> Result<bool> {
        let n: i64 = dispatch!(self.db(), |pool| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE lower(username) = lower($1) AND discriminator = $2"
        )
        .bind(username)
        .bind(discriminator)
        .fetch_one(pool)
        .await?
        });
        Ok(n > 0)
    }

    /// Whether an account uses `email` (case-insensitive).
    pub async fn email_taken(&self, email: &str) -> Result<bool> {
        let n: i64 = dispatch!(self.db(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE lower(email) = lower($1)"
        )
        .bind(email)
        .fetch_one(pool)
        .await?);
        Ok(n > 0)
    }

    /// The discriminators already used with `username`.
    pub async fn discriminators_of(&self, username: &str) -> Result<Vec<String>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_scalar(
            "SELECT discriminator FROM users WHERE lower(username) = lower($1)"
        )
        .bind(username)
        .fetch_all(pool)
        .await?))
    }

    /// Applies a profile patch and returns the updated user.
    pub async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<UserRecord> {
        fn set<T>(o: &Option<T>) -> bool {
            o.is_some()
        }
        let global_name = patch.global_name.clone().flatten();
        let avatar = patch.avatar.clone().flatten();
        let banner = patch.banner.clone().flatten();
        let accent = patch.accent_color.flatten();
        let email = patch.email.clone().flatten();
        dispatch!(self.db(), |pool| {
            let row: Option<UserRecord> = sqlx::query_as(concat!(
                "UPDATE users SET \
                 username = COALESCE($2, username), \
                 discriminator = COALESCE($3, discriminator), \
                 global_name = CASE WHEN $4 THEN $5 ELSE global_name END, \
                 avatar = CASE WHEN $6 THEN $7 ELSE avatar END, \
                 banner = CASE WHEN $8 THEN $9 ELSE banner END, \
                 accent_color = CASE WHEN $10 THEN $11 ELSE accent_color END, \
                 bio = COALESCE($12, bio), \
                 pronouns = COALESCE($13, pronouns), \
                 email = CASE WHEN $14 THEN $15 ELSE email END, \
                 verified = CASE WHEN $14 THEN FALSE ELSE verified END, \
                 locale = COALESCE($16, locale) \
                 WHERE id = $1 RETURNING ",
                user_columns!()
            ))
            .bind(id.as_i64())
            .bind(&patch.username)
            .bind(&patch.discriminator)
            .bind(set(&patch.global_name))
            .bind(&global_name)
            .bind(set(&patch.avatar))
            .bind(&avatar)
            .bind(set(&patch.banner))
            .bind(&banner)
            .bind(set(&patch.accent_color))
            .bind(accent)
            .bind(&patch.bio)
            .bind(&patch.pronouns)
            .bind(set(&patch.email))
            .bind(&email)
            .bind(&patch.locale)
            .fetch_optional(pool)
            .await?;
            row.ok_or(StoreError::NotFound)
        })
    }

    /// Sets a user's rights.
    pub async fn set_rights(&self, id: UserId, rights: Rights) -> Result<()> {
        let done = dispatch!(self.db(), |pool| sqlx::query(
            "UPDATE users SET rights = $2 WHERE id = $1"
        )
        .bind(id.as_i64())
        .bind(rights.bits() as i64)
        .execute(pool)
        .await?
        .rows_affected());
        if done == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The Argon2id hash of a user's password, if the account has one.
    pub async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
        let hash: Option<Option<String>> = dispatch!(self.db(), |pool| sqlx::query_scalar(
            "SELECT password_hash FROM credentials WHERE user_id = $1"
        )
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?);
        Ok(hash.flatten())
    }

    /// Replaces a user's password hash and invalidates every token issued before `valid_after_ms`.
    pub async fn set_password(&self, id: UserId, hash: &str, valid_after_ms: i64) -> Result<()> {
        let done = dispatch!(self.db(), |pool| {
            sqlx::query(
            "UPDATE credentials SET password_hash = $2, tokens_valid_after_ms = $3, updated_at = $4 WHERE user_id = $1"
        )
        .bind(id.as_i64())
        .bind(hash)
        .bind(valid_after_ms)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()
        });
        if done == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Number of users (for instance statistics and tests).
    pub async fn count_users(&self) -> Result<i64> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(pool)
        .await?))
    }
}
