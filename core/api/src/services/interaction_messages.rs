//! The messages of interactions: their `interaction_metadata` shown on message objects, the
//! message a component was used on (edited by UPDATE_MESSAGE), and the messages an interaction
//! token may read, edit and delete (`@original`, follow-ups).

use accord_model::{ApplicationId, ErrorTree, Message, MessageId};
use accord_store::{InteractionRecord, MessageRecord};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::routes::channels::messages::edit::EditMessage;
use crate::services::access::ChannelAccess;
use crate::services::interaction_responses::{publish, standing};
use crate::services::messages::webhook as webhook_messages;
use crate::state::AppState;
use crate::views_message;

/// The `interaction_metadata` and `interaction` of the response messages among `records`, by
/// message id.
pub async fn attach_metadata(
    state: &AppState,
    records: &[MessageRecord],
    views: &mut [Message],
) -> ApiResult<()> {
    let ids: Vec<i64> = records
        .iter()
        .filter(|m| matches!(m.kind, 19 | 20 | 23) && m.webhook_id.is_some())
        .map(|m| m.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    for (id, data) in state.store.message_interactions(&ids).await? {
        let Ok(mut data) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        if let Some(view) = views.iter_mut().find(|v| v.id.as_i64() == id) {
            if let Some(meta) = data["interaction_metadata"].as_object_mut() {
                meta.remove("name");
                meta.remove("command_type");
                meta.retain(|_, v| !v.is_null());
            }
            view.application_id = views_app_id(&data, records, id);
            view.interaction_metadata = Some(data["interaction_metadata"].take());
            let interaction = data["interaction"].take();
            view.interaction = (!interaction.is_null()).then_some(interaction);
        }
    }
    Ok(())
}

fn views_app_id(_data: &Value, records: &[MessageRecord], id: i64) -> Option<ApplicationId> {
    records
        .iter()
        .find(|m| m.id == id)
        .and_then(|m| m.webhook_id)
        .map(ApplicationId::from_i64)
}

/// The message a component interaction was used on.
pub(crate) async fn interacted_message(
    state: &AppState,
    record: &InteractionRecord,
) -> ApiResult<(ChannelAccess, MessageRecord)> {
    let metadata: Value = serde_json::from_str(&record.metadata)
        .map_err(|e| ApiError::Internal(format!("interaction metadata: {e}")))?;
    let id = metadata["interaction_metadata"]["interacted_message_id"]
        .as_str()
        .and_then(|m| m.parse::<MessageId>().ok())
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    let access = standing(state, record).await?;
    let message = state
        .store
        .message(access.channel.channel_id(), id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    Ok((access, message))
}

/// UPDATE_MESSAGE: edits the message the component is on.
pub(crate) async fn update_message(
    state: &AppState,
    record: &InteractionRecord,
    access: &ChannelAccess,
    current: &MessageRecord,
    update: &EditMessage,
) -> ApiResult<Message> {
    let mut tree = ErrorTree::new();
    let mut edit = update.fields(state, current, &mut tree)?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    if let Some(content) = &edit.content {
        let resolved = webhook_messages::resolve(
            state,
            access,
            content,
            update.allowed_mentions.clone().flatten().as_ref(),
        )
        .await?;
        edit.mention_everyone = Some(resolved.everyone);
        edit.mentions = Some(resolved.users);
        edit.mention_roles = Some(resolved.roles);
    }
    let row = state
        .store
        .edit_message(access.channel.channel_id(), current.message_id(), &edit)
        .await?;
    let view = views_message::message(state, &row).await?;
    publish(state, record, access, "MESSAGE_UPDATE", &view).await?;
    Ok(view)
}

/// The message `raw` (`@original` or a follow-up's id) of an interaction, in its channel.
pub async fn message_of(
    state: &AppState,
    record: &InteractionRecord,
    raw: &str,
) -> ApiResult<(ChannelAccess, MessageRecord)> {
    let id = if raw == "@original" {
        record
            .original_message_id
            .map(MessageId::from_i64)
            .ok_or(ApiError::Unknown(Unknown::Message))?
    } else {
        raw.parse()
            .map_err(|_| ApiError::Unknown(Unknown::Message))?
    };
    let access = standing(state, record).await?;
    let linked = state.store.message_interactions(&[id.as_i64()]).await?;
    let original = record.original_message_id == Some(id.as_i64());
    let ours = original
        || linked.iter().any(|(_, data)| {
            serde_json::from_str::<Value>(data)
                .is_ok_and(|d| d["interaction_metadata"]["id"] == json!(record.id.to_string()))
        });
    let message = state
        .store
        .message(access.channel.channel_id(), id)
        .await?
        .filter(|_| ours)
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    Ok((access, message))
}
