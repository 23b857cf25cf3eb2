//! The edge's access log (`edge.access_log`, `edge.access_log_format`): one line per request,
//! in nginx's `combined` format (plus upstream, upstream address and duration) or as JSON.
//!
//! The proxy only hands an [`Entry`] to a bounded channel ([`AccessLog::record`] never waits);
//! a thread of its own formats and writes the lines through a buffer, flushed whenever the
//! channel is empty. When the writer falls behind by [`QUEUE`] lines, further lines are dropped
//! and counted.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime};

use accord_config::AccessLogFormat;
use anyhow::Context;
use chrono::{DateTime, Utc};

/// Lines the writer may fall behind by before lines are dropped.
pub const QUEUE: usize = 65_536;

/// What one access log line says.
#[derive(Debug, Clone)]
pub struct Entry {
    /// When the response ended.
    pub time: SystemTime,
    /// The client address (behind trusted proxies).
    pub client: Option<IpAddr>,
    /// The request method.
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// `HTTP/1.1`, `HTTP/2.0`...
    pub version: &'static str,
    /// The response status; 499 when the client went away before a response was sent.
    pub status: u16,
    /// Response body bytes sent to the client.
    pub bytes: usize,
    /// The `Referer` header.
    pub referer: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The upstream's name (`edge` for the edge's own answers).
    pub upstream: String,
    /// The upstream address last tried.
    pub upstream_addr: Option<SocketAddr>,
    /// Time from the request head to the end of the response.
    pub duration: Duration,
}

/// Where lines go.
enum Sink {
    Stdout,
    File(std::fs::File),
}

/// The sending side of the access log.
#[derive(Debug)]
pub struct AccessLog {
    tx: SyncSender<Entry>,
    dropped: Arc<AtomicU64>,
}

impl AccessLog {
    /// The access log of `target` (`off`, `stdout` or a file path) in `format`; `None` when
    /// `off`. Opens the file (appending) and starts the writer thread.
    pub fn open(target: &str, format: AccessLogFormat) -> anyhow::Result<Option<Self>> {
        let sink = match target.trim() {
            "off" => return Ok(None),
            "stdout" => Sink::Stdout,
            path => Sink::File(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open the access log {path}"))?,
            ),
        };
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("edge-access-log".into())
            .spawn(move || match sink {
                Sink::Stdout => write_lines(&rx, BufWriter::new(std::io::stdout()), format),
                Sink::File(file) => write_lines(&rx, BufWriter::new(file), format),
            })
            .context("cannot start the access log thread")?;
        Ok(Some(Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }))
    }

    /// Queues `entry`; drops it (and counts it) when the writer is behind. Never waits.
    pub fn record(&self, entry: Entry) -> bool {
        match self.tx.try_send(entry) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The writer thread: writes every entry, flushing whenever the queue is empty; ends when
/// every sender is gone.
fn write_lines(rx: &Receiver<Entry>, mut out: impl Write, format: AccessLogFormat) {
    let mut line = String::with_capacity(512);
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(entry) = next {
            line.clear();
            format_entry(&mut line, &entry, format);
            if out.write_all(line.as_bytes()).is_err() {
                return;
            }
            next = rx.try_recv().ok();
        }
        if out.flush().is_err() {
            return;
        }
    }
}

/// `-` for a missing value, else the value with `"` and `\` escaped and control bytes shown as
/// `\xNN` (nginx's escaping), so a header cannot forge a line.
fn quoted(out: &mut String, value: Option<&str>) {
    use std::fmt::Write as _;
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        out.push('-');
        return;
    };
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// Appends the line for `e` (newline included) in `format`.
pub fn format_entry(out: &mut String, e: &Entry, format: AccessLogFormat) {
    use std::fmt::Write as _;
    let time = DateTime::<Utc>::from(e.time);
    let client = e.client.map(|c| c.to_string());
    let addr = e.upstream_addr.map(|a| a.to_string());
    match format {
        AccessLogFormat::Combined => {
            let _ = write!(
                out,
                "{} - - [{}] \"",
                client.as_deref().unwrap_or("-"),
                time.format("%d/%b/%Y:%H:%M:%S %z")
            );
            quoted(out, Some(&e.method));
            out.push(' ');
            quoted(out, Some(&e.path));
            let _ = write!(out, " {}\" {} {} \"", e.version, e.status, e.bytes);
            quoted(out, e.referer.as_deref());
            out.push_str("\" \"");
            quoted(out, e.user_agent.as_deref());
            let _ = writeln!(
                out,
                "\" upstream={} addr={} duration={:.6}",
                e.upstream,
                addr.as_deref().unwrap_or("-"),
                e.duration.as_secs_f64()
            );
        }
        AccessLogFormat::Json => {
            let value = serde_json::json!({
                "time": time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "client": client,
                "method": e.method,
                "path": e.path,
                "version": e.version,
                "status": e.status,
                "bytes": e.bytes,
                "referer": e.referer,
                "user_agent": e.user_agent,
                "upstream": e.upstream,
                "upstream_addr": addr,
                "duration": e.duration.as_secs_f64(),
            });
            let _ = writeln!(out, "{value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_400_000),
            client: Some("203.0.113.7".parse().unwrap()),
            method: "GET".into(),
            path: "/api/v10/gateway?x=1".into(),
            version: "HTTP/1.1",
            status: 200,
            bytes: 42,
            referer: None,
            user_agent: Some("curl/8.0 \"quoted\"\n".into()),
            upstream: "api".into(),
            upstream_addr: Some("127.0.0.1:3001".parse().unwrap()),
            duration: Duration::from_micros(412),
        }
    }

    #[test]
    fn combined_lines_escape_quotes_and_control_characters() {
        let mut line = String::new();
        format_entry(&mut line, &entry(), AccessLogFormat::Combined);
        assert_eq!(
            line,
            "203.0.113.7 - - [04/Dec/2026:16:00:00 +0000] \"GET /api/v10/gateway?x=1 HTTP/1.1\" \
             200 42 \"-\" \"curl/8.0 \\\"quoted\\\"\\x0A\" upstream=api addr=127.0.0.1:3001 \
             duration=0.000412\n"
        );
    }

    #[test]
    fn json_lines_are_one_object_each() {
        let mut line = String::new();
        format_entry(&mut line, &entry(), AccessLogFormat::Json);
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["time"], "2026-12-04T16:00:00.000Z");
        assert_eq!(v["status"], 200);
        assert_eq!(v["upstream_addr"], "127.0.0.1:3001");
        assert_eq!(v["referer"], serde_json::Value::Null);
        assert_eq!(v["duration"], 0.000412);
    }

    #[test]
    fn a_file_log_gets_every_line_and_a_full_queue_drops_instead_of_waiting() {
        let dir = std::env::temp_dir().join(format!("accord-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("access.log");
        let log = AccessLog::open(path.to_str().unwrap(), AccessLogFormat::Combined)
            .unwrap()
            .unwrap();
        for _ in 0..3 {
            assert!(log.record(entry()));
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().count() == 3 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{text}");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(log.dropped(), 0);
        assert!(
            AccessLog::open("off", AccessLogFormat::Json)
                .unwrap()
                .is_none()
        );

        // A writer that never drains: the queue fills, then lines are dropped at once.
        let (tx, _rx) = sync_channel(2);
        let stuck = AccessLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        assert!(stuck.record(entry()) && stuck.record(entry()));
        assert!(!stuck.record(entry()));
        assert_eq!(stuck.dropped(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
