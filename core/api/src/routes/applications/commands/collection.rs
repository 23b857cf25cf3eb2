//! `GET/POST/PUT /applications/{application.id}/commands`: list, create-or-replace and bulk
//! overwrite an application's global commands (the scope-independent parts serve the guild
//! routes too).

use accord_model::{ApplicationCommand, GuildId};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiResult;
use crate::extract::{Auth, Json};
use crate::routes::invites::common::query_bool;
use crate::services::command_writes;
use crate::services::commands::{self, CommandBody, managed_app};
use crate::state::AppState;

/// `?with_localizations=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Return the full localization dictionaries instead of `name_localized` and
    /// `description_localized` in the caller's locale.
    #[serde(default)]
    pub with_localizations: Option<String>,
}

/// The caller's locale: `X-Discord-Locale`, else the first `Accept-Language` tag.
fn locale(headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("x-discord-locale")
        .map(str::to_owned)
        .or_else(|| {
            header("accept-language")
                .and_then(|v| v.split([',', ';']).next())
                .map(|v| v.trim().to_owned())
        })
        .filter(|l| !l.is_empty())
}

/// The commands of a scope, localized as the query and headers ask.
pub async fn list_scope(
    state: &AppState,
    app: accord_model::ApplicationId,
    guild: Option<GuildId>,
    q: &ListQuery,
    headers: &HeaderMap,
) -> ApiResult<Vec<ApplicationCommand>> {
    let mut list = commands::list(state, app, guild).await?;
    if !query_bool("with_localizations", q.with_localizations.as_deref())? {
        let locale = locale(headers);
        for c in &mut list {
            commands::localize(c, locale.as_deref());
        }
    }
    Ok(list)
}

/// Create-or-replace's answer: 201 for a new command, 200 for a replaced one.
pub fn created(
    (command, new): (ApplicationCommand, bool),
) -> (StatusCode, axum::Json<ApplicationCommand>) {
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(command))
}

/// Fetch the application's global commands.
#[utoipa::path(get, path = "/applications/{application_id}/commands", tag = "commands", params(("application_id" = String, Path), ListQuery),
    responses((status = 200, description = "Application command objects"), (status = 403, description = "Not the application's bot or owner (20012)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(app): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<axum::Json<Vec<ApplicationCommand>>> {
    let app = managed_app(&state, &auth, &app).await?;
    Ok(axum::Json(
        list_scope(&state, app.application_id(), None, &q, &headers).await?,
    ))
}

/// Create a global command, or replace the one of the same name and type.
#[utoipa::path(post, path = "/applications/{application_id}/commands", tag = "commands", params(("application_id" = String, Path)), request_body = CommandBody,
    responses((status = 201, description = "The new command"), (status = 200, description = "The replaced command"), (status = 400, description = "Invalid form body (50035) or too many commands (30032)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(app): Path<String>,
    Json(body): Json<CommandBody>,
) -> ApiResult<(StatusCode, axum::Json<ApplicationCommand>)> {
    let app = managed_app(&state, &auth, &app).await?;
    Ok(created(
        command_writes::upsert(&state, app.application_id(), None, &body).await?,
    ))
}

/// Replace every global command of the application.
#[utoipa::path(put, path = "/applications/{application_id}/commands", tag = "commands", params(("application_id" = String, Path)), request_body = Vec<CommandBody>,
    responses((status = 200, description = "The application's commands now"), (status = 400, description = "Invalid form body (50035)")))]
pub async fn overwrite(
    State(state): State<AppState>,
    auth: Auth,
    Path(app): Path<String>,
    Json(bodies): Json<Vec<CommandBody>>,
) -> ApiResult<axum::Json<Vec<ApplicationCommand>>> {
    let app = managed_app(&state, &auth, &app).await?;
    Ok(axum::Json(
        command_writes::overwrite(&state, app.application_id(), None, &bodies).await?,
    ))
}
