//! `GET/PATCH/DELETE /webhooks/{webhook.id}/{webhook.token}`: a webhook addressed by its token
//! (no authentication; no `user` in the object; no moving it to another channel).

use accord_model::Webhook;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::webhook::{ModifyWebhookBody, modify, remove};
use super::{load_with_token, render};
use crate::error::ApiResult;
use crate::extract::Json;
use crate::state::AppState;

/// Get a webhook with its token.
#[utoipa::path(get, path = "/webhooks/{webhook_id}/{webhook_token}", tag = "webhooks",
    params(("webhook_id" = String, Path), ("webhook_token" = String, Path)),
    responses((status = 200, description = "The webhook object without `user`"), (status = 401, description = "Invalid webhook token (50027)"),
        (status = 404, description = "Unknown webhook (10015)")))]
pub async fn get(
    State(state): State<AppState>,
    Path((webhook_id, token)): Path<(String, String)>,
) -> ApiResult<axum::Json<Webhook>> {
    let hook = load_with_token(&state, &webhook_id, &token).await?;
    Ok(axum::Json(render(&state, &hook, false).await?))
}

/// Modify a webhook with its token (`channel_id` is not accepted).
#[utoipa::path(patch, path = "/webhooks/{webhook_id}/{webhook_token}", tag = "webhooks",
    params(("webhook_id" = String, Path), ("webhook_token" = String, Path)), request_body = ModifyWebhookBody,
    responses((status = 200, description = "The updated webhook object without `user`"), (status = 400, description = "Invalid form body (50035)"),
        (status = 401, description = "Invalid webhook token (50027)"), (status = 404, description = "Unknown webhook (10015)")))]
pub async fn patch(
    State(state): State<AppState>,
    Path((webhook_id, token)): Path<(String, String)>,
    Json(body): Json<ModifyWebhookBody>,
) -> ApiResult<axum::Json<Webhook>> {
    let hook = load_with_token(&state, &webhook_id, &token).await?;
    let updated = modify(&state, &hook, body, None).await?;
    Ok(axum::Json(render(&state, &updated, false).await?))
}

/// Delete a webhook with its token.
#[utoipa::path(delete, path = "/webhooks/{webhook_id}/{webhook_token}", tag = "webhooks",
    params(("webhook_id" = String, Path), ("webhook_token" = String, Path)),
    responses((status = 204), (status = 401, description = "Invalid webhook token (50027)"), (status = 404, description = "Unknown webhook (10015)")))]
pub async fn delete(
    State(state): State<AppState>,
    Path((webhook_id, token)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let hook = load_with_token(&state, &webhook_id, &token).await?;
    remove(&state, &hook).await?;
    Ok(StatusCode::NO_CONTENT)
}
