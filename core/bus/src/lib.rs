//! Accord's event bus: what the REST API publishes after a commit and the gateway (and other
//! processes) consume. This crate holds the event type, the in-process implementation (the
//! embedded default) and the Redis implementation (several processes); RabbitMQ will be a
//! further variant of [`Bus`].

use std::sync::Arc;

use accord_model::{ChannelId, GuildId, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

mod log_id;
mod redis_bus;
mod redis_interest;
mod redis_log;
mod redis_presence;

pub use crate::log_id::{BadLogId, LogId};
pub use crate::redis_bus::{RedisBus, channel_for, valid_prefix};
pub use crate::redis_interest::Interest;
pub use crate::redis_log::{LogSettings, SessionRecord};
pub use crate::redis_presence::PresenceWrite;

/// Who a dispatch is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Audience {
    /// Every session that can see the guild (filtered further by intents and permissions).
    Guild(GuildId),
    /// Every session that can see the channel.
    Channel(ChannelId),
    /// The sessions of these users.
    Users(Vec<UserId>),
    /// One gateway session (answers to its own requests, e.g. member chunks), by session id.
    Session(Arc<str>),
}

/// One gateway dispatch: event name, its `d` payload (serialised once), and its audience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispatch {
    /// The event name, e.g. `USER_UPDATE`.
    pub name: String,
    /// Who receives it.
    pub audience: Audience,
    /// The `d` payload as JSON text.
    pub data: Arc<str>,
}

/// What travels on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A gateway dispatch.
    Dispatch(Dispatch),
    /// Tokens of `user` issued before `valid_after_ms` are no longer valid (password change, bot
    /// token reset): every process updates its verifier, gateways close those sessions.
    TokensCutOff {
        /// Whose tokens.
        user: UserId,
        /// Cutoff in Unix milliseconds.
        valid_after_ms: u64,
    },
    /// One token was revoked (logout).
    TokenRevoked {
        /// Whose token.
        user: UserId,
        /// The token's id (its middle part).
        token_id: String,
    },
    /// A gateway session was resumed on the gateway `owner`: any other gateway holding it
    /// forgets it (without ending it).
    SessionMoved {
        /// The session's id.
        session_id: String,
        /// The gateway that holds it now.
        owner: u64,
    },
}

impl Event {
    /// A dispatch of `name` with `data` serialised now, once.
    pub fn dispatch<T: Serialize>(
        name: &str,
        audience: Audience,
        data: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(Event::Dispatch(Dispatch {
            name: name.to_owned(),
            audience,
            data: serde_json::to_string(data)?.into(),
        }))
    }
}

/// Publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The transport refused the event.
    #[error("bus transport failed: {0}")]
    Transport(String),
}

/// The bus, by implementation.
#[derive(Clone, Debug)]
pub enum Bus {
    /// In-process broadcast (the embedded default: one process, nothing to install).
    Memory(MemoryBus),
    /// Redis pub/sub (several processes; see [`RedisBus`] for the channel names), with the
    /// event log that lets gateways catch up and hand sessions over.
    Redis(RedisBus),
}

impl Bus {
    /// An in-process bus holding up to `capacity` events per slow subscriber.
    pub fn memory(capacity: usize) -> Self {
        Bus::Memory(MemoryBus::new(capacity))
    }

    /// A Redis bus on `url` (`redis://host:port/db`) using channels named `{prefix}:...`,
    /// holding up to `capacity` events per slow subscriber. Fails with
    /// [`BusError::Transport`] if Redis cannot be reached now or `prefix` is invalid (see
    /// [`valid_prefix`]); afterwards the bus reconnects by itself.
    pub async fn redis(
        url: &str,
        prefix: &str,
        capacity: usize,
        log: LogSettings,
        interest: Interest,
    ) -> Result<Self, BusError> {
        RedisBus::connect(url, prefix, capacity, log, interest)
            .await
            .map(Bus::Redis)
    }

    /// The Redis bus, when this is one (its event log and session records).
    pub fn redis_bus(&self) -> Option<&RedisBus> {
        match self {
            Bus::Memory(_) => None,
            Bus::Redis(bus) => Some(bus),
        }
    }

    /// Publishes one event to every subscriber. The in-process bus never fails; the Redis bus
    /// returns [`BusError::Transport`] when Redis did not accept the event.
    pub async fn publish(&self, event: Event) -> Result<(), BusError> {
        match self {
            Bus::Memory(bus) => {
                bus.publish(event);
                Ok(())
            }
            Bus::Redis(bus) => bus.publish(&event).await,
        }
    }

    /// A new subscription that sees every event published after this call.
    ///
    /// With Redis, this holds exactly for events published through this same [`Bus`] (or a
    /// clone); an event another process published just before the call may still arrive, since
    /// "before" across processes is only defined by when Redis delivers it. Events lost while
    /// the connection to Redis was down are reported as [`RecvError::Lagged`]`(0)`.
    pub fn subscribe(&self) -> Subscription {
        match self {
            Bus::Memory(bus) => Subscription {
                rx: bus.tx.subscribe(),
                own_floor: 0,
            },
            Bus::Redis(bus) => {
                let (rx, own_floor) = bus.attach();
                Subscription { rx, own_floor }
            }
        }
    }
}

