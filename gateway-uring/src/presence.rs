//! Presences: each session's status and activities (from Identify's `presence` and op 3), a
//! user's presence as others see it (the latest update among their sessions; `invisible` shows
//! as offline, no session as offline), and PRESENCE_UPDATE to the user's guilds whenever that
//! changes — including offline when their last session ends.
//!
//! With the Redis bus a user's sessions may live on several gateway processes, so each process
//! writes its sessions' presences to Redis (`accord_bus`'s `redis_presence`: one field per
//! session, each with its own expiry, renewed every [`RENEW`]) and reads everyone's from there;
//! a change several processes notice is announced once. A process that dies stops counting
//! for its users after [`SHARED_TTL`] (their sessions usually resume elsewhere first); nobody
//! announces that as offline until the user's presence next changes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use accord_bus::{Audience, PresenceWrite};
use accord_model::UserId;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::hub::{Hub, lock};

/// How long a session's presence in Redis counts without being renewed.
pub const SHARED_TTL: Duration = Duration::from_secs(120);
/// How often a process renews its sessions' presences in Redis.
pub const RENEW: Duration = Duration::from_secs(40);

/// Statuses a client may set.
const STATUSES: [&str; 5] = ["online", "idle", "dnd", "invisible", "offline"];

/// One session's presence.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    /// `online`, `idle`, `dnd`, `invisible` or `offline`.
    pub status: String,
    /// Activities as the client sent them.
    pub activities: Value,
    /// When it was set.
    pub at: Instant,
}

impl Default for Presence {
    fn default() -> Self {
        Self {
            status: "online".into(),
            activities: json!([]),
            at: Instant::now(),
        }
    }
}

impl Presence {
    /// Reads an Update Presence object (Identify's `presence` or op 3's `d`); `None` when the
    /// status is not one Discord defines.
    pub fn parse(d: &Value) -> Option<Self> {
        let status = d.get("status").and_then(Value::as_str).unwrap_or("online");
        if !STATUSES.contains(&status) {
            return None;
        }
        let activities = match d.get("activities") {
            Some(Value::Array(a)) => Value::Array(a.clone()),
            _ => json!([]),
        };
        Some(Self {
            status: status.to_owned(),
            activities,
            at: Instant::now(),
        })
    }

    /// The status others see.
    pub fn visible_status(&self) -> &str {
        match self.status.as_str() {
            "invisible" => "offline",
            s => s,
        }
    }
}

/// What others see of `user` right now (`(status, activities)`), from this process's sessions.
pub fn seen(hub: &Hub, user: UserId) -> (String, Value) {
    let local: Vec<(u64, Presence)> = local_presences(hub, user)
        .into_iter()
        .map(|(_, p)| (unix_ms(p.at), p))
        .collect();
    pick(local)
}

/// What others see of each of `users` right now: from every process's sessions with the Redis
/// bus (one round trip for all of them), else from this process's.
pub async fn seen_many(hub: &Hub, users: &[UserId]) -> Vec<(String, Value)> {
    let shared = match hub.state.bus.redis_bus() {
        Some(bus) if !users.is_empty() => {
            let ids: Vec<u64> = users.iter().map(|u| u.get()).collect();
            match bus.presences(&ids).await {
                Ok(found) => Some(found),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read shared presences; using this process's");
                    None
                }
            }
        }
        _ => None,
    };
    let now = unix_ms(Instant::now());
    users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let mut all: Vec<(u64, Presence)> = local_presences(hub, *user)
                .into_iter()
                .map(|(_, p)| (unix_ms(p.at), p))
                .collect();
            if let Some(found) = &shared {
                all.extend(
                    found
                        .get(i)
                        .into_iter()
                        .flatten()
                        .filter_map(|json| serde_json::from_str::<Shared>(json).ok())
                        .filter(|s| s.until > now)
                        .map(|s| (s.at, s.into_presence())),
                );
            }
            pick(all)
        })
        .collect()
}

/// The latest of a user's session presences, as others see it.
fn pick(all: Vec<(u64, Presence)>) -> (String, Value) {
    match all.into_iter().max_by_key(|(at, _)| *at) {
        Some((_, p)) if p.visible_status() != "offline" => {
            (p.visible_status().to_owned(), p.activities)
        }
        _ => ("offline".to_owned(), json!([])),
    }
}

/// The presences of `user`'s sessions on this process, by session id.
fn local_presences(hub: &Hub, user: UserId) -> Vec<(Arc<str>, Presence)> {
    hub.sessions_of(user)
        .iter()
        .map(|s| {
            let core = lock(s);
            (core.id.clone(), core.presence.clone())
        })
        .collect()
}

/// `at` as milliseconds since the Unix epoch (presences from several processes compare by it).
fn unix_ms(at: Instant) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    now.saturating_sub(at.elapsed().as_millis() as u64)
}

/// One session's presence as kept in Redis.
#[derive(serde::Serialize, serde::Deserialize)]
struct Shared {
    status: String,
    activities: Value,
    /// When it was set (Unix ms).
    at: u64,
    /// When it stops counting unless renewed (Unix ms).
    until: u64,
}

impl Shared {
    fn into_presence(self) -> Presence {
        let age = unix_ms(Instant::now()).saturating_sub(self.at);
        Presence {
            status: self.status,
            activities: self.activities,
            at: Instant::now()
                .checked_sub(Duration::from_millis(age))
                .unwrap_or_else(Instant::now),
        }
    }
}

