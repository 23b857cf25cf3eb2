//! Kicking a member and giving or taking one role
//! (`DELETE /guilds/{guild.id}/members/{user.id}`, `PUT`/`DELETE …/roles/{role.id}`).

use accord_bus::Audience;
use accord_model::audit_log::action;
use accord_model::{Permissions, RoleId};
use accord_store::MemberRecord;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::{load, target};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::GuildAccess;
use crate::services::moderation::audit_reason;
use crate::services::roles::{check_assignable, check_outranks};
use crate::services::{audit_log, ids, members};
use crate::state::AppState;

/// Publishes GUILD_MEMBER_UPDATE for `member` (re-read after the change).
pub async fn member_updated(state: &AppState, member: &MemberRecord) -> ApiResult<()> {
    let user = members::user_of(state, member.user()).await?;
    let event = members::member_event(member, &user);
    state
        .dispatch(
            "GUILD_MEMBER_UPDATE",
            Audience::Guild(event.guild_id),
            &event,
        )
        .await;
    Ok(())
}

/// Remove a member (KICK_MEMBERS; only members below the caller, never the owner).
#[utoipa::path(delete, path = "/guilds/{guild_id}/members/{user_id}", tag = "members", params(("guild_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing permissions or hierarchy (50013)"), (status = 404, description = "Unknown member (10007)")))]
pub async fn kick(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((guild_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = load(&state, &auth, &guild_id).await?;
    access.require(Permissions::KICK_MEMBERS)?;
    let member = target(&state, &access, &user_id).await?;
    if !access.can_manage_member(&member) {
        return Err(ApiError::MissingPermissions);
    }
    let user = members::user_of(&state, member.user()).await?;
    members::remove(&state, access.guild_id(), &user).await?;
    audit_log::by(
        &state,
        &access,
        audit_reason(&headers).as_deref(),
        audit_log::Entry::new(action::MEMBER_KICK, user.id),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The checks both member-role routes share; returns the caller's standing, the member and
/// the role.
async fn prepare(
    state: &AppState,
    auth: &Auth,
    (guild_id, user_id, role_id): &(String, String, String),
) -> ApiResult<(GuildAccess, MemberRecord, RoleId)> {
    let access = load(state, auth, guild_id).await?;
    access.require(Permissions::MANAGE_ROLES)?;
    let member = target(state, &access, user_id).await?;
    let id: RoleId = ids::parse(role_id, Unknown::Role)?;
    let role = access
        .role(id.as_i64())
        .ok_or(ApiError::Unknown(Unknown::Role))?;
    check_assignable(&access, role)?;
    check_outranks(&access, &member)?;
    Ok((access, member, id))
}

/// Give a member a role (MANAGE_ROLES; the role below the caller's highest, not managed, not
/// @everyone; the member below the caller unless it is the caller).
#[utoipa::path(put, path = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", tag = "members",
    params(("guild_id" = String, Path), ("user_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 204), (status = 400, description = "Managed role or @everyone (50028)"), (status = 403, description = "Missing permissions or hierarchy (50013)"), (status = 404, description = "Unknown member (10007) or role (10011)")))]
pub async fn add_role(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, member, role) = prepare(&state, &auth, &path).await?;
    let guild_id = access.guild_id();
    let added = match state
        .store
        .add_member_role(guild_id, member.user(), role)
        .await
    {
        Ok(added) => added,
        Err(accord_store::StoreError::NotFound) => {
            return Err(ApiError::Unknown(Unknown::Member));
        }
        Err(e) => return Err(e.into()),
    };
    if added && let Some(updated) = state.store.member(guild_id, member.user()).await? {
        member_updated(&state, &updated).await?;
        role_audit(&state, &access, &headers, &member, role, "$add").await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Take a role from a member (same rules as giving it).
#[utoipa::path(delete, path = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", tag = "members",
    params(("guild_id" = String, Path), ("user_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 204), (status = 400, description = "Managed role or @everyone (50028)"), (status = 403, description = "Missing permissions or hierarchy (50013)"), (status = 404, description = "Unknown member (10007) or role (10011)")))]
pub async fn remove_role(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, member, role) = prepare(&state, &auth, &path).await?;
    let guild_id = access.guild_id();
    let removed = state
        .store
        .remove_member_role(guild_id, member.user(), role)
        .await?;
    if removed && let Some(updated) = state.store.member(guild_id, member.user()).await? {
        member_updated(&state, &updated).await?;
        role_audit(&state, &access, &headers, &member, role, "$remove").await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The MEMBER_ROLE_UPDATE entry for one role given (`$add`) or taken (`$remove`).
async fn role_audit(
    state: &AppState,
    access: &GuildAccess,
    headers: &HeaderMap,
    member: &MemberRecord,
    role: RoleId,
    key: &str,
) {
    let name = access
        .role(role.as_i64())
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let entry = audit_log::Entry::new(action::MEMBER_ROLE_UPDATE, member.user_id).field(
        key,
        serde_json::Value::Null,
        serde_json::json!([{"id": role.to_string(), "name": name}]),
    );
    audit_log::by(state, access, audit_reason(headers).as_deref(), entry).await;
}
