//! `GET /channels/{channel.id}/messages` (paged by `before`/`after`/`around`) and
//! `GET /channels/{channel.id}/messages/{message.id}`.

use std::collections::HashMap;

use accord_model::{Message, MessageId, Permissions};
use accord_store::MessageQuery;
use axum::extract::{Path, Query, State};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::state::AppState;
use crate::views_message;

/// Default and largest page.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

/// A query snowflake, or 50035 at `field`.
fn snowflake(field: &str, raw: &str) -> ApiResult<MessageId> {
    raw.parse().map_err(|_| {
        ApiError::field(
            &[field],
            "NUMBER_TYPE_COERCE",
            format!("Value \"{raw}\" is not snowflake."),
        )
    })
}

/// The page a query asks for: at most one of `around`, `before`, `after` (in that precedence,
/// as Discord documents them as mutually exclusive), and `limit` 1–100.
fn page(q: &HashMap<String, String>) -> ApiResult<(MessageQuery, u32)> {
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => {
            let n: i64 = raw.parse().map_err(|_| {
                ApiError::field(
                    &["limit"],
                    "NUMBER_TYPE_COERCE",
                    format!("Value \"{raw}\" is not int."),
                )
            })?;
            if !(1..=i64::from(MAX_LIMIT)).contains(&n) {
                return Err(ApiError::field(
                    &["limit"],
                    if n < 1 {
                        "NUMBER_TYPE_MIN"
                    } else {
                        "NUMBER_TYPE_MAX"
                    },
                    if n < 1 {
                        "int value should be greater than or equal to 1.".to_owned()
                    } else {
                        format!("int value should be less than or equal to {MAX_LIMIT}.")
                    },
                ));
            }
            n as u32
        }
    };
    let query = if let Some(raw) = q.get("around") {
        MessageQuery::Around(snowflake("around", raw)?)
    } else if let Some(raw) = q.get("before") {
        MessageQuery::Before(snowflake("before", raw)?)
    } else if let Some(raw) = q.get("after") {
        MessageQuery::After(snowflake("after", raw)?)
    } else {
        MessageQuery::Latest
    };
    Ok((query, limit))
}

/// What reading history takes: READ_MESSAGE_HISTORY, and CONNECT as well in voice and stage
/// channels.
fn history(access: &ChannelAccess) -> Permissions {
    if matches!(access.channel.kind, 2 | 13) {
        Permissions::READ_MESSAGE_HISTORY | Permissions::CONNECT
    } else {
        Permissions::READ_MESSAGE_HISTORY
    }
}

/// List a channel's messages, newest first (empty without READ_MESSAGE_HISTORY).
#[utoipa::path(get, path = "/channels/{channel_id}/messages", tag = "messages",
    params(("channel_id" = String, Path), ("before" = Option<String>, Query), ("after" = Option<String>, Query),
        ("around" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "Message objects"), (status = 403, description = "Missing access (50001)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<axum::Json<Vec<Message>>> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    let (query, limit) = page(&q)?;
    if !access.permissions.contains(history(&access)) {
        return Ok(axum::Json(Vec::new()));
    }
    let records = state.store.messages(channel_id, query, limit).await?;
    let mut messages = views_message::messages(&state, &records).await?;
    crate::routes::channels::reactions::fill(&state, channel_id, auth.user_id, &mut messages)
        .await?;
    Ok(axum::Json(messages))
}

/// Get one message (READ_MESSAGE_HISTORY).
#[utoipa::path(get, path = "/channels/{channel_id}/messages/{message_id}", tag = "messages",
    params(("channel_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, description = "The message object"), (status = 403, description = "Missing access (50001) or permissions (50013)"),
        (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Message>> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    let message_id = ids::parse(&message_id, Unknown::Message)?;
    access.require(history(&access))?;
    let record = state
        .store
        .message(channel_id, message_id)
        .await?
        // Ephemeral interaction responses are not in the channel (only `@original` reads them).
        .filter(|m| !crate::services::interaction_responses::is_ephemeral(m.flags))
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    let mut message = views_message::message(&state, &record).await?;
    crate::routes::channels::reactions::fill(
        &state,
        channel_id,
        auth.user_id,
        std::slice::from_mut(&mut message),
    )
    .await?;
    Ok(axum::Json(message))
}
