//! `/guilds/{guild.id}/bans`.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Registers the bans routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
}
