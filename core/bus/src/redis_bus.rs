//! The Redis bus: events travel between processes over Redis pub/sub.
//!
//! Every event is published once, as JSON, on a channel named after its audience:
//!
//! | event                              | channel                  |
//! |------------------------------------|--------------------------|
//! | dispatch to a guild                | `{prefix}:guild:{id}`    |
//! | dispatch to a guild's channel      | `{prefix}:guild:{id}` (from the payload's `guild_id`) |
//! | dispatch to a DM or group DM       | `{prefix}:dm`            |
//! | dispatch to exactly one user       | `{prefix}:user:{id}`     |
//! | dispatch to several (or no) users  | `{prefix}:all`           |
//! | dispatch to one gateway session    | `{prefix}:session:{id}`  |
//! | `TokensCutOff` / `TokenRevoked`    | `{prefix}:auth`          |
//! | `SessionMoved`                     | `{prefix}:all`           |
//!
//! One shared task per [`RedisBus`] subscribes — to everything (`{prefix}:*`) or to chosen
//! channels (see `redis_interest`) — and forwards decoded events into a local broadcast
//! channel, which every [`Subscription`](crate::Subscription) reads.
//!
//! The message body is the event's log position, a newline, and an envelope
//! `{"origin": u64, "seq": u64, "event": <Event>}`: `origin` identifies the publishing
//! [`RedisBus`] and `seq` numbers its publications, so a subscription never sees an event its
//! own bus published before the subscription was made (the same guarantee as the in-process
//! bus).
//!
//! Every event is also appended to the stream `{prefix}:log` (the event log, see
//! `redis_log`) by the same Lua script that publishes it, so the log's order is the order in
//! which subscribers receive events and each event carries its position.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::redis_interest::{Interest, Subscriptions};
use crate::redis_log::{LogSettings, PUBLISH_SCRIPT};
use crate::{Audience, BusError, Event, Item, LogId};

/// How long one connection attempt (TCP connect plus the subscription handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long Redis may take to answer a `PUBLISH`.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// First and longest wait between reconnection attempts of the subscriber.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the subscriber checks with a `PING` that its connection is still alive.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(15);

/// The Redis bus. Cloning shares the publisher connection and the subscriber task; the task
/// stops when the last clone is dropped.
#[derive(Clone)]
pub struct RedisBus {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) prefix: String,
    pub(crate) origin: u64,
    pub(crate) log: LogSettings,
    pub(crate) script: redis::Script,
    next_seq: AtomicU64,
    pub(crate) publisher: ConnectionManager,
    pub(crate) subscriptions: Arc<Subscriptions>,
    tx: broadcast::Sender<Item>,
    subscriber: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Ends the subscriber task; its broadcast sender goes with it, so subscriptions that
        // outlive the bus see `Closed`.
        self.subscriber.abort();
    }
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("prefix", &self.inner.prefix)
            .field("origin", &self.inner.origin)
            .finish_non_exhaustive()
    }
}

/// What goes over the wire, as written.
#[derive(Serialize)]
struct Outgoing<'a> {
    origin: u64,
    seq: u64,
    event: &'a Event,
}

/// What goes over the wire, as read.
#[derive(Deserialize)]
struct Incoming {
    origin: u64,
    seq: u64,
    event: Event,
}

