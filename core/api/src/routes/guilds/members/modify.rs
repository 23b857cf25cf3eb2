//! Editing members: `PATCH /guilds/{guild.id}/members/{user.id}` (nickname, roles, voice mute
//! and deafen, timeout, flags), `PATCH …/members/@me` and the deprecated `…/members/@me/nick`.

use accord_auth::now_ms;
use accord_model::{
    ChannelId, ErrorTree, GuildMember, GuildMemberFlags, Permissions, RoleId, Timestamp,
};
use accord_store::{MemberPatch, MemberRecord};
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actions::member_updated;
use super::{load, render, target};
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::images::{self, Change};
use crate::services::roles::{check_assignable, check_outranks};
use crate::state::AppState;

/// Longest timeout: 28 days.
const MAX_TIMEOUT_MS: i64 = 28 * 24 * 3600 * 1000;

/// `PATCH /guilds/{id}/members/{user.id}` body (absent = unchanged; null clears).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyMemberBody {
    /// Nickname (1–32 characters; null or "" removes it).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub nick: Option<Option<String>>,
    /// Every role the member should hold (null = none).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub roles: Option<Option<Vec<RoleId>>>,
    /// Server mute.
    #[serde(default)]
    pub mute: Option<bool>,
    /// Server deafen.
    #[serde(default)]
    pub deaf: Option<bool>,
    /// Voice channel to move to (voice is not available yet; null disconnects).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<Option<ChannelId>>,
    /// End of a timeout, at most 28 days ahead; null lifts it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub communication_disabled_until: Option<Option<Timestamp>>,
    /// Member flags (only BYPASSES_VERIFICATION can change).
    #[serde(default)]
    pub flags: Option<u64>,
}

/// Checks a nickname; returns what to store (`None` removes it).
fn check_nick(tree: &mut ErrorTree, nick: &Option<String>) -> Option<String> {
    let nick = nick.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
    let len = nick.chars().count();
    if len > 32 {
        tree.add(
            &["nick"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        );
    } else if nick.chars().any(char::is_control) {
        tree.add(
            &["nick"],
            "BASE_TYPE_INVALID",
            "Must not contain control characters.",
        );
    }
    Some(nick.to_owned())
}

/// The changes a member edit makes, once every check has passed.
struct Plan {
    patch: MemberPatch,
    roles: Option<Vec<RoleId>>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        let p = &self.patch;
        self.roles.is_none()
            && p.nick.is_none()
            && p.deaf.is_none()
            && p.mute.is_none()
            && p.flags.is_none()
            && p.communication_disabled_until.is_none()
            && p.avatar.is_none()
            && p.banner.is_none()
    }
}

