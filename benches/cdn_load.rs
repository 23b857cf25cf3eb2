//! CDN load generator: starts the real API and CDN in this process on loopback ports (SQLite,
//! local-disk storage in a temporary directory), uploads through the API, then measures
//!
//! 1. a cached 64 KiB attachment: `--connections` keep-alive clients fetching it for
//!    `--seconds` (requests/s, latency percentiles);
//! 2. resizes: `--images` users each upload a 512×512 PNG avatar, then every avatar is fetched
//!    once as each of 128, 64 and 32 pixels × WebP, PNG and JPEG — every request a render that
//!    has not been done before (decode, resize, encode, store) — renders/s and latency;
//! 3. a rendered variant fetched again (now from the storage cache) for `--seconds`.
//!
//! The server and the load share the machine's cores: figures are a floor.
//!
//! Run: `cargo run --release -p accord-bench --bin accord-cdn-load -- --connections 32 --seconds 10`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use accord_api::AppState;
use accord_bench::Report;
use accord_bus::Bus;
use accord_config::Config;
use accord_testkit::TestDb;
use base64::Engine;
use serde_json::{Value, json};

struct Args {
    connections: usize,
    seconds: u64,
    images: usize,
}

fn args() -> Args {
    let mut a = Args {
        connections: 32,
        seconds: 10,
        images: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--connections" => a.connections = value.parse().expect("--connections N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--images" => a.images = value.parse().expect("--images N"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A 512×512 RGB PNG that looks like a photo to an encoder (gradients and noise), different
/// for every `seed`.
fn picture(seed: u32) -> Vec<u8> {
    const SIDE: u32 = 512;
    let mut pixels = Vec::with_capacity((SIDE * SIDE * 3) as usize);
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for y in 0..SIDE {
        for x in 0..SIDE {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state & 31) as u8;
            pixels.push(((x / 2) as u8).wrapping_add(noise));
            pixels.push(((y / 2) as u8).wrapping_add(seed as u8));
            pixels.push((((x + y) / 4) as u8) ^ noise);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIDE, SIDE);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("png header");
    writer.write_image_data(&pixels).expect("png data");
    writer.finish().expect("png end");
    out
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("json body");
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// Registers an account and returns its token and id.
async fn register(http: &reqwest::Client, api: &str, name: &str) -> (String, String) {
    let body = json_of(
        http.post(format!("{api}/auth/register"))
            .json(&json!({"username": name, "password": "cdn load password"}))
            .send()
            .await
            .expect("register"),
    )
    .await;
    let token = body["token"].as_str().expect("token").to_owned();
    let me = json_of(
        http.get(format!("{api}/users/@me"))
            .header("authorization", &token)
            .send()
            .await
            .expect("me"),
    )
    .await;
    (token, me["id"].as_str().expect("id").to_owned())
}

#[tokio::main]
async fn main() {
    let args = args();
    let db = TestDb::new("sqlite").await;
    let store = db.store().await;
    let data = tempfile::tempdir().expect("data directory");
    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cdn_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/api/v10", api_listener.local_addr().unwrap());
    let cdn = format!("http://{}", cdn_listener.local_addr().unwrap());
    let mut config = Config::default();
    config.log.filter = "warn".into();
    accord_bench::disable_rate_limits(&mut config);
    config.security.argon2.memory_kib = 256;
    config.security.argon2.iterations = 1;
    config.data_dir = data.path().to_path_buf();
    config.cdn.public_url = Some(cdn.clone());
    let config = Arc::new(config);
    let state = AppState::new(config.clone(), store.clone(), Bus::memory(1024))
        .await
        .expect("state");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(accord_api::serve(api_listener, state, async move {
        let _ = stop_rx.await;
    }));
    let blobs = accord_blobs::Blobs::from_config(&config).expect("storage");
    let (cdn_stop, cdn_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(accord_cdn::serve(
        cdn_listener,
        accord_cdn::CdnState::new(&config, blobs),
        async move {
            let _ = cdn_rx.await;
        },
    ));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()
        .expect("client");

    // 1. A 64 KiB attachment.
    let (token, _) = register(&http, &api, "cdnload").await;
    let guild = json_of(
        http.post(format!("{api}/guilds"))
            .header("authorization", &token)
            .json(&json!({"name": "cdn load"}))
            .send()
            .await
            .expect("guild"),
    )
    .await;
    let channels = json_of(
        http.get(format!(
            "{api}/guilds/{}/channels",
            guild["id"].as_str().expect("guild id")
        ))
        .header("authorization", &token)
        .send()
        .await
        .expect("channels"),
    )
    .await;
    let channel = channels
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["type"] == 0)
        .expect("a text channel")["id"]
        .as_str()
        .expect("channel id")
        .to_owned();
    let file: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let form = reqwest::multipart::Form::new()
        .text("payload_json", json!({"content": "64 KiB"}).to_string())
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(file.clone()).file_name("data.bin"),
        );
    let message = json_of(
        http.post(format!("{api}/channels/{channel}/messages"))
            .header("authorization", &token)
            .multipart(form)
            .send()
            .await
            .expect("upload"),
    )
    .await;
    let url = message["attachments"][0]["url"]
        .as_str()
        .expect("attachment url")
        .to_owned();
    let fetched = http.get(&url).send().await.expect("fetch").bytes().await;
    assert_eq!(
        fetched.expect("bytes").as_ref(),
        &file[..],
        "the CDN serves it"
    );
    let client = http.clone();
    let report =
        accord_bench::drive(args.connections, args.seconds, move |_, _| client.get(&url)).await;
    println!(
        "GET a 64 KiB attachment ({} connections, {} s): {}",
        args.connections,
        args.seconds,
        report.summary("req")
    );

    // 2. Renders: every request a new variant.
    let mut avatars = Vec::with_capacity(args.images);
    for i in 0..args.images {
        let (token, id) = register(&http, &api, &format!("avatar{i}")).await;
        let uri = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(picture(i as u32))
        );
        let me = json_of(
            http.patch(format!("{api}/users/@me"))
                .header("authorization", &token)
                .json(&json!({"avatar": uri}))
                .send()
                .await
                .expect("avatar upload"),
        )
        .await;
        avatars.push(format!(
            "{cdn}/avatars/{id}/{}",
            me["avatar"].as_str().expect("avatar hash")
        ));
    }
    let mut variants = Vec::new();
    for size in [128, 64, 32] {
        for ext in ["webp", "png", "jpg"] {
            for avatar in &avatars {
                variants.push(format!("{avatar}.{ext}?size={size}"));
            }
        }
    }
    let variants = Arc::new(variants);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections.min(variants.len()) {
        let (variants, next, http) = (variants.clone(), next.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(url) = variants.get(i) else { break };
                let t = Instant::now();
                match http.get(url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed().as_micros() as u64);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut renders = Report::default();
    for task in tasks {
        let (latencies, errors) = task.await.expect("render client");
        renders.latencies.extend(latencies);
        renders.errors += errors;
    }
    renders.latencies.sort_unstable();
    let took = start.elapsed();
    println!(
        "render 512×512 PNG → 128/64/32 px WebP/PNG/JPEG, each variant new ({} variants, {} connections): {:.0} renders/s in {:.2} s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
        variants.len(),
        args.connections,
        renders.latencies.len() as f64 / took.as_secs_f64(),
        took.as_secs_f64(),
        renders.percentile(0.5) as f64 / 1000.0,
        renders.percentile(0.99) as f64 / 1000.0,
        renders.errors
    );

    // 3. A rendered variant again, from the cache.
    let cached = variants[0].clone();
    let client = http.clone();
    let report = accord_bench::drive(args.connections, args.seconds, move |_, _| {
        client.get(&cached)
    })
    .await;
    println!(
        "GET a rendered 128 px WebP avatar again, from the cache ({} connections, {} s): {}",
        args.connections,
        args.seconds,
        report.summary("req")
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop_tx.send(());
    let _ = cdn_stop.send(());
    store.close().await;
    db.drop_db().await;
}
