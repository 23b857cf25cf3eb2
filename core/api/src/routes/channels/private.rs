//! DMs and group DMs as each recipient sees them (their `recipients` are the *other* users), the
//! dispatches that carry them, and leaving a group DM.

use accord_bus::Audience;
use accord_model::{Channel, ChannelId, UserId};
use accord_store::dms::RecipientRemoved;
use accord_store::{ChannelRecord, UserRecord};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild::private_channel;

/// Most recipients a group DM may have (Discord's limit, error 30004 past it).
pub const MAX_GROUP_RECIPIENTS: usize = 10;

/// CHANNEL_RECIPIENT_ADD / CHANNEL_RECIPIENT_REMOVE payload.
#[derive(Debug, Serialize)]
pub struct RecipientEvent {
    /// The group DM.
    pub channel_id: ChannelId,
    /// The user who joined or left.
    pub user: accord_model::User,
}

/// The user rows of a private channel's recipients, by id.
pub async fn recipient_users(state: &AppState, channel: ChannelId) -> ApiResult<Vec<UserRecord>> {
    let ids = state.store.recipients(channel).await?;
    let mut users = state.store.users(&ids).await?;
    users.sort_by_key(|u| u.id);
    Ok(users)
}

/// The channel as `viewer` sees it: every recipient but the viewer.
pub fn view_for(c: &ChannelRecord, users: &[UserRecord], viewer: UserId) -> Channel {
    let others = users
        .iter()
        .filter(|u| u.id != viewer.as_i64())
        .map(public_user)
        .collect();
    private_channel(c, others)
}

/// Sends `name` to each user of `audience`, each with the channel as they see it.
pub async fn dispatch_each(
    state: &AppState,
    name: &str,
    c: &ChannelRecord,
    users: &[UserRecord],
    audience: &[UserId],
) {
    for viewer in audience {
        state
            .dispatch(
                name,
                Audience::Users(vec![*viewer]),
                &view_for(c, users, *viewer),
            )
            .await;
    }
}

/// Takes `user` out of the group DM `c` (they leave, or its owner removes them):
/// CHANNEL_RECIPIENT_REMOVE to the others, CHANNEL_DELETE to the user, and CHANNEL_UPDATE to the
/// others when ownership passed on; the last one out deletes the group DM. 50033 if they are not
/// a recipient.
pub async fn remove_from_group(
    state: &AppState,
    c: &ChannelRecord,
    user: &UserRecord,
) -> ApiResult<()> {
    let channel_id = c.channel_id();
    let before = recipient_users(state, channel_id).await?;
    let outcome = state
        .store
        .remove_group_recipient(channel_id, user.user_id())
        .await?;
    let others: Vec<UserId> = before
        .iter()
        .filter(|u| u.id != user.id)
        .map(UserRecord::user_id)
        .collect();
    let new_owner = match outcome {
        RecipientRemoved::NotRecipient => return Err(ApiError::InvalidRecipients),
        RecipientRemoved::Deleted => None,
        RecipientRemoved::Removed { new_owner } => new_owner,
    };
    if !others.is_empty() {
        state
            .dispatch(
                "CHANNEL_RECIPIENT_REMOVE",
                Audience::Users(others.clone()),
                &RecipientEvent {
                    channel_id,
                    user: public_user(user),
                },
            )
            .await;
    }
    state
        .dispatch(
            "CHANNEL_DELETE",
            Audience::Users(vec![user.user_id()]),
            &view_for(c, &before, user.user_id()),
        )
        .await;
    if new_owner.is_some()
        && let Some(updated) = state.store.channel(channel_id).await?
    {
        let after = recipient_users(state, channel_id).await?;
        dispatch_each(state, "CHANNEL_UPDATE", &updated, &after, &others).await;
    }
    Ok(())
}
