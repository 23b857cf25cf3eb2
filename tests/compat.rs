//! Compatibility with unmodified bot libraries (tests/compat/README.md): discord.py 2.7.1
//! (zlib-stream and zstd-stream), discord.js 14 (plain JSON and zlib-stream) and twilight 0.18
//! (zstd-stream, every event decoded strictly by twilight-model) run as puppets against the
//! `accord` binary, on SQLite and on PostgreSQL at once, through the scenarios of issue 6: ready,
//! messages, quiet (a message after the connection went quiet and gave its compression state
//! back), members, channels, presence (with typing), webhooks, upload, ratelimits, resume,
//! intents, sharding, and application commands registered by discord.py and discord.js and
//! used by a user account (autocomplete, ephemeral, deferred, button and modal answers). The table printed at the end is scenario × library × database.
//!
//! `COMPAT_LIBS=discord.py,twilight` and `COMPAT_SCENARIOS=ready,messages` narrow the run. The
//! Python and Node libraries are installed by `tests/compat/install.sh`, the twilight puppet is
//! the workspace binary `accord-compat-twilight` (`cargo build -p accord-compat-twilight`); this
//! test installs and builds nothing and fails, naming what is missing, when they are absent.

#[path = "compat/puppet.rs"]
mod puppet;
#[path = "compat/scenarios.rs"]
mod scenarios;
#[path = "compat/scenarios_commands.rs"]
mod scenarios_commands;
#[path = "compat/scenarios_guild.rs"]
mod scenarios_guild;
#[path = "compat/scenarios_interactions.rs"]
mod scenarios_interactions;
#[path = "compat/scenarios_quiet.rs"]
mod scenarios_quiet;
#[path = "compat/scenarios_threads.rs"]
mod scenarios_threads;
#[path = "compat/server.rs"]
mod server;
#[path = "support/mod.rs"]
mod support;
#[path = "compat/world.rs"]
mod world;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use accord_testkit::TestDb;
use serde_json::Value;

use puppet::{MODES, Mode, Puppet, compat_dir, python, twilight_bin};
use world::{Env, Users, World};

/// Every scenario, in the order they run.
const SCENARIOS: [&str; 15] = [
    "ready",
    "messages",
    "quiet",
    "members",
    "channels",
    "presence",
    "webhooks",
    "upload",
    "threads",
    "ratelimits",
    "resume",
    "intents",
    "sharding",
    "commands",
    "interactions",
];

/// Notes printed under the table.
const NOTES: &[&str] = &[
    "presence: also covers typing (TYPING_START from the same user).",
    "upload: the attachment's metadata is checked in the puppet's answer, its event and a REST \
     message read, and the URL in the puppet's answer is fetched from the CDN (same bytes).",
    "commands, interactions: discord.py and discord.js only (twilight's puppet registers no \
     commands).",
    "quiet: the server sends 5 s heartbeats; the bot hears nothing for 12.5 s, then a user \
     posts; for zstd-stream the relay must see the resync blocks of a quiet connection.",
    "resume: every puppet connects through the harness's TCP relay (also gateway.public_url); the \
     relay cuts the connection twice while users post a numbered sequence.",
];

