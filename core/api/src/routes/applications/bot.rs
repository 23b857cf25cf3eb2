//! `POST /applications/{application.id}/bot` and `/bot/reset`: the application's bot user and
//! its token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::application::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::services::applications;
use crate::state::AppState;
use crate::views;

/// The bot user and its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct BotWithToken {
    /// The bot user.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub user: accord_model::User,
    /// The bot's token (`Authorization: Bot <token>`).
    pub token: String,
}

/// A fresh bot token.
#[derive(Debug, Serialize, ToSchema)]
pub struct BotToken {
    /// The new token; every older one stops working.
    pub token: String,
}

/// Create the application's bot user.
#[utoipa::path(post, path = "/applications/{application_id}/bot", tag = "applications", params(("application_id" = String, Path)),
    responses((status = 201, body = BotWithToken), (status = 400, description = "The application already has a bot (50035)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<BotWithToken>)> {
    auth.not_bot()?;
    let app = applications::owned(&state, parse_id(&id)?, auth.user_id).await?;
    let (bot, token) = applications::create_bot(&state, &app).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(BotWithToken {
            user: views::public_user(&bot),
            token,
        }),
    ))
}

/// Reset the bot's token.
#[utoipa::path(post, path = "/applications/{application_id}/bot/reset", tag = "applications", params(("application_id" = String, Path)),
    responses((status = 200, body = BotToken), (status = 400, description = "The application has no bot (50035)")))]
pub async fn reset(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<BotToken>> {
    auth.not_bot()?;
    let app = applications::owned(&state, parse_id(&id)?, auth.user_id).await?;
    let Some(bot) = app.bot_user_id else {
        return Err(ApiError::field(
            &[],
            "APPLICATION_HAS_NO_BOT",
            "This application has no bot.",
        ));
    };
    let token = applications::reset_bot_token(&state, accord_model::UserId::from_i64(bot)).await?;
    Ok(axum::Json(BotToken { token }))
}
