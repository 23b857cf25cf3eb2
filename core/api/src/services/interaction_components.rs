//! Component interactions (type 3): a user presses a button or uses a select menu on one of the
//! application's messages. The component is looked up on the stored message (by `custom_id` and
//! type, not disabled), the selected values checked against it (count, string options) and
//! resolved, and the interaction is sent like a command's. Its answers may edit that message
//! (callbacks 6 DEFERRED_UPDATE_MESSAGE and 7 UPDATE_MESSAGE) or reply to it.

use std::collections::BTreeMap;

use accord_model::{GuildId, Interaction, InteractionId, InteractionType};
use accord_store::{InteractionRecord, UserRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::interaction_options::{self, Wanted};
use crate::services::interactions::{self, InvokeBody};
use crate::state::AppState;
use crate::{views, views_guild, views_message};

/// The data of a component interaction as the client sends it.
#[derive(Debug, Clone, Deserialize)]
struct ComponentData {
    custom_id: String,
    component_type: u8,
    #[serde(default)]
    values: Option<Vec<String>>,
}

fn invalid(message: &str) -> ApiError {
    ApiError::field(&["data"], "COMPONENT_VALIDATION_FAILED", message.to_owned())
}

/// The component of `message_components` with `custom_id`.
fn find<'a>(components: &'a Value, custom_id: &str) -> Option<&'a Value> {
    components.as_array()?.iter().find_map(|row| {
        row.get("components")?
            .as_array()?
            .iter()
            .find(|c| c.get("custom_id").and_then(Value::as_str) == Some(custom_id))
    })
}

/// Checks the selected values against the select menu and collects the ids to resolve.
fn check_values(component: &Value, kind: u8, values: &[String]) -> ApiResult<Wanted> {
    let min = component
        .get("min_values")
        .and_then(Value::as_u64)
        .unwrap_or(1) as usize;
    let max = component
        .get("max_values")
        .and_then(Value::as_u64)
        .unwrap_or(1) as usize;
    if values.len() < min || values.len() > max {
        return Err(invalid(
            "The number of values is outside the select menu's bounds.",
        ));
    }
    let mut wanted = Wanted::default();
    for v in values {
        if kind == 3 {
            let known = component
                .get("options")
                .and_then(Value::as_array)
                .is_some_and(|o| {
                    o.iter()
                        .any(|o| o.get("value").and_then(Value::as_str) == Some(v))
                });
            if !known {
                return Err(invalid("A value is not one of the select menu's options."));
            }
            continue;
        }
        let id: i64 = v
            .parse::<u64>()
            .ok()
            .and_then(|n| i64::try_from(n).ok())
            .ok_or_else(|| invalid("A value is not a snowflake."))?;
        match kind {
            5 => wanted.users.push(id),
            6 => wanted.roles.push(id),
            7 => {
                wanted.users.push(id);
                wanted.roles.push(id);
            }
            _ => wanted.channels.push(id),
        }
    }
    Ok(wanted)
}

