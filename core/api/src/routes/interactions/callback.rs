//! `POST /interactions/{interaction.id}/{interaction.token}/callback`: the application's first
//! response (no authentication: the token is the credential).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiResult;
use crate::extract::multipart::JsonOrMultipart;
use crate::routes::invites::common::query_bool;
use crate::services::interaction_responses::{self, CallbackBody};
use crate::state::AppState;

/// Respond to an interaction (once, within 3 seconds).
#[utoipa::path(post, path = "/interactions/{interaction_id}/{interaction_token}/callback", tag = "interactions",
    params(("interaction_id" = String, Path), ("interaction_token" = String, Path), ("with_response" = Option<bool>, Query)),
    responses((status = 204, description = "Answered"), (status = 200, description = "Answered, with the interaction callback response (with_response=true)"),
        (status = 400, description = "Invalid form body (50035) or already acknowledged (40060)"), (status = 404, description = "Unknown interaction (10062)")))]
pub async fn callback(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: JsonOrMultipart<CallbackBody>,
) -> ApiResult<Response> {
    let with_response = query_bool(
        "with_response",
        query.get("with_response").map(String::as_str),
    )?;
    let record = interaction_responses::by_id(&state, &id, &token).await?;
    let answer = interaction_responses::callback(&state, record, body.payload, body.files).await?;
    Ok(if with_response {
        axum::Json(answer).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}
