//! `GET /channels/{channel.id}` and `DELETE /channels/{channel.id}` (delete a guild channel or
//! a thread, close a DM, leave a group DM).

use accord_bus::Audience;
use accord_model::{Channel, GuildId, Permissions, UserId};
use accord_store::{ChannelRecord, StoreError};
use axum::extract::{Path, State};

use super::private::{recipient_users, remove_from_group, view_for};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::routes::users::me::caller;
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::state::AppState;
use crate::views_guild;

/// The channel object `viewer` gets: a guild channel with its overwrites, or a private channel
/// with the other recipients.
pub async fn channel_view(
    state: &AppState,
    c: &ChannelRecord,
    viewer: UserId,
) -> ApiResult<Channel> {
    if c.is_thread() {
        let me = state.store.thread_member(c.channel_id(), viewer).await?;
        Ok(crate::views_thread::thread(c, me.as_ref()))
    } else if c.guild_id.is_some() {
        let overwrites = state.store.channel_overwrites(c.channel_id()).await?;
        Ok(views_guild::channel(c, &overwrites))
    } else {
        let users = recipient_users(state, c.channel_id()).await?;
        Ok(view_for(c, &users, viewer))
    }
}

/// Get a channel the caller can see.
#[utoipa::path(get, path = "/channels/{channel_id}", tag = "channels", params(("channel_id" = String, Path)),
    responses((status = 200, description = "The channel object"), (status = 403, description = "No VIEW_CHANNEL (50001)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> ApiResult<axum::Json<Channel>> {
    let access = ChannelAccess::load(
        &state,
        ids::parse(&channel_id, Unknown::Channel)?,
        auth.user_id,
    )
    .await?;
    Ok(axum::Json(
        channel_view(&state, &access.channel, auth.user_id).await?,
    ))
}

/// Delete a guild channel (MANAGE_CHANNELS), close a DM (nothing is deleted), or leave a group
/// DM. Returns the channel as it was.
#[utoipa::path(delete, path = "/channels/{channel_id}", tag = "channels", params(("channel_id" = String, Path)),
    responses((status = 200, description = "The deleted or closed channel"), (status = 403, description = "Missing permissions (50013) or a channel Community guilds require (50074)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(channel_id): Path<String>,
) -> ApiResult<axum::Json<Channel>> {
    let access = ChannelAccess::load(
        &state,
        ids::parse(&channel_id, Unknown::Channel)?,
        auth.user_id,
    )
    .await?;
    let c = &access.channel;
    let view = channel_view(&state, c, auth.user_id).await?;
    match c.kind {
        // Closing a DM only hides it in clients; the channel and its history stay.
        1 => {}
        3 => {
            let user = caller(&state, &auth).await?;
            remove_from_group(&state, c, &user).await?;
        }
        10..=12 => {
            let reason = crate::services::moderation::audit_reason(&headers);
            crate::services::threads::delete(&state, &access, reason.as_deref()).await?;
        }
        _ => {
            let reason = crate::services::moderation::audit_reason(&headers);
            delete_guild_channel(&state, &access, reason.as_deref()).await?;
        }
    }
    Ok(axum::Json(view))
}

/// Deletes a guild channel: CHANNEL_DELETE, CHANNEL_UPDATE for each channel of a deleted
/// category (now without a parent), GUILD_UPDATE when the guild referred to the channel.
async fn delete_guild_channel(
    state: &AppState,
    access: &ChannelAccess,
    reason: Option<&str>,
) -> ApiResult<()> {
    access.require(Permissions::MANAGE_CHANNELS)?;
    let guild = access.guild()?;
    let c = &access.channel;
    let g = &guild.guild;
    let community = g.features.0.iter().any(|f| f == "COMMUNITY");
    if community && (g.rules_channel_id == Some(c.id) || g.public_updates_channel_id == Some(c.id))
    {
        return Err(ApiError::CommunityChannel);
    }
    let guild_id: GuildId = guild.guild_id();
    let overwrites = state.store.channel_overwrites(c.channel_id()).await?;
    // The channel's webhooks go with it (database cascade); clients learn it from WEBHOOKS_UPDATE.
    let had_webhooks = !state
        .store
        .channel_webhooks(c.channel_id())
        .await?
        .is_empty();
    let deleted = match state
        .store
        .delete_guild_channel(guild_id, c.channel_id())
        .await
    {
        Ok(d) => d,
        Err(StoreError::NotFound) => return Err(ApiError::Unknown(Unknown::Channel)),
        Err(e) => return Err(e.into()),
    };
    let gone = views_guild::channel(c, &overwrites);
    state
        .dispatch("CHANNEL_DELETE", Audience::Guild(guild_id), &gone)
        .await;
    crate::services::audit_log::channel(
        state,
        guild,
        reason,
        accord_model::audit_log::action::CHANNEL_DELETE,
        Some(&gone),
        None,
    )
    .await;
    if had_webhooks {
        let payload = serde_json::json!({"guild_id": guild_id, "channel_id": c.channel_id()});
        state
            .dispatch("WEBHOOKS_UPDATE", Audience::Guild(guild_id), &payload)
            .await;
    }
    let mut orphans = deleted.orphans;
    orphans.sort_by_key(|o| (o.position, o.id));
    if !orphans.is_empty() {
        let all = state.store.guild_overwrites(guild_id).await?;
        for o in &orphans {
            state
                .dispatch(
                    "CHANNEL_UPDATE",
                    Audience::Guild(guild_id),
                    &views_guild::channel(o, &all),
                )
                .await;
        }
    }
    if deleted.guild_changed
        && let Some(updated) = state.store.guild(guild_id).await?
    {
        let mut object = views_guild::guild(&updated, &guild.roles);
        object.emojis = crate::routes::guilds::emojis::guild_emojis(state, guild_id).await?;
        object.stickers =
            Some(crate::routes::guilds::stickers::guild_stickers(state, guild_id).await?);
        state
            .dispatch("GUILD_UPDATE", Audience::Guild(guild_id), &object)
            .await;
    }
    Ok(())
}
