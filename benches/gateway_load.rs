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
//! (`--heartbeat-ms N` shortens Hello's heartbeat interval, so the steady-state figure taken two
//! heartbeats after connecting comes sooner)

/// The same allocator as the `accord` binary (it gives freed memory back to the system), with
/// a count of live heap bytes.
#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

#[path = "heap.rs"]
mod heap;

#[path = "gateway_fleet.rs"]
mod fleet;

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
    match mode.as_str() {
        "server" => server(&flags).await,
        "clients" => clients(&flags).await,
        "run" => run(&flags).await,
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

/// A client session's decoder for the transport compression it asked for.
enum Decoder {
    None,
    Zlib(Box<flate2::Decompress>),
    Zstd(Box<zstd::zstd_safe::DCtx<'static>>),
}

impl Decoder {
    fn new(compress: &str) -> Self {
        match compress {
            "zlib-stream" => Self::Zlib(Box::new(flate2::Decompress::new(true))),
            "zstd-stream" => Self::Zstd(Box::new(zstd::zstd_safe::DCtx::create())),
            _ => Self::None,
        }
    }

    /// The payload of one WebSocket message.
    fn decode(&mut self, wire: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Self::None => Ok(wire.to_vec()),
            Self::Zlib(inflate) => {
                let mut plain = Vec::with_capacity(wire.len() * 4 + 256);
                let mut used = 0;
                loop {
                    let before = inflate.total_in();
                    inflate
                        .decompress_vec(&wire[used..], &mut plain, flate2::FlushDecompress::Sync)
                        .map_err(|e| format!("inflate: {e}"))?;
                    used += (inflate.total_in() - before) as usize;
                    if used == wire.len() && plain.len() < plain.capacity() {
                        return Ok(plain);
                    }
                    plain.reserve(plain.capacity().max(4096));
                }
            }
            Self::Zstd(dctx) => {
                let mut plain = Vec::with_capacity(wire.len() * 4 + 256);
                let mut input = zstd::zstd_safe::InBuffer::around(wire);
                loop {
                    let pos = plain.len();
                    let mut output = zstd::zstd_safe::OutBuffer::around_pos(&mut plain, pos);
                    dctx.decompress_stream(&mut output, &mut input)
                        .map_err(|c| format!("zstd: {}", zstd::zstd_safe::get_error_name(c)))?;
                    let full = output.pos() == output.capacity();
                    if input.pos() == wire.len() && !full {
                        return Ok(plain);
                    }
                    plain.reserve(plain.capacity().max(4096));
                }
            }
        }
    }
}

/// What a client session reports to its process.
enum Event {
    Ready(u64),
    /// JSON bytes of READY, and JSON and wire bytes of the first GUILD_CREATE.
    Sizes(usize, usize, usize),
    Failed(String),
    Delivered {
        id: u64,
        latency_us: u64,
        wire: usize,
        json: usize,
    },
}

/// Where and how every session of a client process connects.
struct Target {
    /// The gateways (sessions are spread over them).
    gateways: Vec<(SocketAddr, String)>,
    compress: String,
    intents: Option<u64>,
}

/// One session: connect from `source`, identify, then heartbeat and watch for marked messages.
async fn session(
    source: Ipv4Addr,
    target: Arc<Target>,
    which: usize,
    token: String,
    permit: OwnedSemaphorePermit,
    events: mpsc::UnboundedSender<Event>,
) -> Result<(), String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let (gateway, url) = &target.gateways[which % target.gateways.len()];
    let stream = socket
        .connect(*gateway)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    // Small buffers: many thousand sessions share this process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let handshake = tokio_tungstenite::client_async_with_config(url, stream, Some(config));
    let (mut ws, _) = tokio::time::timeout(SETUP_TIMEOUT, handshake)
        .await
        .map_err(|_| format!("no WebSocket handshake within {SETUP_TIMEOUT:?}"))?
        .map_err(|e| format!("handshake: {e}"))?;
    let mut decoder = Decoder::new(&target.compress);
    let next = async |ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
                      decoder: &mut Decoder|
           -> Result<(Value, usize, usize, u64), String> {
        loop {
            let msg = ws
                .next()
                .await
                .ok_or("connection ended")?
                .map_err(|e| format!("read: {e}"))?;
            // Delivered = read off the socket: the time is taken before this process decodes
            // the frame, so that its own decoding (of this and of its other sessions' frames)
            // is not counted as delivery time.
            let arrived = now_us();
            let wire = match msg {
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Binary(b) => b.to_vec(),
                Message::Close(c) => return Err(format!("closed: {c:?}")),
                _ => continue,
            };
            let plain = decoder.decode(&wire)?;
            let value = serde_json::from_slice(&plain).map_err(|e| format!("json: {e}"))?;
            return Ok((value, wire.len(), plain.len(), arrived));
        }
    };
    let (hello, _, _, _) = tokio::time::timeout(SETUP_TIMEOUT, next(&mut ws, &mut decoder))
        .await
        .map_err(|_| format!("no Hello within {SETUP_TIMEOUT:?}"))??;
    let interval = hello["d"]["heartbeat_interval"]
        .as_u64()
        .ok_or("no hello")?;
    let mut identify = json!({"op": 2, "d": {"token": token, "properties": {"os": "linux", "browser": "accord-gateway-load", "device": "accord-gateway-load"}}});
    if let Some(intents) = target.intents {
        identify["d"]["intents"] = json!(intents);
    }
    let start = Instant::now();
    ws.send(Message::text(identify.to_string()))
        .await
        .map_err(|e| format!("send identify: {e}"))?;
    let mut seq = Value::Null;
    let ready_bytes = loop {
        let (value, _, json, _) = tokio::time::timeout(SETUP_TIMEOUT, next(&mut ws, &mut decoder))
            .await
            .map_err(|_| format!("no READY within {SETUP_TIMEOUT:?}"))??;
        if !value["s"].is_null() {
            seq = value["s"].clone();
        }
        match (value["op"].as_u64(), value["t"].as_str()) {
            (Some(0), Some("READY")) => break json,
            (Some(0), _) | (Some(11), _) => {}
            // A slow READY: the server asks for a heartbeat meanwhile, as Discord's does.
            (Some(1), _) => ws
                .send(Message::text(json!({"op": 1, "d": seq}).to_string()))
                .await
                .map_err(|e| format!("heartbeat before READY: {e}"))?,
            (op, _) => return Err(format!("op {op:?} before READY")),
        }
    };
    let _ = events.send(Event::Ready(start.elapsed().as_micros() as u64));
    drop(permit);
    let mut beat = tokio::time::interval(Duration::from_millis(interval));
    beat.tick().await;
    // Everything after READY; its errors are marked as such.
    let result: Result<(), String> = async {
        loop {
            tokio::select! {
                got = next(&mut ws, &mut decoder) => {
                    let (value, wire, json, arrived) = got?;
                    if value["t"] == "GUILD_CREATE" {
                        let _ = events.send(Event::Sizes(ready_bytes, json, wire));
                    }
                    if !value["s"].is_null() {
                        seq = value["s"].clone();
                    }
                    if value["t"] == "MESSAGE_CREATE"
                        && let Some(mark) = value["d"]["content"].as_str().and_then(|c| c.strip_prefix("gwload "))
                    {
                        let mut parts = mark.split(' ').map(|p| p.parse::<u64>().unwrap_or(0));
                        let (id, sent) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
                        let latency_us = arrived.saturating_sub(sent);
                        let _ = events.send(Event::Delivered { id, latency_us, wire, json });
                    }
                }
                _ = beat.tick() => {
                    let hb = json!({"op": 1, "d": seq});
                    ws.send(Message::text(hb.to_string())).await.map_err(|e| format!("heartbeat: {e}"))?;
                }
            }
        }
    }
    .await;
    result.map_err(|e| format!("{AFTER_READY}{e}"))
}

