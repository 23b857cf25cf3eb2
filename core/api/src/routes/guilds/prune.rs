//! `/guilds/{guild.id}/prune`: counting (`GET`) and removing (`POST`) the members inactive for
//! a number of days (KICK_MEMBERS and MANAGE_GUILD). What "inactive" means in Accord is
//! documented on `accord_store::prune`: no message sent, no channel read and no joining in the
//! guild since the cutoff.
//!
//! Clients send these parameters in several shapes Discord accepts: the documented JSON body
//! (`days`, `compute_prune_count`, `include_roles` as an array), discord.py's body (the boolean
//! as `"true"`/`"false"`, the roles as one comma-separated string) and twilight's query string
//! on the POST. Each parameter is read from the body, else from the query string.

use std::collections::HashSet;

use accord_model::audit_log::{AuditEntryInfo, action};
use accord_model::{ErrorTree, Permissions};
use accord_store::MemberRecord;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::query::Params;
use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::moderation::audit_reason;
use crate::services::{audit_log, ids, members};
use crate::state::AppState;

/// Registers the prune routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(count, begin))
}

/// Days of inactivity counted when none are given.
const DEFAULT_DAYS: i64 = 7;
/// Most days of inactivity a prune may count.
const MAX_DAYS: i64 = 30;

/// What both prune routes answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PruneAnswer {
    /// Members that would be or were removed; null when `compute_prune_count` was false.
    pub pruned: Option<u64>,
}

/// `POST /guilds/{id}/prune` body (every field optional; loose types read by hand).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BeginPruneBody {
    /// Days of inactivity, 1–30 (default 7).
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub days: Option<Value>,
    /// Whether `pruned` is answered (default true).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub compute_prune_count: Option<Value>,
    /// Roles whose holders may be pruned too (an array of snowflakes).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub include_roles: Option<Value>,
    /// Reason (deprecated: `X-Audit-Log-Reason` wins).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The parameters of a prune, checked.
struct PruneParams {
    days: i64,
    include_roles: HashSet<i64>,
}

/// Reads `value` (a JSON number or a string of one) as the day count.
fn days(tree: &mut ErrorTree, value: Option<&Value>) -> i64 {
    let n = match value {
        None | Some(Value::Null) => return DEFAULT_DAYS,
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if (1..=MAX_DAYS).contains(&n) => n,
        Some(n) if n < 1 => {
            tree.add(
                &["days"],
                "NUMBER_TYPE_MIN",
                "int value should be greater than or equal to 1.",
            );
            DEFAULT_DAYS
        }
        Some(_) => {
            tree.add(
                &["days"],
                "NUMBER_TYPE_MAX",
                format!("int value should be less than or equal to {MAX_DAYS}."),
            );
            DEFAULT_DAYS
        }
        None => {
            tree.add(&["days"], "NUMBER_TYPE_COERCE", "Value is not int.");
            DEFAULT_DAYS
        }
    }
}

/// Reads `value` (a boolean or `"true"`/`"false"`) as `compute_prune_count`.
fn compute_count(tree: &mut ErrorTree, value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => false,
        Some(_) => {
            tree.add(
                &["compute_prune_count"],
                "BASE_TYPE_BOOLEAN",
                "Must be either true or false.",
            );
            true
        }
    }
}

/// Reads `value` (an array of snowflakes, or one comma-separated string of them) as the
/// included roles.
fn include_roles(tree: &mut ErrorTree, value: Option<&Value>) -> HashSet<i64> {
    let raw: Vec<(String, Value)> = match value {
        None | Some(Value::Null) => return HashSet::new(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
            .map(|(i, p)| (i.to_string(), Value::String(p.to_owned())))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.clone()))
            .collect(),
        Some(_) => {
            tree.add(&["include_roles"], "BASE_TYPE_ARRAY", "Must be an array.");
            return HashSet::new();
        }
    };
    let mut roles = HashSet::new();
    for (index, item) in raw {
        let id = match &item {
            Value::String(s) => s.trim().parse::<u64>().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        match id.and_then(|id| i64::try_from(id).ok()) {
            Some(id) => {
                roles.insert(id);
            }
            None => {
                tree.add(
                    &["include_roles", index.as_str()],
                    "NUMBER_TYPE_COERCE",
                    format!(
                        "Value \"{}\" is not snowflake.",
                        item.as_str().unwrap_or("")
                    ),
                );
            }
        }
    }
    roles
}

/// The caller's standing, with both permissions a prune needs.
async fn load(state: &AppState, auth: &Auth, guild_id: &str) -> ApiResult<GuildAccess> {
    let access =
        GuildAccess::load(state, ids::parse(guild_id, Unknown::Guild)?, auth.user_id).await?;
    access.require(Permissions::KICK_MEMBERS | Permissions::MANAGE_GUILD)?;
    Ok(access)
}

/// The members a prune of `params` removes: inactive for `days` (see `accord_store::prune`),
/// holding no role or only included ones, never the owner, and only members the caller may
/// kick (below the caller's highest role, as for a kick).
async fn prunable(
    state: &AppState,
    access: &GuildAccess,
    params: &PruneParams,
) -> ApiResult<Vec<MemberRecord>> {
    let since = accord_store::now() - Duration::days(params.days);
    let inactive = state
        .store
        .inactive_members(access.guild_id(), since)
        .await?;
    Ok(inactive
        .into_iter()
        .filter(|m| {
            m.user_id != access.guild.owner_id
                && m.user_id != access.user_id.as_i64()
                && m.roles.iter().all(|r| params.include_roles.contains(r))
                && access.can_manage_member(m)
        })
        .collect())
}

