//! Gateway load generator: many idle sessions on one in-process gateway, the server's memory per
//! idle session (without compression, with `zlib-stream`, with `zstd-stream`), identify→READY
//! latency, and how long a message takes to reach every session of a large guild.
//!
//! Three modes:
//!
//! * `--server`: API + gateway on a fresh database, one guild with `--users` members; writes the
//!   tokens, ids and URLs to `--out`, prints `SERVER_READY rss_kib=…`, then answers `rss` on
//!   stdin (or SIGUSR1) with `RSS rss_kib=… sessions=…` and stops on `quit` or end of input.
//! * `--clients`: opens sessions for tokens `[--from, --to)` of that file from source addresses
//!   127.0.0.2–127.0.0.9, identifies, heartbeats, prints `CLIENTS_READY …` with identify→READY
//!   percentiles, then `DELIVERED …` for every marked MESSAGE_CREATE.
//! * `--run`: drives the two above as child processes and prints the figures.
//! * `--gateways N` (with `--server` or `--run`): the server runs only the API, on a Redis bus,
//!   and starts N gateway processes (`--gateway` mode, see `gateway_fleet.rs`); clients spread
//!   their sessions over them and the memory figures are the gateway processes' summed.
//!
//! Run: `cargo run --release -p accord-bench --bin accord-gateway-load -- --run --users 1000`
//! (`--zstd 6/13/11/11/2048` sets `[gateway.compression]`'s zstd level, windowLog, hashLog,
//! chainLog and maxBlockSize for the server and its gateways; `--zstd-quiet keep` makes quiet
//! zstd-stream connections keep their contexts instead of sharing the thread's; `--heartbeat-ms N` shortens Hello's heartbeat interval, so the steady-state figure taken two
//! heartbeats after connecting comes sooner; `--warmup 1` posts one marked message right after
//! the sessions connected, before that quiet spell, so that message 1 after it shows what the
//! quiet spell alone costs, apart from the process's first message ever)

/// The same allocator as the `accord` binary (it gives freed memory back to the system), with
/// a count of live heap bytes.
#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

#[path = "heap.rs"]
mod heap;

#[path = "gateway_fleet.rs"]
mod fleet;

#[path = "gateway_clients.rs"]
mod clients;

#[path = "gateway_driver.rs"]
mod driver;

#[path = "stamped.rs"]
mod stamped;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use accord_api::AppState;
use accord_config::Config;
use accord_testkit::TestDb;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Intents the clients identify with unless `--intents` says otherwise: GUILDS,
/// GUILD_MESSAGES and MESSAGE_CONTENT, i.e. no GUILD_PRESENCES, so members coming online do not
/// send every session a PRESENCE_UPDATE for every other member.
const DEFAULT_INTENTS: &str = "33281";

/// The start of the error of a session that failed after its READY.
const AFTER_READY: &str = "after READY: ";

/// How long a session waits for the handshake, Hello and READY before it counts as failed.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// What `--help` prints (the module's documentation says more).
const USAGE: &str = "\
usage: accord-gateway-load --run [--users N] [--compress none|zlib-stream|zstd-stream[,...]]
                           [--messages N] [--warmup 1] [--heartbeat-ms N] [--client-nice N]
                           [--gateways N] [--zstd L/W/H/C/B] [--zstd-quiet keep] [--intents BITS]
       accord-gateway-load --server ... | --clients ... | --gateway ...   (the parts --run drives)
See benches/gateway_load.rs's documentation and benches/README.md for what each figure means.";

/// Command-line flags: `--name value` pairs plus the mode flag.
struct Flags(HashMap<String, String>);

impl Flags {
    fn parse() -> (String, Self) {
        let mut mode = String::new();
        let mut map = HashMap::new();
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--server" | "--clients" | "--run" | "--gateway" => mode = flag[2..].to_owned(),
                "--help" | "-h" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                _ => {
                    let name = flag
                        .strip_prefix("--")
                        .expect("flags look like --name value");
                    map.insert(name.to_owned(), it.next().expect("a value after the flag"));
                }
            }
        }
        (mode, Self(map))
    }

    fn str(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    fn opt(&self, name: &str) -> Option<&String> {
        self.0.get(name)
    }

    /// Appends `--name value` to a child process's `args` for each of `names` given here, so
    /// a setting reaches every process of a run.
    fn pass_on(&self, names: &[&str], args: &mut Vec<String>) {
        for name in names {
            if let Some(value) = self.opt(name) {
                args.extend([format!("--{name}"), value.clone()]);
            }
        }
    }

    fn num(&self, name: &str, default: usize) -> usize {
        self.0
            .get(name)
            .map(|v| v.parse().expect("a number"))
            .unwrap_or(default)
    }
}

