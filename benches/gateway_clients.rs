//! The load generator's client side (`--clients`): sessions that connect from 127.0.0.x source
//! addresses, identify, heartbeat, decode every frame (zlib-stream / zstd-stream included) and
//! report identify→READY times and when marked MESSAGE_CREATEs arrived.

use super::*;

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
        /// Until this process read the frame.
        latency_us: u64,
        /// Until the kernel received it on the client's socket (`SO_TIMESTAMPNS`).
        kernel_us: u64,
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
    let stream =
        crate::stamped::Stamped::new(stream).map_err(|e| format!("SO_TIMESTAMPNS: {e}"))?;
    let clock = stream.clock();
    let unread = stream.unread();
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
    let next = async |ws: &mut tokio_tungstenite::WebSocketStream<crate::stamped::Stamped>,
                      decoder: &mut Decoder|
           -> Result<(Value, usize, usize, u64, u64), String> {
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
            let received = match clock.load(std::sync::atomic::Ordering::Relaxed) {
                0 => arrived,
                us => us,
            };
            let wire = match msg {
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Binary(b) => b.to_vec(),
                Message::Close(c) => return Err(format!("closed: {c:?}")),
                _ => continue,
            };
            let plain = decoder.decode(&wire)?;
            let value = serde_json::from_slice(&plain).map_err(|e| format!("json: {e}"))?;
            return Ok((value, wire.len(), plain.len(), arrived, received));
        }
    };
    let (hello, _, _, _, _) = tokio::time::timeout(SETUP_TIMEOUT, next(&mut ws, &mut decoder))
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
        let (value, _, json, _, _) =
            tokio::time::timeout(SETUP_TIMEOUT, next(&mut ws, &mut decoder))
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
    // A heartbeat whose time came while frames waited unread goes out once they are read:
    // its ACK would otherwise merge into their buffer and date them (see `stamped`).
    let mut beat_due = false;
    // Everything after READY; its errors are marked as such.
    let result: Result<(), String> = async {
        loop {
            tokio::select! {
                got = next(&mut ws, &mut decoder) => {
                    let (value, wire, json, arrived, received) = got?;
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
                        let kernel_us = received.saturating_sub(sent);
                        let _ = events.send(Event::Delivered { id, latency_us, kernel_us, wire, json });
                    }
                }
                _ = beat.tick() => beat_due = true,
            }
            if beat_due && !unread.any() {
                beat_due = false;
                let hb = json!({"op": 1, "d": seq});
                ws.send(Message::text(hb.to_string())).await.map_err(|e| format!("heartbeat: {e}"))?;
            }
        }
    }
    .await;
    result.map_err(|e| format!("{AFTER_READY}{e}"))
}

/// `--clients`: sessions for tokens `[from, to)`.
pub(super) async fn clients(flags: &Flags) {
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
    type Copies = (Instant, Vec<(u64, usize, usize, u64)>);
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
                    Event::Delivered { id, latency_us, kernel_us, wire, json } => {
                        deliveries.entry(id).or_insert_with(|| (Instant::now(), Vec::new())).1.push((latency_us, wire, json, kernel_us));
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
            let mut kernel: Vec<u64> = got.iter().map(|g| g.3).collect();
            kernel.sort_unstable();
            println!(
                "DELIVERED id={id} count={} p50_us={} max_us={} kp50_us={} kp90_us={} kp99_us={} kmax_us={} wire_bytes={} json_bytes={}",
                got.len(),
                percentile(&lat, 0.5),
                lat.last().copied().unwrap_or(0),
                percentile(&kernel, 0.5),
                percentile(&kernel, 0.9),
                percentile(&kernel, 0.99),
                kernel.last().copied().unwrap_or(0),
                got.iter().map(|g| g.1).max().unwrap_or(0),
                got.iter().map(|g| g.2).max().unwrap_or(0),
            );
        }
    }
}
