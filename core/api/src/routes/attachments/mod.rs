//! Attachments outside messages: `/attachments/refresh-urls`.

pub mod refresh;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Registers the attachment routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(refresh::refresh_urls))
}
