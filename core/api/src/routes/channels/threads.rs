//! Starting threads: `POST /channels/{channel.id}/messages/{message.id}/threads` (a public or
//! announcement thread sharing the message's id) and `POST /channels/{channel.id}/threads`
//! (a thread without a message in a text or announcement channel; in a forum or media channel a
//! post, created with its first message).

use accord_model::{Channel, ErrorTree, Message, MessageId, Permissions};
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::multipart::JsonOrMultipart;
use crate::extract::{Auth, Json};
use crate::services::access::ChannelAccess;
use crate::services::messages::{self, CreateMessage};
use crate::services::threads::{self, Start};
use crate::services::{forum, ids, user_cache};
use crate::state::AppState;
use crate::views_thread::thread;
use crate::{views_message, views_thread};

/// The thread fields both routes take.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StartThreadBody {
    /// 1–100 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// 60, 1440, 4320 or 10080 minutes.
    #[serde(default)]
    pub auto_archive_duration: Option<i64>,
    /// Slow mode in seconds (0–21600).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub rate_limit_per_user: Option<Option<i64>>,
    /// Without a message: 10, 11 or 12 (12 when absent, as Discord's default).
    #[serde(default, rename = "type")]
    pub kind: Option<i64>,
    /// Private threads: whether non-moderators may add non-moderators.
    #[serde(default)]
    pub invitable: Option<bool>,
    /// Forum and media posts: the first message.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub message: Option<CreateMessage>,
    /// Forum and media posts: the ids of the parent's tags to apply (up to 5).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub applied_tags: Option<Vec<accord_model::GenericId>>,
}

/// Validates the common fields into `tree`: the name, the duration and the slow mode (None
/// when not given: the parent's default then applies).
fn check(tree: &mut ErrorTree, body: &StartThreadBody) -> (String, Option<i32>, Option<i32>) {
    let name = body.name.clone().unwrap_or_default();
    match &body.name {
        Some(n) => threads::check_name(tree, &["name"], n),
        None => {
            tree.add(&["name"], "BASE_TYPE_REQUIRED", "This field is required");
        }
    }
    if let Some(d) = body.auto_archive_duration {
        threads::check_duration(tree, &["auto_archive_duration"], d);
    }
    let slowmode = body.rate_limit_per_user.flatten();
    if let Some(s) = slowmode {
        threads::check_slowmode(tree, &["rate_limit_per_user"], s);
    }
    (
        name,
        body.auto_archive_duration.map(|d| d as i32),
        slowmode.map(|s| s as i32),
    )
}

/// The thread as its creator gets it back (with their membership).
async fn created_view(state: &AppState, t: &accord_store::ChannelRecord) -> ApiResult<Channel> {
    let owner = accord_model::UserId::from_i64(t.owner_id.unwrap_or_default());
    let me = state.store.thread_member(t.channel_id(), owner).await?;
    Ok(views_thread::thread(t, me.as_ref()))
}

/// Start a thread from a message.
#[utoipa::path(post, path = "/channels/{channel_id}/messages/{message_id}/threads", tag = "threads",
    params(("channel_id" = String, Path), ("message_id" = String, Path)), request_body = StartThreadBody,
    responses((status = 201, description = "The thread"), (status = 400, description = "Invalid form body (50035), wrong channel type (50024), thread exists (160004), too many active threads (160006)"),
        (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn from_message(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((channel_id, message_id)): Path<(String, String)>,
    Json(body): Json<StartThreadBody>,
) -> ApiResult<(axum::http::StatusCode, axum::Json<Channel>)> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let message_id: MessageId = ids::parse(&message_id, Unknown::Message)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    let kind = match access.channel.kind {
        0 => 11,
        5 => 10,
        _ => return Err(ApiError::WrongChannelType),
    };
    access.require(Permissions::CREATE_PUBLIC_THREADS | Permissions::READ_MESSAGE_HISTORY)?;
    let mut tree = ErrorTree::new();
    let (name, duration, slowmode) = check(&mut tree, &body);
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let message = state
        .store
        .message(channel_id, message_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    let reason = crate::services::moderation::audit_reason(&headers);
    let t = threads::start(
        &state,
        &access,
        Start {
            id: accord_model::ChannelId::new(message_id.get()),
            kind,
            name,
            auto_archive_duration: duration,
            rate_limit_per_user: slowmode,
            invitable: None,
            starter: Some(message_id),
            applied_tags: Vec::new(),
        },
        reason.as_deref(),
    )
    .await?;
    // The message now carries HAS_THREAD and its thread.
    if let Some(updated) = state
        .store
        .message(channel_id, message.message_id())
        .await?
    {
        let mut view: Message = views_message::message(&state, &updated).await?;
        view.thread = Some(Box::new(thread(&t, None)));
        messages::events::message_update(&state, &access, &view).await?;
    }
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(created_view(&state, &t).await?),
    ))
}

