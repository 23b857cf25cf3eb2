//! Invites: `/invites/{code}`, `/channels/{id}/invites`, `/guilds/{id}/invites`.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Registers the invite routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
}
