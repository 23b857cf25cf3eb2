//! `POST /auth/register`: creates a person's account and returns its first token.

use accord_config::RegisterMode;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::services::accounts::{self, NewAccount};
use crate::services::members;
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
    let invite = body.invite.as_deref().filter(|c| !c.is_empty());
    match (state.config.register.mode, invite) {
        (RegisterMode::Closed, _) => return Err(ApiError::RegistrationClosed),
        (RegisterMode::InviteOnly, None) => {
            return Err(ApiError::field(
                &["invite"],
                "INVITE_REQUIRED",
                "An invite is required to register on this instance.",
            ));
        }
        (_, Some(code)) if !state.store.invite_usable(code).await? => {
            return Err(ApiError::field(
                &["invite"],
                "INVITE_INVALID",
                "The invite is invalid or has expired.",
            ));
        }
        _ => {}
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
    if let Some(code) = invite {
        join_with_invite(&state, code, &user).await;
    }
    let token = accounts::issue_token(&state, user.user_id(), false);
    Ok((StatusCode::CREATED, axum::Json(TokenResponse { token })))
}

/// Joins the new account to the invite's guild, counting one use. The account exists already, so
/// a failure here (the invite used up in between, a full guild) is logged and the registration
/// still succeeds: the user can join later through the invite route.
async fn join_with_invite(state: &AppState, code: &str, user: &accord_store::UserRecord) {
    let result: ApiResult<()> = async {
        let Some(invite) = state.store.invite(code).await? else {
            return Ok(());
        };
        let Some(guild_id) = invite.guild_id else {
            return Ok(());
        };
        let Some(guild) = state
            .store
            .guild(accord_model::GuildId::from_i64(guild_id))
            .await?
        else {
            return Ok(());
        };
        members::check_can_join(state, guild.guild_id(), user).await?;
        if state.store.use_invite(code).await? {
            members::join(state, &guild, user, Vec::new()).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(user = %user.id, invite = code, error = %e, "registered, but could not join the invite's guild");
    }
}
