//! `GET/POST /users/@me/channels`: the caller's DMs and group DMs, opening a DM (one per pair of
//! users) and creating a group DM.

use accord_bus::Audience;
use accord_model::{Channel, ChannelId, Rights, UserId};
use accord_store::UserRecord;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::routes::channels::private::{
    MAX_GROUP_RECIPIENTS, dispatch_each, recipient_users, view_for,
};
use crate::routes::users::me::caller;
use crate::state::AppState;

/// `POST /users/@me/channels` body: `recipient_id` opens a DM, `recipients` creates a group DM.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreatePrivateChannelBody {
    /// The user to open a DM with.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub recipient_id: Option<UserId>,
    /// The other members of a new group DM (1–9 users; user accounts only).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub recipients: Option<Vec<UserId>>,
    /// OAuth2 `gdm.join` access tokens (not issued by this instance).
    #[serde(default)]
    pub access_tokens: Option<Vec<String>>,
}

/// List the caller's DMs and group DMs.
#[utoipa::path(get, path = "/users/@me/channels", tag = "users",
    responses((status = 200, description = "DM and group DM channel objects, each with the other recipients")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Vec<Channel>>> {
    Ok(axum::Json(private_channels(&state, auth.user_id).await?))
}

/// The DMs and group DMs of `user`, each with its other recipients (also READY's
/// `private_channels`).
pub async fn private_channels(state: &AppState, user: UserId) -> ApiResult<Vec<Channel>> {
    let channels = state.store.private_channels(user).await?;
    let mut out = Vec::with_capacity(channels.len());
    for c in &channels {
        let users = recipient_users(state, c.channel_id()).await?;
        out.push(view_for(c, &users, user));
    }
    Ok(out)
}

/// Open a DM with a user (an existing one is returned) or create a group DM.
#[utoipa::path(post, path = "/users/@me/channels", tag = "users", request_body = CreatePrivateChannelBody,
    responses((status = 200, description = "The DM or group DM channel"), (status = 400, description = "Invalid form body (50035), invalid recipients (50033), too many recipients (30004)"), (status = 403, description = "Bots cannot create group DMs (20001), missing the instance right (50013)"), (status = 404, description = "Unknown user (10013)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreatePrivateChannelBody>,
) -> ApiResult<axum::Json<Channel>> {
    if let Some(recipient) = body.recipient_id {
        return open_dm(&state, &auth, recipient).await;
    }
    if let Some(recipients) = &body.recipients {
        return create_group(&state, &auth, recipients).await;
    }
    if body.access_tokens.is_some() {
        return Err(ApiError::field(
            &["access_tokens"],
            "BASE_TYPE_INVALID",
            "gdm.join access tokens are not issued by this instance; use recipients.",
        ));
    }
    Err(ApiError::field(
        &["recipient_id"],
        "BASE_TYPE_REQUIRED",
        "This field is required",
    ))
}

/// A recipient's account, if it exists and can take part in a conversation.
async fn recipient(state: &AppState, id: UserId) -> ApiResult<Option<UserRecord>> {
    Ok(state
        .store
        .user(id)
        .await?
        .filter(|u| !u.deleted && !u.disabled))
}

async fn open_dm(
    state: &AppState,
    auth: &Auth,
    recipient_id: UserId,
) -> ApiResult<axum::Json<Channel>> {
    let me = caller(state, auth).await?;
    if !me.rights().has(Rights::CREATE_DMS) {
        return Err(ApiError::MissingPermissions);
    }
    if recipient_id == auth.user_id {
        return Err(ApiError::InvalidRecipients);
    }
    let other = recipient(state, recipient_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::User))?;
    let id: ChannelId = state.ids.next();
    let (channel, created) = state
        .store
        .create_dm(id, auth.user_id, other.user_id())
        .await?;
    let users = vec![me, other];
    let view = view_for(&channel, &users, auth.user_id);
    if created {
        state
            .dispatch("CHANNEL_CREATE", Audience::Users(vec![auth.user_id]), &view)
            .await;
    }
    Ok(axum::Json(view))
}

async fn create_group(
    state: &AppState,
    auth: &Auth,
    recipients: &[UserId],
) -> ApiResult<axum::Json<Channel>> {
    auth.not_bot()?;
    let me = caller(state, auth).await?;
    if !me.rights().has(Rights::CREATE_GROUP_DMS) {
        return Err(ApiError::MissingPermissions);
    }
    let mut others: Vec<UserId> = Vec::new();
    for id in recipients {
        if *id != auth.user_id && !others.contains(id) {
            others.push(*id);
        }
    }
    if others.is_empty() {
        return Err(ApiError::field(
            &["recipients"],
            "BASE_TYPE_BAD_LENGTH",
            format!(
                "Must name between 1 and {} other users.",
                MAX_GROUP_RECIPIENTS - 1
            ),
        ));
    }
    if others.len() + 1 > MAX_GROUP_RECIPIENTS {
        return Err(ApiError::Maximum(
            Maximum::Recipients,
            MAX_GROUP_RECIPIENTS as u32,
        ));
    }
    for id in &others {
        match recipient(state, *id).await? {
            Some(u) if !u.bot => {}
            _ => return Err(ApiError::InvalidRecipients),
        }
    }
    let id: ChannelId = state.ids.next();
    let channel = state
        .store
        .create_group_dm(id, auth.user_id, &others, None, None)
        .await?;
    let users = recipient_users(state, id).await?;
    let audience: Vec<UserId> = users.iter().map(UserRecord::user_id).collect();
    dispatch_each(state, "CHANNEL_CREATE", &channel, &users, &audience).await;
    Ok(axum::Json(view_for(&channel, &users, auth.user_id)))
}
