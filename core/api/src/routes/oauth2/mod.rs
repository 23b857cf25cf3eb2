//! `/oauth2/*` (authorizing a bot into a guild).

pub mod authorize;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Registers the OAuth2 routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(authorize::consent, authorize::authorize))
}