/// A comma-separated filter from the environment; `None` when unset or empty.
fn filter(var: &str) -> Option<Vec<String>> {
    let v = std::env::var(var).ok()?;
    let items: Vec<String> = v
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    (!items.is_empty()).then_some(items)
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

/// The installed version of `library`, checked against its pin.
fn check_library(library: &str) -> Result<String, String> {
    match library {
        "discord.py" => {
            let reqs = std::fs::read_to_string(compat_dir().join("requirements.txt")).unwrap();
            let pinned = reqs
                .lines()
                .find_map(|l| l.strip_prefix("discord.py=="))
                .expect("discord.py pinned in tests/compat/requirements.txt");
            installed_version(
                Command::new(python()).args([
                    "-c",
                    "import discord, zstandard; print(discord.__version__)",
                ]),
                pinned.trim(),
                "discord.py + zstandard in tests/compat/.venv (python3 venv)",
            )
        }
        "discord.js" => {
            let pkg = std::fs::read_to_string(compat_dir().join("package.json")).unwrap();
            let pkg: Value = serde_json::from_str(&pkg).unwrap();
            let pinned = pkg["dependencies"]["discord.js"]
                .as_str()
                .expect("discord.js pinned");
            installed_version(
                Command::new("node").current_dir(compat_dir()).args([
                    "-e",
                    "require('zlib-sync'); console.log(require('discord.js').version)",
                ]),
                pinned,
                "node with discord.js + zlib-sync in tests/compat/node_modules",
            )
        }
        _ => {
            let bin = twilight_bin();
            if bin.is_file() {
                Ok(pinned_twilight())
            } else {
                Err(format!(
                    "twilight puppet {} is missing — build it with `cargo build -p {} --locked` \
                     (same CARGO_TARGET_DIR and profile as this test; scripts/test does)",
                    bin.display(),
                    puppet::TWILIGHT_BOT
                ))
            }
        }
    }
}

/// One cell of the table.
struct Row {
    scenario: &'static str,
    mode: Mode,
    backend: &'static str,
    took: Duration,
    result: Result<(), String>,
}

/// The main puppet of one mode on one server, started on first use and again if it died.
struct Main {
    puppet: Option<Puppet>,
    /// Why it never became ready, if it did not (not retried: each try costs the READY timeout).
    broken: Option<String>,
    ready: Option<Value>,
}

impl Main {
    async fn get(&mut self, env: &Env<'_>) -> Result<&mut Puppet, String> {
        if let Some(why) = &self.broken {
            return Err(format!(
                "the puppet never became ready: {}",
                first_line(why)
            ));
        }
        if let Some(p) = &mut self.puppet
            && !p.healthy()
        {
            eprintln!("compat: {} died; starting it again", p.label);
            self.puppet.take().unwrap().quit().await;
        }
        if self.puppet.is_none() {
            match env.puppet("presence", 1).await {
                Ok((p, ready)) => {
                    self.ready = Some(ready);
                    self.puppet = Some(p);
                }
                Err(e) => {
                    self.broken = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(self.puppet.as_mut().unwrap())
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

async fn run_scenario(name: &str, env: &Env<'_>, main: &mut Main) -> Result<(), String> {
    if let Some(why) = &main.broken {
        // Each further try would cost the READY timeout.
        return Err(format!(
            "not run: this mode's puppet never became ready: {}",
            first_line(why)
        ));
    }
    match name {
        "intents" => return scenarios::intents(env).await,
        "sharding" => return scenarios_guild::sharding(env).await,
        _ => {}
    }
    main.get(env).await?;
    let ready = main.ready.clone().unwrap_or_default();
    let p = main.puppet.as_mut().unwrap();
    let result = match name {
        "ready" => scenarios::ready(env, p, &ready).await,
        "messages" => scenarios::messages(env, p).await,
        "quiet" => scenarios_quiet::quiet(env, p).await,
        "members" => scenarios_guild::members(env, p).await,
        "channels" => scenarios_guild::channels(env, p).await,
        "presence" => scenarios_guild::presence(env, p).await,
        "webhooks" => scenarios::webhooks(env, p).await,
        "upload" => scenarios::upload(env, p).await,
        "threads" => scenarios_threads::threads(env, p).await,
        "ratelimits" => scenarios::ratelimits(env, p).await,
        "resume" => scenarios_guild::resume(env, p).await,
        "commands" => scenarios_commands::commands(env, p).await,
        "interactions" => scenarios_interactions::interactions(env, p).await,
        other => Err(format!("unknown scenario {other}")),
    };
    let p = main.puppet.as_ref().unwrap();
    result.map_err(|e| format!("{e}\n{}", p.transcript()))
}

/// Whether `scenario` applies to `mode`: the twilight puppet has no command registration (its
/// cells show `-`).
fn applies(scenario: &str, mode: Mode) -> bool {
    !(matches!(scenario, "commands" | "interactions") && mode.library == "twilight")
}

/// Every selected mode and scenario on one backend.
async fn run_backend(
    backend: &'static str,
    modes: &[Mode],
    scenarios: &[&'static str],
) -> Vec<Row> {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let server = server::start(dir.path(), &db.url).await;
    let anon = server::Rest::anonymous(&server.api);
    let tag = |s: &str| format!("{backend}_{s}_{:06x}", rand::random::<u32>() & 0xff_ffff);
    let users = Users::register(&anon, &tag("u")).await;
    let mut rows = Vec::new();
    for &mode in modes {
        let mtag = tag(&format!(
            "{}_{}",
            mode.library.replace('.', ""),
            mode.compress
        ));
        let world = match &users {
            Ok(users) => World::set_up(users, &mtag).await,
            Err(e) => Err(e.clone()),
        };
        let (users, world) = match (&users, world) {
            (Ok(u), Ok(w)) => (u, w),
            (_, Err(e)) => {
                for &scenario in scenarios {
                    let result = Err(format!("REST setup: {e}"));
                    let took = Duration::ZERO;
                    rows.push(Row {
                        scenario,
                        mode,
                        backend,
                        took,
                        result,
                    });
                }
                continue;
            }
            (Err(_), Ok(_)) => unreachable!(),
        };
        let env = Env {
            server: &server,
            users,
            world: &world,
            mode,
            tag: mtag,
        };
        let mut main = Main {
            puppet: None,
            broken: None,
            ready: None,
        };
        for &scenario in scenarios {
            if !applies(scenario, mode) {
                continue;
            }
            let started = Instant::now();
            let result = run_scenario(scenario, &env, &mut main).await;
            eprintln!(
                "compat: {scenario} {} {} on {backend}: {}",
                mode.library,
                mode.transport,
                match &result {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => format!("FAILED: {}", first_line(e)),
                }
            );
            let took = started.elapsed();
            rows.push(Row {
                scenario,
                mode,
                backend,
                took,
                result,
            });
        }
        if let Some(p) = main.puppet.take() {
            p.quit().await;
        }
    }
    drop(server);
    db.drop_db().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_libraries_pass_every_scenario() {
    let libs = filter("COMPAT_LIBS");
    let modes: Vec<Mode> = MODES
        .into_iter()
        .filter(|m| {
            libs.as_ref()
                .is_none_or(|l| l.iter().any(|l| l == m.library))
        })
        .collect();
    assert!(
        !modes.is_empty(),
        "COMPAT_LIBS selects no library (names: discord.py, discord.js, twilight)"
    );
    let wanted = filter("COMPAT_SCENARIOS");
    if let Some(w) = &wanted
        && let Some(unknown) = w.iter().find(|s| !SCENARIOS.contains(&s.as_str()))
    {
        panic!("COMPAT_SCENARIOS names unknown scenario {unknown}; known: {SCENARIOS:?}");
    }
    let scenarios: Vec<&'static str> = SCENARIOS
        .into_iter()
        .filter(|s| wanted.as_ref().is_none_or(|w| w.iter().any(|w| w == s)))
        .collect();

    let mut versions = Vec::new();
    let mut missing = Vec::new();
    let mut libraries: Vec<&str> = modes.iter().map(|m| m.library).collect();
    libraries.dedup();
    for lib in libraries {
        match check_library(lib) {
            Ok(v) => versions.push((lib, v)),
            Err(e) => missing.push(e),
        }
    }
    assert!(
        missing.is_empty(),
        "compatibility test prerequisites missing — tests/compat/install.sh installs the Python and \
         Node libraries, scripts/test does that and builds the twilight puppet:\n  {}",
        missing.join("\n  ")
    );
    let version = |lib: &str| {
        versions
            .iter()
            .find(|(l, _)| *l == lib)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };

    let (sqlite, postgres) = tokio::join!(
        run_backend("sqlite", &modes, &scenarios),
        run_backend("postgres", &modes, &scenarios)
    );
    let rows: Vec<Row> = sqlite.into_iter().chain(postgres).collect();

    let mut failures = Vec::new();
    println!(
        "\n{:<12} {:<32} {:<18} {:<18}",
        "scenario", "library", "sqlite", "postgres"
    );
    for &scenario in &scenarios {
        for mode in &modes {
            let lib = format!(
                "{} {} {}",
                mode.library,
                version(mode.library),
                mode.transport
            );
            let mut cells = Vec::new();
            for backend in ["sqlite", "postgres"] {
                let Some(row) = rows
                    .iter()
                    .find(|r| r.scenario == scenario && r.mode == *mode && r.backend == backend)
                else {
                    cells.push("-".to_owned());
                    continue;
                };
                cells.push(match &row.result {
                    Ok(()) => format!("PASS {:.1}s", row.took.as_secs_f64()),
                    Err(e) => {
                        failures.push(format!(
                            "({}) {scenario} / {lib} / {backend}: {e}",
                            failures.len() + 1
                        ));
                        format!("FAIL ({})", failures.len())
                    }
                });
            }
            println!("{scenario:<12} {lib:<32} {:<18} {:<18}", cells[0], cells[1]);
        }
    }
    println!();
    for note in NOTES {
        println!("note: {note}");
    }
    if !failures.is_empty() {
        println!("\nfailures (first line: the step, request or event, and field at fault):");
        for f in &failures {
            let mut lines = f.lines();
            println!("  {}", lines.next().unwrap_or_default());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} compatibility cells failed:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}
