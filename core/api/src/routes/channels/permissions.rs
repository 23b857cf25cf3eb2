//! `PUT/DELETE /channels/{channel.id}/permissions/{overwrite.id}`: one permission overwrite of a
//! guild channel (MANAGE_ROLES in the channel; only permissions the caller holds may be allowed
//! or denied, unless they are an administrator or a MANAGE_ROLES overwrite applies to them).

use accord_bus::Audience;
use accord_model::{ErrorTree, GenericId, Permissions};
use accord_store::{NewOverwrite, OverwriteRecord, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::{ChannelAccess, GuildAccess};
use crate::services::channels::{
    changed_bits, check_grantable, check_target, defined, has_manage_roles_overwrite,
};
use crate::services::ids;
use crate::state::AppState;
use crate::views_guild;

/// `PUT /channels/{id}/permissions/{overwrite_id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditOverwriteBody {
    /// Allowed permissions (default "0").
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub allow: Option<Permissions>,
    /// Denied permissions (default "0").
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub deny: Option<Permissions>,
    /// 0 for a role, 1 for a member.
    #[serde(rename = "type")]
    pub kind: i64,
}

/// The caller's standing in the guild channel, with MANAGE_ROLES there, and its overwrites.
async fn load(
    state: &AppState,
    auth: &Auth,
    channel_id: &str,
    overwrite_id: &str,
) -> ApiResult<(ChannelAccess, GenericId, Vec<OverwriteRecord>)> {
    let access = ChannelAccess::load(
        state,
        ids::parse(channel_id, Unknown::Channel)?,
        auth.user_id,
    )
    .await?;
    access.guild()?;
    access.require(Permissions::MANAGE_ROLES)?;
    let target: GenericId = ids::parse(overwrite_id, Unknown::Overwrite)?;
    let current = state
        .store
        .channel_overwrites(access.channel.channel_id())
        .await?;
    Ok((access, target, current))
}

/// Publishes CHANNEL_UPDATE for the channel with its current overwrites.
async fn channel_updated(
    state: &AppState,
    access: &ChannelAccess,
    guild: &GuildAccess,
) -> ApiResult<()> {
    let c = &access.channel;
    let overwrites = state.store.channel_overwrites(c.channel_id()).await?;
    state
        .dispatch(
            "CHANNEL_UPDATE",
            Audience::Guild(guild.guild_id()),
            &views_guild::channel(c, &overwrites),
        )
        .await;
    Ok(())
}

/// Create or replace the overwrite of a role or member.
#[utoipa::path(put, path = "/channels/{channel_id}/permissions/{overwrite_id}", tag = "channels",
    params(("channel_id" = String, Path), ("overwrite_id" = String, Path)), request_body = EditOverwriteBody,
    responses((status = 204), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown channel (10003), role (10011) or member (10007)")))]
pub async fn put(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((channel_id, overwrite_id)): Path<(String, String)>,
    Json(body): Json<EditOverwriteBody>,
) -> ApiResult<StatusCode> {
    let (access, target, current) = load(&state, &auth, &channel_id, &overwrite_id).await?;
    let guild = access.guild()?;
    let mut tree = ErrorTree::new();
    check_target(&state, guild, &mut tree, &[], target, body.kind).await?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let new = NewOverwrite {
        target_id: target,
        kind: body.kind as i32,
        allow: defined(body.allow),
        deny: defined(body.deny),
    };
    let old: Vec<OverwriteRecord> = current
        .iter()
        .filter(|o| o.target_id == target.as_i64())
        .cloned()
        .collect();
    check_grantable(
        guild,
        access.permissions,
        changed_bits(&old, std::slice::from_ref(&new)),
        has_manage_roles_overwrite(guild, &current),
    )?;
    let stored = state
        .store
        .upsert_overwrite(access.channel.channel_id(), &new)
        .await?;
    if old.first() != Some(&stored) {
        channel_updated(&state, &access, guild).await?;
        let reason = crate::services::moderation::audit_reason(&headers);
        audit(
            &state,
            &access,
            guild,
            reason.as_deref(),
            old.first(),
            Some(&stored),
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Delete the overwrite of a role or member.
#[utoipa::path(delete, path = "/channels/{channel_id}/permissions/{overwrite_id}", tag = "channels",
    params(("channel_id" = String, Path), ("overwrite_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown channel (10003) or overwrite (10009)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((channel_id, overwrite_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (access, target, current) = load(&state, &auth, &channel_id, &overwrite_id).await?;
    let guild = access.guild()?;
    let old = current
        .iter()
        .find(|o| o.target_id == target.as_i64())
        .ok_or(ApiError::Unknown(Unknown::Overwrite))?;
    check_grantable(
        guild,
        access.permissions,
        changed_bits(std::slice::from_ref(old), &[]),
        has_manage_roles_overwrite(guild, &current),
    )?;
    match state
        .store
        .delete_overwrite(access.channel.channel_id(), target)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::Unknown(Unknown::Overwrite)),
        Err(e) => return Err(e.into()),
    }
    channel_updated(&state, &access, guild).await?;
    let reason = crate::services::moderation::audit_reason(&headers);
    audit(&state, &access, guild, reason.as_deref(), Some(old), None).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The CHANNEL_OVERWRITE_CREATE/UPDATE/DELETE entry of an overwrite (`old` none: created;
/// `new` none: deleted), with the overwritten entity in its options.
async fn audit(
    state: &AppState,
    access: &ChannelAccess,
    guild: &GuildAccess,
    reason: Option<&str>,
    old: Option<&OverwriteRecord>,
    new: Option<&OverwriteRecord>,
) {
    use accord_model::audit_log::{AuditEntryInfo, action};
    let Some(o) = new.or(old) else { return };
    let kind = match (old, new) {
        (None, _) => action::CHANNEL_OVERWRITE_CREATE,
        (Some(_), Some(_)) => action::CHANNEL_OVERWRITE_UPDATE,
        (Some(_), None) => action::CHANNEL_OVERWRITE_DELETE,
    };
    let view = |o: Option<&OverwriteRecord>| {
        o.map_or(serde_json::Value::Null, |o| {
            serde_json::json!({
                "id": o.target_id.to_string(),
                "type": o.kind,
                "allow": o.allow.to_string(),
                "deny": o.deny.to_string(),
            })
        })
    };
    let keys: &[&str] = if kind == action::CHANNEL_OVERWRITE_UPDATE {
        &["allow", "deny"]
    } else {
        &["id", "type", "allow", "deny"]
    };
    let options = AuditEntryInfo {
        id: Some(o.target_id.to_string()),
        kind: Some(o.kind.to_string()),
        role_name: (o.kind == 0)
            .then(|| guild.role(o.target_id).map(|r| r.name.clone()))
            .flatten(),
        ..AuditEntryInfo::default()
    };
    let entry = crate::services::audit_log::Entry::new(kind, access.channel.id)
        .diff(keys, &view(old), &view(new))
        .options(options);
    crate::services::audit_log::by(state, guild, reason, entry).await;
}
