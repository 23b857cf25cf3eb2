//! `POST /channels/{channel.id}/messages`: send a message (JSON or multipart with files).

use accord_model::Message;
use axum::extract::{Path, State};

use crate::error::Unknown;
use crate::extract::Auth;
use crate::extract::multipart::JsonOrMultipart;
use crate::services::access::ChannelAccess;
use crate::services::messages::{self, CreateMessage, SendError};
use crate::services::{ids, user_cache};
use crate::state::AppState;

/// Send a message to a guild text channel or a DM (SEND_MESSAGES; ATTACH_FILES for files).
#[utoipa::path(post, path = "/channels/{channel_id}/messages", tag = "messages", params(("channel_id" = String, Path)),
    responses((status = 200, description = "The message object"), (status = 400, description = "Invalid form body (50035), empty message (50006), non-text channel (50008)"),
        (status = 403, description = "Missing permissions (50013) or access (50001)"), (status = 404, description = "Unknown channel (10003)"),
        (status = 429, description = "Slowmode (20016)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    body: JsonOrMultipart<CreateMessage>,
) -> Result<axum::Json<Message>, SendError> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    // The hot path: the channel row and the author's row come from caches when fresh.
    let access = ChannelAccess::load_cached(&state, channel_id, auth.user_id).await?;
    let user = user_cache::author(&state, auth.user_id).await?;
    let message = messages::create(&state, &access, &user, body.payload, body.files).await?;
    Ok(axum::Json(message))
}
