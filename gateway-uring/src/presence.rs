//! Presences: each session's status and activities (from Identify's `presence` and op 3), a
//! user's presence as others see it (the latest update among their sessions; `invisible` shows
//! as offline, no session as offline), and PRESENCE_UPDATE to the user's guilds whenever that
//! changes — including offline when their last session ends.

use std::sync::Arc;
use std::time::Instant;

use accord_bus::Audience;
use accord_model::UserId;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::hub::{Hub, lock};

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

/// What others see of `user` right now: `(status, activities)`.
pub fn seen(hub: &Hub, user: UserId) -> (String, Value) {
    let latest = hub
        .sessions_of(user)
        .iter()
        .map(|s| lock(s).presence.clone())
        .max_by_key(|p| p.at);
    match latest {
        Some(p) if p.visible_status() != "offline" => {
            (p.visible_status().to_owned(), p.activities.clone())
        }
        _ => ("offline".to_owned(), json!([])),
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
/// changed since the last time.
pub fn spawn_publisher(hub: Arc<Hub>) -> mpsc::UnboundedSender<UserId> {
    let (tx, mut rx) = mpsc::unbounded_channel::<UserId>();
    tokio::spawn(async move {
        let mut last: std::collections::HashMap<UserId, (String, Value)> =
            std::collections::HashMap::new();
        while let Some(user) = rx.recv().await {
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
