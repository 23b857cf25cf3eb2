//! `/guilds/{guild.id}/bans` and `/guilds/{guild.id}/bulk-ban`: listing, reading, creating and
//! lifting bans (BAN_MEMBERS; members only below the caller; never the owner).

use std::collections::HashMap;

use accord_bus::Audience;
use accord_model::audit_log::action;
use accord_model::{Ban, ErrorTree, Permissions, UserId};
use accord_store::BanRecord;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::query;
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::members::{GuildUserEvent, user_of};
use crate::services::moderation::{self, MAX_DELETE_SECONDS, audit_reason, bannable};
use crate::services::{audit_log, ids};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild;

/// Registers the bans routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list))
        .routes(routes!(get, create, remove))
        .routes(routes!(bulk))
}

/// Most users one bulk ban names.
const MAX_BULK: usize = 200;

async fn load(state: &AppState, auth: &Auth, guild_id: &str) -> ApiResult<GuildAccess> {
    let access =
        GuildAccess::load(state, ids::parse(guild_id, Unknown::Guild)?, auth.user_id).await?;
    access.require(Permissions::BAN_MEMBERS)?;
    Ok(access)
}

/// Ban objects with their users, in the order given.
async fn render(state: &AppState, bans: &[BanRecord]) -> ApiResult<Vec<Ban>> {
    let ids: Vec<UserId> = bans.iter().map(BanRecord::user).collect();
    let users: HashMap<i64, _> = state
        .store
        .users(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(bans
        .iter()
        .filter_map(|b| Some(views_guild::ban(b, public_user(users.get(&b.user_id)?))))
        .collect())
}

/// List bans by user id (BAN_MEMBERS; `limit` 1–1000, default 1000; `before`, or else `after`).
#[utoipa::path(get, path = "/guilds/{guild_id}/bans", tag = "bans",
    params(("guild_id" = String, Path), ("limit" = Option<u32>, Query), ("before" = Option<String>, Query), ("after" = Option<String>, Query)),
    responses((status = 200, description = "Ban objects"), (status = 400, description = "Invalid query (50035)"), (status = 403, description = "Missing BAN_MEMBERS (50013)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Query(q): Query<query::Params>,
) -> ApiResult<axum::Json<Vec<Ban>>> {
    let access = load(&state, &auth, &guild_id).await?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, 1000, 1000);
    let before: Option<UserId> = query::snowflake(&mut tree, &q, "before");
    let after: Option<UserId> = query::snowflake(&mut tree, &q, "after");
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    // With both, only `before` counts.
    let after = if before.is_some() { None } else { after };
    let bans = state
        .store
        .bans(access.guild_id(), before, after, limit)
        .await?;
    Ok(axum::Json(render(&state, &bans).await?))
}

/// Get the ban of one user (BAN_MEMBERS; 10026 when they are not banned).
#[utoipa::path(get, path = "/guilds/{guild_id}/bans/{user_id}", tag = "bans", params(("guild_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, description = "The ban"), (status = 403, description = "Missing BAN_MEMBERS (50013)"), (status = 404, description = "Unknown ban (10026)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((guild_id, user_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Ban>> {
    let access = load(&state, &auth, &guild_id).await?;
    let user: UserId = ids::parse(&user_id, Unknown::Ban)?;
    let ban = state
        .store
        .ban(access.guild_id(), user)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Ban))?;
    render(&state, std::slice::from_ref(&ban))
        .await?
        .pop()
        .map(axum::Json)
        .ok_or(ApiError::Unknown(Unknown::Ban))
}

/// `PUT /guilds/{id}/bans/{user.id}` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateBanBody {
    /// Seconds of the user's messages to delete, 0–604800.
    #[serde(default)]
    pub delete_message_seconds: Option<u32>,
    /// Days of messages to delete, 0–7 (deprecated).
    #[serde(default)]
    pub delete_message_days: Option<u32>,
}

/// The seconds of messages to delete, or a field error.
fn delete_seconds(tree: &mut ErrorTree, seconds: Option<u32>, days: Option<u32>) -> u32 {
    if seconds.is_some_and(|s| s > MAX_DELETE_SECONDS) {
        tree.add(
            &["delete_message_seconds"],
            "NUMBER_TYPE_MAX",
            format!("int value should be less than or equal to {MAX_DELETE_SECONDS}."),
        );
    }
    if days.is_some_and(|d| d > 7) {
        tree.add(
            &["delete_message_days"],
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 7.",
        );
    }
    seconds
        .or(days.map(|d| d.saturating_mul(86_400)))
        .unwrap_or(0)
        .min(MAX_DELETE_SECONDS)
}