/// Whether `prefix` may be used: non-empty, letters, digits, `-`, `_` and `.` only, so that
/// the pattern `{prefix}:*` holds no glob characters and never matches another prefix's
/// channels.
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The `guild_id` of a dispatch payload, if it has one.
fn guild_of(data: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Guild {
        guild_id: Option<Snowflake>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Snowflake {
        Text(String),
        Number(u64),
    }
    match serde_json::from_str::<Guild>(data).ok()?.guild_id? {
        Snowflake::Text(t) => t.parse().ok(),
        Snowflake::Number(n) => Some(n),
    }
}

/// The channel `event` is published on.
pub fn channel_for(prefix: &str, event: &Event) -> String {
    match event {
        Event::Dispatch(d) => match &d.audience {
            Audience::Guild(id) => format!("{prefix}:guild:{id}"),
            Audience::Channel(_) => match guild_of(&d.data) {
                Some(guild) => format!("{prefix}:guild:{guild}"),
                None => format!("{prefix}:dm"),
            },
            Audience::Users(users) => match users.as_slice() {
                [one] => format!("{prefix}:user:{one}"),
                _ => format!("{prefix}:all"),
            },
            Audience::Session(id) => format!("{prefix}:session:{id}"),
        },
        Event::TokensCutOff { .. } | Event::TokenRevoked { .. } => format!("{prefix}:auth"),
        Event::SessionMoved { .. } => format!("{prefix}:all"),
    }
}

fn transport(context: &str, e: impl std::fmt::Display) -> BusError {
    BusError::Transport(format!("{context}: {e}"))
}

impl RedisBus {
    /// Connects the publisher, pattern-subscribes to `{prefix}:*` and starts the subscriber
    /// task. Fails with [`BusError::Transport`] if Redis cannot be reached now (or the URL or
    /// prefix is invalid); once this returns, the bus reconnects by itself.
    pub async fn connect(
        url: &str,
        prefix: &str,
        capacity: usize,
        log: LogSettings,
        interest: Interest,
    ) -> Result<Self, BusError> {
        if !valid_prefix(prefix) {
            return Err(BusError::Transport(format!(
                "invalid channel prefix `{prefix}` (letters, digits, '-', '_' and '.' only)"
            )));
        }
        let client = redis::Client::open(url).map_err(|e| transport("invalid Redis URL", e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_min_delay(BACKOFF_MIN)
            .set_max_delay(BACKOFF_MAX);
        let publisher = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| transport("cannot connect to Redis", e))?;
        let subscriptions = Arc::new(Subscriptions::new(interest, prefix));
        let (sink, stream) = subscribe(&client, &subscriptions)
            .await
            .map_err(|e| transport("cannot subscribe on Redis", e))?;
        let (tx, _) = broadcast::channel(capacity.max(1));
        let origin = random_u64();
        let subscriber = tokio::spawn(run_subscriber(
            client,
            subscriptions.clone(),
            (sink, stream),
            tx.clone(),
            origin,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                prefix: prefix.to_owned(),
                origin,
                log,
                script: redis::Script::new(PUBLISH_SCRIPT),
                next_seq: AtomicU64::new(0),
                publisher,
                subscriptions,
                tx,
                subscriber,
            }),
        })
    }

    /// Appends `event` to the log and publishes it on its audience's channel; returns once
    /// Redis accepted it.
    pub(crate) async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let seq = self.inner.next_seq.fetch_add(1, Ordering::SeqCst);
        let body = serde_json::to_string(&Outgoing {
            origin: self.inner.origin,
            seq,
            event,
        })
        .map_err(|e| transport("cannot encode the event", e))?;
        let channel = channel_for(&self.inner.prefix, event);
        let mut conn = self.inner.publisher.clone();
        self.inner
            .script
            .key(self.log_key())
            .arg(&channel)
            .arg(body)
            .arg(self.inner.log.retention_ms)
            .arg(self.inner.log.max_len)
            .invoke_async::<String>(&mut conn)
            .await
            .map_err(|e| transport("cannot publish on Redis", e))?;
        Ok(())
    }

    /// A receiver of forwarded events, and the first sequence number of this bus that the new
    /// subscription may see.
    pub(crate) fn attach(&self) -> (broadcast::Receiver<Item>, u64) {
        // Attach first, then read the counter: an own event numbered at or after the value read
        // was published after this call, and its forwarding happens after the attach.
        let rx = self.inner.tx.subscribe();
        let floor = self.inner.next_seq.load(Ordering::SeqCst);
        (rx, floor)
    }

    /// The channel prefix in use.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }
}

/// A pub/sub connection subscribed to what `subs` says (confirmed by Redis).
async fn subscribe(
    client: &redis::Client,
    subs: &Subscriptions,
) -> Result<(PubSubSink, PubSubStream), BusError> {
    let attempt = async {
        let pubsub = client
            .get_async_pubsub()
            .await
            .map_err(|e| transport("cannot connect", e))?;
        let (sink, stream) = pubsub.split();
        subs.attach(sink.clone()).await?;
        Ok((sink, stream))
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(BusError::Transport("Redis did not answer in time".into())),
    }
}

/// Forwards events from Redis into `tx` until the bus is dropped, reconnecting with backoff.
/// After every reconnection it sends [`Item::Gap`]: events published meanwhile are lost.
async fn run_subscriber(
    client: redis::Client,
    subs: Arc<Subscriptions>,
    mut pubsub: (PubSubSink, PubSubStream),
    tx: broadcast::Sender<Item>,
    origin: u64,
) {
    loop {
        let reason = pump(pubsub, &tx, origin).await;
        subs.detach();
        tracing::warn!(%reason, "Redis bus subscriber disconnected; reconnecting");
        let mut backoff = BACKOFF_MIN;
        pubsub = loop {
            match subscribe(&client, &subs).await {
                Ok(p) => break p,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "Redis bus subscriber cannot reconnect");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        };
        tracing::info!("Redis bus subscriber reconnected; subscribers must resynchronise");
        let _ = tx.send(Item::Gap);
    }
}

