//! `POST /auth/register`: creates a person's account and returns its first token.

use accord_config::RegisterMode;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::services::accounts::{self, NewAccount};
use crate::state::AppState;

/// Registration form (the fields Discord's client sends; unknown ones are ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    /// Unique username (`a-z 0-9 _ .`).
    pub username: String,
    /// Password.
    pub password: String,
    /// E-mail (required when the instance says so).
    #[serde(default)]
    pub email: Option<String>,
    /// Date of birth, `YYYY-MM-DD` (required when the instance says so).
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Display name.
    #[serde(default)]
    pub global_name: Option<String>,
    /// Invite code (required on invite-only instances).
    #[serde(default)]
    pub invite: Option<String>,
    /// Whether the user accepted the terms.
    #[serde(default)]
    pub consent: Option<bool>,
}

/// The new account's token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Token for the `Authorization` header.
    pub token: String,
}

/// Register an account.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterBody,
    responses((status = 201, body = TokenResponse), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Registration disabled")))]
pub async fn register(
    State(state): State<AppState>,
    Json(body): Json<RegisterBody>,
) -> ApiResult<(StatusCode, axum::Json<TokenResponse>)> {
    match state.config.register.mode {
        RegisterMode::Closed => return Err(ApiError::RegistrationClosed),
        RegisterMode::InviteOnly => {
            let Some(code) = body.invite.as_deref().filter(|c| !c.is_empty()) else {
                return Err(ApiError::field(
                    &["invite"],
                    "INVITE_REQUIRED",
                    "An invite is required to register on this instance.",
                ));
            };
            if !state.store.invite_usable(code).await? {
                return Err(ApiError::field(
                    &["invite"],
                    "INVITE_INVALID",
                    "The invite is invalid or has expired.",
                ));
            }
        }
        RegisterMode::Open => {}
    }
    let user = accounts::create_person(
        &state,
        NewAccount {
            username: body.username,
            password: body.password,
            email: body.email,
            date_of_birth: body.date_of_birth,
            global_name: body.global_name,
            rights: None,
        },
    )
    .await?;
    tracing::info!(user = %user.id, "registered");
    let token = accounts::issue_token(&state, user.user_id(), false);
    Ok((StatusCode::CREATED, axum::Json(TokenResponse { token })))
}
