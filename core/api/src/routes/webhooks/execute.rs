//! `POST /webhooks/{webhook.id}/{webhook.token}`: execute a webhook (JSON or multipart with
//! files), in its channel, in one of its threads (`?thread_id=`) or as a new forum post
//! (`thread_name`); `?wait=true` returns the message, otherwise 204. With an application's id
//! and an interaction token, a follow-up message of that interaction (for 15 minutes; always
//! answered with the message), the first of which completes a deferred response's loading
//! message instead of posting.

use std::collections::HashMap;

use accord_model::MessageFlags;
use accord_store::{InteractionRecord, MessageRecord};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::load_with_token;
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::multipart::JsonOrMultipart;
use crate::routes::channels::messages::edit::EditMessage;
use crate::services::access::ChannelAccess;
use crate::services::messages::webhook::{self, ExecuteWebhook};
use crate::services::{interaction_messages, interaction_responses};
use crate::state::AppState;

/// Discord's boolean query strings: `true`/`True`/`1` and `false`/`False`/`0`.
fn boolean(raw: Option<&String>, name: &str) -> ApiResult<bool> {
    match raw.map(String::as_str) {
        None => Ok(false),
        Some("true" | "True" | "1") => Ok(true),
        Some("false" | "False" | "0") => Ok(false),
        Some(_) => Err(ApiError::field(
            &[name],
            "BASE_TYPE_BOOLEAN",
            "Must be either true or false.",
        )),
    }
}

/// Post a message as the webhook (no authentication).
#[utoipa::path(post, path = "/webhooks/{webhook_id}/{webhook_token}", tag = "webhooks",
    params(("webhook_id" = String, Path), ("webhook_token" = String, Path),
        ("wait" = Option<bool>, Query), ("thread_id" = Option<String>, Query)),
    responses((status = 200, description = "The message (with wait=true)"), (status = 204, description = "Sent (without wait)"),
        (status = 400, description = "Invalid form body (50035), empty message (50006)"),
        (status = 401, description = "Invalid webhook token (50027)"), (status = 404, description = "Unknown webhook (10015)")))]
pub async fn execute(
    State(state): State<AppState>,
    Path((webhook_id, token)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: JsonOrMultipart<ExecuteWebhook>,
) -> ApiResult<Response> {
    let wait = boolean(query.get("wait"), "wait")?;
    let hook = match load_with_token(&state, &webhook_id, &token).await {
        Ok(hook) => hook,
        Err(ApiError::Unknown(Unknown::Webhook)) => {
            let Some(record) = interaction_responses::by_token(&state, &webhook_id, &token).await?
            else {
                return Err(ApiError::Unknown(Unknown::Webhook));
            };
            if record.responded == 0 {
                // Follow-ups come after the first response.
                return Err(ApiError::Unknown(Unknown::Webhook));
            }
            if body.files.is_empty()
                && let Some((access, loading)) = still_loading(&state, &record).await?
            {
                let edit = super::messages::complete_deferred(
                    &state,
                    record,
                    &access,
                    &loading,
                    follow_up_as_edit(body.payload),
                )
                .await?;
                // Follow-ups always answer with the message (`wait` is implied).
                return Ok(axum::Json(edit).into_response());
            }
            let message = interaction_responses::send(
                &state,
                &record,
                body.payload,
                body.files,
                false,
                false,
            )
            .await?;
            // Follow-ups always answer with the message (`wait` is implied).
            return Ok(axum::Json(message).into_response());
        }
        Err(e) => return Err(e),
    };
    let thread_id = webhook::thread_id_param(&query)?;
    let message = webhook::create(&state, &hook, body.payload, body.files, thread_id).await?;
    Ok(if wait {
        axum::Json(message).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

/// The deferred response's loading message, when the interaction's first response was
/// DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE and nothing has completed it yet: a follow-up then edits
/// it instead of posting (Discord's backwards-compatible rule for follow-ups right after a
/// deferral; the ephemeral state of the deferral stays).
async fn still_loading(
    state: &AppState,
    record: &InteractionRecord,
) -> ApiResult<Option<(ChannelAccess, MessageRecord)>> {
    if record.original_message_id.is_none() {
        return Ok(None);
    }
    let (access, message) = match interaction_messages::message_of(state, record, "@original").await
    {
        Ok(found) => found,
        // The loading message was deleted: the follow-up is a message of its own.
        Err(ApiError::Unknown(Unknown::Message)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let loading = MessageFlags::LOADING.bits() as i64;
    Ok((message.flags & loading != 0).then_some((access, message)))
}

/// A follow-up's body as an edit of the loading message: its content, embeds, components and
/// allowed mentions (its flags are not applied: the deferral's ephemeral state stays).
fn follow_up_as_edit(body: ExecuteWebhook) -> EditMessage {
    EditMessage {
        content: Some(body.content),
        embeds: body.embeds.map(Some),
        flags: None,
        allowed_mentions: body.allowed_mentions.map(Some),
        components: body.components.map(Some),
        attachments: None,
    }
}
