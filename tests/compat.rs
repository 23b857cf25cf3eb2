//! Compatibility with unmodified bot libraries: discord.py 2.7.1 (zlib-stream and zstd-stream),
//! discord.js 14 (plain JSON and zlib-stream) and twilight 0.18 (zstd-stream, every event decoded
//! strictly by twilight-model) log in to the `accord` binary, see their guild and its channels,
//! receive a message a user posts through REST and reply to it, on SQLite and on PostgreSQL. The
//! Python and Node libraries are installed by `tests/compat/install.sh`, the twilight bot is the
//! workspace binary `accord-compat-twilight` (`cargo build -p accord-compat-twilight`); this test
//! installs and builds nothing and fails, naming what is missing, when they are absent.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accord_testkit::TestDb;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_accord");
/// How long a bot may take to print READY, and then REPLIED after the trigger is posted.
const BOT_STEP: Duration = Duration::from_secs(60);

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

fn python() -> PathBuf {
    compat_dir().join(".venv/bin/python")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped (a server, or a bot that did not finish).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One library in one gateway mode.
#[derive(Clone, Copy)]
struct Scenario {
    library: &'static str,
    mode: &'static str,
}

const SCENARIOS: [(&str, &str); 5] = [
    ("discord.py", "zlib-stream"),
    ("discord.py", "zstd-stream"),
    ("discord.js", "json"),
    ("discord.js", "zlib-stream"),
    ("twilight", "zstd-stream"),
];

const TWILIGHT_BOT: &str = "accord-compat-twilight";

/// The twilight bot binary, built into the same target directory and profile as this test
/// (`.../target/<profile>/deps/compat-<hash>` → `.../target/<profile>/accord-compat-twilight`).
fn twilight_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's directory");
    let profile_dir = if deps.ends_with("deps") {
        deps.parent().unwrap_or(deps)
    } else {
        deps
    };
    profile_dir.join(format!("{TWILIGHT_BOT}{}", std::env::consts::EXE_SUFFIX))
}

/// The twilight version pinned in the root Cargo.toml (`twilight-gateway = { version = "=…" }`).
fn pinned_twilight() -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let manifest = std::fs::read_to_string(manifest).unwrap();
    manifest
        .lines()
        .filter(|l| l.starts_with("twilight-gateway"))
        .find_map(|l| l.split("version = \"=").nth(1)?.split('"').next())
        .expect("twilight-gateway pinned as version = \"=x.y.z\" in the root Cargo.toml")
        .to_owned()
}

