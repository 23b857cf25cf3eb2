//! `GET/POST /oauth2/authorize` for the bot scope: what the consent screen shows, and adding an
//! application's bot to a guild (its managed role and its membership, written together).

use accord_bus::Audience;
use accord_model::{Application, ApplicationId, ErrorTree, GuildId, Permissions, Role, User};
use accord_store::{ApplicationRecord, NewRole, UserRecord};
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::routes::applications::common::render;
use crate::services::access::GuildAccess;
use crate::services::guild_payload::guild_create;
use crate::services::members::check_can_join;
use crate::services::members::{member_event, user_of};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild::role;

/// The query string of an authorization URL.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AuthorizeQuery {
    /// The application's id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Space-separated scopes; must include `bot`.
    #[serde(default)]
    pub scope: Option<String>,
    /// The permissions requested for the bot's role.
    #[serde(default)]
    pub permissions: Option<String>,
    /// The guild to pre-select.
    #[serde(default)]
    pub guild_id: Option<String>,
}

/// `POST /oauth2/authorize` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AuthorizeBody {
    /// The guild to add the bot to.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub guild_id: Option<GuildId>,
    /// The permissions of the bot's role (overrides the query's).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub permissions: Option<Permissions>,
    /// Whether the user accepted.
    #[serde(default)]
    pub authorize: Option<bool>,
}

/// Where the client goes next.
#[derive(Debug, Serialize, ToSchema)]
pub struct Location {
    /// The URL.
    pub location: String,
}

/// A guild the bot can be added to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentGuild {
    /// Id.
    #[schema(value_type = String)]
    pub id: GuildId,
    /// Name.
    pub name: String,
    /// Icon hash.
    pub icon: Option<String>,
    /// The caller's permissions there.
    #[schema(value_type = String)]
    pub permissions: Permissions,
}

/// What the consent screen shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Consent {
    /// The application.
    #[schema(value_type = Object)]
    pub application: Application,
    /// Its bot.
    #[schema(value_type = Object)]
    pub bot: User,
    /// The caller.
    #[schema(value_type = Object)]
    pub user: User,
    /// The caller's guilds where they hold MANAGE_GUILD.
    pub guilds: Vec<ConsentGuild>,
}

/// GUILD_ROLE_CREATE's payload.
#[derive(Debug, Serialize)]
struct RoleEvent {
    guild_id: GuildId,
    role: Role,
}

/// The validated query: the application, its bot and the permissions the URL asks for.
struct Request {
    app: ApplicationRecord,
    bot: UserRecord,
    permissions: Option<Permissions>,
}

/// Checks the query (50035), then the application: unknown (10002), without a bot (50010),
/// private and not the caller's (50013), or needing the code grant (50035).
async fn resolve(state: &AppState, q: &AuthorizeQuery, caller: &Auth) -> ApiResult<Request> {
    let mut tree = ErrorTree::new();
    if q.client_id.as_deref().unwrap_or_default().is_empty() {
        tree.add(
            &["client_id"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
    }
    let scope = q.scope.as_deref().unwrap_or_default();
    if scope.is_empty() {
        tree.add(&["scope"], "BASE_TYPE_REQUIRED", "This field is required");
    } else if !scope.split([' ', '+']).any(|s| s == "bot") {
        tree.add(
            &["scope"],
            "SCOPE_BOT_REQUIRED",
            "Adding a bot needs the \"bot\" scope.",
        );
    }
    let permissions = match q.permissions.as_deref() {
        None | Some("") => None,
        Some(raw) => match raw.parse::<u64>() {
            Ok(bits) => Some(Permissions::from_bits_truncate(bits)),
            Err(_) => {
                tree.add(&["permissions"], "NUMBER_TYPE_COERCE", "Value is not int.");
                None
            }
        },
    };
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let app_id: ApplicationId = q
        .client_id
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|_| ApiError::Unknown(Unknown::Application))?;
    let app = state
        .store
        .application(app_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let bot_id = app.bot_user_id.ok_or(ApiError::ApplicationHasNoBot)?;
    if !app.bot_public && app.owner_id != caller.user_id.as_i64() {
        return Err(ApiError::MissingPermissions);
    }
    if app.bot_require_code_grant {
        return Err(ApiError::field(
            &["response_type"],
            "BASE_TYPE_REQUIRED",
            "This bot requires the OAuth2 code grant, which this instance does not offer.",
        ));
    }
    let bot = user_of(state, accord_model::UserId::from_i64(bot_id)).await?;
    Ok(Request {
        app,
        bot,
        permissions,
    })
}

/// The consent screen of a bot authorization URL (user accounts only).
#[utoipa::path(get, path = "/oauth2/authorize", tag = "oauth2", params(AuthorizeQuery),
    responses((status = 200, body = Consent), (status = 400, description = "Invalid query (50035), no bot (50010)"),
        (status = 403, description = "Bot (20001), private bot (50013)"), (status = 404, description = "Unknown application (10002)")))]
