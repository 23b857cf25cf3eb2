//! A puppet process (tests/compat/README.md): one library in one mode, started with the README's
//! options; its stdout lines parsed as they come (READY, EVENT, DONE/FAILED, ERROR), commands
//! written to its stdin, and waits for what it reports.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::Killed;

/// One library in one transport mode: a column group of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mode {
    /// The library's name as in the table and `COMPAT_LIBS`.
    pub library: &'static str,
    /// The puppet's `--compress` value.
    pub compress: &'static str,
    /// What the gateway should see (the READY line's `compress`).
    pub transport: &'static str,
}

pub const MODES: [Mode; 5] = [
    Mode {
        library: "discord.py",
        compress: "zlib",
        transport: "zlib-stream",
    },
    Mode {
        library: "discord.py",
        compress: "zstd",
        transport: "zstd-stream",
    },
    Mode {
        library: "discord.js",
        compress: "json",
        transport: "json",
    },
    Mode {
        library: "discord.js",
        compress: "zlib",
        transport: "zlib-stream",
    },
    Mode {
        library: "twilight",
        compress: "zstd",
        transport: "zstd-stream",
    },
];

pub const TWILIGHT_BOT: &str = "accord-compat-twilight";

pub fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

pub fn python() -> PathBuf {
    compat_dir().join(".venv/bin/python")
}

/// The twilight puppet binary, built into the same target directory and profile as this test
/// (`.../target/<profile>/deps/compat-<hash>` → `.../target/<profile>/accord-compat-twilight`).
pub fn twilight_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's directory");
    let profile_dir = if deps.ends_with("deps") {
        deps.parent().unwrap_or(deps)
    } else {
        deps
    };
    profile_dir.join(format!("{TWILIGHT_BOT}{}", std::env::consts::EXE_SUFFIX))
}

/// What a puppet printed so far.
#[derive(Default)]
struct Seen {
    ready: Option<Value>,
    /// How many events came before READY.
    ready_at: usize,
    events: Vec<Value>,
    /// `DONE`/`FAILED` answers in the order they came (commands are sent one at a time).
    answers: Vec<(bool, Value)>,
    /// `ERROR` lines and protocol violations (unparsable lines, stray stdout text).
    errors: Vec<String>,
    closed: bool,
    stdout_tail: VecDeque<String>,
    stderr: String,
}

impl Seen {
    fn take_line(&mut self, line: String) {
        if self.stdout_tail.len() == 40 {
            self.stdout_tail.pop_front();
        }
        self.stdout_tail.push_back(line.chars().take(400).collect());
        let (keyword, rest) = line.split_once(' ').unwrap_or((&line, ""));
        let parsed = || serde_json::from_str::<Value>(rest);
        match keyword {
            "READY" => match parsed() {
                Ok(v) if self.ready.is_none() => {
                    self.ready = Some(v);
                    self.ready_at = self.events.len();
                }
                Ok(_) => self.errors.push("a second READY line".into()),
                Err(e) => self
                    .errors
                    .push(format!("READY line is not JSON ({e}): {line}")),
            },
            "EVENT" => match parsed() {
                Ok(v) => self.events.push(v),
                Err(e) => self
                    .errors
                    .push(format!("EVENT line is not JSON ({e}): {line}")),
            },
            "DONE" | "FAILED" => match parsed() {
                Ok(v) => self.answers.push((keyword == "DONE", v)),
                Err(e) => self
                    .errors
                    .push(format!("{keyword} line is not JSON ({e}): {line}")),
            },
            "ERROR" => self.errors.push(line.chars().take(2000).collect()),
            _ => self.errors.push(format!(
                "stray stdout line (the protocol's lines only; the rest goes to stderr): {line}"
            )),
        }
    }
}

/// A running puppet.
pub struct Puppet {
    pub label: String,
    child: Killed,
    stdin: Option<ChildStdin>,
    seen: Arc<Mutex<Seen>>,
    /// Commands sent so far; the n-th answer is the n-th command's.
    sent: usize,
    /// A command went unanswered: later answers would be misattributed, so the puppet is unusable.
    lost: bool,
}

/// Options of one puppet beyond its mode.
pub struct Options<'a> {
    pub api: &'a str,
    pub gateway: &'a str,
    pub token: &'a str,
    pub intents: &'a str,
    pub shards: u32,
    pub timeout: Duration,
}

