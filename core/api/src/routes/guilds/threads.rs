//! `GET /guilds/{guild.id}/threads/active`: the guild's active threads the caller can view,
//! public and private, with the caller's memberships.

use accord_model::ThreadMember;
use axum::extract::{Path, State};
use serde::Serialize;

use crate::error::{ApiResult, Unknown};
use crate::extract::Auth;
use crate::services::access::GuildAccess;
use crate::services::guild_payload::visible_active_threads;
use crate::services::ids;
use crate::state::AppState;

/// The active threads and the caller's thread members.
#[derive(Debug, Serialize)]
pub struct ActiveThreads {
    /// Active threads the caller can view.
    pub threads: Vec<accord_model::Channel>,
    /// The caller's memberships among them.
    pub members: Vec<ThreadMember>,
}

/// List a guild's active threads.
#[utoipa::path(get, path = "/guilds/{guild_id}/threads/active", tag = "threads", params(("guild_id" = String, Path)),
    responses((status = 200, description = "{threads, members}"), (status = 404, description = "Unknown guild (10004)")))]
pub async fn active(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<ActiveThreads>> {
    let access =
        GuildAccess::load(&state, ids::parse(&guild_id, Unknown::Guild)?, auth.user_id).await?;
    let overwrites = state.store.guild_overwrites(access.guild_id()).await?;
    let mut threads = visible_active_threads(&state, &access, &overwrites, None).await?;
    let members = threads.iter_mut().filter_map(|t| t.member.take()).collect();
    Ok(axum::Json(ActiveThreads { threads, members }))
}
