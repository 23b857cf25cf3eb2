//! The full guild object that GUILD_CREATE carries (roles, channels, members, counts, the
//! recipient's `joined_at`; only the channels the recipient can view), built from the store.

use accord_model::{GuildId, Permissions, UserId};
use serde::Serialize;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::access::GuildAccess;
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild::{channel, guild, member, timestamp};

/// GUILD_CREATE's payload: the guild object plus the fields only the gateway sends.
#[derive(Debug, Clone, Serialize)]
pub struct GuildCreate {
    /// The guild object.
    #[serde(flatten)]
    pub guild: accord_model::Guild,
    /// When the recipient joined.
    pub joined_at: accord_model::Timestamp,
    /// Whether the guild is large (more members than the large threshold).
    pub large: bool,
    /// Always false here: the guild is available.
    pub unavailable: bool,
    /// Total members.
    pub member_count: i64,
    /// Members, up to the large threshold.
    pub members: Vec<accord_model::GuildMember>,
    /// Channels.
    pub channels: Vec<accord_model::Channel>,
    /// Active threads.
    pub threads: Vec<accord_model::Channel>,
    /// Voice states.
    pub voice_states: Vec<serde_json::Value>,
    /// Presences.
    pub presences: Vec<serde_json::Value>,
    /// Stage instances.
    pub stage_instances: Vec<serde_json::Value>,
    /// Scheduled events.
    pub guild_scheduled_events: Vec<serde_json::Value>,
    /// Soundboard sounds.
    pub soundboard_sounds: Vec<serde_json::Value>,
}

/// Members sent with GUILD_CREATE (Discord's default large threshold).
pub const LARGE_THRESHOLD: u32 = 250;

/// Builds GUILD_CREATE for `recipient` with Discord's default large threshold.
pub async fn guild_create(
    state: &AppState,
    guild_id: GuildId,
    recipient: UserId,
) -> ApiResult<GuildCreate> {
    guild_create_with(state, guild_id, recipient, LARGE_THRESHOLD).await
}

/// Builds GUILD_CREATE for `recipient`: members up to `large_threshold` (the recipient's own
/// member always among them), `large` when the guild has more.
pub async fn guild_create_with(
    state: &AppState,
    guild_id: GuildId,
    recipient: UserId,
    large_threshold: u32,
) -> ApiResult<GuildCreate> {
    let store = &state.store;
    let g = store
        .guild(guild_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Guild))?;
    let roles = store.guild_roles(guild_id).await?;
    let channels = store.guild_channels(guild_id).await?;
    let overwrites = store.guild_overwrites(guild_id).await?;
    let member_count = store.member_count(guild_id).await?;
    let mut members = store.members(guild_id, None, large_threshold).await?;
    let me = store
        .member(guild_id, recipient)
        .await?
        .ok_or(ApiError::MissingAccess)?;
    if !members.iter().any(|m| m.user_id == me.user_id) {
        members.pop();
        members.push(me.clone());
    }
    let user_ids: Vec<UserId> = members
        .iter()
        .map(|m| UserId::from_i64(m.user_id))
        .collect();
    let users = store.users(&user_ids).await?;
    let members = members
        .iter()
        .map(|m| member(m, users.iter().find(|u| u.id == m.user_id).map(public_user)))
        .collect();
    // Only the channels the recipient can see.
    let standing = GuildAccess::from_parts(recipient, g.clone(), me.clone(), roles.clone());
    let visible: Vec<accord_model::Channel> = channels
        .iter()
        .filter(|c| {
            standing
                .channel_permissions(c, &overwrites)
                .contains(Permissions::VIEW_CHANNEL)
        })
        .map(|c| channel(c, &overwrites))
        .collect();
    let threads = visible_active_threads(state, &standing, &overwrites, None).await?;
    let threads = threads
        .into_iter()
        .map(|mut t| {
            // Inside GUILD_CREATE a thread's member object has no ids.
            if let Some(m) = t.member.as_mut() {
                m.id = None;
                m.user_id = None;
            }
            t
        })
        .collect();
    let mut object = guild(&g, &roles);
    object.emojis = crate::routes::guilds::emojis::guild_emojis(state, guild_id).await?;
    object.stickers = Some(crate::routes::guilds::stickers::guild_stickers(state, guild_id).await?);
    Ok(GuildCreate {
        guild: object,
        joined_at: timestamp(me.joined_at),
        large: member_count > i64::from(large_threshold),
        unavailable: false,
        member_count,
        members,
        channels: visible,
        threads,
        voice_states: Vec::new(),
        presences: Vec::new(),
        stage_instances: Vec::new(),
        guild_scheduled_events: Vec::new(),
        soundboard_sounds: Vec::new(),
    })
}

/// The active threads of the guild `standing` is in that its member can view, each with the
/// member's thread membership when they joined it; with `parents`, only threads of those
/// channels. `overwrites` are the guild's.
pub async fn visible_active_threads(
    state: &AppState,
    standing: &GuildAccess,
    overwrites: &[accord_store::OverwriteRecord],
    parents: Option<&[accord_model::ChannelId]>,
) -> ApiResult<Vec<accord_model::Channel>> {
    let guild_id = standing.guild_id();
    let threads = state.store.active_threads(guild_id).await?;
    if threads.is_empty() {
        return Ok(Vec::new());
    }
    let mine = state
        .store
        .user_thread_memberships(guild_id, standing.user_id)
        .await?;
    Ok(threads
        .iter()
        .filter(|t| {
            parents.is_none_or(|p| {
                t.parent_id
                    .is_some_and(|id| p.contains(&accord_model::ChannelId::from_i64(id)))
            })
        })
        .filter_map(|t| {
            let member = mine.iter().find(|m| m.thread_id == t.id);
            standing
                .thread_aware_permissions(t, overwrites, member.is_some())
                .contains(Permissions::VIEW_CHANNEL)
                .then(|| crate::views_thread::thread(t, member))
        })
        .collect())
}
