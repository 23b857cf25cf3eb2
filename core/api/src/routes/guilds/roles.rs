//! `/guilds/{guild.id}/roles`: list, get, create, reorder, modify and delete roles, with
//! MANAGE_ROLES, the role hierarchy and the rule that nobody grants a permission they lack.

use std::collections::BTreeMap;

use accord_bus::Audience;
use accord_media::Limits;
use accord_model::audit_log::action;
use accord_model::{ErrorTree, Permissions, Role, RoleId};
use accord_store::{NewRole, RolePatch, RoleRecord};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::images::{self, Change};
use crate::services::moderation::audit_reason;
use crate::services::roles::{RoleDeleteEvent, RoleEvent, check_grant, reorder};
use crate::services::{audit_log, ids, validate};
use crate::state::AppState;
use crate::views_guild;

/// Registers the roles routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list, create, positions))
        .routes(routes!(member_counts))
        .routes(routes!(get, modify, delete))
}

/// The largest RGB colour.
const MAX_COLOR: u32 = 0xFF_FFFF;

/// Role colours in a request; only the primary colour is available (gradients need the
/// `ENHANCED_ROLE_COLORS` feature, which no guild here has).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RoleColorsBody {
    /// The colour (0 = none).
    #[serde(default)]
    pub primary_color: Option<u32>,
    /// Must be null.
    #[serde(default)]
    pub secondary_color: Option<u32>,
    /// Must be null.
    #[serde(default)]
    pub tertiary_color: Option<u32>,
}

/// `POST` and `PATCH` role body (absent or null = default on create, unchanged on modify;
/// `icon` and `unicode_emoji` null = none).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RoleBody {
    /// Name (1–100 characters; "new role" by default).
    #[serde(default)]
    pub name: Option<String>,
    /// Permissions (the @everyone role's by default).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub permissions: Option<Permissions>,
    /// RGB colour, 0–0xFFFFFF (deprecated in favour of `colors`).
    #[serde(default)]
    pub color: Option<u32>,
    /// Colours.
    #[serde(default)]
    pub colors: Option<RoleColorsBody>,
    /// Shown separately in the member list.
    #[serde(default)]
    pub hoist: Option<bool>,
    /// Icon image as a data URI (PNG, JPEG, GIF or WebP), or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub icon: Option<Option<String>>,
    /// A Unicode emoji shown as the icon, or null.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub unicode_emoji: Option<Option<String>>,
    /// Whether anyone may mention it.
    #[serde(default)]
    pub mentionable: Option<bool>,
}

/// A role body's values once checked.
struct Checked {
    name: Option<String>,
    color: Option<i32>,
    icon: Change,
    unicode_emoji: Option<Option<String>>,
}

fn check_color(tree: &mut ErrorTree, path: &[&str], color: Option<u32>) {
    if color.is_some_and(|c| c > MAX_COLOR) {
        tree.add(
            path,
            "NUMBER_TYPE_MAX",
            format!("int value should be less than or equal to {MAX_COLOR}."),
        );
    }
}

/// Checks the fields every role body shares; adds problems to `tree`.
fn check_body(tree: &mut ErrorTree, body: &RoleBody, limits: &Limits) -> Checked {
    if let Some(name) = &body.name {
        validate::display_name(tree, "name", name, 1, 100);
    }
    check_color(tree, &["color"], body.color);
    let mut color = body.color;
    if let Some(colors) = &body.colors {
        check_color(tree, &["colors", "primary_color"], colors.primary_color);
        for (field, value) in [
            ("secondary_color", colors.secondary_color),
            ("tertiary_color", colors.tertiary_color),
        ] {
            if value.is_some() {
                tree.add(
                    &["colors", field],
                    "ROLE_COLORS_UNAVAILABLE",
                    "Gradient and holographic role colors need the ENHANCED_ROLE_COLORS feature.",
                );
            }
        }
        color = colors.primary_color.or(color);
    }
    let icon = Change::of(tree, "icon", body.icon.as_ref(), limits);
    let unicode_emoji = match &body.unicode_emoji {
        Some(Some(e)) if e.is_empty() => Some(None),
        Some(Some(e)) => {
            let ok = e.chars().count() <= 32
                && !e
                    .chars()
                    .any(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || c.is_control());
            if !ok {
                tree.add(
                    &["unicode_emoji"],
                    "UNICODE_EMOJI_INVALID",
                    "Must be a single Unicode emoji.",
                );
            }
            Some(Some(e.clone()))
        }
        Some(None) => Some(None),
        None => None,
    };
    Checked {
        name: body.name.as_ref().map(|n| n.trim().to_owned()),
        color: color.map(|c| c as i32),
        icon,
        unicode_emoji,
    }
}

