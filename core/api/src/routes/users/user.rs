//! `GET /users/{user.id}`: another account's public profile.

use accord_model::UserId;
use axum::extract::{Path, State};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::state::AppState;
use crate::views;

/// Get a user.
#[utoipa::path(get, path = "/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "User snowflake")),
    responses((status = 200, description = "The user object"), (status = 404, description = "Unknown user (10013)")))]
pub async fn get_user(
    State(state): State<AppState>,
    _auth: Auth,
    Path(user_id): Path<String>,
) -> ApiResult<axum::Json<accord_model::User>> {
    let id: UserId = user_id.parse().map_err(|_| {
        ApiError::field(
            &["user_id"],
            "NUMBER_TYPE_COERCE",
            format!("Value \"{user_id}\" is not snowflake."),
        )
    })?;
    let user = state
        .store
        .user(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::User))?;
    Ok(axum::Json(views::public_user(&user)))
}
