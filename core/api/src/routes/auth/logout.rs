//! `POST /auth/logout`: revokes the token the request was made with.

use axum::extract::State;
use axum::http::StatusCode;

use crate::error::ApiResult;
use crate::extract::Auth;
use crate::services::accounts;
use crate::state::AppState;

/// Log out (the calling token stops working; other sessions are unaffected).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204), (status = 401, description = "Unauthorized (40001)")))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    auth.not_bot()?;
    accounts::revoke_token(&state, auth.user_id, auth.claims.token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
