//! `POST/GET /channels/{channel.id}/webhooks` and `GET /guilds/{guild.id}/webhooks`: creating a
//! channel's webhooks and listing a channel's or a guild's.

use accord_model::{ChannelId, ErrorTree, GuildId, Permissions, Webhook};
use accord_store::NewWebhook;
use axum::extract::{Path, State};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{announce, avatar_change, avatar_prefix, check_name, render};
use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::{ChannelAccess, GuildAccess};
use crate::services::ids;
use crate::state::AppState;

/// Length of a generated webhook token.
const TOKEN_LENGTH: usize = 68;

/// Channel types that take webhooks: text, voice, announcement, stage, forum, media.
const WEBHOOK_CHANNEL_TYPES: [i32; 6] = [0, 2, 5, 13, 15, 16];

/// `POST /channels/{id}/webhooks` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateWebhookBody {
    /// Name, 1–80 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Avatar image as a data URI (PNG, JPEG, GIF or WebP).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub avatar: Option<serde_json::Value>,
}

/// A fresh random token.
fn new_token() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(TOKEN_LENGTH)
        .map(char::from)
        .collect()
}

/// Create an incoming webhook in a guild channel (MANAGE_WEBHOOKS).
#[utoipa::path(post, path = "/channels/{channel_id}/webhooks", tag = "webhooks", params(("channel_id" = String, Path)), request_body = CreateWebhookBody,
    responses((status = 200, description = "The webhook object with its token"), (status = 400, description = "Invalid form body (50035), maximum webhooks (30007)"),
        (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(channel_id): Path<String>,
    Json(body): Json<CreateWebhookBody>,
) -> ApiResult<axum::Json<Webhook>> {
    let channel_id: ChannelId = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    let guild = access.guild()?.guild_id();
    access.require(Permissions::MANAGE_WEBHOOKS)?;
    if !WEBHOOK_CHANNEL_TYPES.contains(&access.channel.kind) {
        return Err(ApiError::WrongChannelType);
    }
    let mut tree = ErrorTree::new();
    match &body.name {
        Some(name) => check_name(&mut tree, "name", name),
        None => {
            tree.add(&["name"], "BASE_TYPE_REQUIRED", "This field is required");
        }
    }
    let avatar = avatar_change(&state, &mut tree, body.avatar.as_ref().map(Some));
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let limit = state.config.limits.webhooks_per_channel;
    if state.store.channel_webhooks(channel_id).await?.len() >= limit as usize {
        return Err(ApiError::Maximum(Maximum::Webhooks, limit));
    }
    let id = state.ids.next();
    let avatar = avatar.apply(&state, &avatar_prefix(id)).await?.flatten();
    let hook = state
        .store
        .create_webhook(&NewWebhook {
            id,
            kind: 1,
            guild_id: Some(guild),
            channel_id: Some(channel_id),
            user_id: Some(auth.user_id),
            name: body.name,
            avatar,
            token: Some(new_token()),
            application_id: None,
            source_guild_id: None,
            source_channel_id: None,
        })
        .await?;
    announce(&state, hook.guild_id, hook.channel_id).await;
    crate::services::audit_log::webhook(
        &state,
        access.guild()?,
        crate::services::moderation::audit_reason(&headers).as_deref(),
        None,
        Some(&hook),
    )
    .await;
    Ok(axum::Json(render(&state, &hook, true).await?))
}

/// List a channel's webhooks (MANAGE_WEBHOOKS).
#[utoipa::path(get, path = "/channels/{channel_id}/webhooks", tag = "webhooks", params(("channel_id" = String, Path)),
    responses((status = 200, description = "The webhook objects"), (status = 403, description = "Missing permissions (50013)"),
        (status = 404, description = "Unknown channel (10003)")))]
pub async fn list_channel(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Webhook>>> {
    let channel_id: ChannelId = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    access.guild()?;
    access.require(Permissions::MANAGE_WEBHOOKS)?;
    let mut out = Vec::new();
    for hook in state.store.channel_webhooks(channel_id).await? {
        out.push(render(&state, &hook, true).await?);
    }
    Ok(axum::Json(out))
}

/// List a guild's webhooks (MANAGE_WEBHOOKS in the guild).
#[utoipa::path(get, path = "/guilds/{guild_id}/webhooks", tag = "webhooks", params(("guild_id" = String, Path)),
    responses((status = 200, description = "The webhook objects"), (status = 403, description = "Missing permissions (50013)"),
        (status = 404, description = "Unknown guild (10004)")))]
pub async fn list_guild(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Webhook>>> {
    let guild_id: GuildId = ids::parse(&guild_id, Unknown::Guild)?;
    let access = GuildAccess::load(&state, guild_id, auth.user_id).await?;
    access.require(Permissions::MANAGE_WEBHOOKS)?;
    let mut out = Vec::new();
    for hook in state.store.guild_webhooks(guild_id).await? {
        out.push(render(&state, &hook, true).await?);
    }
    Ok(axum::Json(out))
}