pub async fn consent(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AuthorizeQuery>,
) -> ApiResult<axum::Json<Consent>> {
    auth.not_bot()?;
    let request = resolve(&state, &q, &auth).await?;
    let user = user_of(&state, auth.user_id).await?;
    let mut guilds = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .guilds_of_user(auth.user_id, None, after, 200)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(GuildId::from_i64(last.id));
        for g in page {
            let guild_id = GuildId::from_i64(g.id);
            let Some(member) = state.store.member(guild_id, auth.user_id).await? else {
                continue;
            };
            let roles = state.store.guild_roles(guild_id).await?;
            let access = GuildAccess::from_parts(auth.user_id, g, member, roles);
            if access.permissions.contains(Permissions::MANAGE_GUILD) {
                guilds.push(ConsentGuild {
                    id: guild_id,
                    name: access.guild.name.clone(),
                    icon: access.guild.icon.clone(),
                    permissions: access.permissions,
                });
            }
        }
    }
    Ok(axum::Json(Consent {
        application: render(&state, &request.app).await?,
        bot: public_user(&request.bot),
        user: public_user(&user),
        guilds,
    }))
}

/// Add an application's bot to a guild where the caller holds MANAGE_GUILD (user accounts
/// only): creates the bot's managed role with the requested permissions and makes the bot a
/// member holding it. A bot that already is a member changes nothing.
#[utoipa::path(post, path = "/oauth2/authorize", tag = "oauth2", params(AuthorizeQuery), request_body = AuthorizeBody,
    responses((status = 200, body = Location), (status = 400, description = "Invalid form (50035), no bot (50010), limits (300xx)"),
        (status = 403, description = "Bot (20001), missing permissions (50013), banned bot (40007)"),
        (status = 404, description = "Unknown application (10002) or guild (10004)")))]
pub async fn authorize(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AuthorizeQuery>,
    Json(body): Json<AuthorizeBody>,
) -> ApiResult<axum::Json<Location>> {
    auth.not_bot()?;
    let request = resolve(&state, &q, &auth).await?;
    let mut tree = ErrorTree::new();
    let query_guild = q
        .guild_id
        .as_deref()
        .and_then(|g| g.parse::<GuildId>().ok());
    let guild_id = body.guild_id.or(query_guild);
    if guild_id.is_none() {
        tree.add(
            &["guild_id"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
    }
    if body.authorize.is_none() {
        tree.add(
            &["authorize"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let base = format!("{}/oauth2/authorized", state.config.api_public_url());
    if body.authorize == Some(false) {
        // Declined: nothing happens, and the client is told so.
        return Ok(axum::Json(Location {
            location: format!("{base}?error=access_denied"),
        }));
    }
    let guild_id = guild_id.ok_or_else(|| ApiError::Internal("guild_id vanished".into()))?;
    let permissions = body
        .permissions
        .map(|p| Permissions::from_bits_truncate(p.bits()))
        .or(request.permissions)
        .unwrap_or(Permissions::empty());
    let access = GuildAccess::load(&state, guild_id, auth.user_id).await?;
    access.require(Permissions::MANAGE_GUILD)?;
    // Nobody grants a bot more than they hold themselves.
    access.require(permissions)?;
    let done = axum::Json(Location { location: base });
    let bot = request.bot;
    if state.store.member(guild_id, bot.user_id()).await?.is_some() {
        return Ok(done);
    }
    check_can_join(&state, guild_id, &bot).await?;
    let limit = state.config.limits.roles_per_guild;
    let roles = access.roles.iter().filter(|r| r.id != guild_id.as_i64());
    if roles.count() >= limit as usize {
        return Err(ApiError::Maximum(Maximum::Roles, limit));
    }
    let mut new_role = NewRole::new(state.ids.next(), guild_id, bot.username.clone());
    new_role.permissions = permissions;
    new_role.managed = true;
    new_role.bot_id = Some(bot.user_id());
    new_role.position = 1;
    let Some((created, member)) = state.store.add_bot_member(&new_role, bot.user_id()).await?
    else {
        // Added meanwhile by someone else: nothing to do.
        return Ok(done);
    };
    state
        .dispatch(
            "GUILD_ROLE_CREATE",
            Audience::Guild(guild_id),
            &RoleEvent {
                guild_id,
                role: role(&created),
            },
        )
        .await;
    state
        .dispatch(
            "GUILD_MEMBER_ADD",
            Audience::Guild(guild_id),
            &member_event(&member, &bot),
        )
        .await;
    let payload = guild_create(&state, guild_id, bot.user_id()).await?;
    state
        .dispatch(
            "GUILD_CREATE",
            Audience::Users(vec![bot.user_id()]),
            &payload,
        )
        .await;
    crate::services::audit_log::by(
        &state,
        &access,
        None,
        crate::services::audit_log::Entry::new(accord_model::audit_log::action::BOT_ADD, bot.id),
    )
    .await;
    Ok(done)
}
