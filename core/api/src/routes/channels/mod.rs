//! `/channels/*`, `/guilds/{id}/channels` and `/users/@me/channels`.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Registers the channel routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
}