/// Validates the body and checks every permission it needs; changes nothing.
fn plan(access: &GuildAccess, member: &MemberRecord, body: &ModifyMemberBody) -> ApiResult<Plan> {
    let mut tree = ErrorTree::new();
    let mut patch = MemberPatch::default();
    if let Some(nick) = &body.nick {
        patch.nick = Some(check_nick(&mut tree, nick));
    }
    let mut wanted_roles: Option<Vec<RoleId>> = None;
    if let Some(roles) = &body.roles {
        let mut list: Vec<RoleId> = Vec::new();
        for (i, id) in roles.iter().flatten().enumerate() {
            if access.role(id.as_i64()).is_none() {
                let index = i.to_string();
                tree.add(
                    &["roles", index.as_str()],
                    "UNKNOWN_ROLE",
                    format!("Unknown role {id}."),
                );
            } else if !list.contains(id) {
                list.push(*id);
            }
        }
        wanted_roles = Some(list);
    }
    if matches!(body.channel_id, Some(Some(_))) {
        tree.add(
            &["channel_id"],
            "VOICE_UNAVAILABLE",
            "Voice channels are not available on this instance yet, so members cannot be moved.",
        );
    }
    if let Some(until) = &body.communication_disabled_until {
        let until = until.as_ref().map(Timestamp::unix_micros);
        if until.is_some_and(|u| u / 1000 > now_ms() as i64 + MAX_TIMEOUT_MS) {
            tree.add(
                &["communication_disabled_until"],
                "COMMUNICATION_DISABLED_TOO_LONG",
                "A timeout can last at most 28 days.",
            );
        }
        patch.communication_disabled_until =
            Some(until.and_then(DateTime::<Utc>::from_timestamp_micros));
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }

    let myself = member.user_id == access.user_id.as_i64();
    let has = |p: Permissions| access.permissions.contains(p);
    if patch.nick.is_some() {
        let allowed =
            has(Permissions::MANAGE_NICKNAMES) || (myself && has(Permissions::CHANGE_NICKNAME));
        if !allowed {
            return Err(ApiError::MissingPermissions);
        }
    }
    let mut roles = None;
    if let Some(wanted) = wanted_roles {
        access.require(Permissions::MANAGE_ROLES)?;
        let held = member.role_ids();
        let added = wanted.iter().filter(|r| !held.contains(r));
        let removed = held.iter().filter(|r| !wanted.contains(r));
        for id in added.chain(removed) {
            let role = access
                .role(id.as_i64())
                .ok_or(ApiError::Unknown(Unknown::Role))?;
            check_assignable(access, role)?;
        }
        let mut sorted = wanted;
        sorted.sort_by_key(|r| r.get());
        if sorted != held {
            roles = Some(sorted);
        }
    }
    if let Some(mute) = body.mute {
        access.require(Permissions::MUTE_MEMBERS)?;
        patch.mute = Some(mute);
    }
    if let Some(deaf) = body.deaf {
        access.require(Permissions::DEAFEN_MEMBERS)?;
        patch.deaf = Some(deaf);
    }
    if body.channel_id.is_some() {
        // Only null gets here: nobody is in a voice channel, so there is nobody to disconnect.
        access.require(Permissions::MOVE_MEMBERS)?;
    }
    if let Some(until) = patch.communication_disabled_until {
        access.require(Permissions::MODERATE_MEMBERS)?;
        if until.is_some() {
            let standing = GuildAccess::from_parts(
                member.user(),
                access.guild.clone(),
                member.clone(),
                access.roles.clone(),
            );
            // Owners and administrators cannot be timed out, and nobody times out themselves.
            if standing.permissions.contains(Permissions::ADMINISTRATOR)
                || !access.can_manage_member(member)
            {
                return Err(ApiError::MissingPermissions);
            }
        }
    }
    if let Some(flags) = body.flags {
        let allowed = has(Permissions::MANAGE_GUILD)
            || has(Permissions::MANAGE_ROLES)
            || has(Permissions::MODERATE_MEMBERS
                | Permissions::KICK_MEMBERS
                | Permissions::BAN_MEMBERS);
        if !allowed {
            return Err(ApiError::MissingPermissions);
        }
        let editable = GuildMemberFlags::BYPASSES_VERIFICATION.bits();
        let current = member.flags as u64;
        patch.flags = Some(((current & !editable) | (flags & editable)) as i32);
    }
    let plan = Plan { patch, roles };
    if !plan.is_empty() {
        check_outranks(access, member)?;
    }
    Ok(plan)
}

/// Applies a plan and publishes GUILD_MEMBER_UPDATE when the member changed; returns the member.
async fn apply(state: &AppState, member: MemberRecord, plan: Plan) -> ApiResult<MemberRecord> {
    if plan.is_empty() {
        return Ok(member);
    }
    let (guild_id, user) = (
        accord_model::GuildId::from_i64(member.guild_id),
        member.user(),
    );
    let not_found = |e: accord_store::StoreError| match e {
        accord_store::StoreError::NotFound => ApiError::Unknown(Unknown::Member),
        e => e.into(),
    };
    if let Some(roles) = &plan.roles {
        state
            .store
            .set_member_roles(guild_id, user, roles)
            .await
            .map_err(not_found)?;
    }
    let updated = state
        .store
        .update_member(guild_id, user, &plan.patch)
        .await
        .map_err(not_found)?;
    if updated != member {
        member_updated(state, &updated).await?;
    }
    Ok(updated)
}

