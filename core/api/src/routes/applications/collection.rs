//! `POST /applications` and `GET /applications`: a user's own applications.

use accord_model::{Application, Rights};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::common::render;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use crate::routes::users::me::caller;
use crate::services::applications;
use crate::state::AppState;

/// New application.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApplicationBody {
    /// Name (1–100 characters).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// Create an application.
#[utoipa::path(post, path = "/applications", tag = "applications", request_body = CreateApplicationBody,
    responses((status = 201, description = "The application object"), (status = 400, description = "Invalid form body (50035) or limit reached (50011)"), (status = 403, description = "Missing the CREATE_APPLICATIONS right")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreateApplicationBody>,
) -> ApiResult<(StatusCode, axum::Json<Application>)> {
    auth.not_bot()?;
    let user = caller(&state, &auth).await?;
    if !user.rights().has(Rights::CREATE_APPLICATIONS) {
        return Err(ApiError::MissingPermissions);
    }
    let app = applications::create(
        &state,
        user.user_id(),
        &body.name,
        body.description.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(render(&state, &app).await?)))
}

/// List the caller's applications.
#[utoipa::path(get, path = "/applications", tag = "applications", responses((status = 200, description = "Application objects")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Vec<Application>>> {
    auth.not_bot()?;
    let mut out = Vec::new();
    for app in state.store.applications_of(auth.user_id).await? {
        out.push(render(&state, &app).await?);
    }
    Ok(axum::Json(out))
}
