//! `GET /applications/{application.id}/guilds/{guild.id}/commands/permissions` and
//! `GET/PUT .../commands/{command.id}/permissions`: which roles, users and channels may use an
//! application's commands in a guild. Only people change them (bots get 20001), with
//! MANAGE_GUILD and MANAGE_ROLES; every change is dispatched and written to the audit log.

use accord_bus::Audience;
use accord_model::audit_log::{AuditEntryInfo, action};
use accord_model::{
    ApplicationId, ChannelId, CommandPermission, CommandPermissionType, ErrorTree, GenericId,
    GuildCommandPermissions, GuildId, Permissions, UserId,
};
use accord_store::ApplicationRecord;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::audit_log::{self, Entry};
use crate::services::commands::{app_guild, managed_app};
use crate::services::moderation::audit_reason;
use crate::state::AppState;

/// The new permissions of a command.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditPermissionsBody {
    /// Replaces every permission of the command in the guild.
    #[schema(value_type = Vec<Object>)]
    pub permissions: Vec<CommandPermission>,
}

/// The application and guild of a read: the application's bot or owner, or a member who may
/// manage the guild.
async fn readable(
    state: &AppState,
    auth: &Auth,
    app: &str,
    guild: &str,
) -> ApiResult<(ApplicationRecord, GuildId)> {
    let app = match managed_app(state, auth, app).await {
        Ok(app) => app,
        Err(ApiError::NotAppAuthorized) if !auth.bot => {
            let app = state
                .store
                .application(
                    app.parse()
                        .map_err(|_| ApiError::Unknown(Unknown::Application))?,
                )
                .await?
                .ok_or(ApiError::Unknown(Unknown::Application))?;
            let guild_id = app_guild(state, &app, guild).await?;
            GuildAccess::load(state, guild_id, auth.user_id)
                .await?
                .require(Permissions::MANAGE_GUILD)?;
            return Ok((app, guild_id));
        }
        Err(e) => return Err(e),
    };
    let guild = app_guild(state, &app, guild).await?;
    Ok((app, guild))
}

fn parse_entries(
    app: ApplicationId,
    guild: GuildId,
    rows: Vec<(i64, String)>,
) -> ApiResult<Vec<GuildCommandPermissions>> {
    rows.into_iter()
        .map(|(target, json)| {
            Ok(GuildCommandPermissions {
                id: GenericId::from_i64(target),
                application_id: app,
                guild_id: guild,
                permissions: serde_json::from_str(&json)
                    .map_err(|e| ApiError::Internal(format!("stored command permissions: {e}")))?,
            })
        })
        .collect()
}

/// The command (or application) id a permission route names: an existing command of the
/// application, global or in the guild, or the application's own id.
async fn target(
    state: &AppState,
    app: &ApplicationRecord,
    guild: GuildId,
    raw: &str,
) -> ApiResult<i64> {
    if raw == app.id.to_string() {
        return Ok(app.id);
    }
    let id = raw
        .parse::<accord_model::CommandId>()
        .map_err(|_| ApiError::Unknown(Unknown::Command))?;
    let row = state
        .store
        .command(id)
        .await?
        .filter(|r| r.application_id == app.id && r.guild_id.is_none_or(|g| g == guild.as_i64()))
        .ok_or(ApiError::Unknown(Unknown::Command))?;
    Ok(row.id)
}

/// Fetch the permissions of every command of the application in the guild.
#[utoipa::path(get, path = "/applications/{application_id}/guilds/{guild_id}/commands/permissions", tag = "commands", params(("application_id" = String, Path), ("guild_id" = String, Path)),
    responses((status = 200, description = "Guild application command permissions objects")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path((app, guild)): Path<(String, String)>,
) -> ApiResult<axum::Json<Vec<GuildCommandPermissions>>> {
    let (app, guild) = readable(&state, &auth, &app, &guild).await?;
    let rows = state
        .store
        .command_permissions(app.application_id(), guild)
        .await?;
    Ok(axum::Json(parse_entries(
        app.application_id(),
        guild,
        rows,
    )?))
}

