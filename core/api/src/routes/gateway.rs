//! `GET /gateway` and `GET /gateway/bot`: where the WebSocket gateway is, and for bots the
//! recommended shard count and their identify budget.

use accord_model::UserId;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::Auth;
use crate::state::AppState;

/// Guilds per recommended shard (Discord recommends one shard per 1,000 guilds).
const GUILDS_PER_SHARD: usize = 1000;

/// `GET /gateway`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayUrl {
    /// The WebSocket URL to connect to.
    pub url: String,
}

/// `session_start_limit` of `GET /gateway/bot`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStartLimit {
    /// Session starts allowed per 24 hours.
    pub total: u32,
    /// Session starts left.
    pub remaining: u32,
    /// Milliseconds until `remaining` resets.
    pub reset_after: u64,
    /// Identifies allowed per 5 seconds.
    pub max_concurrency: u32,
}

/// `GET /gateway/bot`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayBot {
    /// The WebSocket URL to connect to.
    pub url: String,
    /// Recommended number of shards.
    pub shards: u32,
    /// The identify budget.
    pub session_start_limit: SessionStartLimit,
}

/// The gateway's URL (no authentication).
#[utoipa::path(get, path = "/gateway", tag = "gateway", responses((status = 200, body = GatewayUrl)))]
pub async fn gateway(State(state): State<AppState>) -> Json<GatewayUrl> {
    Json(GatewayUrl {
        url: state.config.gateway_public_url(),
    })
}

/// The gateway's URL with the caller's recommended shards and identify budget.
#[utoipa::path(get, path = "/gateway/bot", tag = "gateway",
    responses((status = 200, body = GatewayBot), (status = 401, description = "Unauthorized (0)")))]
pub async fn gateway_bot(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<GatewayBot>> {
    let guilds = state.store.guild_ids_of_user(auth.user_id).await?.len();
    Ok(Json(gateway_bot_for(&state, auth.user_id, guilds)))
}

fn gateway_bot_for(state: &AppState, user: UserId, guilds: usize) -> GatewayBot {
    let budget = state.identifies.remaining(user);
    GatewayBot {
        url: state.config.gateway_public_url(),
        shards: guilds.div_ceil(GUILDS_PER_SHARD).max(1) as u32,
        session_start_limit: SessionStartLimit {
            total: budget.total,
            remaining: budget.remaining,
            reset_after: budget.reset_after_ms,
            max_concurrency: state.config.gateway.max_concurrency,
        },
    }
}