/// How many members a prune would remove (KICK_MEMBERS and MANAGE_GUILD; `days` 1–30, default
/// 7; `include_roles` comma-separated role ids whose holders may be counted too).
#[utoipa::path(get, path = "/guilds/{guild_id}/prune", tag = "members",
    params(("guild_id" = String, Path), ("days" = Option<i64>, Query), ("include_roles" = Option<String>, Query)),
    responses((status = 200, body = PruneAnswer), (status = 400, description = "Invalid query (50035)"), (status = 403, description = "Missing KICK_MEMBERS or MANAGE_GUILD (50013)")))]
pub async fn count(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Query(q): Query<Params>,
) -> ApiResult<axum::Json<PruneAnswer>> {
    let access = load(&state, &auth, &guild_id).await?;
    let mut tree = ErrorTree::new();
    let query = |name: &str| q.get(name).map(|v| Value::String(v.clone()));
    let params = PruneParams {
        days: days(&mut tree, query("days").as_ref()),
        include_roles: include_roles(&mut tree, query("include_roles").as_ref()),
    };
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let n = prunable(&state, &access, &params).await?.len();
    Ok(axum::Json(PruneAnswer {
        pruned: Some(n as u64),
    }))
}

/// Remove the inactive members (KICK_MEMBERS and MANAGE_GUILD): each goes as a kick does
/// (GUILD_MEMBER_REMOVE, their thread memberships dropped), then one MEMBER_PRUNE audit entry
/// with `delete_member_days` and `members_removed`. Answers `pruned` unless
/// `compute_prune_count` is false.
#[utoipa::path(post, path = "/guilds/{guild_id}/prune", tag = "members",
    params(("guild_id" = String, Path)), request_body = BeginPruneBody,
    responses((status = 200, body = PruneAnswer), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Missing KICK_MEMBERS or MANAGE_GUILD (50013)")))]
pub async fn begin(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
    Query(q): Query<Params>,
    Json(body): Json<BeginPruneBody>,
) -> ApiResult<axum::Json<PruneAnswer>> {
    let access = load(&state, &auth, &guild_id).await?;
    let mut tree = ErrorTree::new();
    let either = |field: &Option<Value>, name: &str| {
        field
            .clone()
            .filter(|v| !v.is_null())
            .or_else(|| q.get(name).map(|v| Value::String(v.clone())))
    };
    let params = PruneParams {
        days: days(&mut tree, either(&body.days, "days").as_ref()),
        include_roles: include_roles(
            &mut tree,
            either(&body.include_roles, "include_roles").as_ref(),
        ),
    };
    let compute = compute_count(
        &mut tree,
        either(&body.compute_prune_count, "compute_prune_count").as_ref(),
    );
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let reason = audit_reason(&headers).or_else(|| {
        body.reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| r.chars().take(512).collect())
    });
    let mut removed: u64 = 0;
    for member in prunable(&state, &access, &params).await? {
        let Some(user) = state.store.user(member.user()).await? else {
            continue;
        };
        match members::remove(&state, access.guild_id(), &user).await {
            Ok(()) => removed += 1,
            // Gone since it was read (left or kicked meanwhile): nothing to remove.
            Err(ApiError::Unknown(Unknown::Member)) => {}
            Err(e) => return Err(e),
        }
    }
    let entry = audit_log::Entry::untargeted(action::MEMBER_PRUNE).options(AuditEntryInfo {
        delete_member_days: Some(params.days.to_string()),
        members_removed: Some(removed.to_string()),
        ..AuditEntryInfo::default()
    });
    audit_log::by(&state, &access, reason.as_deref(), entry).await;
    Ok(axum::Json(PruneAnswer {
        pruned: compute.then_some(removed),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn days_are_read_from_numbers_and_strings_within_1_to_30() {
        let mut tree = ErrorTree::new();
        assert_eq!(days(&mut tree, None), 7);
        assert_eq!(days(&mut tree, Some(&json!(30))), 30);
        assert_eq!(days(&mut tree, Some(&json!("1"))), 1);
        assert!(tree.is_empty());
        for bad in [json!(0), json!(31), json!("x"), json!(true)] {
            let mut tree = ErrorTree::new();
            days(&mut tree, Some(&bad));
            assert!(!tree.is_empty(), "{bad}");
        }
    }

    #[test]
    fn roles_are_read_from_arrays_and_comma_lists() {
        let mut tree = ErrorTree::new();
        let want: HashSet<i64> = [1, 2].into();
        assert_eq!(include_roles(&mut tree, Some(&json!(["1", 2]))), want);
        assert_eq!(include_roles(&mut tree, Some(&json!("1, 2"))), want);
        assert!(tree.is_empty());
        include_roles(&mut tree, Some(&json!(["1", "nope"])));
        assert!(!tree.is_empty());
    }

    #[test]
    fn compute_prune_count_takes_booleans_and_their_strings() {
        let mut tree = ErrorTree::new();
        assert!(compute_count(&mut tree, None));
        assert!(!compute_count(&mut tree, Some(&json!(false))));
        assert!(!compute_count(&mut tree, Some(&json!("false"))));
        assert!(tree.is_empty());
        compute_count(&mut tree, Some(&json!(3)));
        assert!(!tree.is_empty());
    }
}
