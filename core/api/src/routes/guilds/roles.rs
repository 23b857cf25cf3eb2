//! `/guilds/{guild.id}/roles`.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Registers the roles routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
}