/// The presence object of `user` in `guild` (GUILD_CREATE `presences`, PRESENCE_UPDATE).
pub fn object(user: UserId, guild: Option<&str>, status: &str, activities: &Value) -> Value {
    let mut o = json!({
        "user": {"id": user.to_string()},
        "status": status,
        "activities": activities,
        "client_status": if status == "offline" { json!({}) } else { json!({"desktop": status}) },
    });
    if let Some(g) = guild {
        o["guild_id"] = json!(g);
    }
    o
}

/// Publishes PRESENCE_UPDATE for each user sent on the returned queue, when what others see
/// changed since the last time (with the Redis bus, also writes and renews the shared record
/// of this process's sessions).
pub fn spawn_publisher(hub: Arc<Hub>) -> mpsc::UnboundedSender<UserId> {
    let (tx, mut rx) = mpsc::unbounded_channel::<UserId>();
    tokio::spawn(async move {
        let mut last: HashMap<UserId, (String, Value)> = HashMap::new();
        // Redis bus: the session ids this process wrote per user.
        let mut mine: HashMap<UserId, HashSet<Arc<str>>> = HashMap::new();
        let mut renew = tokio::time::interval(RENEW);
        renew.tick().await;
        loop {
            let user = tokio::select! {
                user = rx.recv() => match user {
                    Some(user) => user,
                    None => return,
                },
                _ = renew.tick() => {
                    let users: Vec<UserId> = mine.keys().copied().collect();
                    share(&hub, &users, &mut mine).await;
                    continue;
                }
            };
            let now = if hub.state.bus.redis_bus().is_some() {
                share(&hub, &[user], &mut mine).await;
                let now = seen_many(&hub, &[user]).await.remove(0);
                let announce = match hub.state.bus.redis_bus() {
                    Some(bus) => bus
                        .swap_presence_seen(
                            user.get(),
                            &json!([now.0, now.1]).to_string(),
                            &json!(["offline", []]).to_string(),
                            SHARED_TTL.as_millis() as u64 * 10,
                        )
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "cannot record a presence; announcing it");
                            true
                        }),
                    None => false,
                };
                if !announce {
                    continue;
                }
                now
            } else {
                let now = seen(&hub, user);
                let before = last
                    .get(&user)
                    .cloned()
                    .unwrap_or_else(|| ("offline".to_owned(), json!([])));
                if now == before {
                    continue;
                }
                if now.0 == "offline" {
                    last.remove(&user);
                } else {
                    last.insert(user, now.clone());
                }
                now
            };
            let guilds = match hub.state.store.guild_ids_of_user(user).await {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!(error = %e, "cannot load guilds for a presence update");
                    continue;
                }
            };
            for g in guilds {
                let payload = object(user, Some(&g.to_string()), &now.0, &now.1);
                hub.state
                    .dispatch("PRESENCE_UPDATE", Audience::Guild(g), &payload)
                    .await;
            }
        }
    });
    tx
}

/// Writes the sessions of `users` on this process to Redis (renewing them) and removes the
/// ones that ended here since the last write: one round trip for all of them.
async fn share(hub: &Hub, users: &[UserId], mine: &mut HashMap<UserId, HashSet<Arc<str>>>) {
    let Some(bus) = hub.state.bus.redis_bus() else {
        return;
    };
    let until = unix_ms(Instant::now()) + SHARED_TTL.as_millis() as u64;
    let mut writes = Vec::with_capacity(users.len());
    let mut held = Vec::with_capacity(users.len());
    for &user in users {
        let local = local_presences(hub, user);
        let sessions = local
            .iter()
            .map(|(id, p)| {
                let shared = Shared {
                    status: p.status.clone(),
                    activities: p.activities.clone(),
                    at: unix_ms(p.at),
                    until,
                };
                (
                    id.to_string(),
                    serde_json::to_string(&shared).unwrap_or_default(),
                )
            })
            .collect();
        let now: HashSet<Arc<str>> = local.into_iter().map(|(id, _)| id).collect();
        let gone = mine
            .get(&user)
            .map(|before| before.difference(&now).map(|id| id.to_string()).collect())
            .unwrap_or_default();
        writes.push(PresenceWrite {
            user: user.get(),
            sessions,
            gone,
        });
        held.push((user, now));
    }
    let ttl = SHARED_TTL.as_millis() as u64;
    if let Err(e) = bus.put_presences(&writes, ttl).await {
        tracing::warn!(error = %e, "cannot share presences");
        return;
    }
    for (user, now) in held {
        if now.is_empty() {
            mine.remove(&user);
        } else {
            mine.insert(user, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_hides_invisible() {
        let p = Presence::parse(&json!({"status": "dnd", "activities": [{"name": "x", "type": 0}], "since": null, "afk": false})).unwrap();
        assert_eq!(p.status, "dnd");
        assert_eq!(p.activities.as_array().unwrap().len(), 1);
        let p = Presence::parse(&json!({"status": "invisible"})).unwrap();
        assert_eq!(p.visible_status(), "offline");
        assert!(Presence::parse(&json!({"status": "away"})).is_none());
        assert_eq!(Presence::parse(&json!({})).unwrap().status, "online");
    }
}
