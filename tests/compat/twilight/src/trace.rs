//! The library's own log: twilight-gateway reports every connection it opens with a `connecting`
//! debug event (its `url` field is the base URL: `proxy_url` for a new session, READY's
//! `resume_gateway_url` for a resume), which becomes an `EVENT connect`; with `COMPAT_DEBUG=1` its
//! whole debug log goes to stderr as well.

use std::fmt::Debug;

use tracing::Level;
use tracing::field::{Field, Visit};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

tokio::task_local! {
    /// The id of the shard whose task is running (each shard is polled by its own task).
    pub static SHARD: u32;
}

/// The module of twilight-gateway that logs `connecting`.
const SHARD_TARGET: &str = "twilight_gateway::shard";

/// Turns twilight-gateway's `connecting` events into `EVENT connect` lines.
struct Connects {
    /// Each shard's frame-counting relay URL and the `--gateway` URL it stands for.
    relays: Vec<(String, String)>,
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    url: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "url" => self.url = Some(value.to_owned()),
            "message" => self.message = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        match field.name() {
            "url" => self.url = Some(format!("{value:?}")),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Connects {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != SHARD_TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let (Some("connecting"), Some(url)) = (fields.message.as_deref(), fields.url) else {
            return;
        };
        let url = self
            .relays
            .iter()
            .find(|(relay, _)| *relay == url)
            .map_or(url, |(_, gateway)| gateway.clone());
        match SHARD.try_with(|shard| *shard) {
            Ok(shard) => crate::event("connect", shard, serde_json::json!({"url": url})),
            Err(_) => eprintln!("[trace] a connection to {url} outside any shard's task"),
        }
    }
}

/// Installs the global subscriber: the `connect` reporter, and the library's debug log on stderr
/// when `debug`.
pub fn init(relays: Vec<(String, String)>, debug: bool) -> Result<(), String> {
    let connects =
        Connects { relays }.with_filter(Targets::new().with_target(SHARD_TARGET, Level::DEBUG));
    let log = debug.then(|| {
        let targets = Targets::new()
            .with_target("twilight_gateway", Level::DEBUG)
            .with_target("twilight_gateway_queue", Level::DEBUG)
            .with_target("twilight_http", Level::DEBUG)
            .with_target("twilight_http_ratelimiting", Level::DEBUG);
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_filter(targets)
    });
    tracing_subscriber::registry()
        .with(connects)
        .with(log)
        .try_init()
        .map_err(|e| format!("installing the tracing subscriber: {e}"))
}