async fn load(state: &AppState, auth: &Auth, guild_id: &str) -> ApiResult<GuildAccess> {
    GuildAccess::load(state, ids::parse(guild_id, Unknown::Guild)?, auth.user_id).await
}

fn find<'a>(access: &'a GuildAccess, role_id: &str) -> ApiResult<&'a RoleRecord> {
    let id: RoleId = ids::parse(role_id, Unknown::Role)?;
    access
        .role(id.as_i64())
        .ok_or(ApiError::Unknown(Unknown::Role))
}

async fn role_update(state: &AppState, access: &GuildAccess, role: &RoleRecord) {
    state
        .dispatch(
            "GUILD_ROLE_UPDATE",
            Audience::Guild(access.guild_id()),
            &RoleEvent {
                guild_id: access.guild_id(),
                role: views_guild::role(role),
            },
        )
        .await;
}

/// List the guild's roles (members).
#[utoipa::path(get, path = "/guilds/{guild_id}/roles", tag = "roles", params(("guild_id" = String, Path)),
    responses((status = 200, description = "Every role of the guild"), (status = 403, description = "Not a member (50001)"), (status = 404, description = "Unknown guild (10004)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Role>>> {
    let access = load(&state, &auth, &guild_id).await?;
    Ok(axum::Json(
        access.roles.iter().map(views_guild::role).collect(),
    ))
}

/// Get one role (members).
#[utoipa::path(get, path = "/guilds/{guild_id}/roles/{role_id}", tag = "roles", params(("guild_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 200, description = "The role"), (status = 404, description = "Unknown role (10011)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((guild_id, role_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Role>> {
    let access = load(&state, &auth, &guild_id).await?;
    Ok(axum::Json(views_guild::role(find(&access, &role_id)?)))
}

/// How many members hold each role, @everyone left out (members).
#[utoipa::path(get, path = "/guilds/{guild_id}/roles/member-counts", tag = "roles", params(("guild_id" = String, Path)),
    responses((status = 200, description = "Role id → number of members"), (status = 403, description = "Not a member (50001)")))]
