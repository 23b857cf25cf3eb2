//! `/channels/{thread.id}/thread-members`: join and leave (`@me`), add and remove others, get
//! one member and list them (bots need the GUILD_MEMBERS intent), with THREAD_MEMBERS_UPDATE.

use accord_model::{ErrorTree, Permissions, ThreadMember, UserId};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::routes::guilds::members::query::{self, Params};
use crate::routes::guilds::members::require_members_intent;
use crate::services::access::ChannelAccess;
use crate::services::{ids, threads};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild::member as member_view;
use crate::views_thread::thread_member;

/// Most members one page lists (also the default).
const MAX_PAGE: u32 = 100;

/// The caller's standing in a thread: 50024 for a channel that is not one.
async fn thread_access(state: &AppState, auth: &Auth, id: &str) -> ApiResult<ChannelAccess> {
    let access =
        ChannelAccess::load(state, ids::parse(id, Unknown::Channel)?, auth.user_id).await?;
    if !access.channel.is_thread() {
        return Err(ApiError::WrongChannelType);
    }
    Ok(access)
}

/// The user a path segment names (`@me` is the caller).
fn target(auth: &Auth, raw: &str) -> ApiResult<UserId> {
    if raw == "@me" {
        Ok(auth.user_id)
    } else {
        ids::parse(raw, Unknown::User)
    }
}

/// Join a thread.
#[utoipa::path(put, path = "/channels/{channel_id}/thread-members/@me", tag = "threads", params(("channel_id" = String, Path)),
    responses((status = 204, description = "Joined (or already a member)"), (status = 400, description = "Archived thread (50083), not a thread (50024)"), (status = 403, description = "Missing access (50001)")))]
pub async fn join(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> ApiResult<StatusCode> {
    let access = thread_access(&state, &auth, &channel_id).await?;
    if access.channel.archived {
        return Err(ApiError::ArchivedThread);
    }
    threads::add_member(&state, &access.channel, auth.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a thread.
#[utoipa::path(delete, path = "/channels/{channel_id}/thread-members/@me", tag = "threads", params(("channel_id" = String, Path)),
    responses((status = 204, description = "Left"), (status = 400, description = "Archived thread (50083), not a thread (50024)")))]
pub async fn leave(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> ApiResult<StatusCode> {
    let access = thread_access(&state, &auth, &channel_id).await?;
    if access.channel.archived {
        return Err(ApiError::ArchivedThread);
    }
    threads::remove_member(&state, &access.channel, auth.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a member to a thread (the caller must be able to send messages in it; in a private
/// thread that is not invitable, MANAGE_THREADS).
#[utoipa::path(put, path = "/channels/{channel_id}/thread-members/{user_id}", tag = "threads",
    params(("channel_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204, description = "Added (or already a member)"), (status = 400, description = "Archived thread (50083)"), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown member (10007)")))]
pub async fn add(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = thread_access(&state, &auth, &channel_id).await?;
    let user = target(&auth, &user_id)?;
    let t = &access.channel;
    if t.archived {
        return Err(ApiError::ArchivedThread);
    }
    // In a thread, SEND_MESSAGES stands for SEND_MESSAGES_IN_THREADS.
    access.require(Permissions::SEND_MESSAGES)?;
    let moderator = access.permissions.contains(Permissions::MANAGE_THREADS);
    if user != auth.user_id && t.kind == 12 && t.invitable == Some(false) && !moderator {
        return Err(ApiError::MissingPermissions);
    }
    let guild = access.guild()?.guild_id();
    if state.store.member(guild, user).await?.is_none() {
        return Err(ApiError::Unknown(Unknown::Member));
    }
    threads::add_member(&state, t, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member from a thread (MANAGE_THREADS, or the creator of a private thread).
#[utoipa::path(delete, path = "/channels/{channel_id}/thread-members/{user_id}", tag = "threads",
    params(("channel_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 400, description = "Archived thread (50083)"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = thread_access(&state, &auth, &channel_id).await?;
    let user = target(&auth, &user_id)?;
    let t = &access.channel;
    if t.archived {
        return Err(ApiError::ArchivedThread);
    }
    let creator = t.kind == 12 && t.owner_id == Some(auth.user_id.as_i64());
    if user != auth.user_id && !creator {
        access.require(Permissions::MANAGE_THREADS)?;
    }
    if !threads::remove_member(&state, t, user).await? {
        return Err(ApiError::Unknown(Unknown::Member));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `with_member` asks for the guild member objects.
fn with_member(q: &Params) -> bool {
    q.get("with_member")
        .is_some_and(|v| matches!(v.as_str(), "true" | "True" | "1"))
}

/// Thread member objects with their guild members when asked for.
async fn views(
    state: &AppState,
    access: &ChannelAccess,
    rows: &[accord_store::ThreadMemberRecord],
    members: bool,
) -> ApiResult<Vec<ThreadMember>> {
    let guild = access.guild()?.guild_id();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut m = thread_member(r, true);
        if members {
            let user = UserId::from_i64(r.user_id);
            if let Some(gm) = state.store.member(guild, user).await? {
                let u = state.store.user(user).await?.map(|u| public_user(&u));
                m.member = Some(member_view(&gm, u));
            }
        }
        out.push(m);
    }
    Ok(out)
}

/// Get one thread member (`with_member` adds the guild member).
#[utoipa::path(get, path = "/channels/{channel_id}/thread-members/{user_id}", tag = "threads",
    params(("channel_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, description = "The thread member"), (status = 404, description = "Not a member (10007)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> ApiResult<axum::Json<ThreadMember>> {
    let access = thread_access(&state, &auth, &channel_id).await?;
    let user = target(&auth, &user_id)?;
    let row = state
        .store
        .thread_member(access.channel.channel_id(), user)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Member))?;
    let mut v = views(&state, &access, &[row], with_member(&q)).await?;
    v.pop()
        .map(axum::Json)
        .ok_or(ApiError::Unknown(Unknown::Member))
}

/// List a thread's members by user id (`after`, `limit` 1–100, `with_member`); bots need the
/// GUILD_MEMBERS intent.
#[utoipa::path(get, path = "/channels/{channel_id}/thread-members", tag = "threads", params(("channel_id" = String, Path)),
    responses((status = 200, description = "Thread members"), (status = 403, description = "A bot without the GUILD_MEMBERS intent (50001)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Query(q): Query<Params>,
) -> ApiResult<axum::Json<Vec<ThreadMember>>> {
    let access = thread_access(&state, &auth, &channel_id).await?;
    require_members_intent(&state, &auth).await?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, MAX_PAGE, MAX_PAGE);
    let after: Option<UserId> = query::snowflake(&mut tree, &q, "after");
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let rows = state
        .store
        .thread_members(access.channel.channel_id(), after, limit)
        .await?;
    Ok(axum::Json(
        views(&state, &access, &rows, with_member(&q)).await?,
    ))
}
