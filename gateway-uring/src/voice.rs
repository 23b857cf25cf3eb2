//! Voice states (op 4): which voice channel each user's session is in, with its self-mute and
//! self-deafen flags; VOICE_STATE_UPDATE to the guild on every change and when a session that
//! was in a channel ends; the guild's voice states in GUILD_CREATE. (VOICE_SERVER_UPDATE comes
//! with the voice service.)

use std::sync::Arc;

use accord_api::services::access::ChannelAccess;
use accord_api::views::public_user;
use accord_api::views_guild::member;
use accord_bus::Audience;
use accord_model::{ChannelId, GuildId, Permissions, UserId};
use serde_json::{Value, json};

use crate::hub::{Hub, lock};

/// One user's voice state in a guild.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceState {
    /// The voice channel.
    pub channel: ChannelId,
    /// The session that joined.
    pub session: Arc<str>,
    /// Self-muted.
    pub self_mute: bool,
    /// Self-deafened.
    pub self_deaf: bool,
}

fn id_of<T>(v: Option<&Value>, make: fn(u64) -> T) -> Option<T> {
    crate::route::snowflake(v?).map(make)
}

/// The voice state object (`channel_id` null when leaving).
async fn object(
    hub: &Hub,
    guild: GuildId,
    user: UserId,
    state: Option<&VoiceState>,
    session: &str,
) -> Value {
    let store = &hub.state.store;
    let member_view = match (store.member(guild, user).await, store.user(user).await) {
        (Ok(Some(m)), Ok(u)) => {
            serde_json::to_value(member(&m, u.as_ref().map(public_user))).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    };
    json!({
        "guild_id": guild.to_string(),
        "channel_id": state.map(|s| s.channel.to_string()),
        "user_id": user.to_string(),
        "member": member_view,
        "session_id": session,
        "deaf": false,
        "mute": false,
        "self_deaf": state.is_some_and(|s| s.self_deaf),
        "self_mute": state.is_some_and(|s| s.self_mute),
        "self_stream": false,
        "self_video": false,
        "suppress": false,
        "request_to_speak_timestamp": null,
    })
}

/// Applies op 4 from `session`.
pub async fn update(hub: Arc<Hub>, session: Arc<str>, d: Value) {
    let Some(s) = hub.get(&session) else { return };
    let (user, in_guild) = {
        let core = lock(&s);
        let guild = id_of(d.get("guild_id"), GuildId::new);
        (core.user, guild.filter(|g| core.guilds.contains(g)))
    };
    let Some(guild) = in_guild else { return };
    let channel = id_of(d.get("channel_id"), ChannelId::new);
    let next = match channel {
        None => None,
        Some(c) => {
            // A voice or stage channel of this guild that the user may connect to.
            match ChannelAccess::load_cached(&hub.state, c, user).await {
                Ok(a)
                    if a.channel.guild_id == Some(guild.as_i64())
                        && matches!(a.channel.kind, 2 | 13)
                        && a.permissions.contains(Permissions::CONNECT) =>
                {
                    Some(VoiceState {
                        channel: c,
                        session: session.clone(),
                        self_mute: d.get("self_mute").and_then(Value::as_bool) == Some(true),
                        self_deaf: d.get("self_deaf").and_then(Value::as_bool) == Some(true),
                    })
                }
                _ => {
                    tracing::debug!(%c, "voice state refused: not a voice channel the user may join");
                    return;
                }
            }
        }
    };
    let changed = match &next {
        Some(v) => hub.voice.insert((guild, user), v.clone()).as_ref() != Some(v),
        None => hub.voice.remove(&(guild, user)).is_some(),
    };
    if changed {
        let payload = object(&hub, guild, user, next.as_ref(), &session).await;
        hub.state
            .dispatch("VOICE_STATE_UPDATE", Audience::Guild(guild), &payload)
            .await;
    }
}

/// Leaves every voice channel the ended `session` of `user` was in.
pub async fn session_ended(hub: Arc<Hub>, user: UserId, session: Arc<str>) {
    let left: Vec<GuildId> = hub
        .voice
        .iter()
        .filter(|e| e.key().1 == user && e.value().session == session)
        .map(|e| e.key().0)
        .collect();
    for guild in left {
        hub.voice.remove(&(guild, user));
        let payload = object(&hub, guild, user, None, &session).await;
        hub.state
            .dispatch("VOICE_STATE_UPDATE", Audience::Guild(guild), &payload)
            .await;
    }
}

/// The voice states of `guild` for its GUILD_CREATE.
pub async fn of_guild(hub: &Hub, guild: GuildId) -> Vec<Value> {
    let states: Vec<(UserId, VoiceState)> = hub
        .voice
        .iter()
        .filter(|e| e.key().0 == guild)
        .map(|e| (e.key().1, e.value().clone()))
        .collect();
    let mut out = Vec::with_capacity(states.len());
    for (user, state) in states {
        let session = state.session.clone();
        out.push(object(hub, guild, user, Some(&state), &session).await);
    }
    out
}
