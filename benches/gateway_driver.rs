//! The load generator's driver (`--run`): starts the server and client processes, asks the
//! server for its memory at each step, posts the marked messages and prints the figures.

use super::*;

/// A child process of this binary; its stdout lines arrive on `lines`.
pub(crate) struct Proc {
    pub(crate) child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Proc {
    pub(crate) fn spawn(args: &[String]) -> Self {
        Self::spawn_niced(args, 0)
    }

    /// Like [`Proc::spawn`], at `nice` scheduling priority (through `nice -n`) when not 0.
    pub(crate) fn spawn_niced(args: &[String], nice: usize) -> Self {
        let exe = std::env::current_exe().expect("own executable");
        let mut command = if nice == 0 {
            Command::new(exe)
        } else {
            let mut c = Command::new("nice");
            c.arg("-n").arg(nice.to_string()).arg(exe);
            c
        };
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a child process");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
        }
    }

    /// The next stdout line starting with `prefix` (others are echoed); panics after `timeout`.
    pub(crate) async fn wait_for(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no {prefix:?} line within {timeout:?}"))
                .unwrap_or_else(|| panic!("child ended before printing {prefix:?}"));
            if line.starts_with(prefix) {
                return line;
            }
            println!("  child: {line}");
        }
    }

    pub(crate) fn command(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("child stdin");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().expect("flush child stdin");
    }
}

