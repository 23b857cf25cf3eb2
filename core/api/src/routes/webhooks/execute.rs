//! `POST /webhooks/{webhook.id}/{webhook.token}`: execute a webhook (JSON or multipart with
//! files), in its channel, in one of its threads (`?thread_id=`) or as a new forum post
//! (`thread_name`); `?wait=true` returns the message, otherwise 204. With an application's id
//! and an interaction token, a follow-up message of that interaction (for 15 minutes).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::load_with_token;
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::multipart::JsonOrMultipart;
use crate::services::interaction_responses;
use crate::services::messages::webhook::{self, ExecuteWebhook};
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
            let message = interaction_responses::send(
                &state,
                &record,
                body.payload,
                body.files,
                false,
                false,
            )
            .await?;
            return Ok(if wait {
                axum::Json(message).into_response()
            } else {
                StatusCode::NO_CONTENT.into_response()
            });
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