async fn respond(state: &AppState, member: MemberRecord) -> ApiResult<axum::Json<GuildMember>> {
    render(state, std::slice::from_ref(&member))
        .await?
        .pop()
        .map(axum::Json)
        .ok_or(ApiError::Unknown(Unknown::Member))
}

/// Modify a member: nickname (MANAGE_NICKNAMES, or CHANGE_NICKNAME for oneself), roles
/// (MANAGE_ROLES; roles below the caller's highest, not managed), mute (MUTE_MEMBERS), deaf
/// (DEAFEN_MEMBERS), timeout (MODERATE_MEMBERS; never the owner or an administrator), flags.
/// Another member must sit below the caller.
#[utoipa::path(patch, path = "/guilds/{guild_id}/members/{user_id}", tag = "members", params(("guild_id" = String, Path), ("user_id" = String, Path)), request_body = ModifyMemberBody,
    responses((status = 200, description = "The member"), (status = 400, description = "Invalid form body (50035) or managed role (50028)"), (status = 403, description = "Missing permissions or hierarchy (50013)"), (status = 404, description = "Unknown member (10007)")))]
pub async fn modify(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((guild_id, user_id)): Path<(String, String)>,
    Json(body): Json<ModifyMemberBody>,
) -> ApiResult<axum::Json<GuildMember>> {
    let access = load(&state, &auth, &guild_id).await?;
    let member = target(&state, &access, &user_id).await?;
    let plan = plan(&access, &member, &body)?;
    let before = member.clone();
    let updated = apply(&state, member, plan).await?;
    let reason = crate::services::moderation::audit_reason(&headers);
    audit(&state, &access, reason.as_deref(), &before, &updated).await;
    respond(&state, updated).await
}

/// The MEMBER_UPDATE entry (nickname, mute, deafen, timeout) and MEMBER_ROLE_UPDATE entry
/// (roles given and taken) of a moderator's change to a member.
async fn audit(
    state: &AppState,
    access: &GuildAccess,
    reason: Option<&str>,
    before: &MemberRecord,
    after: &MemberRecord,
) {
    use crate::services::audit_log::{self, Entry};
    use accord_model::audit_log::action;
    let timeout = |m: &MemberRecord| {
        m.communication_disabled_until
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false))
    };
    let entry = Entry::new(action::MEMBER_UPDATE, after.user_id)
        .change("nick", before.nick.clone(), after.nick.clone())
        .change("mute", before.mute, after.mute)
        .change("deaf", before.deaf, after.deaf)
        .change(
            "communication_disabled_until",
            timeout(before),
            timeout(after),
        );
    if !entry.changes.is_empty() {
        audit_log::by(state, access, reason, entry).await;
    }
    let named = |ids: Vec<i64>| {
        serde_json::Value::Array(
            ids.into_iter()
                .map(|id| {
                    let name = access.role(id).map(|r| r.name.clone()).unwrap_or_default();
                    serde_json::json!({"id": id.to_string(), "name": name})
                })
                .collect(),
        )
    };
    let added: Vec<i64> = after
        .roles
        .iter()
        .filter(|r| !before.roles.contains(r))
        .copied()
        .collect();
    let removed: Vec<i64> = before
        .roles
        .iter()
        .filter(|r| !after.roles.contains(r))
        .copied()
        .collect();
    let mut roles = Entry::new(action::MEMBER_ROLE_UPDATE, after.user_id);
    if !added.is_empty() {
        roles = roles.field("$add", serde_json::Value::Null, named(added));
    }
    if !removed.is_empty() {
        roles = roles.field("$remove", serde_json::Value::Null, named(removed));
    }
    if !roles.changes.is_empty() {
        audit_log::by(state, access, reason, roles).await;
    }
}

