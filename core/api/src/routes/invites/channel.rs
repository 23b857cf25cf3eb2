//! `POST/GET /channels/{channel.id}/invites`: creating a channel's invites and listing them.

use accord_bus::Audience;
use accord_model::invite::Invite;
use accord_model::{ChannelType, ErrorTree, GuildId, Permissions, Rights};
use accord_store::{NewInvite, StoreError};
use axum::extract::{Path, State};
use rand::Rng;
use serde::Deserialize;
use utoipa::ToSchema;

use super::common::{only_usable, render, render_one};
use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::ChannelAccess;
use crate::services::{ids, members};
use crate::state::AppState;
use crate::views_invite::invite_create;

/// The longest an invite may live, in seconds (7 days).
pub const MAX_AGE_LIMIT: i64 = 604_800;
/// The most uses an invite may allow.
pub const MAX_USES_LIMIT: i64 = 100;
/// Length of a generated code.
const CODE_LENGTH: usize = 8;
/// Attempts at a free code before giving up.
const CODE_ATTEMPTS: usize = 16;

/// `POST /channels/{id}/invites` body (every field optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateInviteBody {
    /// Lifetime in seconds, 0 (never expires) to 604800; default 86400.
    #[serde(default)]
    pub max_age: Option<i64>,
    /// Most uses, 0 (unlimited) to 100; default 0.
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// Whether membership through it is temporary.
    #[serde(default)]
    pub temporary: Option<bool>,
    /// Never reuse a similar invite.
    #[serde(default)]
    pub unique: Option<bool>,
    /// Stream or embedded-application target (needs voice; refused for now).
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub target_type: Option<serde_json::Value>,
    /// Whose stream to show (refused for now).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub target_user_id: Option<serde_json::Value>,
    /// Which activity to open (refused for now).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub target_application_id: Option<serde_json::Value>,
    /// Roles given on accepting (refused for now).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub role_ids: Option<Vec<serde_json::Value>>,
}

/// The validated settings of a new invite.
struct Settings {
    max_age: i32,
    max_uses: i32,
    temporary: bool,
    unique: bool,
}

fn validate(body: &CreateInviteBody) -> ApiResult<Settings> {
    let mut tree = ErrorTree::new();
    let max_age = body.max_age.unwrap_or(86_400);
    let max_uses = body.max_uses.unwrap_or(0);
    for (field, value, max) in [
        ("max_age", max_age, MAX_AGE_LIMIT),
        ("max_uses", max_uses, MAX_USES_LIMIT),
    ] {
        if value < 0 {
            tree.add(
                &[field],
                "NUMBER_TYPE_MIN",
                "int value should be greater than or equal to 0.",
            );
        } else if value > max {
            tree.add(
                &[field],
                "NUMBER_TYPE_MAX",
                format!("int value should be less than or equal to {max}."),
            );
        }
    }
    for (field, set) in [
        ("target_type", body.target_type.as_ref()),
        ("target_user_id", body.target_user_id.as_ref()),
        ("target_application_id", body.target_application_id.as_ref()),
    ] {
        if set.is_some_and(|v| !v.is_null()) {
            tree.add(
                &[field],
                "INVITE_TARGET_UNAVAILABLE",
                "Stream and activity invites are not available on this instance.",
            );
        }
    }
    if body.role_ids.as_ref().is_some_and(|r| !r.is_empty()) {
        tree.add(
            &["role_ids"],
            "INVITE_ROLES_UNAVAILABLE",
            "Invites that grant roles are not available on this instance.",
        );
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    Ok(Settings {
        max_age: max_age as i32,
        max_uses: max_uses as i32,
        temporary: body.temporary.unwrap_or(false),
        unique: body.unique.unwrap_or(false),
    })
}

/// Whether invites can lead to a channel of this type (not categories, threads or DMs).
fn invitable(kind: ChannelType) -> bool {
    matches!(
        kind,
        ChannelType::GuildText
            | ChannelType::GuildVoice
            | ChannelType::GuildAnnouncement
            | ChannelType::GuildStageVoice
            | ChannelType::GuildForum
            | ChannelType::GuildMedia
    )
}

/// A fresh code: eight characters from `[A-Za-z0-9]`.
fn random_code() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(CODE_LENGTH)
        .map(char::from)
        .collect()
}

