//! Accord's storage: one set of repository functions over sqlx for PostgreSQL (production) and
//! SQLite (the embedded default), with the schema's migrations embedded in the binary.
//!
//! Every repository function is written once: [`dispatch!`] expands its body for each backend, so
//! the same SQL (written in the common dialect, `$n` placeholders) is type-checked and executed
//! against a `PgPool` or a `SqlitePool` without the overhead of `sqlx::Any`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, SqlitePool};

pub mod applications;
pub mod attachments;
pub mod audit_log;
pub mod bans;
pub mod bot_members;
mod channel_record;
pub mod channels;
pub mod command_creates;
pub mod commands;
pub mod dms;
pub mod emojis;
pub mod guilds;
pub mod interactions;
pub mod invites;
pub mod members;
pub mod message_parts;
mod message_writer;
pub mod messages;
pub mod overwrites;
pub mod pins;
pub mod prune;
pub mod reactions;
pub mod read_states;
pub mod roles;
pub mod settings;
pub mod stickers;
pub mod threads;
pub mod tokens;
pub mod users;
pub mod webhooks;

pub use applications::{ApplicationPatch, ApplicationRecord, NewApplication};
pub use attachments::{AttachmentRecord, NewAttachment};
pub use audit_log::{AuditLogQuery, AuditLogRecord};
pub use bans::BanRecord;
pub use channels::{ChannelPatch, ChannelRecord, ForumTagRecord, NewChannel};
pub use commands::CommandRecord;
pub use emojis::{EmojiPatch, EmojiRecord, NewEmoji};
pub use guilds::{GuildPatch, GuildRecord, NewGuild};
pub use interactions::InteractionRecord;
pub use invites::{InviteRecord, NewInvite};
pub use members::{MemberPatch, MemberRecord, NewMember};
pub use messages::{MessageEdit, MessageQuery, MessageRecord, NewMessage};
pub use overwrites::{NewOverwrite, OverwriteRecord};
pub use pins::PinnedMessage;
pub use reactions::{ReactionCount, ReactionEmoji};
pub use read_states::ReadStateRecord;
pub use roles::{NewRole, RolePatch, RoleRecord};
pub use sqlx;
pub use stickers::{NewSticker, StickerPatch, StickerRecord};
pub use threads::{NewThread, ThreadMemberRecord, ThreadPatch};
pub use users::{NewUser, UserPatch, UserRecord};
pub use webhooks::{NewWebhook, WebhookPatch, WebhookRecord};

/// Migrations for PostgreSQL, embedded from `migrations/postgres`.
pub static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");
/// Migrations for SQLite, embedded from `migrations/sqlite`.
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The pool of one backend.
#[derive(Clone, Debug)]
pub enum Db {
    /// PostgreSQL.
    Postgres(PgPool),
    /// SQLite.
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the backend's pool (the body is compiled once per backend).
#[macro_export]
macro_rules! dispatch {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::Db::Postgres($pool) => $body,
            $crate::Db::Sqlite($pool) => $body,
        }
    };
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; the payload names the constraint or column.
    #[error("conflict on {0}")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// The database URL is not one Accord understands.
    #[error("unsupported database url: {0}")]
    BadUrl(String),
    /// The database refused or failed.
    #[error(transparent)]
    Database(sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Creating the SQLite directory failed.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            let what = db
                .constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().to_owned());
            return StoreError::Conflict(what);
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return StoreError::NotFound;
        }
        StoreError::Database(e)
    }
}

/// Result of a repository function.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Pool settings taken from the configuration.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long a query waits for a free connection.
    pub acquire_timeout: Duration,
    /// Tasks that write new messages in batches (PostgreSQL; SQLite always uses one).
    pub message_writers: usize,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            message_writers: 4,
        }
    }
}

/// The store: a handle to the database that every service shares.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    writers: message_writer::MessageWriters,
}

impl Store {
    /// Connects to `url` (`postgres://…`, `postgresql://…` or `sqlite:…`). A SQLite file and its
    /// directory are created when missing.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts =
                PgConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .min_connections(settings.min_connections)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(opts)
                .await?;
            Db::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .log_statements(tracing::log::LevelFilter::Trace);
            if let Some(dir) = opts.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections)
                .min_connections(settings.min_connections)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(opts)
                .await?;
            Db::Sqlite(pool)
        } else {
            return Err(StoreError::BadUrl(url.to_owned()));
        };
        Ok(Self::with_writers(db, settings.message_writers))
    }

    /// Wraps an existing pool.
    pub fn from_db(db: Db) -> Self {
        Self::with_writers(db, PoolSettings::default().message_writers)
    }

    fn with_writers(db: Db, writers: usize) -> Self {
        let writers = message_writer::MessageWriters::new(&db, writers);
        Self { db, writers }
    }

    /// The backend pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Which backend this is: `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Postgres(_) => "postgres",
            Db::Sqlite(_) => "sqlite",
        }
    }

    /// Applies every pending migration. On PostgreSQL this runs on a dedicated connection under
    /// an advisory lock (taken by the migrator before it reads or creates its bookkeeping table),
    /// so several processes starting at once apply each migration exactly once; the connection
    /// is closed afterwards so no lock can linger in the shared pool.
    pub async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Postgres(pool) => {
                // A one-connection pool of its own: the migrator takes the lock and applies
                // everything on that connection, and closing the pool releases the lock for sure.
                let single = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with((*pool.connect_options()).clone())
                    .await?;
                let result = PG_MIGRATOR.run(&single).await;
                single.close().await;
                result?;
            }
            Db::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await?,
        }
        Ok(())
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        dispatch!(&self.db, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        dispatch!(&self.db, |pool| pool.close().await)
    }
}

/// The current time, truncated to microseconds so values read back equal values written on both
/// backends (PostgreSQL keeps microseconds).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn store_futures_are_send() {
        let store = super::Store::from_db(super::Db::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .connect_lazy("sqlite::memory:")
                .expect("lazy pool"),
        ));
        assert_send(&store.migrate());
        assert_send(&store.ping());
    }
}
