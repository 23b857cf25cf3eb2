//! Modals: an application answers a command or component interaction with a form (callback 9
//! MODAL, checked by [`modal_components`]: labels wrapping text inputs or string selects, text
//! displays, legacy action rows of one text input), the invoking session gets
//! INTERACTION_MODAL_CREATE, and the user's answers come back as a MODAL_SUBMIT interaction
//! (type 5), checked against the modal that was shown.

use std::collections::BTreeMap;

use accord_bus::Audience;
use accord_model::{ApplicationId, GuildId, Interaction, InteractionId, InteractionType, UserId};
use accord_store::{InteractionRecord, UserRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::interactions::{self, InvokeBody, TOKEN_LIFETIME_MS};
use crate::services::modal_components;
use crate::state::AppState;
use crate::{views, views_guild, views_message};

/// Records the modal and shows it to the invoking session (INTERACTION_MODAL_CREATE).
pub async fn show(state: &AppState, record: &InteractionRecord, modal: &Value) -> ApiResult<()> {
    state
        .store
        .set_interaction_modal(record.interaction_id(), &modal.to_string())
        .await?;
    let app = state
        .store
        .application(ApplicationId::from_i64(record.application_id))
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let audience = match &record.session_id {
        Some(s) => Audience::Session(s.as_str().into()),
        None => Audience::Users(vec![UserId::from_i64(record.user_id)]),
    };
    let payload = json!({
        "id": record.id.to_string(),
        "nonce": record.nonce,
        "channel_id": record.channel_id.map(|c| c.to_string()),
        "custom_id": modal["custom_id"],
        "title": modal["title"],
        "components": modal["components"],
        "application": {"id": app.id.to_string(), "name": app.name, "icon": app.icon},
    });
    state
        .dispatch("INTERACTION_MODAL_CREATE", audience, &payload)
        .await;
    Ok(())
}

/// The data of a MODAL_SUBMIT as the client sends it.
#[derive(Debug, Clone, Deserialize)]
struct SubmitData {
    /// The interaction that showed the modal.
    id: InteractionId,
    custom_id: String,
    #[serde(default)]
    components: Vec<Value>,
}

fn invalid(message: &str) -> ApiError {
    ApiError::field(&["data"], "COMPONENT_VALIDATION_FAILED", message.to_owned())
}

/// Sends a MODAL_SUBMIT for `user`; returns the stored interaction.
pub async fn invoke_submit(
    state: &AppState,
    user: &UserRecord,
    body: InvokeBody,
) -> ApiResult<InteractionRecord> {
    let data: SubmitData = crate::extract::json::parse(body.data.to_string().as_bytes())?;
    let shown = state
        .store
        .interaction(data.id)
        .await?
        .filter(|r| r.user_id == user.id && r.application_id == body.application_id.as_i64())
        .filter(|r| accord_auth::now_ms() as i64 - r.created_ms <= TOKEN_LIFETIME_MS)
        .ok_or(ApiError::Unknown(Unknown::Interaction))?;
    let modal: Value = shown
        .modal
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .filter(|m: &Value| m["custom_id"] == data.custom_id.as_str())
        .ok_or_else(|| invalid("No such modal was shown."))?;
    let components = modal_components::check_answers(&modal, &data.components)?;
    let app = state
        .store
        .application(body.application_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let place = interactions::place(state, &body, user.user_id(), &app, None).await?;
    let shown_meta: Value = serde_json::from_str(&shown.metadata).unwrap_or(Value::Null);
    let interacted = shown_meta["interaction_metadata"]["interacted_message_id"].clone();
    let message = match interacted.as_str().and_then(|m| m.parse().ok()) {
        Some(m) => match state.store.message(body.channel_id, m).await? {
            Some(row) => Some(json!(views_message::message(state, &row).await?)),
            None => None,
        },
        None => None,
    };

    let id: InteractionId = state.ids.next();
    let token = interactions::new_token(id);
    let owners: BTreeMap<String, String> = BTreeMap::from([(
        "0".to_owned(),
        body.guild_id.map_or("0".to_owned(), |g| g.to_string()),
    )]);
    let public = views::public_user(user);
    let (member, user_field) = match &place.guild {
        Some(g) => {
            let mut m = views_guild::member(&g.member, Some(public.clone()));
            m.permissions = Some(place.access.permissions);
            (Some(json!(m)), None)
        }
        None => (None, Some(json!(public))),
    };
    let guild_record = place.guild.as_ref().map(|g| &g.guild);
    let payload = Interaction {
        id,
        application_id: app.application_id(),
        kind: InteractionType::ModalSubmit,
        data: Some(json!({"custom_id": data.custom_id, "components": components})),
        guild_id: body.guild_id,
        guild: guild_record
            .map(|g| json!({"id": g.id.to_string(), "locale": g.preferred_locale, "features": []})),
        channel: Some(interactions::channel_view(state, &place).await?),
        channel_id: Some(body.channel_id),
        member,
        user: user_field,
        token: token.clone(),
        version: 1,
        message,
        app_permissions: place.app_permissions,
        locale: Some(user.locale.clone()),
        guild_locale: guild_record.map(|g| g.preferred_locale.clone()),
        entitlements: Vec::new(),
        authorizing_integration_owners: owners.clone(),
        context: Some(place.context),
        attachment_size_limit: state.config.limits.attachment_size_bytes,
    };
    let mut meta = json!({
        "id": id, "type": InteractionType::ModalSubmit, "user": public,
        "authorizing_integration_owners": owners,
        "triggering_interaction_metadata": shown_meta["interaction_metadata"],
    });
    if !interacted.is_null() {
        meta["interacted_message_id"] = interacted;
    }
    let record = InteractionRecord {
        id: id.as_i64(),
        application_id: app.id,
        kind: InteractionType::ModalSubmit as i32,
        token_hash: accord_auth::secret_digest(&token),
        user_id: user.id,
        guild_id: body.guild_id.map(GuildId::as_i64),
        channel_id: Some(body.channel_id.as_i64()),
        session_id: body.session_id.clone(),
        nonce: body.nonce.as_ref().map(interactions::nonce_text),
        metadata: json!({"interaction_metadata": meta, "interaction": null}).to_string(),
        created_ms: accord_auth::now_ms() as i64,
        responded: 0,
        original_message_id: None,
        modal: None,
    };
    interactions::start(state, &app, &record, &payload).await?;
    Ok(record)
}