impl Puppet {
    pub fn spawn(mode: Mode, o: &Options) -> Result<Puppet, String> {
        let compat = compat_dir();
        let mut cmd = match mode.library {
            "discord.py" => {
                let mut c = Command::new(python());
                c.arg(compat.join("dpy_bot.py"))
                    .env("PYTHONUNBUFFERED", "1");
                c
            }
            "discord.js" => {
                let mut c = Command::new("node");
                c.arg(compat.join("djs_bot.js"));
                c
            }
            _ => Command::new(twilight_bin()),
        };
        cmd.current_dir(&compat)
            .args(["--api", o.api, "--gateway", o.gateway, "--token", o.token])
            .args(["--compress", mode.compress, "--intents", o.intents])
            .args(["--shards", &o.shards.to_string()])
            .args(["--timeout", &o.timeout.as_secs().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let (out, s) = (child.stdout.take().unwrap(), seen.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                s.lock().unwrap().take_line(line);
            }
            s.lock().unwrap().closed = true;
        });
        let (mut err, s) = (child.stderr.take().unwrap(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                let mut s = s.lock().unwrap();
                s.stderr.push_str(&String::from_utf8_lossy(&buf[..n]));
                if s.stderr.len() > 200_000 {
                    let cut = s.stderr.len() - 100_000;
                    let cut = (cut..s.stderr.len())
                        .find(|i| s.stderr.is_char_boundary(*i))
                        .unwrap_or(0);
                    s.stderr.drain(..cut);
                }
            }
        });
        let label = format!(
            "{} {} intents={} shards={}",
            mode.library, mode.transport, o.intents, o.shards
        );
        Ok(Puppet {
            label,
            stdin: child.stdin.take(),
            child: Killed(child),
            seen,
            sent: 0,
            lost: false,
        })
    }

    /// Waits until `f` finds what it looks for; an `ERROR` line, the puppet's exit or the timeout
    /// fail (the timeout with `what` as the thing not seen).
    async fn wait<T>(
        &self,
        timeout: Duration,
        what: &dyn Fn() -> String,
        mut f: impl FnMut(&Seen) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let seen = self.seen.lock().unwrap();
                if let Some(v) = f(&seen) {
                    return Ok(v);
                }
                if let Some(e) = seen.errors.first() {
                    return Err(format!("puppet failed while waiting for {}: {e}", what()));
                }
                if seen.closed {
                    return Err(format!("puppet exited while waiting for {}", what()));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no {} within {} s", what(), timeout.as_secs()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The READY line's JSON.
    pub async fn ready(&self, timeout: Duration) -> Result<Value, String> {
        self.wait(timeout, &|| "READY line".into(), |s| s.ready.clone())
            .await
    }

    /// Whether the puppet is still usable (running, no `ERROR`).
    pub fn healthy(&mut self) -> bool {
        let s = self.seen.lock().unwrap();
        !self.lost && !s.closed && s.errors.is_empty() && s.ready.is_some()
    }

    /// The events that came before READY.
    pub fn events_before_ready(&self) -> Vec<Value> {
        let s = self.seen.lock().unwrap();
        s.events[..s.ready_at].to_vec()
    }

    /// The position after the last event so far: later waits look from there.
    pub fn mark(&self) -> usize {
        self.seen.lock().unwrap().events.len()
    }

    /// Every event from `from` on.
    pub fn events_since(&self, from: usize) -> Vec<Value> {
        self.seen.lock().unwrap().events[from..].to_vec()
    }

    /// The first event of kind `t` from `from` on that `pred` accepts. When none comes, the error
    /// lists the events of that kind that did arrive (the field at fault is visible there).
    pub async fn event(
        &self,
        from: usize,
        t: &str,
        desc: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let found = self
            .wait(timeout, &|| format!("EVENT {t} ({desc})"), |s| {
                s.events[from..]
                    .iter()
                    .find(|e| e["t"] == t && pred(e))
                    .cloned()
            })
            .await;
        found.map_err(|e| {
            let same: Vec<String> = self
                .events_since(from)
                .iter()
                .filter(|e| e["t"] == t)
                .take(5)
                .map(|e| e.to_string())
                .collect();
            if same.is_empty() {
                format!("{e}; no {t} event arrived at all")
            } else {
                format!("{e}; {t} events that did arrive: {}", same.join(", "))
            }
        })
    }

    /// Sends a command (`cmd` and its arguments; the id is added) and waits for its answer:
    /// `DONE`'s JSON, or `FAILED`'s error as the failure. Answers are matched by order (a result's
    /// own `id`, e.g. a message's, replaces the command's in `DONE`).
    pub async fn command(&mut self, mut cmd: Value, timeout: Duration) -> Result<Value, String> {
        if self.lost {
            return Err("an earlier command went unanswered".into());
        }
        self.sent += 1;
        let index = self.sent - 1;
        cmd["id"] = json!(self.sent);
        let name = cmd["cmd"].as_str().unwrap_or("?").to_owned();
        let stdin = self.stdin.as_mut().ok_or("puppet stdin closed")?;
        writeln!(stdin, "{cmd}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("command {name}: writing to the puppet: {e}"))?;
        let answer = self
            .wait(timeout, &|| format!("answer to command {name}"), |s| {
                s.answers.get(index).cloned()
            })
            .await;
        let (ok, answer) = answer.inspect_err(|_| self.lost = true)?;
        if ok {
            Ok(answer)
        } else {
            Err(format!(
                "command {name}: FAILED {}",
                answer["error"].as_str().unwrap_or("(no error text)")
            ))
        }
    }

    /// Asks the puppet to quit and waits (briefly) for it to exit; kills it otherwise.
    pub async fn quit(mut self) {
        let _ = self
            .command(json!({"cmd": "quit"}), Duration::from_secs(10))
            .await;
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.0.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The end of what the puppet printed, for a failure report.
    pub fn transcript(&self) -> String {
        let s = self.seen.lock().unwrap();
        let stderr: Vec<&str> = s.stderr.lines().collect();
        let stderr = stderr[stderr.len().saturating_sub(25)..].join("\n");
        format!(
            "--- {} stdout (last lines) ---\n{}\n--- stderr (last lines) ---\n{stderr}\n---",
            self.label,
            s.stdout_tail.iter().cloned().collect::<Vec<_>>().join("\n"),
        )
    }
}

/// Checks fields of an event (or a REST object) against wanted values; the error names the event,
/// the field, what it was and what was wanted.
pub fn fields(what: &str, got: &Value, want: &[(&str, Value)]) -> Result<(), String> {
    for (field, wanted) in want {
        let value = field.split('.').fold(got, |v, k| &v[k]);
        if value != wanted {
            return Err(format!(
                "{what}: field `{field}` is {value}, wanted {wanted} (whole: {})",
                truncate(&got.to_string())
            ));
        }
    }
    Ok(())
}

pub fn truncate(s: &str) -> String {
    if s.len() <= 600 {
        s.to_owned()
    } else {
        let end = (600..s.len()).find(|i| s.is_char_boundary(*i)).unwrap();
        format!("{}…", &s[..end])
    }
}
