//! `/channels/{id}/webhooks`, `/guilds/{id}/webhooks` and `/webhooks/*`: creating, reading,
//! modifying and deleting webhooks (developers/resources/webhook.mdx).

pub mod collection;
pub mod execute;
pub mod messages;
pub mod token;
pub mod webhook;

use accord_bus::Audience;
use accord_model::{ChannelId, ErrorTree, GuildId, Permissions, Webhook, WebhookId};
use accord_store::WebhookRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::services::images::{self, Change};
use crate::state::AppState;
use crate::{views, views_webhook};

/// Longest webhook name.
pub const NAME_MAX: usize = 80;

/// Registers the webhook routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(collection::create, collection::list_channel))
        .routes(routes!(collection::list_guild))
        .routes(routes!(webhook::get, webhook::patch, webhook::delete))
        .routes(routes!(
            token::get,
            token::patch,
            token::delete,
            execute::execute
        ))
        .routes(routes!(messages::get, messages::patch, messages::delete))
}

/// Checks a webhook name (or username override): 1–80 characters, without `clyde` or
/// `discord` in any case.
pub fn check_name(tree: &mut ErrorTree, field: &str, name: &str) {
    let len = name.chars().count();
    if !(1..=NAME_MAX).contains(&len) {
        tree.add(
            &[field],
            "BASE_TYPE_BAD_LENGTH",
            format!("Must be between 1 and {NAME_MAX} in length."),
        );
        return;
    }
    let lower = name.to_lowercase();
    for banned in ["clyde", "discord"] {
        if lower.contains(banned) {
            tree.add(
                &[field],
                "USERNAME_INVALID_CONTAINS",
                format!("Username cannot contain \"{banned}\""),
            );
            return;
        }
    }
}

/// Reads a webhook body's `avatar`: absent, null (remove it) or an image data URI, checked.
pub fn avatar_change(
    state: &AppState,
    tree: &mut ErrorTree,
    avatar: Option<Option<&serde_json::Value>>,
) -> Change {
    match avatar {
        None => Change::Keep,
        Some(None | Some(serde_json::Value::Null)) => Change::Clear,
        Some(Some(serde_json::Value::String(uri))) => {
            Change::set(tree, "avatar", uri, &images::upload_limits(state))
        }
        Some(Some(_)) => {
            tree.add(&["avatar"], "IMAGE_INVALID", "Invalid image data");
            Change::Keep
        }
    }
}

/// Where a webhook's avatars are stored (the CDN's `/avatars/{webhook_id}/{hash}.png`).
pub fn avatar_prefix(id: impl std::fmt::Display) -> String {
    format!("avatars/{id}")
}

/// The webhook at `raw`, or 10015.
pub async fn load(state: &AppState, raw: &str) -> ApiResult<WebhookRecord> {
    let id: WebhookId = ids::parse(raw, Unknown::Webhook)?;
    state
        .store
        .webhook(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Webhook))
}

/// The webhook at `raw` when `token` is its token: 10015 when it does not exist, 50027 when the
/// token is not its own.
pub async fn load_with_token(state: &AppState, raw: &str, token: &str) -> ApiResult<WebhookRecord> {
    let hook = load(state, raw).await?;
    match hook.token.as_deref() {
        Some(t) if t == token => Ok(hook),
        _ => Err(ApiError::InvalidWebhookToken),
    }
}

/// The caller's standing in the webhook's channel, requiring MANAGE_WEBHOOKS.
pub async fn manage(
    state: &AppState,
    hook: &WebhookRecord,
    user: accord_model::UserId,
) -> ApiResult<ChannelAccess> {
    let channel = hook
        .channel_id
        .map(ChannelId::from_i64)
        .ok_or(ApiError::Unknown(Unknown::Webhook))?;
    let access = ChannelAccess::load(state, channel, user).await?;
    access.require(Permissions::MANAGE_WEBHOOKS)?;
    Ok(access)
}

/// The webhook object with its creator (`with_user`) and token.
pub async fn render(state: &AppState, hook: &WebhookRecord, with_user: bool) -> ApiResult<Webhook> {
    let user = match (with_user, hook.user_id) {
        (true, Some(u)) => state
            .store
            .user(accord_model::UserId::from_i64(u))
            .await?
            .map(|u| views::public_user(&u)),
        _ => None,
    };
    Ok(views_webhook::webhook(hook, user, true))
}

/// WEBHOOKS_UPDATE `{guild_id, channel_id}` for a channel whose webhooks changed.
pub async fn announce(state: &AppState, guild: Option<i64>, channel: Option<i64>) {
    let (Some(guild), Some(channel)) = (guild, channel) else {
        return;
    };
    let guild_id = GuildId::from_i64(guild);
    let payload = serde_json::json!({
        "guild_id": guild_id.to_string(),
        "channel_id": channel.to_string(),
    });
    state
        .dispatch("WEBHOOKS_UPDATE", Audience::Guild(guild_id), &payload)
        .await;
}