/// Fetch the permissions of one command (or, with the application's id, of every command
/// without its own) in the guild.
#[utoipa::path(get, path = "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}/permissions", tag = "commands", params(("application_id" = String, Path), ("guild_id" = String, Path), ("command_id" = String, Path)),
    responses((status = 200, description = "The guild application command permissions object"), (status = 404, description = "None set (10066) or unknown command (10063)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((app, guild, command)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<GuildCommandPermissions>> {
    let (app, guild) = readable(&state, &auth, &app, &guild).await?;
    let target = target(&state, &app, guild, &command).await?;
    let json = state
        .store
        .command_permission(guild, target)
        .await?
        .ok_or(ApiError::Unknown(Unknown::CommandPermissions))?;
    parse_entries(app.application_id(), guild, vec![(target, json)])?
        .pop()
        .map(axum::Json)
        .ok_or_else(|| ApiError::Internal("no permissions entry".into()))
}

/// Checks every entry names a role, user or channel of the guild, once each.
async fn check_entries(
    state: &AppState,
    guild: GuildId,
    list: &[CommandPermission],
) -> ApiResult<()> {
    let max = state.config.interactions.command_permissions as usize;
    if list.len() > max {
        return Err(ApiError::field(
            &["permissions"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        ));
    }
    let roles = state.store.guild_roles(guild).await?;
    let mut tree = ErrorTree::new();
    for (i, p) in list.iter().enumerate() {
        let path = ["permissions".to_owned(), i.to_string(), "id".to_owned()];
        if list[..i].iter().any(|q| q.id == p.id && q.kind == p.kind) {
            tree.add(
                &path,
                "APPLICATION_COMMAND_PERMISSIONS_DUPLICATE_ID",
                "Permission ids must be unique",
            );
            continue;
        }
        let id = p.id.as_i64();
        let known = match p.kind {
            CommandPermissionType::Role => roles.iter().any(|r| r.id == id) || id == guild.as_i64(),
            CommandPermissionType::User => state.store.user(UserId::from_i64(id)).await?.is_some(),
            CommandPermissionType::Channel => {
                id == guild.as_i64() - 1
                    || state
                        .store
                        .channel(ChannelId::from_i64(id))
                        .await?
                        .is_some_and(|c| c.guild_id == Some(guild.as_i64()))
            }
        };
        if !known {
            tree.add(
                &path,
                "APPLICATION_COMMAND_PERMISSIONS_INVALID_ID",
                "Unknown role, user or channel",
            );
        }
    }
    if tree.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidForm(tree))
    }
}

/// The audit log changes of a permissions edit: one per entity whose entry changed, keyed by
/// its id, with the old and new permission objects.
fn changes(mut entry: Entry, old: &[CommandPermission], new: &[CommandPermission]) -> Entry {
    let as_value = |p: Option<&CommandPermission>| {
        p.and_then(|p| serde_json::to_value(p).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    let mut ids: Vec<GenericId> = old.iter().chain(new).map(|p| p.id).collect();
    ids.sort_unstable_by_key(|id| id.as_i64());
    ids.dedup();
    for id in ids {
        let o = old.iter().find(|p| p.id == id);
        let n = new.iter().find(|p| p.id == id);
        entry = entry.change(&id.to_string(), as_value(o), as_value(n));
    }
    entry
}

/// Replace the permissions of one command (or, with the application's id, of every command
/// without its own) in the guild.
#[utoipa::path(put, path = "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}/permissions", tag = "commands", params(("application_id" = String, Path), ("guild_id" = String, Path), ("command_id" = String, Path)), request_body = EditPermissionsBody,
    responses((status = 200, description = "The guild application command permissions object"), (status = 403, description = "Bots cannot use this endpoint (20001) or missing permissions (50013)")))]
pub async fn put(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((app, guild, command)): Path<(String, String, String)>,
    Json(body): Json<EditPermissionsBody>,
) -> ApiResult<axum::Json<GuildCommandPermissions>> {
    auth.not_bot()?;
    let app = state
        .store
        .application(
            app.parse()
                .map_err(|_| ApiError::Unknown(Unknown::Application))?,
        )
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let guild = app_guild(&state, &app, &guild).await?;
    let access = GuildAccess::load(&state, guild, auth.user_id).await?;
    access.require(Permissions::MANAGE_GUILD | Permissions::MANAGE_ROLES)?;
    let target = target(&state, &app, guild, &command).await?;
    check_entries(&state, guild, &body.permissions).await?;
    let json =
        serde_json::to_string(&body.permissions).map_err(|e| ApiError::Internal(e.to_string()))?;
    let old = state
        .store
        .set_command_permissions(app.application_id(), guild, target, &json)
        .await?;
    let old: Vec<CommandPermission> = old
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    let result = GuildCommandPermissions {
        id: GenericId::from_i64(target),
        application_id: app.application_id(),
        guild_id: guild,
        permissions: body.permissions,
    };
    state
        .dispatch(
            "APPLICATION_COMMAND_PERMISSIONS_UPDATE",
            Audience::Guild(guild),
            &result,
        )
        .await;
    let entry =
        Entry::new(action::APPLICATION_COMMAND_PERMISSION_UPDATE, target).options(AuditEntryInfo {
            application_id: Some(app.id.to_string()),
            ..AuditEntryInfo::default()
        });
    let entry = changes(entry, &old, &result.permissions);
    audit_log::by(&state, &access, audit_reason(&headers).as_deref(), entry).await;
    Ok(axum::Json(result))
}
