//! `POST /auth/login`: exchanges an e-mail or username and a password for a token.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::services::accounts;
use crate::state::AppState;

/// Login form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// E-mail address or username.
    pub login: String,
    /// Password.
    pub password: String,
}

/// Settings Discord's client reads right after logging in.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginSettings {
    /// Locale.
    pub locale: String,
    /// Theme.
    pub theme: String,
}

/// A successful login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The user's id.
    pub user_id: String,
    /// Token for the `Authorization` header.
    pub token: String,
    /// Client settings.
    pub user_settings: LoginSettings,
}

fn invalid_login() -> ApiError {
    let mut tree = accord_model::ErrorTree::new();
    tree.add(&["login"], "INVALID_LOGIN", "Login or password is invalid.");
    tree.add(
        &["password"],
        "INVALID_LOGIN",
        "Login or password is invalid.",
    );
    ApiError::InvalidForm(tree)
}

/// Log in.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = LoginResponse), (status = 400, description = "Invalid login (50035)")))]
pub async fn login(
    State(state): State<AppState>,
    Json(body): Json<LoginBody>,
) -> ApiResult<axum::Json<LoginResponse>> {
    let found = state.store.user_for_login(body.login.trim()).await?;
    let Some((user, Some(hash))) = found else {
        // Spend the same time as a real check so that timing does not reveal which logins exist.
        let _ = accounts::hash_password(&state, body.password).await;
        return Err(invalid_login());
    };
    if !accounts::password_matches(hash, body.password).await? {
        return Err(invalid_login());
    }
    if user.disabled {
        return Err(ApiError::field(
            &["login"],
            "ACCOUNT_DISABLED",
            "This account is disabled.",
        ));
    }
    let token = accounts::issue_token(&state, user.user_id(), false);
    Ok(axum::Json(LoginResponse {
        user_id: user.id.to_string(),
        token,
        user_settings: LoginSettings {
            locale: user.locale.clone(),
            theme: "dark".to_owned(),
        },
    }))
}
