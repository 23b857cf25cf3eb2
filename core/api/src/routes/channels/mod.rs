//! `/channels/*`, `/guilds/{id}/channels` and `/users/@me/channels`.

pub mod channel;
pub mod messages;
pub mod modify;
pub mod permissions;
pub mod pins;
pub mod private;
pub mod reactions;
pub mod recipients;
pub mod typing;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::routes::{guilds, users};
use crate::state::AppState;

/// Registers the channel routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let router = messages::register(pins::register(reactions::register(router)));
    router
        .routes(routes!(
            guilds::channels::list,
            guilds::channels::create,
            guilds::channels::arrange
        ))
        .routes(routes!(channel::get, modify::patch, channel::delete))
        .routes(routes!(permissions::put, permissions::delete))
        .routes(routes!(typing::trigger))
        .routes(routes!(recipients::add, recipients::remove))
        .routes(routes!(users::channels::list, users::channels::create))
}