pub async fn member_counts(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<BTreeMap<String, i64>>> {
    let access = load(&state, &auth, &guild_id).await?;
    let counts = state.store.role_member_counts(access.guild_id()).await?;
    Ok(axum::Json(
        access
            .roles
            .iter()
            .filter(|r| r.id != access.guild.id)
            .map(|r| {
                let n = counts.iter().find(|(id, _)| *id == r.id).map_or(0, |c| c.1);
                (r.id.to_string(), n)
            })
            .collect(),
    ))
}

/// Create a role just above @everyone (MANAGE_ROLES).
#[utoipa::path(post, path = "/guilds/{guild_id}/roles", tag = "roles", params(("guild_id" = String, Path)), request_body = RoleBody,
    responses((status = 200, description = "The new role"), (status = 400, description = "Invalid form body (50035) or maximum roles (30005)"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
    Json(body): Json<RoleBody>,
) -> ApiResult<axum::Json<Role>> {
    let access = load(&state, &auth, &guild_id).await?;
    access.require(Permissions::MANAGE_ROLES)?;
    let mut tree = ErrorTree::new();
    let checked = check_body(&mut tree, &body, &images::upload_limits(&state));
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let limit = state.config.limits.roles_per_guild;
    if access.roles.len() >= limit as usize {
        return Err(ApiError::Maximum(Maximum::Roles, limit));
    }
    let everyone = access
        .role(access.guild.id)
        .map_or(Permissions::empty(), RoleRecord::permissions);
    let permissions = Permissions::from_bits_truncate(body.permissions.unwrap_or(everyone).bits());
    check_grant(&access, Permissions::empty(), permissions)?;
    let guild_id = access.guild_id();
    let mut new = NewRole::new(
        state.ids.next(),
        guild_id,
        checked.name.unwrap_or_else(|| "new role".to_owned()),
    );
    new.permissions = permissions;
    new.color = checked.color.unwrap_or(0);
    new.hoist = body.hoist.unwrap_or(false);
    new.mentionable = body.mentionable.unwrap_or(false);
    new.unicode_emoji = checked.unicode_emoji.flatten();
    new.icon = checked
        .icon
        .apply(&state, &format!("role-icons/{}", new.id))
        .await?
        .flatten();
    new.position = 1;
    let (role, shifted) = state.store.insert_role(&new).await?;
    state
        .dispatch(
            "GUILD_ROLE_CREATE",
            Audience::Guild(guild_id),
            &RoleEvent {
                guild_id,
                role: views_guild::role(&role),
            },
        )
        .await;
    for moved in &shifted {
        role_update(&state, &access, moved).await;
    }
    audit(
        &state,
        &access,
        &headers,
        action::ROLE_CREATE,
        None,
        Some(&role),
    )
    .await;
    Ok(axum::Json(views_guild::role(&role)))
}

/// One entry of the reorder request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RolePosition {
    /// The role.
    #[schema(value_type = String)]
    pub id: RoleId,
    /// Its new position (null leaves it in place).
    #[serde(default)]
    pub position: Option<i32>,
}

/// Reorder roles (MANAGE_ROLES; only roles below the caller's highest, to places below it).
#[utoipa::path(patch, path = "/guilds/{guild_id}/roles", tag = "roles", params(("guild_id" = String, Path)), request_body = Vec<RolePosition>,
    responses((status = 200, description = "Every role of the guild"), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Missing permissions or hierarchy (50013)")))]
pub async fn positions(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Json(body): Json<Vec<RolePosition>>,
) -> ApiResult<axum::Json<Vec<Role>>> {
    let access = load(&state, &auth, &guild_id).await?;
    access.require(Permissions::MANAGE_ROLES)?;
    let everyone = access.guild.id;
    let mut tree = ErrorTree::new();
    let mut moves: Vec<(i64, i32)> = Vec::new();
    let mut seen: Vec<i64> = Vec::new();
    let mut outranked = false;
    for (i, entry) in body.iter().enumerate() {
        let index = i.to_string();
        let id = entry.id.as_i64();
        if seen.contains(&id) {
            tree.add(
                &[index.as_str(), "id"],
                "DUPLICATE_ID",
                "Each role may appear only once.",
            );
            continue;
        }
        seen.push(id);
        let Some(role) = access.role(id) else {
            tree.add(
                &[index.as_str(), "id"],
                "UNKNOWN_ROLE",
                format!("Unknown role {id}."),
            );
            continue;
        };
        let Some(position) = entry.position else {
            continue;
        };
        if id == everyone {
            if position != 0 {
                tree.add(
                    &[index.as_str(), "position"],
                    "BASE_TYPE_CHOICES",
                    "The @everyone role is always at position 0.",
                );
            }
            continue;
        }
        if position < 1 {
            tree.add(
                &[index.as_str(), "position"],
                "NUMBER_TYPE_MIN",
                "int value should be greater than or equal to 1.",
            );
            continue;
        }
        let below_caller = access.is_owner() || position < access.hierarchy.highest_position;
        if !access.can_manage_role(role) || !below_caller {
            outranked = true;
        }
        moves.push((id, position));
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    if outranked {
        return Err(ApiError::MissingPermissions);
    }
    let changes: Vec<(RoleId, i32)> = reorder(&access.roles, everyone, &moves)
        .into_iter()
        .map(|(id, position)| (RoleId::from_i64(id), position))
        .collect();
    if changes.is_empty() {
        return Ok(axum::Json(
            access.roles.iter().map(views_guild::role).collect(),
        ));
    }
    let roles = state
        .store
        .set_role_positions(access.guild_id(), &changes)
        .await?;
    let mut changed: Vec<&RoleRecord> = roles
        .iter()
        .filter(|r| changes.iter().any(|(id, _)| id.as_i64() == r.id))
        .collect();
    changed.sort_by_key(|r| (r.position, r.id));
    for role in changed {
        role_update(&state, &access, role).await;
    }
    Ok(axum::Json(roles.iter().map(views_guild::role).collect()))
}

/// Modify a role (MANAGE_ROLES and a role below the caller's highest; @everyone keeps its name).
#[utoipa::path(patch, path = "/guilds/{guild_id}/roles/{role_id}", tag = "roles", params(("guild_id" = String, Path), ("role_id" = String, Path)), request_body = RoleBody,
    responses((status = 200, description = "The updated role"), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Missing permissions or hierarchy (50013)"), (status = 404, description = "Unknown role (10011)")))]
pub async fn modify(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((guild_id, role_id)): Path<(String, String)>,
    Json(body): Json<RoleBody>,
) -> ApiResult<axum::Json<Role>> {
    let access = load(&state, &auth, &guild_id).await?;
    access.require(Permissions::MANAGE_ROLES)?;
    let role = find(&access, &role_id)?;
    if !access.can_manage_role(role) {
        return Err(ApiError::MissingPermissions);
    }
    let mut tree = ErrorTree::new();
    let checked = check_body(&mut tree, &body, &images::upload_limits(&state));
    if role.id == access.guild.id && checked.name.as_deref().is_some_and(|n| n != role.name) {
        tree.add(
            &["name"],
            "EVERYONE_ROLE_NAME",
            "The @everyone role cannot be renamed.",
        );
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let permissions = body
        .permissions
        .map(|p| Permissions::from_bits_truncate(p.bits()));
    if let Some(new) = permissions {
        check_grant(&access, role.permissions(), new)?;
    }
    let patch = RolePatch {
        name: checked.name,
        color: checked.color,
        hoist: body.hoist,
        icon: checked
            .icon
            .apply(&state, &format!("role-icons/{}", role.id))
            .await?,
        unicode_emoji: checked.unicode_emoji,
        permissions,
        mentionable: body.mentionable,
    };
    let updated = match state
        .store
        .update_role(access.guild_id(), role.role_id(), &patch)
        .await
    {
        Ok(r) => r,
        Err(accord_store::StoreError::NotFound) => return Err(ApiError::Unknown(Unknown::Role)),
        Err(e) => return Err(e.into()),
    };
    role_update(&state, &access, &updated).await;
    audit(
        &state,
        &access,
        &headers,
        action::ROLE_UPDATE,
        Some(role),
        Some(&updated),
    )
    .await;
    Ok(axum::Json(views_guild::role(&updated)))
}

/// Delete a role (MANAGE_ROLES and a role below the caller's highest; never @everyone or a
/// managed role: 50028).
#[utoipa::path(delete, path = "/guilds/{guild_id}/roles/{role_id}", tag = "roles", params(("guild_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 204), (status = 400, description = "@everyone or a managed role (50028)"), (status = 403, description = "Missing permissions or hierarchy (50013)"), (status = 404, description = "Unknown role (10011)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((guild_id, role_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = load(&state, &auth, &guild_id).await?;
    access.require(Permissions::MANAGE_ROLES)?;
    let role = find(&access, &role_id)?;
    if role.id == access.guild.id || role.managed {
        return Err(ApiError::InvalidRole);
    }
    if !access.can_manage_role(role) {
        return Err(ApiError::MissingPermissions);
    }
    let guild_id = access.guild_id();
    match state.store.delete_role(guild_id, role.role_id()).await {
        Ok(()) => {}
        Err(accord_store::StoreError::NotFound) => return Err(ApiError::Unknown(Unknown::Role)),
        Err(e) => return Err(e.into()),
    }
    state
        .dispatch(
            "GUILD_ROLE_DELETE",
            Audience::Guild(guild_id),
            &RoleDeleteEvent {
                guild_id,
                role_id: role.role_id(),
            },
        )
        .await;
    audit(
        &state,
        &access,
        &headers,
        action::ROLE_DELETE,
        Some(role),
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Role fields an audit log entry lists.
const AUDITED: [&str; 7] = [
    "name",
    "color",
    "hoist",
    "icon_hash",
    "unicode_emoji",
    "permissions",
    "mentionable",
];

/// Writes the audit log entry of a role created (`old` none), changed or deleted (`new` none).
async fn audit(
    state: &AppState,
    access: &GuildAccess,
    headers: &HeaderMap,
    kind: u16,
    old: Option<&RoleRecord>,
    new: Option<&RoleRecord>,
) {
    // The role object, with its icon under the key Discord's entries use (`icon_hash`).
    let view = |r: Option<&RoleRecord>| {
        r.map_or(serde_json::Value::Null, |r| {
            let mut v = serde_json::to_value(views_guild::role(r)).unwrap_or_default();
            if let Some(obj) = v.as_object_mut()
                && let Some(icon) = obj.remove("icon")
            {
                obj.insert("icon_hash".into(), icon);
            }
            v
        })
    };
    let Some(target) = new.or(old).map(|r| r.id) else {
        return;
    };
    let entry = audit_log::Entry::new(kind, target).diff(&AUDITED, &view(old), &view(new));
    audit_log::by(state, access, audit_reason(headers).as_deref(), entry).await;
}
