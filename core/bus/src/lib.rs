//! Accord's event bus: what the REST API publishes after a commit and the gateway (and other
//! processes) consume. This crate holds the event type and the in-process implementation, the
//! embedded default; Redis and RabbitMQ implementations arrive with the event-bus work and will
//! be further variants of [`Bus`].

use std::sync::Arc;

use accord_model::{ChannelId, GuildId, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

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
}

impl Bus {
    /// An in-process bus holding up to `capacity` events per slow subscriber.
    pub fn memory(capacity: usize) -> Self {
        Bus::Memory(MemoryBus::new(capacity))
    }

    /// Publishes one event to every subscriber.
    pub async fn publish(&self, event: Event) -> Result<(), BusError> {
        match self {
            Bus::Memory(bus) => {
                bus.publish(event);
                Ok(())
            }
        }
    }

    /// A new subscription that sees every event published after this call.
    pub fn subscribe(&self) -> Subscription {
        match self {
            Bus::Memory(bus) => Subscription {
                rx: bus.tx.subscribe(),
            },
        }
    }
}

/// The in-process bus: a tokio broadcast channel.
#[derive(Clone, Debug)]
pub struct MemoryBus {
    tx: broadcast::Sender<Event>,
}

impl MemoryBus {
    /// A bus whose slowest subscriber may fall `capacity` events behind before it is told it lagged.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }

    fn publish(&self, event: Event) {
        // No subscriber is not an error: nobody is listening yet (no gateway in this process).
        let _ = self.tx.send(event);
    }
}

/// Receiving failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// The subscriber fell behind and `n` events were dropped for it; it must resynchronise
    /// (a gateway invalidates the affected sessions).
    #[error("lagged by {0} events")]
    Lagged(u64),
    /// The bus is gone.
    #[error("bus closed")]
    Closed,
}

/// A stream of events.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Event>,
}

impl Subscription {
    /// The next event.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        self.rx.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(n) => RecvError::Lagged(n),
            broadcast::error::RecvError::Closed => RecvError::Closed,
        })
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Result<Event, RecvError>> {
        match self.rx.try_recv() {
            Ok(e) => Some(Ok(e)),
            Err(broadcast::error::TryRecvError::Empty) => None,
            Err(broadcast::error::TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
            Err(broadcast::error::TryRecvError::Closed) => Some(Err(RecvError::Closed)),
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
