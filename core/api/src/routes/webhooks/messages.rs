//! `GET/PATCH/DELETE /webhooks/{webhook.id}/{webhook.token}/messages/{message.id}`: a message
//! the webhook sent, read, edited or deleted with the webhook's token — or, with an
//! application's id and an interaction token, a response to that interaction (`@original` or a
//! follow-up's id), for 15 minutes.

use std::collections::HashMap;

use accord_bus::Audience;
use accord_model::{ErrorTree, GuildId, Message, MessageFlags, MessageId};
use accord_store::{InteractionRecord, MessageRecord};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::load_with_token;
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::multipart::JsonOrMultipart;
use crate::routes::channels::messages::delete::MessageDelete;
use crate::routes::channels::messages::edit::EditMessage;
use crate::services::access::ChannelAccess;
use crate::services::messages::{events, webhook};
use crate::services::{ids, interaction_responses};
use crate::state::AppState;
use crate::views_message;

/// Whose message a path names: a webhook's, or an interaction's response.
enum Sender {
    /// A webhook (by its token).
    Webhook,
    /// An interaction (by the application's id and the interaction token).
    Interaction(Box<InteractionRecord>),
}

/// The webhook (by token) or interaction, the standing in the channel, and one message it sent
/// (10008 otherwise); a webhook's in its channel or in the thread `thread_id` of it.
async fn load(
    state: &AppState,
    webhook_id: &str,
    token: &str,
    message_id: &str,
    query: &HashMap<String, String>,
) -> ApiResult<(Sender, ChannelAccess, MessageRecord)> {
    let hook = match load_with_token(state, webhook_id, token).await {
        Ok(hook) => hook,
        Err(ApiError::Unknown(Unknown::Webhook)) => {
            let Some(record) = interaction_responses::by_token(state, webhook_id, token).await?
            else {
                return Err(ApiError::Unknown(Unknown::Webhook));
            };
            let (access, message) =
                crate::services::interaction_messages::message_of(state, &record, message_id)
                    .await?;
            return Ok((Sender::Interaction(Box::new(record)), access, message));
        }
        Err(e) => return Err(e),
    };
    let thread_id = webhook::thread_id_param(query)?;
    let message_id: MessageId = ids::parse(message_id, Unknown::Message)?;
    let access = match thread_id {
        Some(t) => webhook::thread_standing(state, &hook, t).await?,
        None => webhook::standing(state, &hook).await?,
    };
    let message = state
        .store
        .message(access.channel.channel_id(), message_id)
        .await?
        .filter(|m| m.webhook_id == Some(hook.id))
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    Ok((Sender::Webhook, access, message))
}

/// Get a message the webhook sent.
#[utoipa::path(get, path = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", tag = "webhooks",
    params(("webhook_id" = String, Path), ("webhook_token" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, description = "The message"), (status = 401, description = "Invalid webhook token (50027)"),
        (status = 404, description = "Unknown webhook (10015) or message (10008)")))]