/// Microseconds since the Unix epoch: the clock that server, clients and driver share.
fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64
}

/// This process's resident set in KiB (`VmRSS` of /proc/self/status). The file is opened once
/// and re-read, so the figure is still available when sessions have used up every descriptor.
fn rss_kib() -> u64 {
    use std::io::{Read, Seek};
    static STATUS: std::sync::OnceLock<std::sync::Mutex<std::fs::File>> =
        std::sync::OnceLock::new();
    let file = STATUS.get_or_init(|| {
        let file = std::fs::File::open("/proc/self/status").expect("open /proc/self/status");
        std::sync::Mutex::new(file)
    });
    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
    let mut status = String::new();
    file.rewind().expect("rewind /proc/self/status");
    file.read_to_string(&mut status)
        .expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let n = sorted.len();
    sorted
        .get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
        .copied()
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let (mode, flags) = Flags::parse();
    // The server's own log lines on stderr, filtered by `RUST_LOG` (warnings by default;
    // `accord_gateway::relay=debug` times every fan-out).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match mode.as_str() {
        "server" => server(&flags).await,
        "clients" => clients::clients(&flags).await,
        "run" => driver::run(&flags).await,
        "gateway" => fleet::gateway(&flags).await,
        _ => panic!("give --server, --clients, --run or --gateway"),
    }
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Option<Value>) -> Value {
    let mut req = http.post(url).header("authorization", token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "setup request failed: {status} {body}");
    body
}

/// What every process of a run configures alike: quiet logs, the gateway's threads,
/// concurrency and heartbeat interval, and a bus buffer for bursts of 10,000s of events.
fn gateway_config(flags: &Flags) -> Config {
    let mut config = Config::default();
    config.log.filter = "warn".into();
    config.bus.capacity = 65_536;
    config.gateway.listen = "127.0.0.1:0".parse().expect("addr");
    config.gateway.threads = flags.num("threads", 2) as u32;
    config.gateway.max_concurrency = 16;
    config.gateway.heartbeat_interval_ms = flags.num("heartbeat-ms", 41_250) as u64;
    if let Some(zstd) = flags.opt("zstd") {
        let z = &mut config.gateway.compression;
        let parts: Vec<&str> = zstd.split('/').collect();
        let [level, window, hash, chain, block] = parts[..] else {
            panic!("--zstd takes level/windowLog/hashLog/chainLog/maxBlockSize, got {zstd}");
        };
        let num = |v: &str| v.parse::<u32>().expect("--zstd: a number");
        z.zstd_level = num(level) as i32;
        (z.zstd_window_log, z.zstd_hash_log, z.zstd_chain_log) =
            (num(window), num(hash), num(chain));
        z.zstd_max_block_size = num(block);
    }
    match flags.opt("zstd-quiet").map(String::as_str) {
        None | Some("share") => {}
        Some("keep") => config.gateway.compression.zstd_share_when_quiet = false,
        Some(other) => panic!("--zstd-quiet takes share or keep, got {other}"),
    }
    config
}

