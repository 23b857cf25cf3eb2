//! `POST /channels/{channel.id}/messages/{message.id}/ack`: a user account marks a channel read
//! up to a message (user clients only); the read state shows in READY's `read_state` and the
//! user's other sessions get MESSAGE_ACK.

use accord_bus::Audience;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::state::AppState;

/// The body user clients send.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AckBody {
    /// Mentions still unread after this point (a manual "mark unread"), 0 by default.
    #[serde(default)]
    pub mention_count: Option<i32>,
    /// Whether the user marked it by hand.
    #[serde(default)]
    pub manual: Option<bool>,
}

/// Mark a channel read up to a message (user accounts).
#[utoipa::path(post, path = "/channels/{channel_id}/messages/{message_id}/ack", tag = "messages",
    params(("channel_id" = String, Path), ("message_id" = String, Path)), request_body = AckBody,
    responses((status = 200, description = "`{\"token\": null}`"), (status = 403, description = "Bots cannot use this endpoint (20001)"),
        (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn ack(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id)): Path<(String, String)>,
    raw: axum::body::Bytes,
) -> ApiResult<axum::Json<Value>> {
    // Clients send `{"token": null}`, `{}` or nothing at all.
    let body: AckBody = if raw.iter().all(u8::is_ascii_whitespace) {
        AckBody::default()
    } else {
        serde_json::from_slice(&raw).map_err(|_| ApiError::InvalidJson)?
    };
    auth.not_bot()?;
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let message_id = ids::parse(&message_id, Unknown::Message)?;
    ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    state
        .store
        .message(channel_id, message_id)
        .await?
        // An ephemeral message is not in the channel's history: nothing to read up to.
        .filter(|m| !crate::services::interaction_responses::is_ephemeral(m.flags))
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    let mention_count = body.mention_count.unwrap_or(0).max(0);
    let read = state
        .store
        .ack_message(auth.user_id, channel_id, message_id, mention_count)
        .await?;
    state
        .dispatch(
            "MESSAGE_ACK",
            Audience::Users(vec![auth.user_id]),
            &json!({
                "channel_id": channel_id,
                "message_id": message_id,
                "mention_count": read.mention_count,
                "manual": body.manual.unwrap_or(false),
                "version": 1,
            }),
        )
        .await;
    Ok(axum::Json(json!({"token": null})))
}