/// The version `probe` prints, if it equals `want`; otherwise why not (the gist of its stderr).
fn installed_version(probe: &mut Command, want: &str, what: &str) -> Result<String, String> {
    let out = probe
        .output()
        .map_err(|e| format!("{what}: {:?} could not start: {e}", probe.get_program()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let gist = stderr
        .lines()
        .find(|l| l.contains("Error"))
        .or_else(|| stderr.lines().rfind(|l| !l.trim().is_empty()))
        .unwrap_or_default();
    let got = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    match (out.status.success(), got == want) {
        (true, true) => Ok(got),
        (true, false) => Err(format!("{what}: pinned {want}, installed {got}")),
        (false, _) => Err(format!("{what}: {gist}")),
    }
}

/// The pinned versions of discord.py (requirements.txt) and discord.js (package.json).
fn pinned_versions() -> (String, String) {
    let reqs = std::fs::read_to_string(compat_dir().join("requirements.txt")).unwrap();
    let dpy = reqs
        .lines()
        .find_map(|l| l.strip_prefix("discord.py=="))
        .expect("discord.py pinned in tests/compat/requirements.txt");
    let pkg = std::fs::read_to_string(compat_dir().join("package.json")).unwrap();
    let pkg: Value = serde_json::from_str(&pkg).unwrap();
    let djs = pkg["dependencies"]["discord.js"]
        .as_str()
        .expect("discord.js pinned");
    (dpy.trim().to_owned(), djs.to_owned())
}

/// The library versions a run reports.
struct Versions {
    dpy: String,
    djs: String,
    twilight: String,
}

impl Versions {
    fn of(&self, library: &str) -> &str {
        match library {
            "discord.py" => &self.dpy,
            "discord.js" => &self.djs,
            _ => &self.twilight,
        }
    }
}

/// Checks that python3, node and the pinned packages are installed and that the twilight bot is
/// built; returns the versions found.
fn preflight() -> Versions {
    let (dpy, djs) = pinned_versions();
    let dpy = installed_version(
        Command::new(python()).args([
            "-c",
            "import discord, zstandard; print(discord.__version__)",
        ]),
        &dpy,
        "discord.py + zstandard in tests/compat/.venv (python3 venv)",
    );
    let djs = installed_version(
        Command::new("node").current_dir(compat_dir()).args([
            "-e",
            "require('zlib-sync'); console.log(require('discord.js').version)",
        ]),
        &djs,
        "node with discord.js + zlib-sync in tests/compat/node_modules",
    );
    let bin = twilight_bin();
    let twilight = if bin.is_file() {
        Ok(pinned_twilight())
    } else {
        Err(format!(
            "twilight bot {} is missing — build it with `cargo build -p {TWILIGHT_BOT} --locked` \
             (same CARGO_TARGET_DIR and profile as this test; scripts/test does)",
            bin.display()
        ))
    };
    match (dpy, djs, twilight) {
        (Ok(dpy), Ok(djs), Ok(twilight)) => Versions { dpy, djs, twilight },
        (p, j, t) => panic!(
            "compatibility test prerequisites missing — tests/compat/install.sh installs the Python and \
             Node libraries, scripts/test does that and builds the twilight bot:\n  {}",
            [p.err(), j.err(), t.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
    }
}

/// Starts the server on `db_url` in `dir`; returns it and the REST base and gateway URLs.
fn start_server(dir: &Path, db_url: &str) -> (Killed, String, String) {
    let (api, gw) = (free_port(), free_port());
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .env_remove("ACCORD_CONFIG")
        .env("ACCORD_API__LISTEN", format!("127.0.0.1:{api}"))
        .env("ACCORD_GATEWAY__LISTEN", format!("127.0.0.1:{gw}"))
        .env("ACCORD_DATABASE__URL", db_url)
        .env("ACCORD_SECURITY__ARGON2__MEMORY_KIB", "256")
        .env("ACCORD_SECURITY__ARGON2__ITERATIONS", "1")
        .env("ACCORD_GATEWAY__MAX_CONCURRENCY", "16")
        .env("ACCORD_LOG__FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn accord");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("Press Ctrl-C") {
                let _ = tx.send(());
            }
        }
    });
    let server = Killed(child);
    rx.recv_timeout(Duration::from_secs(60))
        .expect("accord printed its banner within 60 s");
    (
        server,
        format!("http://127.0.0.1:{api}/api/v10"),
        format!("ws://127.0.0.1:{gw}/"),
    )
}

/// REST calls to one server as one account (or none).
#[derive(Clone)]
struct Rest<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    auth: Option<String>,
}

