//! `GET/POST/PUT /applications/{application.id}/guilds/{guild.id}/commands`: list,
//! create-or-replace and bulk overwrite an application's commands in a guild it is in.

use accord_model::ApplicationCommand;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};

use crate::error::ApiResult;
use crate::extract::{Auth, Json};
use crate::routes::applications::commands::collection::{ListQuery, created, list_scope};
use crate::services::command_writes;
use crate::services::commands::{CommandBody, app_guild, managed_app};
use crate::state::AppState;

/// Fetch the application's commands in a guild.
#[utoipa::path(get, path = "/applications/{application_id}/guilds/{guild_id}/commands", tag = "commands", params(("application_id" = String, Path), ("guild_id" = String, Path), ListQuery),
    responses((status = 200, description = "Application command objects"), (status = 403, description = "The application is not in the guild (50001)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path((app, guild)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<axum::Json<Vec<ApplicationCommand>>> {
    let app = managed_app(&state, &auth, &app).await?;
    let guild = app_guild(&state, &app, &guild).await?;
    Ok(axum::Json(
        list_scope(&state, app.application_id(), Some(guild), &q, &headers).await?,
    ))
}

/// Create a guild command, or replace the one of the same name and type.
#[utoipa::path(post, path = "/applications/{application_id}/guilds/{guild_id}/commands", tag = "commands", params(("application_id" = String, Path), ("guild_id" = String, Path)), request_body = CommandBody,
    responses((status = 201, description = "The new command"), (status = 200, description = "The replaced command"), (status = 400, description = "Invalid form body (50035) or too many commands (30032)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path((app, guild)): Path<(String, String)>,
    Json(body): Json<CommandBody>,
) -> ApiResult<(StatusCode, axum::Json<ApplicationCommand>)> {
    let app = managed_app(&state, &auth, &app).await?;
    let guild = app_guild(&state, &app, &guild).await?;
    Ok(created(
        command_writes::upsert(&state, app.application_id(), Some(guild), &body).await?,
    ))
}

/// Replace every command of the application in the guild.
#[utoipa::path(put, path = "/applications/{application_id}/guilds/{guild_id}/commands", tag = "commands", params(("application_id" = String, Path), ("guild_id" = String, Path)), request_body = Vec<CommandBody>,
    responses((status = 200, description = "The application's commands in the guild now"), (status = 400, description = "Invalid form body (50035)")))]
pub async fn overwrite(
    State(state): State<AppState>,
    auth: Auth,
    Path((app, guild)): Path<(String, String)>,
    Json(bodies): Json<Vec<CommandBody>>,
) -> ApiResult<axum::Json<Vec<ApplicationCommand>>> {
    let app = managed_app(&state, &auth, &app).await?;
    let guild = app_guild(&state, &app, &guild).await?;
    Ok(axum::Json(
        command_writes::overwrite(&state, app.application_id(), Some(guild), &bodies).await?,
    ))
}
