//! The `accord` binary as users start it: the README's flow on the embedded default, two
//! processes starting on one empty PostgreSQL database, `migrate`, `admin`, `config`, and clean
//! shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accord_testkit::TestDb;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_accord");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command for the binary in `dir` with cheap hashing and the given database.
fn accord(dir: &Path, port: u16, db_url: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("ACCORD_CONFIG")
        .env("ACCORD_API__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "ACCORD_GATEWAY__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("ACCORD_SECURITY__ARGON2__MEMORY_KIB", "256")
        .env("ACCORD_SECURITY__ARGON2__ITERATIONS", "1")
        .env("ACCORD_LOG__FILTER", "warn");
    if let Some(url) = db_url {
        cmd.env("ACCORD_DATABASE__URL", url);
    }
    cmd
}

/// A running server process, killed if a failing test leaves it behind.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts the server and waits until it prints its banner; returns the process and the banner.
fn start(mut cmd: Command) -> (Running, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn accord");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Press Ctrl-C") {
                let _ = tx.send(banner.clone());
            }
        }
    });
    let running = Running(Some(child));
    let banner = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server printed its banner");
    (running, banner)
}

/// Sends SIGTERM and waits for the exit status.
fn stop(mut running: Running) -> std::process::ExitStatus {
    let mut child = running.0.take().expect("running");
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "accord did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn post(http: &reqwest::Client, url: &str, auth: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = http.post(url).json(&body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, url: &str, auth: &str) -> (u16, Value) {
    let resp = http
        .get(url)
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

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
}
