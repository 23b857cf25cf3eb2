//! What the application routes share: the response body and the editable fields.

use accord_model::application::ApplicationFlags;
use accord_model::{Application, ErrorTree};
use accord_store::{ApplicationPatch, ApplicationRecord};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::services::images::{self, Change};
use crate::services::validate;
use crate::state::AppState;
use crate::views;

/// The flags an application's owner may set: the privileged gateway intents.
pub fn settable_flags() -> u64 {
    (ApplicationFlags::GATEWAY_PRESENCE
        | ApplicationFlags::GATEWAY_PRESENCE_LIMITED
        | ApplicationFlags::GATEWAY_GUILD_MEMBERS
        | ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED
        | ApplicationFlags::GATEWAY_MESSAGE_CONTENT
        | ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED)
        .bits()
}

/// The application as JSON, with its owner and bot loaded.
pub async fn render(state: &AppState, app: &ApplicationRecord) -> ApiResult<Application> {
    let owner = state
        .store
        .user(accord_model::UserId::from_i64(app.owner_id))
        .await?;
    let bot = match app.bot_user_id {
        Some(id) => state.store.user(accord_model::UserId::from_i64(id)).await?,
        None => None,
    };
    Ok(views::application(app, owner.as_ref(), bot.as_ref()))
}

/// Editable application fields (absent = unchanged).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyApplicationBody {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether anyone may add the bot to a guild.
    #[serde(default)]
    pub bot_public: Option<bool>,
    /// Whether adding the bot needs the full OAuth2 code grant.
    #[serde(default)]
    pub bot_require_code_grant: Option<bool>,
    /// Application flags; only the privileged-intent flags may change.
    #[serde(default)]
    pub flags: Option<u64>,
    /// Interactions endpoint URL, or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub interactions_endpoint_url: Option<Option<String>>,
    /// Icon as a data URI (PNG, JPEG, GIF or WebP), or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub icon: Option<Option<String>>,
}

impl ModifyApplicationBody {
    /// Validates the body against the current application, stores a new icon and builds the
    /// store patch.
    pub async fn to_patch(
        &self,
        state: &AppState,
        current: &ApplicationRecord,
        allow_name: bool,
    ) -> ApiResult<ApplicationPatch> {
        let mut tree = ErrorTree::new();
        let icon = Change::of(
            &mut tree,
            "icon",
            self.icon.as_ref(),
            &images::upload_limits(state),
        );
        if let Some(name) = &self.name {
            if allow_name {
                validate::display_name(&mut tree, "name", name, 1, 100);
            } else {
                tree.add(
                    &["name"],
                    "BASE_TYPE_INVALID",
                    "The name cannot be changed through this route.",
                );
            }
        }
        if let Some(d) = &self.description
            && d.chars().count() > 400
        {
            tree.add(
                &["description"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 400 or fewer in length.",
            );
        }
        let flags = self.flags.map(|requested| {
            let settable = settable_flags();
            if requested & !settable & !(current.flags as u64) != 0 {
                tree.add(
                    &["flags"],
                    "BASE_TYPE_INVALID",
                    "Only the privileged gateway intent flags can be set.",
                );
            }
            ((current.flags as u64 & !settable) | (requested & settable)) as i64
        });
        if let Some(Some(url)) = &self.interactions_endpoint_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            tree.add(
                &["interactions_endpoint_url"],
                "URL_TYPE_INVALID_URL",
                "Not a well formed URL.",
            );
        }
        if !tree.is_empty() {
            return Err(ApiError::InvalidForm(tree));
        }
        if let Some(Some(url)) = &self.interactions_endpoint_url
            && current.interactions_endpoint_url.as_ref() != Some(url)
        {
            crate::services::interaction_endpoint::verify(state, current, url).await?;
        }
        let icon = icon
            .apply(state, &format!("app-icons/{}", current.id))
            .await?;
        Ok(ApplicationPatch {
            name: self.name.as_ref().map(|n| n.trim().to_owned()),
            description: self.description.clone(),
            bot_public: self.bot_public,
            bot_require_code_grant: self.bot_require_code_grant,
            flags,
            interactions_endpoint_url: self.interactions_endpoint_url.clone(),
            icon,
        })
    }
}
