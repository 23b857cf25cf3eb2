//! `GET/PATCH /applications/@me` and `GET /oauth2/applications/@me`: the calling bot's application.

use accord_model::Application;
use accord_store::ApplicationRecord;
use axum::extract::State;

use super::common::{ModifyApplicationBody, render};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::state::AppState;

async fn own_application(state: &AppState, auth: &Auth) -> ApiResult<ApplicationRecord> {
    auth.only_bot()?;
    state
        .store
        .application_of_bot(auth.user_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))
}

/// Get the current bot's application.
#[utoipa::path(get, path = "/applications/@me", tag = "applications", responses((status = 200, description = "The application object"), (status = 403, description = "Only bots (20002)")))]
pub async fn get_me(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Application>> {
    let app = own_application(&state, &auth).await?;
    Ok(axum::Json(render(&state, &app).await?))
}

/// Get the current bot's application (the OAuth2 route discord.py calls at login).
#[utoipa::path(get, path = "/oauth2/applications/@me", tag = "oauth2", responses((status = 200, description = "The application object")))]
pub async fn get_oauth2_me(
    state: State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Application>> {
    get_me(state, auth).await
}

/// Edit the current bot's application.
#[utoipa::path(patch, path = "/applications/@me", tag = "applications", request_body = ModifyApplicationBody,
    responses((status = 200, description = "The updated application"), (status = 400, description = "Invalid form body (50035)")))]
pub async fn patch_me(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<ModifyApplicationBody>,
) -> ApiResult<axum::Json<Application>> {
    let app = own_application(&state, &auth).await?;
    let patch = body.to_patch(&state, &app, false).await?;
    let app = state
        .store
        .update_application(app.application_id(), &patch)
        .await?;
    Ok(axum::Json(render(&state, &app).await?))
}
