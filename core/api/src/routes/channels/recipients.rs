//! `PUT/DELETE /channels/{channel.id}/recipients/{user.id}`: adding people to a group DM (any
//! recipient may, up to 10 recipients) and removing them (the owner removes anyone, everyone may
//! remove themselves).

use accord_bus::Audience;
use accord_model::UserId;
use accord_store::UserRecord;
use accord_store::dms::RecipientAdded;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::private::{
    MAX_GROUP_RECIPIENTS, RecipientEvent, dispatch_each, recipient_users, remove_from_group,
};
use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::Auth;
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::state::AppState;
use crate::views::public_user;

/// The group DM the caller is in (10003 otherwise; 50024 for other channel types) and the
/// target user (10013 when there is no such account).
async fn load(
    state: &AppState,
    auth: &Auth,
    channel_id: &str,
    user_id: &str,
) -> ApiResult<(ChannelAccess, UserRecord)> {
    let access = ChannelAccess::load(
        state,
        ids::parse(channel_id, Unknown::Channel)?,
        auth.user_id,
    )
    .await?;
    if access.channel.kind != 3 {
        return Err(ApiError::WrongChannelType);
    }
    let target: UserId = ids::parse(user_id, Unknown::User)?;
    let user = state
        .store
        .user(target)
        .await?
        .filter(|u| !u.deleted)
        .ok_or(ApiError::Unknown(Unknown::User))?;
    Ok((access, user))
}

/// Add a user to a group DM: CHANNEL_RECIPIENT_ADD to the recipients already there,
/// CHANNEL_CREATE to the new one. Nothing happens if they already are a recipient.
#[utoipa::path(put, path = "/channels/{channel_id}/recipients/{user_id}", tag = "channels",
    params(("channel_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 400, description = "Group DM full (30004), invalid recipient (50033), not a group DM (50024)"), (status = 404, description = "Unknown channel (10003) or user (10013)")))]
pub async fn add(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (access, user) = load(&state, &auth, &channel_id, &user_id).await?;
    // Bots join group DMs only through OAuth2 (gdm.join), which this instance does not issue.
    if user.bot || user.disabled {
        return Err(ApiError::InvalidRecipients);
    }
    let c = &access.channel;
    let before = state.store.recipients(c.channel_id()).await?;
    match state
        .store
        .add_group_recipient(c.channel_id(), user.user_id(), MAX_GROUP_RECIPIENTS)
        .await?
    {
        RecipientAdded::AlreadyRecipient => return Ok(StatusCode::NO_CONTENT),
        RecipientAdded::Full => {
            return Err(ApiError::Maximum(
                Maximum::Recipients,
                MAX_GROUP_RECIPIENTS as u32,
            ));
        }
        RecipientAdded::Added => {}
    }
    let others: Vec<UserId> = before
        .into_iter()
        .filter(|u| *u != user.user_id())
        .collect();
    state
        .dispatch(
            "CHANNEL_RECIPIENT_ADD",
            Audience::Users(others),
            &RecipientEvent {
                channel_id: c.channel_id(),
                user: public_user(&user),
            },
        )
        .await;
    let users = recipient_users(&state, c.channel_id()).await?;
    dispatch_each(&state, "CHANNEL_CREATE", c, &users, &[user.user_id()]).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a user from a group DM (its owner may remove anyone; anyone may remove themselves):
/// CHANNEL_RECIPIENT_REMOVE to the remaining recipients, CHANNEL_DELETE to the removed user.
#[utoipa::path(delete, path = "/channels/{channel_id}/recipients/{user_id}", tag = "channels",
    params(("channel_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 400, description = "Not a recipient (50033), not a group DM (50024)"), (status = 403, description = "Not the owner (50013)"), (status = 404, description = "Unknown channel (10003) or user (10013)")))]
pub async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (access, user) = load(&state, &auth, &channel_id, &user_id).await?;
    let c = &access.channel;
    if user.user_id() != auth.user_id && c.owner_id != Some(auth.user_id.as_i64()) {
        return Err(ApiError::MissingPermissions);
    }
    remove_from_group(&state, c, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
