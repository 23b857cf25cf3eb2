//! The REST routes; the module tree mirrors Discord's URL tree under `/api/v{9,10}`.

pub mod applications;
pub mod attachments;
pub mod auth;
pub mod channels;
pub mod gateway;
pub mod guilds;
pub mod interactions;
pub mod invites;
pub mod oauth2;
pub mod policies;
pub mod users;
pub mod webhooks;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// For `Option<Option<T>>` body fields: absent stays `None`, `null` becomes `Some(None)`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// The OpenAPI document's header; paths are added from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "Accord API", description = "Discord-compatible REST API served under /api, /api/v9 and /api/v10."),
    modifiers(&BearerLike)
)]
struct ApiDoc;

struct BearerLike;
impl utoipa::Modify for BearerLike {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Bot <token>` for bots, the bare token for user accounts",
            ))),
        );
    }
}

/// Every versioned route, with its OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register::register))
        .routes(routes!(auth::login::login))
        .routes(routes!(auth::logout::logout))
        .routes(routes!(users::me::get_me, users::me::patch_me))
        .routes(routes!(users::user::get_user))
        .routes(routes!(
            applications::collection::create,
            applications::collection::list
        ))
        .routes(routes!(
            applications::me::get_me,
            applications::me::patch_me
        ))
        .routes(routes!(applications::me::get_oauth2_me))
        .routes(routes!(
            applications::application::get,
            applications::application::patch
        ))
        .routes(routes!(applications::bot::create))
        .routes(routes!(applications::bot::reset))
        .routes(routes!(
            applications::commands::collection::list,
            applications::commands::collection::create,
            applications::commands::collection::overwrite
        ))
        .routes(routes!(
            applications::commands::command::get,
            applications::commands::command::patch,
            applications::commands::command::delete
        ))
        .routes(routes!(
            applications::guilds::commands::list,
            applications::guilds::commands::create,
            applications::guilds::commands::overwrite
        ))
        .routes(routes!(
            applications::guilds::command::get,
            applications::guilds::command::patch,
            applications::guilds::command::delete
        ))
        .routes(routes!(applications::guilds::permissions::list))
        .routes(routes!(
            applications::guilds::permissions::get,
            applications::guilds::permissions::put
        ))
        .routes(routes!(guilds::create::create))
        .routes(routes!(
            guilds::guild::get,
            guilds::guild::patch,
            guilds::guild::delete
        ))
        .routes(routes!(guilds::preview::preview))
        .routes(routes!(users::guilds::list))
        .routes(routes!(users::guilds::member))
        .routes(routes!(users::guilds::leave))
        .routes(routes!(gateway::gateway))
        .routes(routes!(gateway::gateway_bot))
        .routes(routes!(policies::instance))
        .routes(routes!(policies::domains))
        .pipe(channels::register)
        .pipe(guilds::roles::register)
        .pipe(guilds::members::register)
        .pipe(guilds::audit_logs::register)
        .pipe(guilds::bans::register)
        .pipe(guilds::prune::register)
        .pipe(guilds::emojis::register)
        .pipe(guilds::stickers::register)
        .pipe(invites::register)
        .pipe(interactions::register)
        .pipe(oauth2::register)
        .pipe(webhooks::register)
        .pipe(attachments::register)
}

/// Lets each route group register itself on the router in turn.
trait Pipe: Sized {
    fn pipe(self, f: impl FnOnce(Self) -> Self) -> Self {
        f(self)
    }
}
impl Pipe for OpenApiRouter<AppState> {}