/// Reads messages until the connection ends or stops answering; returns why it stopped.
async fn pump(
    (mut sink, mut stream): (PubSubSink, PubSubStream),
    tx: &broadcast::Sender<Item>,
    origin: u64,
) -> String {
    let mut keepalive = tokio::time::interval(KEEPALIVE_EVERY);
    keepalive.tick().await;
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else { return "connection closed".into() };
                let item = match decode(msg.get_payload_bytes()) {
                    Ok((log, m)) => Item::Event {
                        event: m.event,
                        own_seq: (m.origin == origin).then_some(m.seq),
                        log: Some(log),
                    },
                    Err(e) => {
                        // A message this process cannot read is an event it misses.
                        tracing::warn!(
                            channel = msg.get_channel_name(),
                            error = %e,
                            "undecodable message on the Redis bus"
                        );
                        Item::Gap
                    }
                };
                // No subscriber is not an error.
                let _ = tx.send(item);
            }
            _ = keepalive.tick() => {
                match tokio::time::timeout(RESPONSE_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return format!("keepalive failed: {e}"),
                    Err(_) => return "keepalive timed out".into(),
                }
            }
        }
    }
}

/// Splits a message into its log position and envelope.
fn decode(payload: &[u8]) -> Result<(LogId, Incoming), String> {
    let nl = payload
        .iter()
        .position(|b| *b == b'\n')
        .ok_or("no log position")?;
    let log = std::str::from_utf8(&payload[..nl])
        .map_err(|e| e.to_string())?
        .parse::<LogId>()
        .map_err(|e| e.to_string())?;
    let m = serde_json::from_slice::<Incoming>(&payload[nl + 1..]).map_err(|e| e.to_string())?;
    Ok((log, m))
}

/// Decodes an envelope as stored in the log.
pub(crate) fn decode_envelope(body: &[u8]) -> Result<Event, serde_json::Error> {
    serde_json::from_slice::<Incoming>(body).map(|m| m.event)
}

/// A random identifier for this bus instance (std's hasher keys are randomly seeded).
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dispatch;
    use accord_model::{ChannelId, GuildId, UserId};

    fn dispatch(audience: Audience) -> Event {
        Event::Dispatch(Dispatch {
            name: "X".into(),
            audience,
            data: "{}".into(),
        })
    }

    #[test]
    fn channels_follow_the_audience() {
        let p = "acc";
        assert_eq!(
            channel_for(p, &dispatch(Audience::Guild(GuildId::new(5)))),
            "acc:guild:5"
        );
        assert_eq!(
            channel_for(p, &dispatch(Audience::Channel(ChannelId::new(6)))),
            "acc:dm"
        );
        let in_guild = Event::Dispatch(Dispatch {
            name: "MESSAGE_CREATE".into(),
            audience: Audience::Channel(ChannelId::new(6)),
            data: r#"{"id":"1","guild_id":"42","content":"x"}"#.into(),
        });
        assert_eq!(channel_for(p, &in_guild), "acc:guild:42");
        assert_eq!(
            channel_for(p, &dispatch(Audience::Users(vec![UserId::new(7)]))),
            "acc:user:7"
        );
        assert_eq!(
            channel_for(
                p,
                &dispatch(Audience::Users(vec![UserId::new(7), UserId::new(8)]))
            ),
            "acc:all"
        );
        assert_eq!(
            channel_for(p, &dispatch(Audience::Users(vec![]))),
            "acc:all"
        );
        let revoked = Event::TokenRevoked {
            user: UserId::new(9),
            token_id: "t".into(),
        };
        assert_eq!(channel_for(p, &revoked), "acc:auth");
        assert_eq!(
            channel_for(p, &dispatch(Audience::Session("s1".into()))),
            "acc:session:s1"
        );
    }

    #[test]
    fn prefixes_without_glob_or_separator_only() {
        assert!(valid_prefix("accord"));
        assert!(valid_prefix("accord-prod_2.eu"));
        for bad in ["", "a:b", "a*", "a?", "a[b]", "a b", "a\\b"] {
            assert!(!valid_prefix(bad), "{bad:?} accepted");
        }
    }
}
