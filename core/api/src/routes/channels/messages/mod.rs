//! `/channels/{channel.id}/messages*`: sending, reading, editing and deleting messages.

pub mod ack;
pub mod create;
pub mod delete;
pub mod edit;
pub mod read;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Registers the message routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(read::list, create::create))
        .routes(routes!(read::get, edit::patch, delete::delete))
        .routes(routes!(delete::bulk))
        .routes(routes!(ack::ack))
}