/// `--server`: API and gateway in this process, one guild with `--users` members.
async fn server(flags: &Flags) {
    if std::env::var_os("ACCORD_HEAP_HIST").is_some() {
        heap::enable_histogram();
    }
    let users = flags.num("users", 1000);
    let backend = flags.str("backend", "postgres");
    let out = flags.str("out", "/tmp/accord-gateway-load.txt");
    let db = TestDb::new(&backend).await;
    let store = db.store().await;
    let data_dir = std::env::temp_dir().join(format!("accord-gateway-load-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let mut config = gateway_config(flags);
    config.data_dir = data_dir.clone();
    config.database.max_connections = 32;
    config.security.argon2.memory_kib = 256;
    config.security.argon2.iterations = 1;
    accord_bench::disable_rate_limits(&mut config);
    let gateways = flags.num("gateways", 0);
    if gateways > 0 {
        fleet::configure(&mut config, &format!("gwload{}", std::process::id()));
    }
    let bus = accord_api::bus::open(&config, accord_bus::Interest::Everything)
        .await
        .expect("Redis on 127.0.0.1:6379");
    let prefix = config.bus.channel_prefix.clone();
    let state = AppState::new(Arc::new(config), store.clone(), bus)
        .await
        .expect("state");
    // The gateway: in this process, or `--gateways` processes of their own.
    let (gateway, mut fleet) = if gateways == 0 {
        let gw = accord_gateway::Gateway::start(state.clone(), tokio::runtime::Handle::current())
            .expect("gateway");
        (Some(gw), None)
    } else {
        (
            None,
            Some(fleet::Fleet::start(gateways, &db.url, &prefix, flags).await),
        )
    };
    let ws_urls = match (&gateway, &fleet) {
        (Some(gw), _) => format!("ws://{}", gw.local_addr()),
        (None, Some(f)) => f.urls.join(" "),
        (None, None) => unreachable!("one or the other"),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let api = format!("http://{}/api/v10", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(accord_api::serve(listener, state, async move {
        let _ = stop_rx.await;
    }));

    let http = reqwest::Client::new();
    let owner = post(
        &http,
        format!("{api}/auth/register"),
        "",
        Some(json!({"username": "owner", "password": "load test password"})),
    )
    .await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let guild = post(
        &http,
        format!("{api}/guilds"),
        &owner,
        Some(json!({"name": "Gateway load"})),
    )
    .await["id"]
        .as_str()
        .expect("guild id")
        .to_owned();
    let channels: Value = http
        .get(format!("{api}/guilds/{guild}/channels"))
        .header("authorization", &owner)
        .send()
        .await
        .expect("channels")
        .json()
        .await
        .expect("channels json");
    let channel = channels
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == 0))
        .and_then(|c| c["id"].as_str())
        .expect("a text channel")
        .to_owned();
    let code = post(
        &http,
        format!("{api}/channels/{channel}/invites"),
        &owner,
        Some(json!({"max_age": 0})),
    )
    .await["code"]
        .as_str()
        .expect("invite code")
        .to_owned();

    // Accounts: 32 workers, each registers and joins its share.
    let started = Instant::now();
    let workers = 32;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (http, api, code) = (http.clone(), api.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            for i in (w..users).step_by(workers) {
                let body =
                    json!({"username": format!("load{i}"), "password": "load test password"});
                let reg = post(&http, format!("{api}/auth/register"), "", Some(body)).await;
                let token = reg["token"].as_str().expect("token").to_owned();
                post(&http, format!("{api}/invites/{code}"), &token, None).await;
                tokens.push((i, token));
            }
            tokens
        }));
    }
    let mut tokens = Vec::with_capacity(users);
    for t in tasks {
        tokens.extend(t.await.expect("setup worker"));
    }
    tokens.sort_unstable();
    eprintln!(
        "server: {users} members registered and joined in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut file = format!("{api}\n{ws_urls}\n{guild}\n{channel}\n{owner}\n");
    for (_, t) in &tokens {
        file.push_str(t);
        file.push('\n');
    }
    std::fs::write(&out, file).expect("write the session file");
    drop(tokens);

    // Commands: a line on stdin, or SIGUSR1 for `rss`.
    let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel::<String>();
    stdin_commands(cmd_tx.clone());
    tokio::spawn(async move {
        let kind = tokio::signal::unix::SignalKind::user_defined1();
        let mut usr1 = tokio::signal::unix::signal(kind).expect("SIGUSR1 handler");
        while usr1.recv().await.is_some() {
            if cmd_tx.send("rss".into()).is_err() {
                return;
            }
        }
    });
    println!("SERVER_READY rss_kib={} file={out}", rss_kib());
    while let Some(cmd) = cmd_rx.recv().await {
        match cmd.as_str() {
            "rss" => match (&gateway, &mut fleet) {
                (Some(gw), _) => {
                    heap::dump_histogram(gw.hub().len());
                    println!(
                        "RSS rss_kib={} sessions={} heap_kib={}",
                        rss_kib(),
                        gw.hub().len(),
                        heap::live_bytes() / 1024
                    )
                }
                (None, Some(f)) => {
                    let (kib, sessions, heap_kib) = f.rss().await;
                    println!(
                        "RSS rss_kib={kib} sessions={sessions} heap_kib={heap_kib} api_rss_kib={}",
                        rss_kib()
                    );
                }
                (None, None) => {}
            },
            "quit" => break,
            "" => {}
            other => eprintln!("server: unknown command {other:?} (rss, quit)"),
        }
    }
    if let Some(gateway) = gateway {
        tokio::task::spawn_blocking(move || gateway.shutdown(Duration::from_millis(200)))
            .await
            .expect("gateway shutdown");
    }
    if let Some(fleet) = fleet {
        fleet.stop().await;
    }
    let _ = stop_tx.send(());
    store.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(data_dir);
}

/// Sends each line of stdin to `tx`, then `quit` at the end of input.
fn stdin_commands(tx: mpsc::UnboundedSender<String>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_owned()).is_err() {
                return;
            }
        }
        let _ = tx.send("quit".into());
    });
}
