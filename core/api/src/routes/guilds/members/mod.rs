//! `/guilds/{guild.id}/members`: listing (bots need the GUILD_MEMBERS intent), searching and
//! reading members; editing, kicking and member roles live in the submodules.

pub mod actions;
pub mod modify;
pub mod query;

use std::collections::HashMap;

use accord_model::application::ApplicationFlags;
use accord_model::{ErrorTree, GuildId, GuildMember, UserId};
use accord_store::MemberRecord;
use axum::extract::{Path, Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::GuildAccess;
use crate::services::ids;
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild;

/// Registers the members routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list))
        .routes(routes!(search))
        .routes(routes!(modify::modify_me))
        .routes(routes!(modify::modify_my_nick))
        .routes(routes!(get, modify::modify, actions::kick))
        .routes(routes!(actions::add_role, actions::remove_role))
}

/// Members read per query while searching.
const SEARCH_PAGE: u32 = 1000;

/// Member objects with their users, in the order given.
pub async fn render(state: &AppState, members: &[MemberRecord]) -> ApiResult<Vec<GuildMember>> {
    let ids: Vec<UserId> = members.iter().map(MemberRecord::user).collect();
    let users: HashMap<i64, _> = state
        .store
        .users(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(members
        .iter()
        .filter_map(|m| {
            let user = users.get(&m.user_id)?;
            Some(views_guild::member(m, Some(public_user(user))))
        })
        .collect())
}

async fn load(state: &AppState, auth: &Auth, guild_id: &str) -> ApiResult<GuildAccess> {
    GuildAccess::load(state, ids::parse(guild_id, Unknown::Guild)?, auth.user_id).await
}

/// Fails with 50001 when the caller is a bot whose application has neither the GUILD_MEMBERS
/// intent nor its limited form enabled.
pub(crate) async fn require_members_intent(state: &AppState, auth: &Auth) -> ApiResult<()> {
    if !auth.bot {
        return Ok(());
    }
    let wanted =
        ApplicationFlags::GATEWAY_GUILD_MEMBERS | ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED;
    let enabled = state
        .store
        .application_of_bot(auth.user_id)
        .await?
        .is_some_and(|app| app.flags as u64 & wanted.bits() != 0);
    if enabled {
        Ok(())
    } else {
        Err(ApiError::MissingAccess)
    }
}

/// List members by user id (`limit` 1–1000, default 1; `after`). Bots need the GUILD_MEMBERS
/// privileged intent.
#[utoipa::path(get, path = "/guilds/{guild_id}/members", tag = "members",
    params(("guild_id" = String, Path), ("limit" = Option<u32>, Query), ("after" = Option<String>, Query)),
    responses((status = 200, description = "Members"), (status = 400, description = "Invalid query (50035)"), (status = 403, description = "Not a member, or a bot without the GUILD_MEMBERS intent (50001)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Query(q): Query<query::Params>,
) -> ApiResult<axum::Json<Vec<GuildMember>>> {
    let access = load(&state, &auth, &guild_id).await?;
    require_members_intent(&state, &auth).await?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, 1, 1000);
    let after: Option<UserId> = query::snowflake(&mut tree, &q, "after");
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let members = state.store.members(access.guild_id(), after, limit).await?;
    Ok(axum::Json(render(&state, &members).await?))
}

/// Whether `query` (lower case) starts one of the member's names, ignoring case.
fn matches(query: &str, names: &accord_store::members::MemberNames) -> bool {
    let starts = |name: &str| name.to_lowercase().starts_with(query);
    starts(&names.username)
        || names.global_name.as_deref().is_some_and(starts)
        || names.nick.as_deref().is_some_and(starts)
}

/// Members whose username, display name or nickname starts with `query` (case-insensitive;
/// `limit` 1–1000, default 1), by user id.
#[utoipa::path(get, path = "/guilds/{guild_id}/members/search", tag = "members",
    params(("guild_id" = String, Path), ("query" = String, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "Matching members"), (status = 400, description = "Missing query or bad limit (50035)")))]
pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
    Query(q): Query<query::Params>,
) -> ApiResult<axum::Json<Vec<GuildMember>>> {
    let access = load(&state, &auth, &guild_id).await?;
    let mut tree = ErrorTree::new();
    let limit = query::limit(&mut tree, &q, 1, 1000);
    let text = match q.get("query") {
        None => {
            tree.add(&["query"], "BASE_TYPE_REQUIRED", "This field is required");
            String::new()
        }
        Some(t) if t.is_empty() || t.chars().count() > 100 => {
            tree.add(
                &["query"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            );
            String::new()
        }
        Some(t) => t.to_lowercase(),
    };
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let guild_id: GuildId = access.guild_id();
    let mut found: Vec<UserId> = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = state
            .store
            .member_names(guild_id, after, SEARCH_PAGE)
            .await?;
        for names in &page {
            if found.len() < limit as usize && matches(&text, names) {
                found.push(UserId::from_i64(names.user_id));
            }
        }
        match page.last() {
            Some(last) if page.len() == SEARCH_PAGE as usize && found.len() < limit as usize => {
                after = Some(UserId::from_i64(last.user_id));
            }
            _ => break,
        }
    }
    let members = state.store.members_by_ids(guild_id, &found).await?;
    Ok(axum::Json(render(&state, &members).await?))
}

/// Get a member (10007 when the user is not one).
#[utoipa::path(get, path = "/guilds/{guild_id}/members/{user_id}", tag = "members", params(("guild_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, description = "The member"), (status = 404, description = "Unknown member (10007)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((guild_id, user_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<GuildMember>> {
    let access = load(&state, &auth, &guild_id).await?;
    let member = target(&state, &access, &user_id).await?;
    let mut out = render(&state, std::slice::from_ref(&member)).await?;
    out.pop()
        .map(axum::Json)
        .ok_or(ApiError::Unknown(Unknown::Member))
}

/// The member named by a path segment, or 10007.
pub async fn target(state: &AppState, access: &GuildAccess, raw: &str) -> ApiResult<MemberRecord> {
    let user: UserId = ids::parse(raw, Unknown::Member)?;
    state
        .store
        .member(access.guild_id(), user)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Member))
}