/// Start a thread without a message, or a forum or media post.
#[utoipa::path(post, path = "/channels/{channel_id}/threads", tag = "threads",
    params(("channel_id" = String, Path)), request_body = StartThreadBody,
    responses((status = 201, description = "The thread (a post comes with its `message`)"), (status = 400, description = "Invalid form body (50035), wrong channel type (50024), too many active threads (160006)"),
        (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn without_message(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(channel_id): Path<String>,
    body: JsonOrMultipart<StartThreadBody>,
) -> ApiResult<(axum::http::StatusCode, axum::Json<serde_json::Value>)> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    let reason = crate::services::moderation::audit_reason(&headers);
    let parent_kind = access.channel.kind;
    let forum = matches!(parent_kind, 15 | 16);
    let payload = body.payload;
    let mut tree = ErrorTree::new();
    let (name, duration, slowmode) = check(&mut tree, &payload);
    let kind = if forum {
        11
    } else {
        match (parent_kind, payload.kind.unwrap_or(12)) {
            (0, k @ (11 | 12)) | (5, k @ 10) => k as i32,
            (0 | 5, _) => {
                tree.add(
                    &["type"],
                    "BASE_TYPE_CHOICES",
                    "Value is not a thread type allowed in this channel.",
                );
                11
            }
            _ => return Err(ApiError::WrongChannelType),
        }
    };
    if forum && payload.message.is_none() {
        tree.add(&["message"], "BASE_TYPE_REQUIRED", "This field is required");
    }
    // Tags: the parent's, moderated ones only by MANAGE_THREADS holders, REQUIRE_TAG (40067).
    let applied_tags = forum::post_tags(
        &mut tree,
        &access.channel,
        payload.applied_tags.as_deref(),
        access.permissions.contains(Permissions::MANAGE_THREADS),
    )?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    // Forum posts need SEND_MESSAGES (CREATE_PUBLIC_THREADS is ignored there).
    access.require(match kind {
        _ if forum => Permissions::SEND_MESSAGES,
        12 => Permissions::CREATE_PRIVATE_THREADS,
        _ => Permissions::CREATE_PUBLIC_THREADS,
    })?;
    let id = state.ids.next();
    let t = threads::start(
        &state,
        &access,
        Start {
            id,
            kind,
            name,
            auto_archive_duration: duration,
            rate_limit_per_user: slowmode,
            invitable: payload.invitable,
            starter: None,
            applied_tags,
        },
        reason.as_deref(),
    )
    .await?;
    let mut out = serde_json::to_value(created_view(&state, &t).await?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(first) = payload.message {
        // The post's first message, in the thread, with the thread's id.
        let thread_access = ChannelAccess::load(&state, t.channel_id(), auth.user_id).await?;
        let user = user_cache::author(&state, auth.user_id).await?;
        let sent = messages::create_with_id(
            &state,
            &thread_access,
            &user,
            first,
            body.files,
            Some(MessageId::new(id.get())),
        )
        .await;
        match sent {
            Ok(m) => {
                out["message"] =
                    serde_json::to_value(m).map_err(|e| ApiError::Internal(e.to_string()))?;
            }
            Err(e) => {
                // No post without its message: take the thread back.
                threads::discard(&state, &t).await;
                return Err(match e {
                    messages::SendError::Api(e) => e,
                    messages::SendError::Slowmode(_) => ApiError::MissingPermissions,
                });
            }
        }
    }
    Ok((axum::http::StatusCode::CREATED, axum::Json(out)))
}
