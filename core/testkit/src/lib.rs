//! Test helpers shared by Accord's test suites: a fresh database of either backend per test.
//! PostgreSQL is reached at `TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! when it cannot be reached the test fails — it is never skipped.

use sqlx::Connection;

/// The server URL tests use to create their databases.
pub fn pg_admin_url() -> String {
    std::env::var("TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database name replaced by `db` (query parameters kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{host_part}/{db}{query}")
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// URL to connect to it.
    pub url: String,
    /// Which backend: `"postgres"` or `"sqlite"`.
    pub backend: &'static str,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new SQLite file in a temporary directory (removed when this value is dropped).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("accord.db").display()
        );
        Self {
            url,
            backend: "sqlite",
            pg_name: None,
            _dir: Some(dir),
        }
    }

    /// A new, empty PostgreSQL database named `accord_test_<random>`. Panics if PostgreSQL is not
    /// reachable: the suite needs it (start it with the test script).
    pub async fn postgres() -> Self {
        let admin = pg_admin_url();
        let name = format!("accord_test_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {admin}: {e} (run ./scripts/test, which starts it)"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let url = with_database(&admin, &name);
        Self {
            url,
            backend: "postgres",
            pg_name: Some(name),
            _dir: None,
        }
    }

    /// A fresh database of `backend` (`"sqlite"` or `"postgres"`).
    pub async fn new(backend: &str) -> Self {
        match backend {
            "sqlite" => Self::sqlite(),
            "postgres" => Self::postgres().await,
            other => panic!("unknown backend {other}"),
        }
    }

    /// Connects a migrated store to this database.
    pub async fn store(&self) -> accord_store::Store {
        let store = accord_store::Store::connect(&self.url, &accord_store::PoolSettings::default())
            .await
            .expect("connect test store");
        store.migrate().await.expect("migrate test store");
        store
    }

    /// Drops the PostgreSQL database (SQLite files go with the temporary directory).
    pub async fn drop_db(self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn with_database_replaces_the_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
    }
}
