//! Joining and leaving guilds, with the checks and events every way in or out shares (invites,
//! adding a bot, leaving, kicks).

use accord_bus::Audience;
use accord_model::{GuildId, RoleId, UserId};
use accord_store::{GuildRecord, MemberRecord, NewMember, UserRecord};
use serde::Serialize;

use super::guild_payload::guild_create;
use crate::error::{ApiError, ApiResult, Maximum};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild::member;

/// GUILD_MEMBER_ADD / GUILD_MEMBER_UPDATE payload: the member with its user and the guild id.
#[derive(Debug, Serialize)]
pub struct MemberEvent {
    /// The member.
    #[serde(flatten)]
    pub member: accord_model::GuildMember,
    /// The guild.
    pub guild_id: GuildId,
}

/// GUILD_MEMBER_REMOVE / GUILD_BAN_ADD / GUILD_BAN_REMOVE payload.
#[derive(Debug, Serialize)]
pub struct GuildUserEvent {
    /// The guild.
    pub guild_id: GuildId,
    /// The user.
    pub user: accord_model::User,
}

/// The member event payload for `m`.
pub fn member_event(m: &MemberRecord, user: &UserRecord) -> MemberEvent {
    MemberEvent {
        member: member(m, Some(public_user(user))),
        guild_id: GuildId::from_i64(m.guild_id),
    }
}

/// Adds `user` to `guild` with `roles` (a bot's managed role), unless already a member (then the
/// existing membership is returned and nothing is emitted). Refuses banned users (40007), users
/// at their guild limit and full guilds (30001 / 30019). Emits GUILD_MEMBER_ADD to the guild and
/// GUILD_CREATE to the new member.
pub async fn join(
    state: &AppState,
    guild: &GuildRecord,
    user: &UserRecord,
    roles: Vec<RoleId>,
) -> ApiResult<MemberRecord> {
    let guild_id = GuildId::from_i64(guild.id);
    if let Some(existing) = state.store.member(guild_id, user.user_id()).await? {
        return Ok(existing);
    }
    if state.store.ban(guild_id, user.user_id()).await?.is_some() {
        return Err(ApiError::Banned);
    }
    let limits = &state.config.limits;
    let max_guilds = if user.bot {
        limits.guilds_per_bot
    } else {
        limits.guilds_per_user
    };
    if state.store.guild_ids_of_user(user.user_id()).await?.len() >= max_guilds as usize {
        return Err(ApiError::Maximum(Maximum::Guilds, max_guilds));
    }
    if state.store.member_count(guild_id).await? >= i64::from(limits.members_per_guild) {
        return Err(ApiError::Maximum(
            Maximum::Members,
            limits.members_per_guild,
        ));
    }
    let mut new = NewMember::new(guild_id, user.user_id());
    new.roles = roles;
    let m = state.store.add_member(&new).await?;
    state
        .dispatch(
            "GUILD_MEMBER_ADD",
            Audience::Guild(guild_id),
            &member_event(&m, user),
        )
        .await;
    let payload = guild_create(state, guild_id, user.user_id()).await?;
    state
        .dispatch(
            "GUILD_CREATE",
            Audience::Users(vec![user.user_id()]),
            &payload,
        )
        .await;
    Ok(m)
}

/// Removes `user` from `guild` (leave or kick): GUILD_MEMBER_REMOVE to the guild and GUILD_DELETE
/// to the user who left. Fails with 10007 when they are not a member.
pub async fn remove(state: &AppState, guild_id: GuildId, user: &UserRecord) -> ApiResult<()> {
    match state.store.remove_member(guild_id, user.user_id()).await {
        Ok(()) => {}
        Err(accord_store::StoreError::NotFound) => {
            return Err(ApiError::Unknown(crate::error::Unknown::Member));
        }
        Err(e) => return Err(e.into()),
    }
    state
        .dispatch(
            "GUILD_MEMBER_REMOVE",
            Audience::Guild(guild_id),
            &GuildUserEvent {
                guild_id,
                user: public_user(user),
            },
        )
        .await;
    state
        .dispatch(
            "GUILD_DELETE",
            Audience::Users(vec![user.user_id()]),
            &serde_json::json!({"id": guild_id, "unavailable": false}),
        )
        .await;
    Ok(())
}

/// The user row of a member, or 10013.
pub async fn user_of(state: &AppState, user: UserId) -> ApiResult<UserRecord> {
    state
        .store
        .user(user)
        .await?
        .ok_or(ApiError::Unknown(crate::error::Unknown::User))
}

/// Refuses, before anything is written, what joining `guild` would refuse for `user`: a ban
/// (40007), the user's guild limit (30001) and a full guild (30019).
pub async fn check_can_join(state: &AppState, guild: GuildId, user: &UserRecord) -> ApiResult<()> {
    if state.store.ban(guild, user.user_id()).await?.is_some() {
        return Err(ApiError::Banned);
    }
    let limits = &state.config.limits;
    let max_guilds = if user.bot {
        limits.guilds_per_bot
    } else {
        limits.guilds_per_user
    };
    if state.store.guild_ids_of_user(user.user_id()).await?.len() >= max_guilds as usize {
        return Err(ApiError::Maximum(Maximum::Guilds, max_guilds));
    }
    if state.store.member_count(guild).await? >= i64::from(limits.members_per_guild) {
        return Err(ApiError::Maximum(
            Maximum::Members,
            limits.members_per_guild,
        ));
    }
    Ok(())
}
