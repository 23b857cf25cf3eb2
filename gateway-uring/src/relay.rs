//! The hub's bus task: takes events off the bus in order and delivers them; with the Redis
//! bus it also tracks the event-log position, catches up from the log after losing events
//! (instead of invalidating every session), and — between events, so that a session's state
//! and the position it reflects always agree — writes session checkpoints and takes over
//! sessions that other gateway processes held (see `handoff`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use accord_bus::{Event, LogId, RecvError, RedisBus, SessionRecord, Subscription};
use accord_model::UserId;
use tokio::sync::{mpsc, oneshot};

use crate::handoff;
use crate::hub::{Hub, Session, lock};
use crate::params::Encoding;

/// Events read from the log per request while catching up.
const PAGE: usize = 1000;
/// Checkpoints written per Redis round trip.
const CHECKPOINT_BATCH: usize = 512;

/// Work for the bus task.
#[derive(Debug)]
pub enum Command {
    /// Write session `id`'s record.
    Checkpoint(Arc<str>),
    /// Write every session's record (graceful shutdown), then answer.
    CheckpointAll(oneshot::Sender<()>),
    /// Rebuild a session held by another process, for a resume of `user` in `encoding`.
    TakeOver {
        /// Session id.
        id: String,
        /// The resuming account.
        user: UserId,
        /// The resuming connection's encoding.
        encoding: Encoding,
        /// Whether the session is now here.
        reply: oneshot::Sender<bool>,
    },
}

/// Consumes the bus until it closes, and drops sessions that stayed detached longer than
/// `resume_timeout`.
pub async fn run(hub: Arc<Hub>, mut sub: Subscription, resume_timeout: Duration) {
    let (tx, mut commands) = mpsc::unbounded_channel();
    let _ = hub.commands.set(tx);
    let reaper = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5).min(resume_timeout));
            loop {
                tick.tick().await;
                hub.reap(resume_timeout);
            }
        })
    };
    let redis = hub.state.bus.redis_bus().cloned();
    if let Some(bus) = &redis {
        match bus.log_head().await {
            Ok(head) => *position(&hub) = head,
            Err(e) => tracing::error!(error = %e, "cannot read the event log's head"),
        }
    }
    // Events up to here were delivered while catching up: their live copies are skipped.
    let mut caught_up = LogId::ZERO;
    let mut written = Written::new();
    loop {
        // Not biased: a stream of checkpoints must not starve delivery, nor the reverse.
        tokio::select! {
            Some(cmd) = commands.recv() => {
                handle(&hub, redis.as_ref(), cmd, &mut commands, &mut written).await;
            }
            event = sub.recv_logged() => match event {
                Ok((_, Some(log))) if log <= caught_up => {}
                Ok((event, log)) => {
                    let joined = apply(&hub, event, log, None).await;
                    if let (Some(bus), Some(from), false) = (&redis, log, joined.is_empty())
                        && let Err(e) = derive(&hub, bus, &joined, from).await
                    {
                        tracing::error!(error = %e, "cannot bring joining sessions up to date");
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    match &redis {
                        Some(bus) => match catch_up(&hub, bus).await {
                            Ok(to) => caught_up = caught_up.max(to),
                            Err(e) => {
                                tracing::error!(error = %e, "cannot catch up from the event log");
                                invalidate_all(&hub, n);
                            }
                        },
                        None => invalidate_all(&hub, n),
                    }
                }
                Err(RecvError::Closed) => break,
            }
        }
    }
    reaper.abort();
}

fn position(hub: &Hub) -> std::sync::MutexGuard<'_, LogId> {
    hub.position.lock().unwrap_or_else(|e| e.into_inner())
}

/// Applies one event (to `only` when rebuilding that session) and advances the position;
/// returns the sessions that must be brought up to date from the log (see `Hub::deliver`).
async fn apply(
    hub: &Hub,
    event: Event,
    log: Option<LogId>,
    only: Option<&Session>,
) -> Vec<Session> {
    let mut joined = Vec::new();
    match event {
        Event::Dispatch(d) => {
            let started = std::time::Instant::now();
            joined = hub.deliver(&d, log, only).await;
            // What a fan-out costs the relay (for profiling: `RUST_LOG=accord_gateway::relay=debug`).
            tracing::debug!(
                event = %d.name,
                took_us = started.elapsed().as_micros() as u64,
                "dispatch relayed"
            );
        }
        Event::TokensCutOff {
            user,
            valid_after_ms,
        } => hub.end_sessions(user, |(issued, _)| *issued < valid_after_ms),
        Event::TokenRevoked { user, token_id } => hub.end_sessions(user, |(_, id)| *id == token_id),
        Event::SessionMoved { session_id, owner } => {
            let here = hub.state.bus.redis_bus().map(RedisBus::origin);
            // While rebuilding, earlier moves of the same session are history.
            if only.is_none()
                && here != Some(owner)
                && let Some(s) = hub.get(&session_id)
            {
                // Another process resumed it: this copy is stale.
                lock(&s).close(accord_model::CloseCode::SessionTimedOut.code());
                hub.forget(&session_id, false);
            }
        }
    }
    if only.is_none()
        && let Some(log) = log
    {
        let mut p = position(hub);
        *p = (*p).max(log);
    }
    joined
}

