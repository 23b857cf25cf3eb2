//! The `accord` binary as users start it: the README's flow on the embedded default, two
//! processes starting on one empty PostgreSQL database, `migrate`, `admin`, `config`, and clean
//! shutdown on SIGTERM.

mod support;

use accord_testkit::TestDb;
use serde_json::json;
use std::process::Command;
use support::{BIN, accord, free_port, get, post, start, stop};

/// The README's promise: start the server with no configuration, register, log in, create a bot
/// application and call `GET /api/v10/users/@me` with the bot token; the data survives a restart.
#[tokio::test]
async fn readme_flow_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (child, banner) = start(accord(dir.path(), port, None));
    assert!(banner.contains("sqlite database"), "{banner}");
    assert!(
        banner.contains(&format!("http://127.0.0.1:{port}/api/v10")),
        "{banner}"
    );
    assert!(banner.contains("Gateway:   ws://127.0.0.1:"), "{banner}");
    assert!(
        dir.path().join("data/accord.db").exists(),
        "the SQLite file is created under ./data"
    );

    let base = format!("http://127.0.0.1:{port}/api/v10");
    let http = reqwest::Client::new();
    let (status, _) = post(
        &http,
        &format!("{base}/auth/register"),
        None,
        json!({"username": "ada", "password": "analytical engine", "email": "ada@example.test"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, login) = post(
        &http,
        &format!("{base}/auth/login"),
        None,
        json!({"login": "ada@example.test", "password": "analytical engine"}),
    )
    .await;
    assert_eq!(status, 200);
    let token = login["token"].as_str().unwrap().to_owned();
    let (status, app) = post(
        &http,
        &format!("{base}/applications"),
        Some(&token),
        json!({"name": "Difference"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, bot) = post(
        &http,
        &format!("{base}/applications/{}/bot", app["id"].as_str().unwrap()),
        Some(&token),
        json!({}),
    )
    .await;
    assert_eq!(status, 201);
    let bot_auth = format!("Bot {}", bot["token"].as_str().unwrap());
    let (status, me) = get(&http, &format!("{base}/users/@me"), &bot_auth).await;
    assert_eq!(status, 200);
    assert_eq!(me["bot"], true);
    assert_eq!(me["id"], bot["id"]);

    assert!(stop(child).success(), "clean exit on SIGTERM");

    // Restart on the same data directory: the accounts, the token secret and the tokens persist.
    let (child, _) = start(accord(dir.path(), port, None));
    let http = reqwest::Client::new();
    let (status, me2) = get(&http, &format!("{base}/users/@me"), &bot_auth).await;
    assert_eq!(status, 200);
    assert_eq!(me2["id"], me["id"]);
    assert!(stop(child).success());
}

/// Two processes starting at once on one empty PostgreSQL database both come up and serve.
#[tokio::test]
async fn two_processes_start_on_one_empty_postgres_database() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2) = (free_port(), free_port());
    let (a, b) = std::thread::scope(|s| {
        let h1 = s.spawn(|| start(accord(dir.path(), p1, Some(&db.url))));
        let h2 = s.spawn(|| start(accord(dir.path(), p2, Some(&db.url))));
        (h1.join().unwrap(), h2.join().unwrap())
    });
    assert!(a.1.contains("postgres database") && b.1.contains("postgres database"));
    let http = reqwest::Client::new();
    // Register on one, log in on the other: same database, same token secret.
    let (status, reg) = post(
        &http,
        &format!("http://127.0.0.1:{p1}/api/v10/auth/register"),
        None,
        json!({"username": "twin", "password": "correct horse"}),
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    let (status, me) = get(
        &http,
        &format!("http://127.0.0.1:{p2}/api/v10/users/@me"),
        reg["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200, "a token from one process works on the other");
    assert_eq!(me["username"], "twin");
    assert!(stop(a.0).success());
    assert!(stop(b.0).success());

    // The migrations were recorded once each.
    let store = accord_store::Store::connect(&db.url, &Default::default())
        .await
        .unwrap();
    let accord_store::Db::Postgres(pool) = store.db() else {
        unreachable!()
    };
    let (n, distinct): (i64, i64) = accord_store::sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT version) FROM _sqlx_migrations",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(n, distinct);
    assert_eq!(n as usize, accord_store::PG_MIGRATOR.iter().count());
    store.close().await;
    db.drop_db().await;
}

/// `accord migrate`, `accord admin …` and `accord config …` against PostgreSQL and SQLite.
#[tokio::test]
async fn migrate_admin_and_config_commands() {
    for backend in ["sqlite", "postgres"] {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let out = accord(dir.path(), port, Some(&db.url))
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains(&format!("migrations applied ({backend})"))
        );

        let out = accord(dir.path(), port, Some(&db.url))
            .args([
                "admin",
                "create-user",
                "--username",
                "root",
                "--password-env",
                "ROOT_PW",
                "--operator",
            ])
            .env("ROOT_PW", "operator password")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("OPERATOR"), "{stdout}");

        // A refused account is reported with Discord's field error and changes nothing.
        let out = accord(dir.path(), port, Some(&db.url))
            .args([
                "admin",
                "create-user",
                "--username",
                "root",
                "--password",
                "operator password",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("USERNAME_ALREADY_TAKEN"));

        let out = accord(dir.path(), port, Some(&db.url))
            .args([
                "admin",
                "create-bot",
                "--owner",
                "root",
                "--name",
                "Ops Bot",
                "--privileged-intents",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = stdout
            .lines()
            .find_map(|l| l.strip_prefix("token: "))
            .expect("token printed")
            .to_owned();

        let out = accord(dir.path(), port, Some(&db.url))
            .args(["admin", "grant-rights", "--user", "root", "NOPE"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("unknown right"));

        // The printed bot token works against the server.
        let (child, _) = start(accord(dir.path(), port, Some(&db.url)));
        let http = reqwest::Client::new();
        let (status, app) = get(
            &http,
            &format!("http://127.0.0.1:{port}/api/v10/oauth2/applications/@me"),
            &format!("Bot {token}"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(app["name"], "Ops Bot");
        assert_eq!(
            app["flags"].as_u64().unwrap() & (1 << 18),
            1 << 18,
            "message content intent enabled"
        );
        assert!(stop(child).success());
        db.drop_db().await;
    }

    // Configuration: the sample is what deploy/ ships, and bad values are named.
    let out = Command::new(BIN)
        .args(["config", "sample"])
        .output()
        .unwrap();
    let shipped = include_str!("../deploy/accord.example.toml");
    assert_eq!(String::from_utf8_lossy(&out.stdout), shipped);
    let out = Command::new(BIN)
        .args(["config", "check"])
        .env("ACCORD_SNOWFLAKE__WORKER_ID", "40")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("snowflake.worker_id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `config check` prints what was loaded, but not its secrets.
    let out = Command::new(BIN)
        .args(["config", "check"])
        .env(
            "ACCORD_SECURITY__TOKEN_SECRET",
            "a-token-secret-of-32-characters-at-least",
        )
        .env("ACCORD_CDN__S3__ACCESS_KEY_ID", "an-s3-key-id")
        .env("ACCORD_CDN__S3__SECRET_ACCESS_KEY", "an-s3-secret")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("token_secret = \"<hidden>\""), "{printed}");
    for secret in ["a-token-secret-of-32-characters-at-least", "an-s3-secret"] {
        assert!(!printed.contains(secret), "{secret} printed");
    }
}