/// `--clients`: sessions for tokens `[from, to)`.
async fn clients(flags: &Flags) {
    let file = std::fs::read_to_string(flags.str("file", "/tmp/accord-gateway-load.txt"))
        .expect("read the session file");
    let lines: Vec<&str> = file.lines().collect();
    let tokens = &lines[5..];
    let from = flags.num("from", 0);
    let to = flags.num("to", tokens.len()).min(tokens.len());
    let compress = flags.str("compress", "none");
    let gateways: Vec<(SocketAddr, String)> = lines[1]
        .split_whitespace()
        .map(|ws| {
            let addr: SocketAddr = ws
                .strip_prefix("ws://")
                .and_then(|a| a.parse().ok())
                .expect("ws://ip:port");
            let mut url = format!("{ws}/?v=10&encoding=json");
            if compress != "none" {
                url.push_str(&format!("&compress={compress}"));
            }
            (addr, url)
        })
        .collect();
    // "all" sends no intents (a user account then gets every event, presences included).
    let intents = match flags.str("intents", DEFAULT_INTENTS).as_str() {
        "all" => None,
        n => Some(n.parse::<u64>().expect("--intents N or all")),
    };
    let target = Arc::new(Target {
        gateways,
        compress,
        intents,
    });
    let total = to - from;
    let (tx, mut rx) = mpsc::unbounded_channel();
    // At most this many identifies in flight, so READY latency is not a queue of thousands.
    let in_flight = Arc::new(Semaphore::new(flags.num("parallel", 100)));
    for (i, token) in tokens.iter().enumerate().take(to).skip(from) {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % 8) as u8);
        let (target, token, tx) = (target.clone(), (*token).to_owned(), tx.clone());
        let permit = in_flight.clone().acquire_owned().await.expect("semaphore");
        tokio::spawn(async move {
            let result = session(source, target, i, token, permit, tx.clone()).await;
            let err = match result {
                Err(e) => e,
                Ok(()) => "session ended".into(),
            };
            let _ = tx.send(Event::Failed(err));
        });
    }
    drop(tx);
    let mut ready = Vec::with_capacity(total);
    let mut failed = 0usize;
    let mut reported = false;
    let mut sizes_shown = false;
    // Sessions that failed after their READY.
    let mut dropped = 0usize;
    // Per marked message: when the first copy arrived, and (latency µs, wire bytes, JSON bytes)
    // of every copy.
    type Copies = (Instant, Vec<(u64, usize, usize)>);
    let mut deliveries: HashMap<u64, Copies> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                match ev {
                    Event::Ready(us) => ready.push(us),
                    Event::Sizes(ready_json, guild_json, guild_wire) => {
                        if !sizes_shown {
                            sizes_shown = true;
                            println!("SIZES ready_json_bytes={ready_json} guild_create_json_bytes={guild_json} guild_create_wire_bytes={guild_wire}");
                        }
                    }
                    Event::Failed(e) => {
                        failed += 1;
                        if e.starts_with(AFTER_READY) {
                            dropped += 1;
                        }
                        if failed <= 5 {
                            eprintln!("clients: session failed: {e}");
                        }
                    }
                    Event::Delivered { id, latency_us, wire, json } => {
                        deliveries.entry(id).or_insert_with(|| (Instant::now(), Vec::new())).1.push((latency_us, wire, json));
                    }
                }
            }
            _ = tick.tick() => {}
        }
        if !reported && ready.len() + failed >= total {
            reported = true;
            ready.sort_unstable();
            println!(
                "CLIENTS_READY ready={} failed={failed} p50_us={} p99_us={} max_us={}",
                ready.len(),
                percentile(&ready, 0.5),
                percentile(&ready, 0.99),
                ready.last().copied().unwrap_or(0)
            );
        }
        let live = ready.len().saturating_sub(dropped);
        let done: Vec<u64> = deliveries
            .iter()
            .filter(|(_, (first, got))| {
                got.len() >= live || first.elapsed() > Duration::from_secs(10)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            let (_, mut got) = deliveries.remove(&id).expect("present");
            got.sort_unstable();
            let lat: Vec<u64> = got.iter().map(|g| g.0).collect();
            println!(
                "DELIVERED id={id} count={} p50_us={} max_us={} wire_bytes={} json_bytes={}",
                got.len(),
                percentile(&lat, 0.5),
                lat.last().copied().unwrap_or(0),
                got.iter().map(|g| g.1).max().unwrap_or(0),
                got.iter().map(|g| g.2).max().unwrap_or(0),
            );
        }
    }
}