pub async fn get(
    State(state): State<AppState>,
    Path((webhook_id, token, message_id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<axum::Json<Message>> {
    let (_, _, message) = load(&state, &webhook_id, &token, &message_id, &query).await?;
    Ok(axum::Json(views_message::message(&state, &message).await?))
}

/// Edit a message the webhook sent (content, embeds, components, allowed_mentions, flags).
#[utoipa::path(patch, path = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", tag = "webhooks",
    params(("webhook_id" = String, Path), ("webhook_token" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, description = "The edited message"), (status = 400, description = "Invalid form body (50035), empty message (50006)"),
        (status = 401, description = "Invalid webhook token (50027)"), (status = 404, description = "Unknown webhook (10015) or message (10008)")))]
pub async fn patch(
    State(state): State<AppState>,
    Path((webhook_id, token, message_id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: JsonOrMultipart<EditMessage>,
) -> ApiResult<axum::Json<Message>> {
    let (sender, access, current) = load(&state, &webhook_id, &token, &message_id, &query).await?;
    let JsonOrMultipart {
        payload: body,
        files,
    } = body;
    edit(&state, &sender, &access, &current, body, !files.is_empty())
        .await
        .map(axum::Json)
}

/// Completes a deferred response's loading message with a follow-up's content: Discord's rule
/// for a follow-up sent right after DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE (the loading message is
/// edited, keeping its ephemeral state, and no new message is made).
pub(crate) async fn complete_deferred(
    state: &AppState,
    record: InteractionRecord,
    access: &ChannelAccess,
    current: &MessageRecord,
    body: EditMessage,
) -> ApiResult<Message> {
    let sender = Sender::Interaction(Box::new(record));
    edit(state, &sender, access, current, body, false).await
}

/// Applies an edit of a message sent by a webhook or as an interaction's response, and
/// announces it.
async fn edit(
    state: &AppState,
    sender: &Sender,
    access: &ChannelAccess,
    current: &MessageRecord,
    body: EditMessage,
    has_files: bool,
) -> ApiResult<Message> {
    let mut tree = ErrorTree::new();
    if matches!(body.attachments, Some(Some(_))) || has_files {
        tree.add(
            &["attachments"],
            "ATTACHMENTS_UNSUPPORTED",
            "Changing attachments of webhook messages is not supported on this instance yet.",
        );
    }
    let mut edit = body.fields(state, current, &mut tree)?;
    if let Sender::Interaction(_) = sender {
        // Editing a deferred response delivers it: the loading state ends.
        let loading = MessageFlags::LOADING.bits() as i64;
        if current.flags & loading != 0 {
            let kept = edit.flags.unwrap_or(current.flags) & !loading;
            edit.flags = Some(kept | (current.flags & MessageFlags::EPHEMERAL.bits() as i64));
        }
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let content_after = edit.content.as_deref().unwrap_or(&current.content);
    let embeds_after = edit.embeds.as_ref().unwrap_or(&current.embeds.0);
    let components_after = edit.components.as_ref().unwrap_or(&current.components.0);
    let is_empty_array = |v: &serde_json::Value| v.as_array().is_none_or(Vec::is_empty);
    if content_after.trim().is_empty()
        && is_empty_array(embeds_after)
        && is_empty_array(components_after)
        && current.attachments.is_empty()
    {
        return Err(ApiError::EmptyMessage);
    }
    if let Some(content) = &edit.content {
        let resolved = webhook::resolve(
            state,
            access,
            content,
            body.allowed_mentions.clone().flatten().as_ref(),
        )
        .await?;
        edit.mention_everyone = Some(resolved.everyone);
        edit.mentions = Some(resolved.users);
        edit.mention_roles = Some(resolved.roles);
    }
    let record = match state
        .store
        .edit_message(access.channel.channel_id(), current.message_id(), &edit)
        .await
    {
        Ok(r) => r,
        Err(accord_store::StoreError::NotFound) => {
            return Err(ApiError::Unknown(Unknown::Message));
        }
        Err(e) => return Err(e.into()),
    };
    let view = views_message::message(state, &record).await?;
    match sender {
        Sender::Webhook => events::message_update(state, access, &view).await?,
        Sender::Interaction(i) => {
            interaction_responses::publish(state, i, access, "MESSAGE_UPDATE", &view).await?
        }
    }
    Ok(view)
}

/// Delete a message the webhook sent.
#[utoipa::path(delete, path = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", tag = "webhooks",
    params(("webhook_id" = String, Path), ("webhook_token" = String, Path), ("message_id" = String, Path)),
    responses((status = 204), (status = 401, description = "Invalid webhook token (50027)"),
        (status = 404, description = "Unknown webhook (10015) or message (10008)")))]
pub async fn delete(
    State(state): State<AppState>,
    Path((webhook_id, token, message_id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let (sender, access, message) = load(&state, &webhook_id, &token, &message_id, &query).await?;
    let channel_id = access.channel.channel_id();
    match state
        .store
        .delete_message(channel_id, message.message_id())
        .await
    {
        Ok(()) => {}
        Err(accord_store::StoreError::NotFound) => {
            return Err(ApiError::Unknown(Unknown::Message));
        }
        Err(e) => return Err(e.into()),
    }
    let blobs = &state.blobs;
    for a in &message.attachments {
        let _ = blobs.delete(&a.storage_key).await;
    }
    let payload = MessageDelete {
        id: message.message_id(),
        channel_id,
        guild_id: access.channel.guild_id.map(GuildId::from_i64),
    };
    let audience = match &sender {
        Sender::Interaction(i) if interaction_responses::is_ephemeral(message.flags) => {
            Audience::Users(vec![accord_model::UserId::from_i64(i.user_id)])
        }
        _ => Audience::Channel(channel_id),
    };
    state.dispatch("MESSAGE_DELETE", audience, &payload).await;
    Ok(StatusCode::NO_CONTENT)
}
