//! `GET/PATCH/DELETE /webhooks/{webhook.id}`: a webhook as its managers see and change it.

use accord_model::{ChannelId, ErrorTree, Permissions, UserId, Webhook};
use accord_store::{WebhookPatch, WebhookRecord};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{announce, avatar_change, avatar_prefix, check_name, load, manage, render};
use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::routes::nullable;
use crate::services::access::ChannelAccess;
use crate::state::AppState;

/// `PATCH /webhooks/{id}` body (`channel_id` is ignored with a token).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyWebhookBody {
    /// New name, 1–80 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Avatar image data, or null to remove it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub avatar: Option<Option<serde_json::Value>>,
    /// Channel to move it to (same guild, MANAGE_WEBHOOKS there).
    #[serde(default)]
    pub channel_id: Option<String>,
}

/// Validates and applies a modification; `mover` is the caller allowed to move it to another
/// channel (`None` with a token, where `channel_id` is not accepted). Emits WEBHOOKS_UPDATE for
/// its channel (and the old one when moved).
pub async fn modify(
    state: &AppState,
    hook: &WebhookRecord,
    body: ModifyWebhookBody,
    mover: Option<UserId>,
) -> ApiResult<WebhookRecord> {
    let mut tree = ErrorTree::new();
    if let Some(name) = &body.name {
        check_name(&mut tree, "name", name);
    }
    let avatar = avatar_change(state, &mut tree, body.avatar.as_ref().map(Option::as_ref));
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let mut target = None;
    if let (Some(raw), Some(user)) = (&body.channel_id, mover) {
        let channel: ChannelId = raw.parse().map_err(|_| {
            ApiError::field(
                &["channel_id"],
                "NUMBER_TYPE_COERCE",
                "Value is not snowflake.",
            )
        })?;
        if Some(channel.as_i64()) != hook.channel_id {
            let access = ChannelAccess::load(state, channel, user).await?;
            if access.channel.guild_id != hook.guild_id {
                return Err(ApiError::Unknown(Unknown::Channel));
            }
            access.require(Permissions::MANAGE_WEBHOOKS)?;
            let limit = state.config.limits.webhooks_per_channel;
            if state.store.channel_webhooks(channel).await?.len() >= limit as usize {
                return Err(ApiError::Maximum(Maximum::Webhooks, limit));
            }
            target = Some(channel);
        }
    }
    let patch = WebhookPatch {
        name: body.name.map(Some),
        avatar: avatar.apply(state, &avatar_prefix(hook.id)).await?,
        channel_id: target,
    };
    let updated = state
        .store
        .update_webhook(hook.webhook_id(), &patch)
        .await?;
    if target.is_some() {
        announce(state, hook.guild_id, hook.channel_id).await;
    }
    announce(state, updated.guild_id, updated.channel_id).await;
    Ok(updated)
}

/// Get a webhook (MANAGE_WEBHOOKS in its channel).
#[utoipa::path(get, path = "/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = String, Path)),
    responses((status = 200, description = "The webhook object"), (status = 403, description = "Missing permissions (50013)"),
        (status = 404, description = "Unknown webhook (10015)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(webhook_id): Path<String>,
) -> ApiResult<axum::Json<Webhook>> {
    let hook = load(&state, &webhook_id).await?;
    manage(&state, &hook, auth.user_id).await?;
    Ok(axum::Json(render(&state, &hook, true).await?))
}

/// Modify a webhook (MANAGE_WEBHOOKS; also in the target channel when moving it).
#[utoipa::path(patch, path = "/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = String, Path)), request_body = ModifyWebhookBody,
    responses((status = 200, description = "The updated webhook object"), (status = 400, description = "Invalid form body (50035)"),
        (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown webhook (10015)")))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(webhook_id): Path<String>,
    Json(body): Json<ModifyWebhookBody>,
) -> ApiResult<axum::Json<Webhook>> {
    let hook = load(&state, &webhook_id).await?;
    let access = manage(&state, &hook, auth.user_id).await?;
    let updated = modify(&state, &hook, body, Some(auth.user_id)).await?;
    crate::services::audit_log::webhook(
        &state,
        access.guild()?,
        crate::services::moderation::audit_reason(&headers).as_deref(),
        Some(&hook),
        Some(&updated),
    )
    .await;
    Ok(axum::Json(render(&state, &updated, true).await?))
}

/// Delete a webhook (MANAGE_WEBHOOKS).
#[utoipa::path(delete, path = "/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown webhook (10015)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(webhook_id): Path<String>,
) -> ApiResult<StatusCode> {
    let hook = load(&state, &webhook_id).await?;
    let access = manage(&state, &hook, auth.user_id).await?;
    remove(&state, &hook).await?;
    crate::services::audit_log::webhook(
        &state,
        access.guild()?,
        crate::services::moderation::audit_reason(&headers).as_deref(),
        Some(&hook),
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the webhook and emits WEBHOOKS_UPDATE.
pub async fn remove(state: &AppState, hook: &WebhookRecord) -> ApiResult<()> {
    state.store.delete_webhook(hook.webhook_id()).await?;
    announce(state, hook.guild_id, hook.channel_id).await;
    Ok(())
}
