//! `GET /guilds/{guild.id}/audit-logs`: the guild's audit log (VIEW_AUDIT_LOG), with Discord's
//! `user_id`, `action_type`, `before`, `after` and `limit` filters and the users and webhooks
//! the entries name, and the application commands whose permissions they changed.

use std::collections::BTreeSet;

use accord_model::audit_log::{AuditLog, action};
use accord_model::{CommandId, ErrorTree, Permissions, UserId, WebhookId};
use accord_store::AuditLogQuery;
use axum::extract::{Path, Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::query;
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::GuildAccess;
use crate::services::{audit_log, commands, ids};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_webhook;

/// Registers the audit log route.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(get))
}

/// Action types whose target is a user.
const USER_TARGETS: [u16; 6] = [
    action::MEMBER_KICK,
    action::MEMBER_BAN_ADD,
    action::MEMBER_BAN_REMOVE,
    action::MEMBER_UPDATE,
    action::MEMBER_ROLE_UPDATE,
    action::BOT_ADD,
];

/// Action types whose target is a webhook.
const WEBHOOK_TARGETS: [u16; 3] = [
    action::WEBHOOK_CREATE,
    action::WEBHOOK_UPDATE,
    action::WEBHOOK_DELETE,
];

/// A `before`/`after` entry id: any unsigned integer (`after=0` reads from the oldest).
fn position(tree: &mut ErrorTree, q: &query::Params, name: &str) -> Option<i64> {
    let raw = q.get(name)?;
    match raw.trim().parse::<u64>() {
        Ok(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        Err(_) => {
            tree.add(
                &[name],
                "NUMBER_TYPE_COERCE",
                format!("Value \"{raw}\" is not snowflake."),
            );
            None
        }
    }
}

/// Get the guild's audit log (VIEW_AUDIT_LOG): newest first, or oldest first with only `after`.
#[utoipa::path(get, path = "/guilds/{guild_id}/audit-logs", tag = "audit-log",
    params(("guild_id" = String, Path), ("user_id" = Option<String>, Query), ("action_type" = Option<u16>, Query), ("before" = Option<String>, Query), ("after" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "Audit log object"), (status = 400, description = "Invalid query (50035)"), (status = 403, description = "Missing VIEW_AUDIT_LOG (50013)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Query(q): Query<query::Params>,
) -> ApiResult<axum::Json<AuditLog>> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    access.require(Permissions::VIEW_AUDIT_LOG)?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, 50, 100);
    let user_id: Option<UserId> = query::snowflake(&mut tree, &q, "user_id");
    let action_type = match q.get("action_type").map(|a| a.trim().parse::<u16>()) {
        None => None,
        Some(Ok(a)) => Some(i32::from(a)),
        Some(Err(_)) => {
            tree.add(&["action_type"], "NUMBER_TYPE_COERCE", "Value is not int.");
            None
        }
    };
    let before = position(&mut tree, &q, "before");
    let after = position(&mut tree, &q, "after");
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let rows = state
        .store
        .audit_log_entries(
            access.guild_id(),
            &AuditLogQuery {
                user_id,
                action_type,
                before,
                after,
                limit,
            },
        )
        .await?;
    let entries: Vec<_> = rows.iter().map(audit_log::view).collect();

    let mut user_ids = BTreeSet::new();
    let mut webhook_ids = BTreeSet::new();
    let mut command_ids = BTreeSet::new();
    for e in &entries {
        if let Some(u) = e.user_id {
            user_ids.insert(u);
        }
        let target = e.target_id.as_deref().and_then(|t| t.parse::<u64>().ok());
        if let Some(t) = target.filter(|t| *t != 0) {
            if USER_TARGETS.contains(&e.action_type) {
                user_ids.insert(UserId::new(t));
            }
            if WEBHOOK_TARGETS.contains(&e.action_type) {
                webhook_ids.insert(WebhookId::new(t));
            }
            // The target of a permission update is a command, or the application for the
            // permissions of all its commands (audit-log.mdx), which names no command.
            let app = e.options.as_ref().and_then(|o| o.application_id.as_deref());
            if e.action_type == action::APPLICATION_COMMAND_PERMISSION_UPDATE
                && app.is_none_or(|a| a != t.to_string())
            {
                command_ids.insert(CommandId::new(t));
            }
        }
    }
    let ids: Vec<UserId> = user_ids.into_iter().collect();
    let users = state
        .store
        .users(&ids)
        .await?
        .iter()
        .map(public_user)
        .collect();
    let mut webhooks = Vec::new();
    for id in webhook_ids {
        if let Some(hook) = state.store.webhook(id).await?
            && hook.guild_id == Some(access.guild_id().as_i64())
        {
            webhooks.push(views_webhook::webhook(&hook, None, false));
        }
    }
    let mut application_commands = Vec::new();
    for id in command_ids {
        if let Some(row) = state.store.command(id).await?
            && row.guild_id.is_none_or(|g| g == access.guild_id().as_i64())
        {
            let command = commands::view(&row)?;
            application_commands.push(
                serde_json::to_value(command).map_err(|e| ApiError::Internal(e.to_string()))?,
            );
        }
    }
    Ok(axum::Json(AuditLog {
        application_commands,
        audit_log_entries: entries,
        auto_moderation_rules: Vec::new(),
        guild_scheduled_events: Vec::new(),
        integrations: Vec::new(),
        threads: Vec::new(),
        users,
        webhooks,
    }))
}