/// Brings `sessions` up to date with the log after `from`: every logged event up to the
/// log's head is routed to them alone, and they skip the live copies of those events. Runs
/// again while the events themselves made this process subscribe to new channels (whose
/// events before the subscription only the log has).
async fn derive(
    hub: &Hub,
    bus: &RedisBus,
    sessions: &[Session],
    from: LogId,
) -> Result<usize, accord_bus::BusError> {
    let mut at = from;
    let mut derived = 0;
    loop {
        let head = bus.log_head().await?;
        let mut again = false;
        while at < head {
            let page = bus.log_range(at, head, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for (log, event) in page {
                for s in sessions {
                    again |= !apply(hub, event.clone(), Some(log), Some(s))
                        .await
                        .is_empty();
                }
                at = log;
                derived += 1;
            }
        }
        for s in sessions {
            let mut core = lock(s);
            core.log_floor = core.log_floor.max(head);
        }
        if !again {
            return Ok(derived);
        }
    }
}

/// Sessions missed events and nothing can replace them: they all end (their clients
/// re-identify).
fn invalidate_all(hub: &Hub, missed: u64) {
    tracing::error!(missed, "gateway fell behind the bus; invalidating sessions");
    for s in hub.all() {
        let id = {
            let mut core = lock(&s);
            core.detach();
            core.id.clone()
        };
        hub.remove(&id);
    }
}

/// Delivers every logged event after the position; returns the last one delivered.
async fn catch_up(hub: &Hub, bus: &RedisBus) -> Result<LogId, accord_bus::BusError> {
    let from = *position(hub);
    if bus.log_trimmed_after(from).await? {
        return Err(accord_bus::BusError::Transport(format!(
            "the event log no longer holds the events after {from}"
        )));
    }
    let end = LogId {
        ms: u64::MAX,
        seq: u64::MAX,
    };
    let mut at = from;
    let mut count = 0usize;
    loop {
        let page = bus.log_range(at, end, PAGE).await?;
        let last = page.len() < PAGE;
        for (log, event) in page {
            let joined = apply(hub, event, Some(log), None).await;
            if !joined.is_empty() {
                derive(hub, bus, &joined, log).await?;
            }
            at = log;
            count += 1;
        }
        if last {
            break;
        }
    }
    tracing::warn!(events = count, from = %from, to = %at, "caught up from the event log");
    Ok(at)
}

/// What was last written for each session: its sequence and presence then, and when.
type Written = HashMap<Arc<str>, (u64, std::time::Instant, std::time::Instant)>;

async fn handle(
    hub: &Arc<Hub>,
    redis: Option<&RedisBus>,
    cmd: Command,
    more: &mut mpsc::UnboundedReceiver<Command>,
    written: &mut Written,
) {
    let Some(bus) = redis else {
        // Without Redis there is nothing to write or take over.
        match cmd {
            Command::CheckpointAll(reply) => {
                let _ = reply.send(());
            }
            Command::TakeOver { reply, .. } => {
                let _ = reply.send(false);
            }
            Command::Checkpoint(_) => {}
        }
        return;
    };
    match cmd {
        Command::Checkpoint(id) => {
            let mut ids = vec![id];
            // Batch what else is waiting, as long as it is checkpoints.
            let mut other = None;
            while ids.len() < CHECKPOINT_BATCH {
                match more.try_recv() {
                    Ok(Command::Checkpoint(id)) => ids.push(id),
                    Ok(cmd) => {
                        other = Some(cmd);
                        break;
                    }
                    Err(_) => break,
                }
            }
            let sessions: Vec<Session> = ids.iter().filter_map(|id| hub.get(id)).collect();
            // Encoded here, between events (the state must match the position); written in
            // the background so that Redis's round trips never hold up delivery.
            let batch = encode(hub, &sessions, written);
            tokio::spawn(batch.flush(bus.clone()));
            if let Some(cmd) = other {
                Box::pin(handle(hub, redis, cmd, more, written)).await;
            }
        }
        Command::CheckpointAll(reply) => {
            let all = hub.all();
            // Everything as it is now, changed or not.
            written.clear();
            for chunk in all.chunks(CHECKPOINT_BATCH) {
                encode(hub, chunk, written).flush(bus.clone()).await;
            }
            let _ = reply.send(());
        }
        Command::TakeOver {
            id,
            user,
            encoding,
            reply,
        } => {
            let ok = match take_over(hub, bus, &id, user, encoding).await {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::error!(error = %e, session = %id, "cannot take a session over");
                    false
                }
            };
            let _ = reply.send(ok);
        }
    }
}

/// How long a record lives without a checkpoint: the resume window plus two heartbeats.
fn ttl_secs(hub: &Hub) -> u64 {
    let g = &hub.state.config.gateway;
    g.resume_timeout_secs + 2 * g.heartbeat_interval_ms.div_ceil(1000)
}