/// Create an invite to a guild channel (CREATE_INSTANT_INVITE; instance right CREATE_INVITES).
/// Unless `unique`, an unexpired invite of the caller with the same settings is returned instead.
#[utoipa::path(post, path = "/channels/{channel_id}/invites", tag = "invites", params(("channel_id" = String, Path)), request_body = CreateInviteBody,
    responses((status = 200, description = "The invite with its metadata"), (status = 400, description = "Invalid settings (50035) or wrong channel type (50024)"),
        (status = 403, description = "Missing permissions (50013), DM channel (50003)"), (status = 404, description = "Unknown channel (10003)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(channel_id): Path<String>,
    Json(body): Json<CreateInviteBody>,
) -> ApiResult<axum::Json<Invite>> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    let guild_id: GuildId = access.guild()?.guild_id();
    if !invitable(access.kind()) {
        return Err(ApiError::WrongChannelType);
    }
    access.require(Permissions::CREATE_INSTANT_INVITE)?;
    let inviter = members::user_of(&state, auth.user_id).await?;
    if !inviter.rights().has(Rights::CREATE_INVITES) {
        return Err(ApiError::MissingPermissions);
    }
    let settings = validate(&body)?;

    if !settings.unique {
        let existing = only_usable(state.store.channel_invites(channel_id).await?);
        let same = existing.into_iter().find(|i| {
            i.inviter_id == Some(auth.user_id.as_i64())
                && i.max_age == settings.max_age
                && i.max_uses == settings.max_uses
                && i.temporary == settings.temporary
                && i.target_type.is_none()
        });
        if let Some(same) = same {
            return Ok(axum::Json(render_one(&state, &same, true).await?));
        }
    }
    let in_guild = only_usable(state.store.guild_invites(guild_id).await?).len();
    let limit = state.config.limits.invites_per_guild;
    if in_guild >= limit as usize {
        return Err(ApiError::Maximum(Maximum::Invites, limit));
    }

    let mut created = None;
    for _ in 0..CODE_ATTEMPTS {
        let new = NewInvite {
            code: random_code(),
            guild_id: Some(guild_id),
            channel_id,
            inviter_id: Some(auth.user_id),
            max_age: settings.max_age,
            max_uses: settings.max_uses,
            temporary: settings.temporary,
        };
        match state.store.create_invite(&new).await {
            Ok(record) => {
                created = Some(record);
                break;
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let record =
        created.ok_or_else(|| ApiError::Internal("no free invite code was found".to_owned()))?;
    state
        .dispatch(
            "INVITE_CREATE",
            Audience::Guild(guild_id),
            &invite_create(&record, Some(&inviter)),
        )
        .await;
    crate::services::audit_log::invite(
        &state,
        access.guild()?,
        crate::services::moderation::audit_reason(&headers).as_deref(),
        &record,
        true,
    )
    .await;
    Ok(axum::Json(render_one(&state, &record, true).await?))
}

/// List a guild channel's invites with their metadata (MANAGE_CHANNELS); expired and used-up
/// invites are left out.
#[utoipa::path(get, path = "/channels/{channel_id}/invites", tag = "invites", params(("channel_id" = String, Path)),
    responses((status = 200, description = "Invite objects with metadata"), (status = 403, description = "Missing permissions (50013), DM channel (50003)"),
        (status = 404, description = "Unknown channel (10003)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Invite>>> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    access.guild()?;
    access.require(Permissions::MANAGE_CHANNELS)?;
    let invites = only_usable(state.store.channel_invites(channel_id).await?);
    Ok(axum::Json(render(&state, &invites, true).await?))
}
