//! Archived thread listings of a channel: public (`/threads/archived/public`), private
//! (`/threads/archived/private`, MANAGE_THREADS) and the caller's joined private ones
//! (`/users/@me/threads/archived/private`), each `{threads, members, has_more}`.

use accord_model::{Channel, ChannelId, ErrorTree, Permissions, ThreadMember};
use accord_store::ChannelRecord;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::routes::guilds::members::query::{self, Params};
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::state::AppState;
use crate::views_thread::{thread, thread_member};

/// Most threads one page returns (also the default).
const MAX_PAGE: u32 = 100;

/// One page of threads.
#[derive(Debug, Serialize)]
pub struct ThreadPage {
    /// The threads.
    pub threads: Vec<Channel>,
    /// The caller's memberships among them.
    pub members: Vec<ThreadMember>,
    /// Whether more remain.
    pub has_more: bool,
}

/// The parent channel: one that holds threads, with READ_MESSAGE_HISTORY.
async fn parent(state: &AppState, auth: &Auth, id: &str) -> ApiResult<ChannelAccess> {
    let access =
        ChannelAccess::load(state, ids::parse(id, Unknown::Channel)?, auth.user_id).await?;
    if !matches!(access.channel.kind, 0 | 5 | 15 | 16) {
        return Err(ApiError::WrongChannelType);
    }
    access.require(Permissions::READ_MESSAGE_HISTORY)?;
    Ok(access)
}

/// The `before` timestamp.
fn before_time(tree: &mut ErrorTree, q: &Params) -> Option<DateTime<Utc>> {
    let raw = q.get("before")?;
    match DateTime::parse_from_rfc3339(raw.trim()) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            tree.add(
                &["before"],
                "DATE_TYPE_PARSE",
                format!("Could not parse {raw}. Should be ISO8601."),
            );
            None
        }
    }
}

/// A page from `rows` fetched with `limit + 1`.
async fn page(
    state: &AppState,
    auth: &Auth,
    mut rows: Vec<ChannelRecord>,
    limit: u32,
) -> ApiResult<axum::Json<ThreadPage>> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut members = Vec::new();
    for t in &rows {
        if let Some(m) = state
            .store
            .thread_member(t.channel_id(), auth.user_id)
            .await?
        {
            members.push(thread_member(&m, true));
        }
    }
    Ok(axum::Json(ThreadPage {
        threads: rows.iter().map(|t| thread(t, None)).collect(),
        members,
        has_more,
    }))
}

/// List a channel's public archived threads, most recently archived first.
#[utoipa::path(get, path = "/channels/{channel_id}/threads/archived/public", tag = "threads", params(("channel_id" = String, Path)),
    responses((status = 200, description = "{threads, members, has_more}"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn public(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Query(q): Query<Params>,
) -> ApiResult<axum::Json<ThreadPage>> {
    let access = parent(&state, &auth, &channel_id).await?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, 50, MAX_PAGE);
    let before = before_time(&mut tree, &q);
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let kinds: &[i32] = if access.channel.kind == 5 {
        &[10]
    } else {
        &[11]
    };
    let rows = state
        .store
        .archived_threads(access.channel.channel_id(), kinds, before, limit + 1)
        .await?;
    page(&state, &auth, rows, limit).await
}

/// List a channel's private archived threads (MANAGE_THREADS), most recently archived first.
#[utoipa::path(get, path = "/channels/{channel_id}/threads/archived/private", tag = "threads", params(("channel_id" = String, Path)),
    responses((status = 200, description = "{threads, members, has_more}"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn private(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Query(q): Query<Params>,
) -> ApiResult<axum::Json<ThreadPage>> {
    let access = parent(&state, &auth, &channel_id).await?;
    access.require(Permissions::MANAGE_THREADS)?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, 50, MAX_PAGE);
    let before = before_time(&mut tree, &q);
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let rows = state
        .store
        .archived_threads(access.channel.channel_id(), &[12], before, limit + 1)
        .await?;
    page(&state, &auth, rows, limit).await
}

/// List the private archived threads of a channel the caller joined, newest id first.
#[utoipa::path(get, path = "/channels/{channel_id}/users/@me/threads/archived/private", tag = "threads", params(("channel_id" = String, Path)),
    responses((status = 200, description = "{threads, members, has_more}"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn joined_private(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Query(q): Query<Params>,
) -> ApiResult<axum::Json<ThreadPage>> {
    let access = parent(&state, &auth, &channel_id).await?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, 50, MAX_PAGE);
    let before: Option<ChannelId> = query::snowflake(&mut tree, &q, "before");
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let rows = state
        .store
        .joined_archived_private_threads(
            access.channel.channel_id(),
            auth.user_id,
            before,
            limit + 1,
        )
        .await?;
    page(&state, &auth, rows, limit).await
}
