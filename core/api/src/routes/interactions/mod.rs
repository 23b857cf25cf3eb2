//! `/interactions`: a user account invoking an application's command, and the application's
//! first response to an interaction.

pub mod callback;
pub mod create;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Registers the interaction routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(create::create))
        .routes(routes!(callback::callback))
}