/// `PATCH /guilds/{id}/members/@me` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyMeBody {
    /// Nickname (CHANGE_NICKNAME; null or "" removes it).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub nick: Option<Option<String>>,
    /// Guild avatar as a data URI, or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub avatar: Option<Option<String>>,
    /// Guild banner as a data URI, or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub banner: Option<Option<String>>,
    /// Guild bio (not stored yet: only null or "" is accepted).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub bio: Option<Option<String>>,
}

/// The caller's own edit: nickname with CHANGE_NICKNAME, guild avatar and banner.
async fn edit_me(
    state: &AppState,
    auth: &Auth,
    guild_id: &str,
    body: &ModifyMeBody,
) -> ApiResult<MemberRecord> {
    let access = load(state, auth, guild_id).await?;
    let mut tree = ErrorTree::new();
    let mut patch = MemberPatch::default();
    if let Some(nick) = &body.nick {
        patch.nick = Some(check_nick(&mut tree, nick));
    }
    let limits = images::upload_limits(state);
    let avatar = Change::of(&mut tree, "avatar", body.avatar.as_ref(), &limits);
    let banner = Change::of(&mut tree, "banner", body.banner.as_ref(), &limits);
    if matches!(&body.bio, Some(Some(b)) if !b.is_empty()) {
        tree.add(
            &["bio"],
            "MEMBER_BIO_UNAVAILABLE",
            "Guild member bios are not available on this instance yet.",
        );
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    if patch.nick.is_some() {
        access.require(Permissions::CHANGE_NICKNAME)?;
    }
    let (guild, me) = (access.guild_id(), auth.user_id);
    patch.avatar = avatar
        .apply(state, &format!("guilds/{guild}/users/{me}/avatars"))
        .await?;
    patch.banner = banner
        .apply(state, &format!("guilds/{guild}/users/{me}/banners"))
        .await?;
    let plan = Plan { patch, roles: None };
    apply(state, access.member.clone(), plan).await
}

/// Modify the caller's own membership (nickname with CHANGE_NICKNAME).
#[utoipa::path(patch, path = "/guilds/{guild_id}/members/@me", tag = "members", params(("guild_id" = String, Path)), request_body = ModifyMeBody,
    responses((status = 200, description = "The caller's member object"), (status = 403, description = "Missing CHANGE_NICKNAME (50013)")))]
pub async fn modify_me(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Json(body): Json<ModifyMeBody>,
) -> ApiResult<axum::Json<GuildMember>> {
    let updated = edit_me(&state, &auth, &guild_id, &body).await?;
    respond(&state, updated).await
}

/// `PATCH /guilds/{id}/members/@me/nick` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NickBody {
    /// Nickname (null or "" removes it).
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub nick: Option<Option<String>>,
}

/// The deprecated nickname route's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NickResponse {
    /// The nickname now set.
    pub nick: Option<String>,
}

/// Change the caller's nickname (deprecated form of `PATCH …/members/@me`).
#[utoipa::path(patch, path = "/guilds/{guild_id}/members/@me/nick", tag = "members", params(("guild_id" = String, Path)), request_body = NickBody,
    responses((status = 200, body = NickResponse), (status = 403, description = "Missing CHANGE_NICKNAME (50013)")))]
pub async fn modify_my_nick(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Json(body): Json<NickBody>,
) -> ApiResult<axum::Json<NickResponse>> {
    let me = ModifyMeBody {
        nick: Some(body.nick.flatten()),
        ..ModifyMeBody::default()
    };
    let updated = edit_me(&state, &auth, &guild_id, &me).await?;
    Ok(axum::Json(NickResponse { nick: updated.nick }))
}