/// Sends a component interaction for `user`; returns the stored interaction.
pub async fn invoke(
    state: &AppState,
    user: &UserRecord,
    body: InvokeBody,
) -> ApiResult<InteractionRecord> {
    let data: ComponentData = crate::extract::json::parse(body.data.to_string().as_bytes())?;
    let app = state
        .store
        .application(body.application_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let message_id = body.message_id.ok_or_else(|| {
        ApiError::field(
            &["message_id"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        )
    })?;
    let place = interactions::place(state, &body, user.user_id(), &app, None).await?;
    let message = state
        .store
        .message(body.channel_id, message_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    let from_app = message.webhook_id == Some(app.id) || Some(message.author_id) == app.bot_user_id;
    if !from_app {
        return Err(invalid("The message is not the application's."));
    }
    if crate::services::interaction_responses::is_ephemeral(message.flags) {
        // Only its invoker sees an ephemeral message.
        let linked = state.store.message_interactions(&[message.id]).await?;
        let theirs = linked.iter().any(|(_, d)| {
            serde_json::from_str::<Value>(d).is_ok_and(|d| {
                d["interaction_metadata"]["user"]["id"] == json!(user.id.to_string())
            })
        });
        if !theirs {
            return Err(ApiError::Unknown(Unknown::Message));
        }
    }
    let component = find(&message.components.0, &data.custom_id)
        .ok_or_else(|| invalid("The message has no such component."))?;
    let kind = component.get("type").and_then(Value::as_u64).unwrap_or(0);
    if kind != u64::from(data.component_type)
        || component.get("disabled").and_then(Value::as_bool) == Some(true)
        || !matches!(kind, 2 | 3 | 5..=8)
    {
        return Err(invalid("The component cannot be used."));
    }
    let values = data.values.clone().unwrap_or_default();
    let resolved = if kind == 2 {
        if data.values.is_some() {
            return Err(invalid("Buttons have no values."));
        }
        None
    } else {
        let wanted = check_values(component, data.component_type, &values)?;
        interaction_options::resolve(state, wanted, Vec::new(), body.guild_id, body.channel_id)
            .await?
    };
    let id: InteractionId = state.ids.next();
    let token = interactions::new_token(id);
    let owners: BTreeMap<String, String> = BTreeMap::from([(
        "0".to_owned(),
        body.guild_id.map_or("0".to_owned(), |g| g.to_string()),
    )]);
    let public = views::public_user(user);
    let mut interaction_data =
        json!({"custom_id": data.custom_id, "component_type": data.component_type});
    if kind != 2 {
        interaction_data["values"] = json!(values);
    }
    if let Some(r) = resolved {
        interaction_data["resolved"] = r;
    }
    let (member, user_field) = match &place.guild {
        Some(g) => {
            let mut m = views_guild::member(&g.member, Some(public.clone()));
            m.permissions = Some(place.access.permissions);
            (Some(json!(m)), None)
        }
        None => (None, Some(json!(public))),
    };
    let guild_record = place.guild.as_ref().map(|g| &g.guild);
    let message_view = views_message::message(state, &message).await?;
    let payload = Interaction {
        id,
        application_id: app.application_id(),
        kind: InteractionType::MessageComponent,
        data: Some(interaction_data),
        guild_id: body.guild_id,
        guild: guild_record
            .map(|g| json!({"id": g.id.to_string(), "locale": g.preferred_locale, "features": []})),
        channel: Some(interactions::channel_view(state, &place).await?),
        channel_id: Some(body.channel_id),
        member,
        user: user_field,
        token: token.clone(),
        version: 1,
        message: Some(json!(message_view)),
        app_permissions: place.app_permissions,
        locale: Some(user.locale.clone()),
        guild_locale: guild_record.map(|g| g.preferred_locale.clone()),
        entitlements: Vec::new(),
        authorizing_integration_owners: owners.clone(),
        context: Some(place.context),
        attachment_size_limit: state.config.limits.attachment_size_bytes,
    };
    let metadata = json!({
        "interaction_metadata": {
            "id": id, "type": InteractionType::MessageComponent, "user": public,
            "authorizing_integration_owners": owners,
            "interacted_message_id": message.id.to_string(),
        },
        "interaction": null,
    });
    let record = InteractionRecord {
        id: id.as_i64(),
        application_id: app.id,
        kind: InteractionType::MessageComponent as i32,
        token_hash: accord_auth::secret_digest(&token),
        user_id: user.id,
        guild_id: body.guild_id.map(GuildId::as_i64),
        channel_id: Some(body.channel_id.as_i64()),
        session_id: body.session_id.clone(),
        nonce: body.nonce.as_ref().map(interactions::nonce_text),
        metadata: metadata.to_string(),
        created_ms: accord_auth::now_ms() as i64,
        responded: 0,
        original_message_id: None,
        modal: None,
    };
    interactions::start(state, &app, &record, &payload).await?;
    Ok(record)
}