/// The `key=value` field of a report line.
pub(crate) fn field(line: &str, key: &str) -> u64 {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// What the server process(es) hold: RSS, sessions and live heap, KiB.
#[derive(Clone, Copy)]
struct Held {
    rss: u64,
    sessions: u64,
    heap: u64,
}

/// Asks the server for its RSS and live heap after letting the process settle for a moment.
async fn server_rss(server: &mut Proc) -> Held {
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.command("rss");
    let line = server.wait_for("RSS ", Duration::from_secs(30)).await;
    Held {
        rss: field(&line, "rss_kib"),
        sessions: field(&line, "sessions"),
        heap: field(&line, "heap_kib"),
    }
}

/// `--run`: one server and client processes per compression kind; prints the figures.
pub(super) async fn run(flags: &Flags) {
    let users = flags.num("users", 1000);
    let per_process = flags.num("per-process", 5000);
    let backend = flags.str("backend", "postgres");
    let threads = flags.num("threads", 2).to_string();
    let messages = flags.num("messages", 5) as u64;
    let kinds = flags.str("compress", "none,zlib-stream,zstd-stream");
    let intents = flags.str("intents", DEFAULT_INTENTS);
    let heartbeat_ms = flags.num("heartbeat-ms", 41_250);
    let gateways = flags.num("gateways", 0).to_string();
    // Client processes at a lower priority, so that on a machine they share with the server
    // they take the cores only when the server leaves them idle.
    let client_nice = flags.num("client-nice", 0);
    // `--warmup 1`: one marked message (id 0) right after the sessions connected.
    let warmup = flags.num("warmup", 0) != 0;
    let file = format!("/tmp/accord-gateway-load-{}.txt", std::process::id());
    let procs = users.div_ceil(per_process).max(2);
    let http = reqwest::Client::new();
    for kind in kinds.split(',') {
        println!("== {users} sessions, compress={kind}, {procs} client processes, {backend}");
        let mut args: Vec<String> = vec![
            "--server".into(),
            "--users".into(),
            users.to_string(),
            "--backend".into(),
            backend.clone(),
            "--out".into(),
            file.clone(),
            "--threads".into(),
            threads.clone(),
            "--heartbeat-ms".into(),
            heartbeat_ms.to_string(),
            "--gateways".into(),
            gateways.clone(),
        ];
        flags.pass_on(&["zstd", "zstd-quiet"], &mut args);
        let mut server = Proc::spawn(&args);
        server
            .wait_for("SERVER_READY", Duration::from_secs(3600))
            .await;
        let base = server_rss(&mut server).await;
        println!(
            "server with no sessions: RSS {} KiB, live heap {} KiB",
            base.rss, base.heap
        );
        let mut clients = Vec::new();
        let mut rss = Vec::new();
        for half in [0..procs / 2, procs / 2..procs] {
            let started = clients.len();
            for p in half {
                let (from, to) = (p * users / procs, (p + 1) * users / procs);
                clients.push(Proc::spawn_niced(
                    &[
                        "--clients".into(),
                        "--file".into(),
                        file.clone(),
                        "--from".into(),
                        from.to_string(),
                        "--to".into(),
                        to.to_string(),
                        "--compress".into(),
                        kind.into(),
                        "--intents".into(),
                        intents.clone(),
                    ],
                    client_nice,
                ));
            }
            for c in &mut clients[started..] {
                let line = c.wait_for("CLIENTS_READY", Duration::from_secs(1800)).await;
                println!("  {line}");
            }
            let held = server_rss(&mut server).await;
            println!(
                "server with {} sessions: RSS {} KiB, live heap {} KiB",
                held.sessions, held.rss, held.heap
            );
            rss.push(held);
        }
        let (full, half) = (rss[1], rss[0]);
        let per = |to: Held, from: Held, f: fn(Held) -> u64| {
            (f(to) as f64 - f(from) as f64)
                / to.sessions.saturating_sub(from.sessions).max(1) as f64
        };
        println!(
            "per session right after connecting, RSS: {:.2} KiB from 0 to {} sessions, {:.2} KiB from {} to {}; live heap: {:.2} / {:.2} KiB",
            per(full, base, |h| h.rss),
            full.sessions,
            per(full, half, |h| h.rss),
            half.sessions,
            full.sessions,
            per(full, base, |h| h.heap),
            per(full, half, |h| h.heap),
        );
        let lines: Vec<String> = std::fs::read_to_string(&file)
            .expect("session file")
            .lines()
            .map(str::to_owned)
            .collect();
        if warmup {
            // A message right after connecting, before the quiet spell: the first message the
            // server ever handles pays for what is done once per process (cold code, statements
            // prepared), so message 1 below shows what a quiet spell alone costs.
            post_marked(&http, &lines, &mut clients, 0, " (before the quiet spell)").await;
        }
        // Steady state: after two heartbeats the replay buffers hold only what clients have
        // not acknowledged and quiet connections have dropped their compression state.
        tokio::time::sleep(Duration::from_millis(2 * heartbeat_ms as u64)).await;
        let settled = server_rss(&mut server).await;
        println!(
            "per idle session after two heartbeats: RSS {:.2} KiB, live heap {:.2} KiB ({} sessions: RSS {} KiB, live heap {} KiB)",
            per(settled, base, |h| h.rss),
            per(settled, base, |h| h.heap),
            settled.sessions,
            settled.rss,
            settled.heap
        );

        for id in 1..=messages {
            post_marked(&http, &lines, &mut clients, id, "").await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // Clients first: a server stopping gracefully sends every session still connected op 7
        // and close 4000, which the clients would report as failed sessions.
        for mut c in clients {
            let _ = c.child.kill();
            let _ = c.child.wait();
        }
        server.command("quit");
        let _ = tokio::task::spawn_blocking(move || server.child.wait()).await;
    }
    let _ = std::fs::remove_file(&file);
}

/// Posts the marked message `id` as the guild's owner and prints how long it took to reach
/// every session (`label` follows the message's number).
async fn post_marked(
    http: &reqwest::Client,
    lines: &[String],
    clients: &mut [Proc],
    id: u64,
    label: &str,
) {
    let (api, channel, owner) = (&lines[0], &lines[3], &lines[4]);
    let sent = now_us();
    post(
        http,
        format!("{api}/channels/{channel}/messages"),
        owner,
        Some(json!({"content": format!("gwload {id} {sent}")})),
    )
    .await;
    // The API's own share: the POST's answer comes after the message is stored and
    // published, so a slow answer delays every delivery by as much.
    let answered = now_us().saturating_sub(sent);
    let mut count = 0;
    let (mut p50, mut max, mut wire, mut json_bytes) = (Vec::new(), 0, 0, 0);
    let (mut kp50, mut kp90, mut kp99, mut kmax) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for c in clients.iter_mut() {
        let line = c
            .wait_for(&format!("DELIVERED id={id} "), Duration::from_secs(60))
            .await;
        count += field(&line, "count");
        p50.push(field(&line, "p50_us"));
        max = max.max(field(&line, "max_us"));
        kp50.push(field(&line, "kp50_us"));
        kp90.push(field(&line, "kp90_us"));
        kp99.push(field(&line, "kp99_us"));
        kmax = kmax.max(field(&line, "kmax_us"));
        wire = wire.max(field(&line, "wire_bytes"));
        json_bytes = json_bytes.max(field(&line, "json_bytes"));
    }
    println!(
        "message {id}{label}: POST answered after {:.1} ms; delivered to {count} sessions, last read after {:.1} ms (per-process p50 {:?} µs), last in a client's socket after {:.1} ms (p50 {:?} p90 {:?} p99 {:?} µs), MESSAGE_CREATE {json_bytes} bytes JSON, {wire} bytes on the wire",
        answered as f64 / 1000.0,
        max as f64 / 1000.0,
        p50,
        kmax as f64 / 1000.0,
        kp50,
        kp90,
        kp99
    );
}