impl Rest<'_> {
    /// A call that must answer `want`; returns the JSON body or says what was refused.
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.parse().unwrap(), &url);
        if let Some(a) = &self.auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        if status != want {
            return Err(format!(
                "{method} {url} answered {status} (wanted {want}): {text}"
            ));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn as_user(&self, token: &str) -> Self {
        Self {
            auth: Some(token.to_owned()),
            ..self.clone()
        }
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// A guild with a bot in it, set up through the public REST API only.
struct Setup {
    user_token: String,
    bot_token: String,
    bot_id: String,
    guild: String,
    channel: String,
}

async fn set_up(anon: &Rest<'_>, tag: &str) -> Result<Setup, String> {
    let account = json!({"username": format!("owner_{tag}"), "password": "compat harness pw"});
    let reg = anon
        .call("POST", "/auth/register", Some(account), 201)
        .await?;
    let user_token = reg["token"]
        .as_str()
        .ok_or("register returned no token")?
        .to_owned();
    let user = anon.as_user(&user_token);
    let name = json!({"name": format!("Compat {tag}")});
    let guild = id_of(
        &user
            .call("POST", "/guilds", Some(name.clone()), 201)
            .await?,
    );
    let channels = user
        .call("GET", &format!("/guilds/{guild}/channels"), None, 200)
        .await?;
    let channel = channels
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == 0))
        .map(id_of)
        .ok_or_else(|| format!("the new guild has no text channel: {channels}"))?;
    let app = id_of(&user.call("POST", "/applications", Some(name), 201).await?);
    let bot = user
        .call(
            "POST",
            &format!("/applications/{app}/bot"),
            Some(json!({})),
            201,
        )
        .await?;
    let bot_token = bot["token"]
        .as_str()
        .ok_or("bot creation returned no token")?
        .to_owned();
    // The MESSAGE_CONTENT privileged intent, so the bot may ask for it.
    let flags = json!({"flags": 1 << 18});
    user.call("PATCH", &format!("/applications/{app}"), Some(flags), 200)
        .await?;
    let add = json!({"guild_id": guild, "permissions": "0", "authorize": true});
    let path = format!("/oauth2/authorize?client_id={app}&scope=bot");
    user.call("POST", &path, Some(add), 200).await?;
    Ok(Setup {
        user_token,
        bot_token,
        bot_id: id_of(&bot),
        guild,
        channel,
    })
}