/// A child process of this binary; its stdout lines arrive on `lines`.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Proc {
    fn spawn(args: &[String]) -> Self {
        let exe = std::env::current_exe().expect("own executable");
        let mut child = Command::new(exe)
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
    async fn wait_for(&mut self, prefix: &str, timeout: Duration) -> String {
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

    fn command(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("child stdin");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().expect("flush child stdin");
    }
}

/// The `key=value` field of a report line.
fn field(line: &str, key: &str) -> u64 {
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
async fn run(flags: &Flags) {
    let users = flags.num("users", 1000);
    let per_process = flags.num("per-process", 5000);
    let backend = flags.str("backend", "postgres");
    let threads = flags.num("threads", 2).to_string();
    let messages = flags.num("messages", 5) as u64;
    let kinds = flags.str("compress", "none,zlib-stream,zstd-stream");
    let intents = flags.str("intents", DEFAULT_INTENTS);
    let heartbeat_ms = flags.num("heartbeat-ms", 41_250);
    let gateways = flags.num("gateways", 0).to_string();
    let file = format!("/tmp/accord-gateway-load-{}.txt", std::process::id());
    let procs = users.div_ceil(per_process).max(2);
    let http = reqwest::Client::new();
    for kind in kinds.split(',') {
        println!("== {users} sessions, compress={kind}, {procs} client processes, {backend}");
        let mut server = Proc::spawn(&[
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
        ]);
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
                clients.push(Proc::spawn(&[
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
                ]));
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

        let lines: Vec<String> = std::fs::read_to_string(&file)
            .expect("session file")
            .lines()
            .map(str::to_owned)
            .collect();
        let (api, channel, owner) = (&lines[0], &lines[3], &lines[4]);
        for id in 1..=messages {
            let sent = now_us();
            post(
                &http,
                format!("{api}/channels/{channel}/messages"),
                owner,
                Some(json!({"content": format!("gwload {id} {sent}")})),
            )
            .await;
            let mut count = 0;
            let (mut p50, mut max, mut wire, mut json_bytes) = (Vec::new(), 0, 0, 0);
            for c in &mut clients {
                let line = c
                    .wait_for(&format!("DELIVERED id={id} "), Duration::from_secs(60))
                    .await;
                count += field(&line, "count");
                p50.push(field(&line, "p50_us"));
                max = max.max(field(&line, "max_us"));
                wire = wire.max(field(&line, "wire_bytes"));
                json_bytes = json_bytes.max(field(&line, "json_bytes"));
            }
            println!(
                "message {id}: delivered to {count} sessions, last after {:.1} ms (per-process p50 {:?} µs), MESSAGE_CREATE {json_bytes} bytes JSON, {wire} bytes on the wire",
                max as f64 / 1000.0,
                p50
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        server.command("quit");
        for mut c in clients {
            let _ = c.child.kill();
            let _ = c.child.wait();
        }
        let _ = tokio::task::spawn_blocking(move || server.child.wait()).await;
    }
    let _ = std::fs::remove_file(&file);
}
