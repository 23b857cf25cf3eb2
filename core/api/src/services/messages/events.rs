//! The gateway side of messages: MESSAGE_CREATE/UPDATE payloads (the message with `guild_id`,
//! `channel_type`, the author's partial `member` and members on `mentions`), and CHANNEL_CREATE
//! to DM recipients on a DM's first message.

use accord_bus::Audience;
use accord_model::{GuildId, Message, UserId};
use accord_store::UserRecord;

use crate::error::ApiResult;
use crate::services::access::ChannelAccess;
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild;

/// The message as MESSAGE_CREATE and MESSAGE_UPDATE carry it.
pub async fn gateway_view(
    state: &AppState,
    access: &ChannelAccess,
    view: &Message,
) -> ApiResult<Message> {
    let mut out = view.clone();
    out.channel_type = Some(access.kind());
    let Some(guild) = access.channel.guild_id.map(GuildId::from_i64) else {
        return Ok(out);
    };
    out.guild_id = Some(guild);
    // The sender's own member row is already loaded with their guild standing.
    let own = access
        .guild
        .as_ref()
        .map(|g| &g.member)
        .filter(|m| view.webhook_id.is_none() && m.user_id == view.author.id.as_i64());
    let mut ids: Vec<UserId> = view.mentions.iter().map(|m| m.user.id).collect();
    if view.webhook_id.is_none() && own.is_none() {
        ids.push(view.author.id);
    }
    ids.sort_unstable();
    ids.dedup();
    let mut members = if ids.is_empty() {
        Vec::new()
    } else {
        state.store.members_by_ids(guild, &ids).await?
    };
    members.extend(own.cloned());
    for m in &members {
        let partial = views_guild::member(m, None);
        let user = UserId::from_i64(m.user_id);
        if view.webhook_id.is_none() && user == view.author.id {
            out.member = Some(partial.clone());
        }
        for mention in out.mentions.iter_mut().filter(|x| x.user.id == user) {
            mention.member = Some(partial.clone());
        }
    }
    Ok(out)
}

/// Publishes MESSAGE_CREATE for a new message.
pub async fn message_create(
    state: &AppState,
    access: &ChannelAccess,
    view: &Message,
) -> ApiResult<()> {
    let payload = gateway_view(state, access, view).await?;
    state
        .dispatch(
            "MESSAGE_CREATE",
            Audience::Channel(access.channel.channel_id()),
            &payload,
        )
        .await;
    Ok(())
}

/// Publishes MESSAGE_UPDATE for an edited message (`tts` is always false in updates).
pub async fn message_update(
    state: &AppState,
    access: &ChannelAccess,
    view: &Message,
) -> ApiResult<()> {
    let mut payload = gateway_view(state, access, view).await?;
    payload.tts = false;
    state
        .dispatch(
            "MESSAGE_UPDATE",
            Audience::Channel(access.channel.channel_id()),
            &payload,
        )
        .await;
    Ok(())
}

/// Sends CHANNEL_CREATE to the recipients of a DM other than `sender`, who have not received
/// the channel yet (it gets its first message now; the sender opened it).
pub async fn open_dm(state: &AppState, access: &ChannelAccess, sender: UserId) -> ApiResult<()> {
    let channel = &access.channel;
    let recipients = state.store.recipients(channel.channel_id()).await?;
    let users: Vec<UserRecord> = state.store.users(&recipients).await?;
    for r in recipients.iter().filter(|r| **r != sender) {
        let others = users
            .iter()
            .filter(|u| u.id != r.as_i64())
            .map(public_user)
            .collect();
        let view = views_guild::private_channel(channel, others);
        state
            .dispatch("CHANNEL_CREATE", Audience::Users(vec![*r]), &view)
            .await;
    }
    Ok(())
}
