//! `POST /interactions`: a user account invokes a command (JSON, or multipart with
//! `payload_json` as Discord's client sends it, and the `files[n]` of ATTACHMENT options); the
//! application gets INTERACTION_CREATE.

use axum::extract::State;
use axum::http::StatusCode;

use crate::error::ApiResult;
use crate::extract::Auth;
use crate::extract::multipart::JsonOrMultipart;
use crate::services::interactions::{self, InvokeBody};
use crate::services::members;
use crate::state::AppState;

/// Invoke an application command (or ask for autocomplete suggestions).
#[utoipa::path(post, path = "/interactions", tag = "interactions",
    responses((status = 204, description = "Sent to the application"), (status = 400, description = "Invalid form body (50035)"),
        (status = 403, description = "Bots cannot use this endpoint (20001), missing access (50001) or permissions (50013)"),
        (status = 404, description = "Unknown application (10002), command (10063) or channel (10003)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    body: JsonOrMultipart<InvokeBody>,
) -> ApiResult<StatusCode> {
    auth.not_bot()?;
    let user = members::user_of(&state, auth.user_id).await?;
    interactions::invoke(&state, &user, body.payload, body.files).await?;
    Ok(StatusCode::NO_CONTENT)
}
