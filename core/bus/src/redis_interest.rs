//! What a Redis bus subscribes to: everything (`{prefix}:*`, for processes that serve the API,
//! whose caches and revocations follow every event), or only the channels that process asked
//! for (a gateway process: its sessions' guilds, users and session ids) plus the channels every
//! process needs (`{prefix}:all`, `{prefix}:auth`, `{prefix}:dm`).
//!
//! Channels are counted: [`RedisBus::want`] subscribes a channel the first time it is asked
//! for and answers once Redis confirmed it, [`RedisBus::unwant`] unsubscribes it when the last
//! asker lets go. After a reconnection everything wanted is subscribed again (and the
//! subscription reports a gap, as for any reconnection).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::PubSubSink;

use crate::BusError;
use crate::redis_bus::RedisBus;

/// How long Redis may take to confirm a subscription change.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// Which channels a Redis bus receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interest {
    /// Every channel of the prefix.
    #[default]
    Everything,
    /// The channels every process needs, and those asked for with [`RedisBus::want`].
    Chosen,
}

/// The subscription state shared by the bus and its subscriber task.
pub(crate) struct Subscriptions {
    interest: Interest,
    prefix: String,
    wanted: Mutex<HashMap<String, usize>>,
    /// The live connection's command half (None while reconnecting).
    sink: Mutex<Option<PubSubSink>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn confirm(
    what: &str,
    f: impl std::future::Future<Output = redis::RedisResult<()>>,
) -> Result<(), BusError> {
    match tokio::time::timeout(CONFIRM_TIMEOUT, f).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(BusError::Transport(format!("cannot {what}: {e}"))),
        Err(_) => Err(BusError::Transport(format!(
            "cannot {what}: Redis did not answer"
        ))),
    }
}

impl Subscriptions {
    pub(crate) fn new(interest: Interest, prefix: &str) -> Self {
        Self {
            interest,
            prefix: prefix.to_owned(),
            wanted: Mutex::new(HashMap::new()),
            sink: Mutex::new(None),
        }
    }

    /// Channels a `Chosen` bus always receives.
    fn base(&self) -> Vec<String> {
        ["all", "auth", "dm"]
            .iter()
            .map(|c| format!("{}:{c}", self.prefix))
            .collect()
    }

    /// Makes `sink` the live connection and subscribes it to everything needed; returns once
    /// Redis confirmed.
    pub(crate) async fn attach(&self, mut sink: PubSubSink) -> Result<(), BusError> {
        // Stored first: a `want` from now on subscribes on this connection itself, and one
        // from before is in the snapshot below (subscribing twice is harmless).
        *lock(&self.sink) = Some(sink.clone());
        match self.interest {
            Interest::Everything => {
                let pattern = format!("{}:*", self.prefix);
                confirm("subscribe", sink.psubscribe(pattern)).await
            }
            Interest::Chosen => {
                let mut channels = self.base();
                channels.extend(
                    lock(&self.wanted)
                        .iter()
                        .filter(|(_, n)| **n > 0)
                        .map(|(c, _)| c.clone()),
                );
                confirm("subscribe", sink.subscribe(channels)).await
            }
        }
    }

    /// The connection is gone.
    pub(crate) fn detach(&self) {
        *lock(&self.sink) = None;
    }

    async fn want(&self, channels: &[String]) -> Result<bool, BusError> {
        if self.interest == Interest::Everything {
            return Ok(false);
        }
        let fresh: Vec<String> = {
            let mut wanted = lock(&self.wanted);
            channels
                .iter()
                .filter(|c| {
                    let n = wanted.entry((*c).clone()).or_insert(0);
                    *n += 1;
                    *n == 1
                })
                .cloned()
                .collect()
        };
        if fresh.is_empty() {
            return Ok(false);
        }
        let sink = lock(&self.sink).clone();
        if let Some(mut sink) = sink {
            confirm("subscribe", sink.subscribe(&fresh)).await?;
        }
        // Without a connection the reconnection subscribes it (and reports a gap).
        Ok(true)
    }

    async fn unwant(&self, channels: &[String]) -> Result<(), BusError> {
        if self.interest == Interest::Everything {
            return Ok(());
        }
        let gone: Vec<String> = {
            let mut wanted = lock(&self.wanted);
            channels
                .iter()
                .filter(|c| match wanted.get_mut(*c) {
                    Some(n) if *n > 1 => {
                        *n -= 1;
                        false
                    }
                    Some(_) => {
                        wanted.remove(*c);
                        true
                    }
                    None => false,
                })
                .cloned()
                .collect()
        };
        if gone.is_empty() {
            return Ok(());
        }
        let sink = lock(&self.sink).clone();
        if let Some(mut sink) = sink {
            confirm("unsubscribe", sink.unsubscribe(&gone)).await?;
        }
        Ok(())
    }
}

impl RedisBus {
    /// Which channels this bus receives.
    pub fn interest(&self) -> Interest {
        self.inner.subscriptions.interest
    }

    /// The channel of a guild's events.
    pub fn guild_channel(&self, guild: accord_model::GuildId) -> String {
        format!("{}:guild:{guild}", self.inner.prefix)
    }

    /// The channel of events for one user.
    pub fn user_channel(&self, user: accord_model::UserId) -> String {
        format!("{}:user:{user}", self.inner.prefix)
    }

    /// The channel of events for one gateway session.
    pub fn session_channel(&self, session: &str) -> String {
        format!("{}:session:{session}", self.inner.prefix)
    }

    /// Asks to receive `channels` (counted per channel); returns once Redis confirmed the new
    /// ones, and whether there were any (events published on them before now were not
    /// received: the caller reads them from the log if it needs them). Always `false` for a
    /// bus that receives everything.
    pub async fn want(&self, channels: &[String]) -> Result<bool, BusError> {
        self.inner.subscriptions.want(channels).await
    }

    /// Lets go of `channels`; a channel nobody wants any more is unsubscribed.
    pub async fn unwant(&self, channels: &[String]) -> Result<(), BusError> {
        self.inner.subscriptions.unwant(channels).await
    }
}
