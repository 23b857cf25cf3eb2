//! Authentication: `Authorization: Bot <token>` for bots, the bare token for user accounts.
//! Verified with the instance secret and the in-memory revocation state — no database read.

use accord_auth::Claims;
use accord_model::UserId;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Who is calling.
    pub user_id: UserId,
    /// Whether the caller is a bot (the token says so, and the header used the `Bot` prefix).
    pub bot: bool,
    /// The verified token's claims.
    pub claims: Claims,
}

impl Auth {
    /// Fails with 20001 if the caller is a bot.
    pub fn not_bot(&self) -> Result<(), ApiError> {
        if self.bot {
            Err(ApiError::BotsForbidden)
        } else {
            Ok(())
        }
    }

    /// Fails with 20002 unless the caller is a bot.
    pub fn only_bot(&self) -> Result<(), ApiError> {
        if self.bot {
            Ok(())
        } else {
            Err(ApiError::OnlyBots)
        }
    }
}

/// Verifies the `Authorization` header value.
pub fn authenticate(state: &AppState, header: &str) -> Result<Auth, ApiError> {
    let (token, prefixed_bot) = match header.strip_prefix("Bot ") {
        Some(t) => (t.trim(), true),
        None => (header.trim(), false),
    };
    if header.starts_with("Bearer ") {
        // OAuth2 bearer tokens are not issued by this instance yet.
        return Err(ApiError::Unauthorized);
    }
    let claims = state
        .signer
        .verify(token)
        .map_err(|_| ApiError::Unauthorized)?;
    state
        .revocations
        .check(&claims)
        .map_err(|_| ApiError::Unauthorized)?;
    // A bot token must be sent with the Bot prefix, and a user token without it.
    if claims.bot != prefixed_bot {
        return Err(ApiError::Unauthorized);
    }
    Ok(Auth {
        user_id: claims.user_id,
        bot: claims.bot,
        claims,
    })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        authenticate(state, header)
    }
}
