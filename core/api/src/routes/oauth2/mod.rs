//! `/oauth2/*` (authorizing a bot into a guild).

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Registers the OAuth2 routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
}