/// Records to write and records to renew.
struct Batch {
    records: Vec<SessionRecord>,
    touched: Vec<String>,
    ttl: u64,
}

impl Batch {
    async fn flush(self, bus: RedisBus) {
        if let Err(e) = bus.put_sessions(&self.records, self.ttl).await {
            tracing::warn!(error = %e, sessions = self.records.len(), "cannot checkpoint sessions");
        }
        if let Err(e) = bus.touch_sessions(&self.touched, self.ttl).await {
            tracing::warn!(error = %e, sessions = self.touched.len(), "cannot renew session records");
        }
    }
}

/// The records of `sessions`. A session that received nothing and kept its presence since its
/// last record only has the record's life extended — unless that record is old enough that
/// the log may soon no longer reach back to its position.
fn encode(hub: &Hub, sessions: &[Session], written: &mut Written) -> Batch {
    let at = *position(hub);
    let now = std::time::Instant::now();
    let refresh =
        Duration::from_millis((hub.state.config.bus.log_retention_secs * 1000 / 2).min(60_000));
    let mut records = Vec::new();
    let mut touched = Vec::new();
    for s in sessions {
        let core = lock(s);
        if !core.is_ready() {
            continue;
        }
        let state = (core.seq(), core.presence.at);
        match written.get(&core.id) {
            Some((seq, presence, when))
                if (*seq, *presence) == state && now.duration_since(*when) < refresh =>
            {
                touched.push(core.id.to_string());
            }
            _ => {
                records.push(SessionRecord {
                    id: core.id.to_string(),
                    data: handoff::encode(&core, at.max(core.log_floor)),
                });
                written.insert(core.id.clone(), (state.0, state.1, now));
            }
        }
    }
    if written.len() > 2 * hub.len() + 1024 {
        written.retain(|id, _| hub.get(id).is_some());
    }
    Batch {
        records,
        touched,
        ttl: ttl_secs(hub),
    }
}

/// Rebuilds session `id` from its record and the log; returns whether it is now here.
async fn take_over(
    hub: &Arc<Hub>,
    bus: &RedisBus,
    id: &str,
    user: UserId,
    encoding: Encoding,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    if hub.get(id).is_some() {
        return Ok(true);
    }
    let cap = hub.state.config.gateway.replay_buffer as usize;
    // Check before claiming: a resume that cannot have this session leaves it alone.
    let Some(read) = bus.read_session(id).await? else {
        return Ok(false);
    };
    let peek = handoff::decode(id, &read, cap)?;
    if peek.core.user != user || peek.core.framer.encoding != encoding {
        return Ok(false);
    }
    let Some(claimed) = bus.claim_session(id, ttl_secs(hub)).await? else {
        return Ok(false);
    };
    // Decoded again only if its holder checkpointed it in between.
    let snap = if claimed == read {
        peek
    } else {
        handoff::decode(id, &claimed, cap)?
    };
    if bus.log_trimmed_after(snap.position).await? {
        tracing::warn!(session = %id, "session record older than the event log");
        bus.delete_session(id).await?;
        return Ok(false);
    }
    let session: Session = Arc::new(std::sync::Mutex::new(snap.core));
    let guilds: Vec<_> = lock(&session).guilds.iter().copied().collect();
    // Subscribed before reading the log: what the log does not hold yet arrives live.
    hub.want(&hub.channels_of(user, id, guilds.iter().copied()))
        .await;
    hub.insert(session.clone(), &guilds);
    let derived = match derive(hub, bus, std::slice::from_ref(&session), snap.position).await {
        Ok(n) => n,
        Err(e) => {
            hub.forget(id, false);
            return Err(e.into());
        }
    };
    if hub.get(id).is_none() {
        // A revocation in the log ended it.
        return Ok(false);
    }
    hub.state
        .bus
        .publish(Event::SessionMoved {
            session_id: id.to_owned(),
            owner: bus.origin(),
        })
        .await?;
    hub.presence_changed(user);
    tracing::info!(session = %id, from = %snap.position, derived, "session taken over");
    Ok(true)
}

/// Asks the bus task to take session `id` over; whether it is here afterwards.
pub async fn request_take_over(hub: &Hub, id: &str, user: UserId, encoding: Encoding) -> bool {
    let Some(tx) = hub.commands.get() else {
        return false;
    };
    let (reply, answer) = oneshot::channel();
    let cmd = Command::TakeOver {
        id: id.to_owned(),
        user,
        encoding,
        reply,
    };
    tx.send(cmd).is_ok() && answer.await.unwrap_or(false)
}

/// Checkpoints every session and waits until written (blocking; graceful shutdown).
pub fn checkpoint_all_blocking(hub: &Hub) {
    if hub.state.bus.redis_bus().is_none() {
        return;
    }
    let Some(tx) = hub.commands.get() else {
        return;
    };
    let (reply, done) = oneshot::channel();
    if tx.send(Command::CheckpointAll(reply)).is_ok() {
        let _ = done.blocking_recv();
    }
}
