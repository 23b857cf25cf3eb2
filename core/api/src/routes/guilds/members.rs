//! `/guilds/{guild.id}/members`.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Registers the members routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
}
