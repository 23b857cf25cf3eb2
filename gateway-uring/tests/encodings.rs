//! Transport compression and ETF end to end: a client asking for `zlib-stream`, `zstd-stream`
//! or `encoding=etf` gets Hello, READY and dispatches it can decode with one streaming context
//! per connection (zlib: every message ends in 00 00 FF FF) — on SQLite.

mod common;

use common::Env;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// One connection's decoder.
enum Inflate {
    Zlib(flate2::Decompress),
    Zstd(zstd::stream::raw::Decoder<'static>),
    Etf,
}

impl Inflate {
    fn payload(&mut self, bytes: &[u8]) -> Value {
        match self {
            Inflate::Zlib(z) => {
                assert!(bytes.ends_with(&[0, 0, 0xff, 0xff]), "sync-flushed");
                let mut out = Vec::with_capacity(bytes.len() * 8 + 1024);
                let start = z.total_in();
                loop {
                    let used = (z.total_in() - start) as usize;
                    out.reserve(64 * 1024);
                    z.decompress_vec(&bytes[used..], &mut out, flate2::FlushDecompress::Sync)
                        .unwrap();
                    if (z.total_in() - start) as usize == bytes.len() {
                        break;
                    }
                }
                serde_json::from_slice(&out).unwrap()
            }
            Inflate::Zstd(d) => {
                use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                let mut out = Vec::new();
                let mut input = InBuffer::around(bytes);
                let mut chunk = vec![0u8; 1 << 20];
                loop {
                    let mut o = OutBuffer::around(&mut chunk[..]);
                    d.run(&mut input, &mut o).unwrap();
                    let n = o.pos();
                    out.extend_from_slice(&chunk[..n]);
                    if input.pos() == bytes.len() && n < chunk.len() {
                        break;
                    }
                }
                serde_json::from_slice(&out).unwrap()
            }
            Inflate::Etf => accord_gateway_encoding::etf::decode(bytes).unwrap(),
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next server message, decoded.
async fn next(ws: &mut Ws, inflate: &mut Inflate) -> Value {
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(b) => return inflate.payload(&b),
            Message::Text(t) => panic!("expected binary frames, got text {t}"),
            _ => continue,
        }
    }
}

async fn session_over(env: &Env, token: &str, channel: &str, query: &str, mut inflate: Inflate) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/?{query}", env.ws))
        .await
        .unwrap();
    let hello = next(&mut ws, &mut inflate).await;
    assert_eq!(hello["op"], 10, "{hello}");
    let identify = json!({"op": 2, "d": {"token": token, "properties": {}}});
    let frame = if query.contains("etf") {
        Message::binary(accord_gateway_encoding::etf::encode(&identify))
    } else {
        Message::text(identify.to_string())
    };
    ws.send(frame).await.unwrap();
    let ready = next(&mut ws, &mut inflate).await;
    assert_eq!(ready["t"], "READY", "{ready}");
    let guild = next(&mut ws, &mut inflate).await;
    assert_eq!(guild["t"], "GUILD_CREATE", "{guild}");
    assert!(
        guild["d"]["channels"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    // Two heartbeats with nothing between them: the connection goes idle and drops its
    // compression state; what follows must still decode with the same client context.
    for _ in 0..2 {
        let beat = json!({"op": 1, "d": null});
        let frame = if query.contains("etf") {
            Message::binary(accord_gateway_encoding::etf::encode(&beat))
        } else {
            Message::text(beat.to_string())
        };
        ws.send(frame).await.unwrap();
        assert_eq!(next(&mut ws, &mut inflate).await["op"], 11);
    }
    env.say(token, channel, "after a quiet spell").await;
    let m = loop {
        let v = next(&mut ws, &mut inflate).await;
        if v["t"] == "MESSAGE_CREATE" {
            break v;
        }
    };
    assert_eq!(m["d"]["content"], "after a quiet spell");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_and_etf_sessions() {
    let env = Env::start("sqlite", |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (_, channel) = env.guild(&owner, "Lounge").await;
    session_over(
        &env,
        &owner,
        &channel,
        "v=10&encoding=json&compress=zlib-stream",
        Inflate::Zlib(flate2::Decompress::new(true)),
    )
    .await;
    session_over(
        &env,
        &owner,
        &channel,
        "v=10&encoding=json&compress=zstd-stream",
        Inflate::Zstd(zstd::stream::raw::Decoder::new().unwrap()),
    )
    .await;
    session_over(&env, &owner, &channel, "v=10&encoding=etf", Inflate::Etf).await;
    env.stop().await;
}

/// `gateway.compression` reaches the connections: at zlib level 0 deflate only stores, so a
/// large GUILD_CREATE goes out no smaller than its JSON (at the default level 6 it shrinks
/// several times), and it still decodes with one context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_settings_come_from_the_config() {
    let env = Env::start("sqlite", |c| c.gateway.compression.zlib_level = 0).await;
    let (owner, _) = env.user("owner").await;
    let (_, _channel) = env.guild(&owner, "Lounge").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "{}/?v=10&encoding=json&compress=zlib-stream",
        env.ws
    ))
    .await
    .unwrap();
    let mut inflate = Inflate::Zlib(flate2::Decompress::new(true));
    assert_eq!(next(&mut ws, &mut inflate).await["op"], 10);
    let identify = json!({"op": 2, "d": {"token": owner, "properties": {}}});
    ws.send(Message::text(identify.to_string())).await.unwrap();
    assert_eq!(next(&mut ws, &mut inflate).await["t"], "READY");
    let wire = loop {
        if let Message::Binary(b) = ws.next().await.unwrap().unwrap() {
            break b;
        }
    };
    let guild = inflate.payload(&wire);
    assert_eq!(guild["t"], "GUILD_CREATE", "{guild}");
    let plain = serde_json::to_vec(&guild).unwrap().len();
    assert!(plain > 1000, "a large payload: {plain} bytes");
    assert!(
        wire.len() >= plain,
        "stored, not compressed: {} bytes on the wire for {plain} bytes of JSON",
        wire.len()
    );
    env.stop().await;
}
