//! Invites: `/invites/{code}`, `/channels/{id}/invites`, `/guilds/{id}/invites`.

pub mod channel;
pub mod code;
pub mod common;
pub mod guild;
pub mod join;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Registers the invite routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(code::get, code::delete, join::accept))
        .routes(routes!(channel::create, channel::list))
        .routes(routes!(guild::list))
}
