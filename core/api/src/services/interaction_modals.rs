//! Modals: an application answers a command or component interaction with a form (callback 9
//! MODAL: up to 5 action rows of one text input each), the invoking session gets
//! INTERACTION_MODAL_CREATE, and the user's answers come back as a MODAL_SUBMIT interaction
//! (type 5), checked against the modal that was shown.

use std::collections::BTreeMap;

use accord_bus::Audience;
use accord_model::{
    ApplicationId, ErrorTree, GuildId, Interaction, InteractionId, InteractionType, UserId,
};
use accord_store::{InteractionRecord, UserRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::interactions::{self, InvokeBody, TOKEN_LIFETIME_MS};
use crate::state::AppState;
use crate::{views, views_guild, views_message};

fn len(v: &Value, key: &str) -> Option<usize> {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| s.chars().count())
}

/// Adds an error unless the string `key` of `v` is `min`..=`max` characters (absent: only an
/// error when `min` > 0).
fn bounded(tree: &mut ErrorTree, path: &[String], v: &Value, key: &str, min: usize, max: usize) {
    let mut p = path.to_vec();
    p.push(key.into());
    match len(v, key) {
        Some(n) if (min..=max).contains(&n) => {}
        Some(_) => {
            tree.add(
                &p,
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between {min} and {max} in length."),
            );
        }
        None if min > 0 => {
            tree.add(&p, "BASE_TYPE_REQUIRED", "This field is required");
        }
        None => {}
    }
}

/// Checks a MODAL callback's data; returns it as shown.
pub fn validate(data: &Value) -> ApiResult<Value> {
    let mut tree = ErrorTree::new();
    let root = vec!["data".to_owned()];
    bounded(&mut tree, &root, data, "custom_id", 1, 100);
    bounded(&mut tree, &root, data, "title", 1, 45);
    let rows = data
        .get("components")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut ids: Vec<String> = Vec::new();
    let mut layout_ok = (1..=5).contains(&rows.len());
    for (i, row) in rows.iter().enumerate() {
        let path = vec!["data".to_owned(), "components".to_owned(), i.to_string()];
        let children = row.get("components").and_then(Value::as_array);
        let input = match (row.get("type").and_then(Value::as_u64), children) {
            (Some(1), Some(c))
                if c.len() == 1 && c[0].get("type").and_then(Value::as_u64) == Some(4) =>
            {
                &c[0]
            }
            _ => {
                layout_ok = false;
                continue;
            }
        };
        let path = [path, vec!["components".into(), "0".into()]].concat();
        bounded(&mut tree, &path, input, "custom_id", 1, 100);
        bounded(&mut tree, &path, input, "label", 1, 45);
        bounded(&mut tree, &path, input, "value", 0, 4000);
        bounded(&mut tree, &path, input, "placeholder", 0, 100);
        let id = input
            .get("custom_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if ids.contains(&id) {
            let mut p = path.clone();
            p.push("custom_id".into());
            tree.add(
                &p,
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            );
        }
        ids.push(id);
        if !matches!(input.get("style").and_then(Value::as_u64), Some(1 | 2)) {
            let mut p = path.clone();
            p.push("style".into());
            tree.add(&p, "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.");
        }
        let min = input.get("min_length").and_then(Value::as_u64);
        let max = input.get("max_length").and_then(Value::as_u64);
        if min.is_some_and(|m| m > 4000)
            || max.is_some_and(|m| !(1..=4000).contains(&m))
            || min.zip(max).is_some_and(|(a, b)| a > b)
        {
            let mut p = path.clone();
            p.push("min_length".into());
            tree.add(
                &p,
                "COMPONENT_MIN_MAX_INVALID",
                "min_length and max_length must be within 0–4000 and in order.",
            );
        }
    }
    if !layout_ok {
        tree.add(
            &["data", "components"],
            "COMPONENT_LAYOUT_INVALID",
            "A modal holds 1 to 5 action rows of one text input each",
        );
    }
    if tree.is_empty() {
        Ok(data.clone())
    } else {
        Err(ApiError::InvalidForm(tree))
    }
}

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

/// The submitted values checked against the modal: every input known, within its lengths, the
/// required ones given. Returns the components as the application receives them.
fn check_answers(modal: &Value, submitted: &[Value]) -> ApiResult<Vec<Value>> {
    let inputs: Vec<&Value> = modal["components"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["components"].get(0)).collect())
        .unwrap_or_default();
    let mut answers: BTreeMap<String, String> = BTreeMap::new();
    for row in submitted {
        for c in row
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = c.get("custom_id").and_then(Value::as_str).unwrap_or("");
            let value = c.get("value").and_then(Value::as_str).unwrap_or("");
            if !inputs.iter().any(|i| i["custom_id"] == id) || answers.contains_key(id) {
                return Err(invalid("An answer names no input of the modal."));
            }
            answers.insert(id.to_owned(), value.to_owned());
        }
    }
    let mut rows = Vec::new();
    for input in inputs {
        let id = input["custom_id"].as_str().unwrap_or("");
        let value = answers.get(id).cloned().unwrap_or_default();
        let n = value.chars().count() as u64;
        let required = input
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let min = input.get("min_length").and_then(Value::as_u64).unwrap_or(0);
        let max = input
            .get("max_length")
            .and_then(Value::as_u64)
            .unwrap_or(4000);
        if (required && n == 0) || (n > 0 && (n < min || n > max)) {
            return Err(invalid(
                "An answer is missing or outside its input's lengths.",
            ));
        }
        rows.push(json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]}));
    }
    Ok(rows)
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
    let components = check_answers(&modal, &data.components)?;
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
