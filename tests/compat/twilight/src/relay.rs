//! A local TCP relay between one twilight shard and Accord's gateway (`--gateway`) that records
//! each WebSocket upgrade request and counts the server's text and binary frames, since twilight
//! hands decompressed and plain frames alike to the application as text. Under zstd-stream a
//! request without `compress=zstd-stream` or a text frame from the server is reported as fatal.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedSender;

/// The query parameter every relayed upgrade request must carry.
pub const COMPRESS_PARAM: &str = "compress=zstd-stream";

/// What the relay saw, shared with the bot.
#[derive(Default)]
pub struct Stats {
    /// Data frames with opcode 1 (text) from the server.
    pub text: AtomicU64,
    /// Data frames with opcode 2 (binary) from the server.
    pub binary: AtomicU64,
    /// Every gateway URL the library asked for, as `ws://<gateway host><request target>`.
    pub urls: Mutex<Vec<String>>,
}

impl Stats {
    pub fn frames(&self) -> (u64, u64) {
        (
            self.binary.load(Ordering::SeqCst),
            self.text.load(Ordering::SeqCst),
        )
    }
}

/// Where the relay of one shard reports.
#[derive(Clone)]
pub struct Report {
    pub shard: u32,
    pub stats: Arc<Stats>,
    /// Receives what makes the run fail.
    pub fatal: UnboundedSender<String>,
}

/// Listens on an ephemeral 127.0.0.1 port and relays every connection to `upstream`
/// (`host:port`). Returns the listening address.
pub async fn start(upstream: String, report: Report) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, report) = (upstream.clone(), report.clone());
            tokio::spawn(async move {
                if let Err(e) = relay(client, &upstream, &report).await {
                    eprintln!(
                        "[relay] shard {}: connection to {upstream} ended: {e}",
                        report.shard
                    );
                }
            });
        }
    });
    Ok(addr)
}

async fn relay(client: TcpStream, upstream: &str, report: &Report) -> std::io::Result<()> {
    let stats = &report.stats;
    let server = TcpStream::connect(upstream).await?;
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();

    let requests = async {
        let (head, rest) = read_head(&mut client_rx).await?;
        let target = head.split(' ').nth(1).unwrap_or_default();
        let url = format!("ws://{upstream}{target}");
        eprintln!("[relay] shard {} connects to {url}", report.shard);
        if !target.contains(COMPRESS_PARAM) {
            let _ = report.fatal.send(format!(
                "shard {}: gateway URL {url} does not ask for {COMPRESS_PARAM}",
                report.shard
            ));
        }
        stats.urls.lock().unwrap().push(url);
        server_tx.write_all(head.as_bytes()).await?;
        server_tx.write_all(&rest).await?;
        tokio::io::copy(&mut client_rx, &mut server_tx).await?;
        server_tx.shutdown().await
    };
    let responses = async {
        let (head, rest) = read_head(&mut server_rx).await?;
        client_tx.write_all(head.as_bytes()).await?;
        let mut frames = FrameCounter::default();
        // Count before forwarding, so a frame is counted by the time the library has read it.
        frames.feed(&rest, report);
        client_tx.write_all(&rest).await?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = server_rx.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            frames.feed(&buf[..n], report);
            client_tx.write_all(&buf[..n]).await?;
        }
        client_tx.shutdown().await
    };
    let (a, b) = tokio::join!(requests, responses);
    a.and(b)
}

/// Reads an HTTP head (through the blank line); returns it and any bytes read past it.
async fn read_head(rx: &mut (impl AsyncRead + Unpin)) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("HTTP head longer than 64 KiB"));
        }
        let n = rx.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Walks a stream of WebSocket frames (RFC 6455 §5.2) and counts the data frames by opcode.
#[derive(Default)]
struct FrameCounter {
    /// Header bytes of the frame being read.
    header: Vec<u8>,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
}

impl FrameCounter {
    /// Counts the frames of `data` into the stats, reporting each text frame as fatal.
    fn feed(&mut self, data: &[u8], report: &Report) {
        if self.count(data, &report.stats) > 0 {
            let _ = report.fatal.send(format!(
                "shard {}: the gateway sent a text frame although zstd-stream sends only binary \
                 frames ({} text, {} binary so far)",
                report.shard,
                report.stats.text.load(Ordering::SeqCst),
                report.stats.binary.load(Ordering::SeqCst)
            ));
        }
    }

    /// Counts the frames of `data` into `stats`; returns how many were text frames.
    fn count(&mut self, mut data: &[u8], stats: &Stats) -> u64 {
        let mut text = 0;
        while !data.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip).map_or(data.len(), |s| s.min(data.len()));
                self.skip -= n as u64;
                data = &data[n..];
                continue;
            }
            self.header.push(data[0]);
            data = &data[1..];
            if let Some((opcode, len)) = parse_header(&self.header) {
                match opcode {
                    1 => {
                        text += 1;
                        stats.text.fetch_add(1, Ordering::SeqCst)
                    }
                    2 => stats.binary.fetch_add(1, Ordering::SeqCst),
                    _ => 0,
                };
                self.skip = len;
                self.header.clear();
            }
        }
        text
    }
}

/// The opcode and payload length of a complete frame header, or `None` if more bytes are needed.
fn parse_header(h: &[u8]) -> Option<(u8, u64)> {
    let (&first, &second) = (h.first()?, h.get(1)?);
    let masked = second & 0x80 != 0;
    let short = second & 0x7f;
    let ext = match short {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    if h.len() < 2 + ext + if masked { 4 } else { 0 } {
        return None;
    }
    let len = match ext {
        0 => u64::from(short),
        2 => u64::from(u16::from_be_bytes([h[2], h[3]])),
        _ => u64::from_be_bytes(h[2..10].try_into().ok()?),
    };
    Some((first & 0x0f, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n @ 0..=125 => f.push(n as u8),
            n @ 126..=0xffff => {
                f.push(126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn a_text_frame_is_reported_as_fatal() {
        let (fatal, mut errors) = tokio::sync::mpsc::unbounded_channel();
        let report = Report {
            shard: 1,
            stats: Arc::default(),
            fatal,
        };
        let mut counter = FrameCounter::default();
        counter.feed(&frame(2, &[7; 40]), &report);
        assert!(errors.try_recv().is_err(), "a binary frame is fine");
        counter.feed(&frame(1, b"{}"), &report);
        let e = errors.try_recv().expect("a text frame is fatal");
        assert!(
            e.starts_with("shard 1: the gateway sent a text frame"),
            "{e}"
        );
        assert!(e.ends_with("(1 text, 1 binary so far)"), "{e}");
    }

    #[test]
    fn counts_frames_split_at_any_byte() {
        let mut stream = frame(2, &[7; 300]);
        stream.extend(frame(1, b"{\"op\":11}"));
        stream.extend(frame(9, b"ping"));
        stream.extend(frame(2, &vec![1; 70_000]));
        stream.extend(frame(2, b""));
        for chunk in [1, 2, 3, 7, 125, 4096, stream.len()] {
            let stats = Stats::default();
            let mut counter = FrameCounter::default();
            let mut text = 0;
            for part in stream.chunks(chunk) {
                text += counter.count(part, &stats);
            }
            assert_eq!(text, 1, "chunks of {chunk}");
            assert_eq!(stats.frames(), (3, 1), "chunks of {chunk}");
        }
    }
}
