//! `/channels/*`, `/guilds/{id}/channels` and `/users/@me/channels`.

pub mod channel;
pub mod messages;
pub mod modify;
mod modify_thread;
pub mod permissions;
pub mod pins;
pub mod private;
pub mod reactions;
pub mod recipients;
pub mod thread_members;
pub mod threads;
pub mod threads_archived;
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
        .routes(routes!(threads::from_message))
        .routes(routes!(threads::without_message))
        .routes(routes!(thread_members::join, thread_members::leave))
        .routes(routes!(
            thread_members::add,
            thread_members::remove,
            thread_members::get
        ))
        .routes(routes!(thread_members::list))
        .routes(routes!(threads_archived::public))
        .routes(routes!(threads_archived::private))
        .routes(routes!(threads_archived::joined_private))
        .routes(routes!(guilds::threads::active))
}