/// A running bot script: its stdout lines as they come, and everything it printed so far.
struct Bot {
    child: Killed,
    lines: Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Bot {
    fn spawn(s: Scenario, api: &str, gateway: &str, setup: &Setup, trigger: &str) -> Bot {
        let compat = compat_dir();
        let mut cmd = match (s.library, s.mode) {
            ("discord.py", mode) => {
                let mut c = Command::new(python());
                c.arg(compat.join("dpy_bot.py"))
                    .args(["--compress", mode.trim_end_matches("-stream")])
                    .env("PYTHONUNBUFFERED", "1");
                c
            }
            ("twilight", mode) => {
                let mut c = Command::new(twilight_bin());
                c.args(["--compress", mode.trim_end_matches("-stream")]);
                c
            }
            (_, mode) => {
                let mut c = Command::new("node");
                c.arg(compat.join("djs_bot.js"))
                    .args(["--compress", if mode == "json" { "json" } else { "zlib" }]);
                c
            }
        };
        cmd.current_dir(&compat)
            .args([
                "--api",
                api,
                "--gateway",
                gateway,
                "--token",
                &setup.bot_token,
            ])
            .args([
                "--guild",
                &setup.guild,
                "--channel",
                &setup.channel,
                "--trigger",
                trigger,
            ])
            .args(["--timeout", &BOT_STEP.as_secs().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let (stdout, stderr) = (
            Arc::new(Mutex::new(String::new())),
            Arc::new(Mutex::new(String::new())),
        );
        let (tx, lines) = channel();
        let (out_pipe, all) = (child.stdout.take().unwrap(), stdout.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                all.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        let (mut err_pipe, all) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err_pipe.read(&mut buf) {
                all.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Bot {
            child: Killed(child),
            lines,
            stdout,
            stderr,
        }
    }

    /// Waits for a stdout line starting with `prefix`; an `ERROR` line, exit or timeout fails.
    fn expect(&mut self, prefix: &str) -> Result<String, String> {
        let deadline = Instant::now() + BOT_STEP + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::task::block_in_place(|| self.lines.recv_timeout(left)) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(line) if line.starts_with("ERROR") => {
                    return Err(format!("bot reported an error while waiting for {prefix}"));
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Err(format!("no {prefix} line in time")),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self
                        .child
                        .0
                        .wait()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    return Err(format!("bot exited ({status}) before printing {prefix}"));
                }
            }
        }
    }

    /// Waits for the bot to exit; it must succeed.
    fn finish(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.0.try_wait().map_err(|e| e.to_string())? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("bot exited with {status}"))
                };
            }
            if Instant::now() > deadline {
                return Err("bot did not exit after replying".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the bot printed, for a failure message.
    fn transcript(&self) -> String {
        std::thread::sleep(Duration::from_millis(200));
        format!(
            "--- bot stdout ---\n{}--- bot stderr ---\n{}------------------",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }
}

/// One scenario end to end; on failure the message names the step and carries the bot's output.
async fn run(s: Scenario, anon: &Rest<'_>, gateway: &str, backend: &str) -> Result<(), String> {
    let lib = s.library.replace('.', "");
    let tag = format!("{backend}_{lib}_{:06x}", rand::random::<u32>() & 0xff_ffff);
    let setup = set_up(anon, &tag)
        .await
        .map_err(|e| format!("REST setup: {e}"))?;
    let trigger = format!("compat-trigger-{tag}-{}", s.mode);
    let mut bot = Bot::spawn(s, anon.base, gateway, &setup, &trigger);
    let result = async {
        let ready = bot.expect("READY")?;
        for want in [
            format!("guild={}", setup.guild),
            format!("channel={}", setup.channel),
        ] {
            if !ready.split(' ').any(|w| w == want) {
                return Err(format!("READY line lacks {want}: {ready}"));
            }
        }
        let user = anon.as_user(&setup.user_token);
        let path = format!("/channels/{}/messages", setup.channel);
        let content = json!({"content": format!("hello {trigger}")});
        let posted = user.call("POST", &path, Some(content), 200).await;
        let trigger_id = id_of(&posted.map_err(|e| format!("posting the trigger: {e}"))?);
        let replied = bot.expect("REPLIED")?;
        let reply_id = replied.trim_start_matches("REPLIED ").trim().to_owned();
        bot.finish()?;
        let reply = user
            .call("GET", &format!("{path}/{reply_id}"), None, 200)
            .await;
        let reply = reply.map_err(|e| format!("reading the reply back: {e}"))?;
        let reference = &reply["message_reference"]["message_id"];
        let checks = [
            (
                reply["author"]["id"] == setup.bot_id.as_str(),
                "author.id is the bot",
            ),
            (reply["type"] == 19, "type is 19 (REPLY)"),
            (
                *reference == trigger_id.as_str(),
                "message_reference.message_id is the trigger",
            ),
            (
                reply["content"]
                    .as_str()
                    .is_some_and(|c| c.contains(&trigger)),
                "content quotes the trigger",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, what)) => Err(format!(
                "reply read through REST: expected {what}; got {reply}"
            )),
            None => Ok(()),
        }
    }
    .await;
    result.map_err(|e| format!("{e}\n{}", bot.transcript()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_libraries_log_in_receive_and_reply() {
    let versions = preflight();
    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    for backend in ["sqlite", "postgres"] {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let (server, api, gateway) = start_server(dir.path(), &db.url);
        for (library, mode) in SCENARIOS {
            let s = Scenario { library, mode };
            let started = Instant::now();
            let anon = Rest {
                http: &http,
                base: &api,
                auth: None,
            };
            let result = run(s, &anon, &gateway, backend).await;
            let version = versions.of(s.library);
            eprintln!(
                "compat: {} {version} {} on {backend}: {}",
                s.library,
                s.mode,
                match &result {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => format!("FAILED: {}", e.lines().next().unwrap_or_default()),
                }
            );
            rows.push((
                s,
                format!("{} {version}", s.library),
                backend,
                started.elapsed(),
                result,
            ));
        }
        drop(server);
        db.drop_db().await;
    }

    println!(
        "\n{:<12} {:<20} {:<9} result",
        "scenario", "library", "database"
    );
    for (s, lib, backend, took, result) in &rows {
        let verdict = if result.is_ok() {
            format!("PASS ({:.1} s)", took.as_secs_f64())
        } else {
            "FAIL".to_owned()
        };
        println!("{:<12} {:<20} {:<9} {verdict}", s.mode, lib, backend);
    }
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(s, lib, backend, _, r)| {
            r.as_ref()
                .err()
                .map(|e| format!("{lib} {} on {backend}: {e}", s.mode))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} compatibility runs failed:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}
