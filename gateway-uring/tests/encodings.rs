//! Transport compression and ETF end to end: a client asking for `zlib-stream`, `zstd-stream`
//! or `encoding=etf` gets Hello, READY and dispatches it can decode with one streaming context
//! per connection (zlib: every message ends in 00 00 FF FF) — on SQLite.

mod common;

use common::Env;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// One connection's decompression context.
enum Inflate {
    Zlib(flate2::Decompress),
    Zstd(zstd::stream::raw::Decoder<'static>),
    None,
}

impl Inflate {
    /// The message's plain bytes.
    fn plain(&mut self, bytes: &[u8]) -> Vec<u8> {
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
                out
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
                out
            }
            Inflate::None => bytes.to_vec(),
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next server message, decoded (ETF or JSON), and its plain bytes.
async fn next(ws: &mut Ws, inflate: &mut Inflate, etf: bool) -> (Value, Vec<u8>) {
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(b) => {
                let plain = inflate.plain(&b);
                let value = if etf {
                    accord_gateway_encoding::etf::decode(&plain).unwrap()
                } else {
                    serde_json::from_slice(&plain).unwrap()
                };
                return (value, plain);
            }
            Message::Text(t) => panic!("expected binary frames, got text {t}"),
            _ => continue,
        }
    }
}

/// A session over `query` that goes quiet (two heartbeats with nothing between them) and then
/// receives a message; returns the plain bytes of that MESSAGE_CREATE.
async fn session_over(
    env: &Env,
    token: &str,
    channel: &str,
    query: &str,
    mut inflate: Inflate,
) -> Vec<u8> {
    let etf = query.contains("etf");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/?{query}", env.ws))
        .await
        .unwrap();
    let (hello, _) = next(&mut ws, &mut inflate, etf).await;
    assert_eq!(hello["op"], 10, "{hello}");
    let identify = json!({"op": 2, "d": {"token": token, "properties": {}}});
    let frame = if etf {
        Message::binary(accord_gateway_encoding::etf::encode(&identify))
    } else {
        Message::text(identify.to_string())
    };
    ws.send(frame).await.unwrap();
    let (ready, _) = next(&mut ws, &mut inflate, etf).await;
    assert_eq!(ready["t"], "READY", "{ready}");
    let (guild, _) = next(&mut ws, &mut inflate, etf).await;
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
        let frame = if etf {
            Message::binary(accord_gateway_encoding::etf::encode(&beat))
        } else {
            Message::text(beat.to_string())
        };
        ws.send(frame).await.unwrap();
        assert_eq!(next(&mut ws, &mut inflate, etf).await.0["op"], 11);
    }
    env.say(token, channel, "after a quiet spell").await;
    let (m, plain) = loop {
        let (v, plain) = next(&mut ws, &mut inflate, etf).await;
        if v["t"] == "MESSAGE_CREATE" {
            break (v, plain);
        }
    };
    assert_eq!(m["d"]["content"], "after a quiet spell");
    plain
}

/// [`session_over`] for a JSON zstd-stream connection.
async fn zstd_json_session(env: &Env, token: &str, channel: &str) -> Vec<u8> {
    let query = "v=10&encoding=json&compress=zstd-stream";
    let inflate = Inflate::Zstd(zstd::stream::raw::Decoder::new().unwrap());
    session_over(env, token, channel, query, inflate).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_and_etf_sessions() {
    let env = Env::start("sqlite", |_| {}).await;
    let (owner, _) = env.user("owner").await;
    let (_, channel) = env.guild(&owner, "Lounge").await;
    let zlib = session_over(
        &env,
        &owner,
        &channel,
        "v=10&encoding=json&compress=zlib-stream",
        Inflate::Zlib(flate2::Decompress::new(true)),
    )
    .await;
    assert!(zlib.starts_with(b"{\"op\":0"));
    // A quiet JSON zstd-stream connection gave its context back: the message was compressed
    // alone and fitted onto the connection's frame behind JSON whitespace.
    let zstd = zstd_json_session(&env, &owner, &channel).await;
    assert_eq!(
        zstd[..accord_gateway_encoding::ZSTD_RESYNC_TEXT.len()],
        accord_gateway_encoding::ZSTD_RESYNC_TEXT[..],
        "{}",
        String::from_utf8_lossy(&zstd)
    );
    // An ETF one keeps its context (its messages must start with the version byte).
    let etf_zstd = session_over(
        &env,
        &owner,
        &channel,
        "v=10&encoding=etf&compress=zstd-stream",
        Inflate::Zstd(zstd::stream::raw::Decoder::new().unwrap()),
    )
    .await;
    assert_eq!(etf_zstd[0], 131);
    let etf = session_over(&env, &owner, &channel, "v=10&encoding=etf", Inflate::None).await;
    assert_eq!(etf[0], 131);
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
    assert_eq!(next(&mut ws, &mut inflate, false).await.0["op"], 10);
    let identify = json!({"op": 2, "d": {"token": owner, "properties": {}}});
    ws.send(Message::text(identify.to_string())).await.unwrap();
    assert_eq!(next(&mut ws, &mut inflate, false).await.0["t"], "READY");
    let wire = loop {
        if let Message::Binary(b) = ws.next().await.unwrap().unwrap() {
            break b;
        }
    };
    let guild: Value = serde_json::from_slice(&inflate.plain(&wire)).unwrap();
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

/// With `gateway.compression.zstd_share_when_quiet` off, a quiet zstd-stream connection keeps
/// its context: the message after the quiet spell is compressed by it, with no whitespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_zstd_connections_keep_their_context_when_sharing_is_off() {
    let env = Env::start("sqlite", |c| {
        c.gateway.compression.zstd_share_when_quiet = false;
    })
    .await;
    let (owner, _) = env.user("owner").await;
    let (_, channel) = env.guild(&owner, "Lounge").await;
    let zstd = zstd_json_session(&env, &owner, &channel).await;
    assert!(
        zstd.starts_with(b"{\"op\":0"),
        "{}",
        String::from_utf8_lossy(&zstd)
    );
    env.stop().await;
}
