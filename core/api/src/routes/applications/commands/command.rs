//! `GET/PATCH/DELETE /applications/{application.id}/commands/{command.id}`: one global command.

use accord_model::ApplicationCommand;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::error::ApiResult;
use crate::extract::{Auth, Json};
use crate::services::command_writes;
use crate::services::commands::{self, CommandBody, managed_app};
use crate::state::AppState;

/// Fetch a global command.
#[utoipa::path(get, path = "/applications/{application_id}/commands/{command_id}", tag = "commands", params(("application_id" = String, Path), ("command_id" = String, Path)),
    responses((status = 200, description = "The command"), (status = 404, description = "Unknown application command (10063)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<ApplicationCommand>> {
    let app = managed_app(&state, &auth, &app).await?;
    Ok(axum::Json(
        commands::one(&state, app.application_id(), None, &id).await?,
    ))
}

/// Edit a global command (the fields given replace the old ones).
#[utoipa::path(patch, path = "/applications/{application_id}/commands/{command_id}", tag = "commands", params(("application_id" = String, Path), ("command_id" = String, Path)), request_body = CommandBody,
    responses((status = 200, description = "The edited command"), (status = 400, description = "Invalid form body (50035) or name taken (40041)")))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path((app, id)): Path<(String, String)>,
    Json(body): Json<CommandBody>,
) -> ApiResult<axum::Json<ApplicationCommand>> {
    let app = managed_app(&state, &auth, &app).await?;
    Ok(axum::Json(
        command_writes::edit(&state, app.application_id(), None, &id, &body).await?,
    ))
}

/// Delete a global command.
#[utoipa::path(delete, path = "/applications/{application_id}/commands/{command_id}", tag = "commands", params(("application_id" = String, Path), ("command_id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Unknown application command (10063)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let app = managed_app(&state, &auth, &app).await?;
    command_writes::delete(&state, app.application_id(), None, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
