//! `GET/PATCH /applications/{application.id}`: an application its owner manages.

use accord_model::{Application, ApplicationId};
use axum::extract::{Path, State};

use super::common::{ModifyApplicationBody, render};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use crate::services::applications;
use crate::state::AppState;

/// Parses an application id from the path (10002 when it is not a snowflake: no such application).
pub fn parse_id(raw: &str) -> ApiResult<ApplicationId> {
    raw.parse()
        .map_err(|_| ApiError::Unknown(crate::error::Unknown::Application))
}

/// Get an application the caller owns.
#[utoipa::path(get, path = "/applications/{application_id}", tag = "applications", params(("application_id" = String, Path)),
    responses((status = 200, description = "The application object"), (status = 404, description = "Unknown application (10002)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Application>> {
    auth.not_bot()?;
    let app = applications::owned(&state, parse_id(&id)?, auth.user_id).await?;
    Ok(axum::Json(render(&state, &app).await?))
}

/// Edit an application the caller owns (name, description, privileged-intent flags, ...).
#[utoipa::path(patch, path = "/applications/{application_id}", tag = "applications", params(("application_id" = String, Path)), request_body = ModifyApplicationBody,
    responses((status = 200, description = "The updated application"), (status = 400, description = "Invalid form body (50035)")))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<ModifyApplicationBody>,
) -> ApiResult<axum::Json<Application>> {
    auth.not_bot()?;
    let app = applications::owned(&state, parse_id(&id)?, auth.user_id).await?;
    let patch = body.to_patch(&state, &app, true).await?;
    let app = state
        .store
        .update_application(app.application_id(), &patch)
        .await?;
    Ok(axum::Json(render(&state, &app).await?))
}