/// What the broadcast channel behind a [`Subscription`] carries.
#[derive(Debug, Clone)]
enum Item {
    /// An event; `own_seq` is its sequence number if this process's bus published it, `log`
    /// its position in the Redis event log.
    Event {
        event: Event,
        own_seq: Option<u64>,
        log: Option<LogId>,
    },
    /// Events were lost (the transport reconnected or could not decode a message).
    Gap,
}

/// The in-process bus: a tokio broadcast channel.
#[derive(Clone, Debug)]
pub struct MemoryBus {
    tx: broadcast::Sender<Item>,
}

impl MemoryBus {
    /// A bus whose slowest subscriber may fall `capacity` events behind before it is told it lagged.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }

    fn publish(&self, event: Event) {
        // No subscriber is not an error: nobody is listening yet (no gateway in this process).
        let _ = self.tx.send(Item::Event {
            event,
            own_seq: None,
            log: None,
        });
    }
}

/// Receiving failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// The subscriber fell behind and `n` events were dropped for it; it must resynchronise
    /// (a gateway invalidates the affected sessions). `n` is 0 when the number is unknown:
    /// the Redis bus lost its connection (or could not read a message) and events published
    /// meanwhile are gone.
    #[error("lagged by {0} events")]
    Lagged(u64),
    /// The bus is gone.
    #[error("bus closed")]
    Closed,
}

/// A stream of events.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Item>,
    /// Events this process's own bus published with a lower sequence number predate the
    /// subscription and are skipped.
    own_floor: u64,
}

impl Subscription {
    /// The next event.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        self.recv_logged().await.map(|(event, _)| event)
    }

    /// The next event and its position in the event log (Redis bus only).
    pub async fn recv_logged(&mut self) -> Result<(Event, Option<LogId>), RecvError> {
        loop {
            let item = self.rx.recv().await.map_err(|e| match e {
                broadcast::error::RecvError::Lagged(n) => RecvError::Lagged(n),
                broadcast::error::RecvError::Closed => RecvError::Closed,
            })?;
            if let Some(result) = self.admit(item) {
                return result;
            }
        }
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Result<Event, RecvError>> {
        loop {
            let item = match self.rx.try_recv() {
                Ok(item) => item,
                Err(broadcast::error::TryRecvError::Empty) => return None,
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    return Some(Err(RecvError::Lagged(n)));
                }
                Err(broadcast::error::TryRecvError::Closed) => return Some(Err(RecvError::Closed)),
            };
            if let Some(result) = self.admit(item) {
                return Some(result.map(|(event, _)| event));
            }
        }
    }

    /// What `item` means for this subscription, or `None` if it predates it.
    fn admit(&self, item: Item) -> Option<Result<(Event, Option<LogId>), RecvError>> {
        match item {
            Item::Event {
                own_seq: Some(seq), ..
            } if seq < self.own_floor => None,
            Item::Event { event, log, .. } => Some(Ok((event, log))),
            Item::Gap => Some(Err(RecvError::Lagged(0))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_events_in_order_and_lag_is_reported() {
        let bus = Bus::memory(4);
        let mut sub = bus.subscribe();
        for i in 0..3u64 {
            bus.publish(Event::TokensCutOff {
                user: UserId::new(i),
                valid_after_ms: i,
            })
            .await
            .unwrap();
        }
        for i in 0..3u64 {
            assert_eq!(
                sub.recv().await.unwrap(),
                Event::TokensCutOff {
                    user: UserId::new(i),
                    valid_after_ms: i
                }
            );
        }
        for i in 0..6u64 {
            bus.publish(Event::TokensCutOff {
                user: UserId::new(i),
                valid_after_ms: i,
            })
            .await
            .unwrap();
        }
        assert_eq!(sub.recv().await, Err(RecvError::Lagged(2)));
    }

    #[tokio::test]
    async fn own_events_before_the_floor_are_skipped_and_gaps_are_lag() {
        let (tx, rx) = broadcast::channel(8);
        let mut sub = Subscription { rx, own_floor: 5 };
        let event = |n: u64| Event::TokensCutOff {
            user: UserId::new(n),
            valid_after_ms: n,
        };
        for (n, own_seq) in [(1, Some(4)), (2, Some(5)), (3, None)] {
            tx.send(Item::Event {
                event: event(n),
                own_seq,
                log: None,
            })
            .unwrap();
        }
        tx.send(Item::Gap).unwrap();
        tx.send(Item::Event {
            event: event(4),
            own_seq: Some(0),
            log: None,
        })
        .unwrap();
        assert_eq!(sub.recv().await, Ok(event(2)));
        assert_eq!(sub.try_recv(), Some(Ok(event(3))));
        assert_eq!(sub.recv().await, Err(RecvError::Lagged(0)));
        assert_eq!(sub.try_recv(), None);
        drop(tx);
        assert_eq!(sub.recv().await, Err(RecvError::Closed));
    }

    #[test]
    fn dispatch_serialises_payload_once() {
        let e = Event::dispatch(
            "USER_UPDATE",
            Audience::Users(vec![UserId::new(1)]),
            &serde_json::json!({"id": "1"}),
        )
        .unwrap();
        let Event::Dispatch(d) = &e else { panic!() };
        assert_eq!(&*d.data, r#"{"id":"1"}"#);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "dispatch");
        assert_eq!(
            json["audience"],
            serde_json::json!({"kind": "users", "id": ["1"]})
        );
    }
}