/// Ban a user, member or not (BAN_MEMBERS; a member must sit below the caller; never the owner),
/// deleting their messages of the last `delete_message_seconds`. Banning a banned user again
/// changes nothing.
#[utoipa::path(put, path = "/guilds/{guild_id}/bans/{user_id}", tag = "bans", params(("guild_id" = String, Path), ("user_id" = String, Path)), request_body = CreateBanBody,
    responses((status = 204), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Missing permissions or hierarchy (50013)"), (status = 404, description = "Unknown user (10013)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((guild_id, user_id)): Path<(String, String)>,
    Json(body): Json<CreateBanBody>,
) -> ApiResult<StatusCode> {
    let access = load(&state, &auth, &guild_id).await?;
    let user: UserId = ids::parse(&user_id, Unknown::User)?;
    let mut tree = ErrorTree::new();
    let seconds = delete_seconds(
        &mut tree,
        body.delete_message_seconds,
        body.delete_message_days,
    );
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let target = bannable(&state, &access, user).await??;
    let reason = audit_reason(&headers);
    moderation::ban(&state, &access, &target, seconds, reason.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a ban (BAN_MEMBERS; 10026 when the user is not banned).
#[utoipa::path(delete, path = "/guilds/{guild_id}/bans/{user_id}", tag = "bans", params(("guild_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing BAN_MEMBERS (50013)"), (status = 404, description = "Unknown ban (10026)")))]
pub async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((guild_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = load(&state, &auth, &guild_id).await?;
    let user: UserId = ids::parse(&user_id, Unknown::Ban)?;
    let guild_id = access.guild_id();
    match state.store.delete_ban(guild_id, user).await {
        Ok(()) => {}
        Err(accord_store::StoreError::NotFound) => return Err(ApiError::Unknown(Unknown::Ban)),
        Err(e) => return Err(e.into()),
    }
    let user = user_of(&state, user).await?;
    state
        .dispatch(
            "GUILD_BAN_REMOVE",
            Audience::Guild(guild_id),
            &GuildUserEvent {
                guild_id,
                user: public_user(&user),
            },
        )
        .await;
    audit_log::by(
        &state,
        &access,
        audit_reason(&headers).as_deref(),
        audit_log::Entry::new(action::MEMBER_BAN_REMOVE, user.id),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /guilds/{id}/bulk-ban` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkBanBody {
    /// Users to ban (at most 200).
    #[schema(value_type = Vec<String>)]
    pub user_ids: Vec<UserId>,
    /// Seconds of their messages to delete, 0–604800.
    #[serde(default)]
    pub delete_message_seconds: Option<u32>,
}

/// `POST /guilds/{id}/bulk-ban` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkBanResponse {
    /// Users banned now.
    #[schema(value_type = Vec<String>)]
    pub banned_users: Vec<UserId>,
    /// Users not banned: unknown, the owner, outranking the caller, or already banned.
    #[schema(value_type = Vec<String>)]
    pub failed_users: Vec<UserId>,
}

/// Ban up to 200 users at once (BAN_MEMBERS and MANAGE_GUILD). The caller is left out of both
/// lists; when nobody could be banned the answer is error 500000.
#[utoipa::path(post, path = "/guilds/{guild_id}/bulk-ban", tag = "bans", params(("guild_id" = String, Path)), request_body = BulkBanBody,
    responses((status = 200, body = BulkBanResponse), (status = 400, description = "Invalid form body (50035) or nobody banned (500000)"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn bulk(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
    Json(body): Json<BulkBanBody>,
) -> ApiResult<axum::Json<BulkBanResponse>> {
    let access = load(&state, &auth, &guild_id).await?;
    access.require(Permissions::MANAGE_GUILD)?;
    let mut tree = ErrorTree::new();
    if body.user_ids.len() > MAX_BULK {
        tree.add(
            &["user_ids"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_BULK} or fewer in length."),
        );
    }
    let seconds = delete_seconds(&mut tree, body.delete_message_seconds, None);
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let reason = audit_reason(&headers);
    let mut out = BulkBanResponse {
        banned_users: Vec::new(),
        failed_users: Vec::new(),
    };
    let mut seen: Vec<UserId> = Vec::new();
    for &user in &body.user_ids {
        if user == auth.user_id || seen.contains(&user) {
            continue;
        }
        seen.push(user);
        let banned = match bannable(&state, &access, user).await? {
            Ok(target) => {
                moderation::ban(&state, &access, &target, seconds, reason.as_deref()).await?
            }
            Err(_) => false,
        };
        if banned {
            out.banned_users.push(user);
        } else {
            out.failed_users.push(user);
        }
    }
    if out.banned_users.is_empty() {
        return Err(ApiError::BulkBanFailed);
    }
    Ok(axum::Json(out))
}
