//! Answering interactions: the first response (`POST /interactions/{id}/{token}/callback`)
//! within 3 seconds and only once, and the messages an application sends with the interaction
//! token for 15 minutes (`@original` and follow-ups through `/webhooks/{application.id}/{token}`).
//! Response messages are authored by the application's bot, typed 20 (slash command) or 23
//! (context menu command), carry `interaction_metadata`, and with the EPHEMERAL flag reach only
//! the invoking user.

use accord_auth::now_ms;
use accord_bus::Audience;
use accord_model::{
    ApplicationId, CallbackType, ChannelId, CommandOptionChoice, ErrorTree, GuildId, InteractionId,
    InteractionType, Message, MessageFlags, MessageId, Permissions, UserId, WebhookId,
};
use accord_store::{InteractionRecord, NewMessage};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::multipart::Upload;
use crate::routes::channels::messages::edit::EditMessage;
use crate::services::access::ChannelAccess;
use crate::services::interaction_messages;
use crate::services::interactions::{self, FIRST_RESPONSE_MS, TOKEN_LIFETIME_MS};
use crate::services::messages::webhook::{self as webhook_messages, ExecuteWebhook};
use crate::services::messages::{
    SENDABLE_FLAGS, TEXT_CHANNEL_TYPES, embeds, events, mentions, uploads,
};
use crate::state::AppState;
use crate::views_message;

/// The callback body.
#[derive(Debug, Clone, Deserialize)]
pub struct CallbackBody {
    /// The callback type.
    #[serde(rename = "type")]
    pub kind: CallbackType,
    /// Its data (a message, autocomplete choices, a modal).
    #[serde(default)]
    pub data: Option<Value>,
}

/// Autocomplete result data.
#[derive(Debug, Clone, Deserialize)]
struct AutocompleteData {
    choices: Vec<CommandOptionChoice>,
}

fn unknown() -> ApiError {
    ApiError::Unknown(Unknown::Interaction)
}

/// The interaction `raw_id` if `token` is its token and it is less than 15 minutes old.
pub async fn by_id(state: &AppState, raw_id: &str, token: &str) -> ApiResult<InteractionRecord> {
    let id: InteractionId = raw_id.parse().map_err(|_| unknown())?;
    let record = state
        .store
        .interaction(id)
        .await?
        .filter(|r| r.token_hash == accord_auth::secret_digest(token))
        .ok_or_else(unknown)?;
    if now_ms() as i64 - record.created_ms > TOKEN_LIFETIME_MS {
        return Err(unknown());
    }
    Ok(record)
}

/// The interaction of application `raw_app` with `token`, if less than 15 minutes old.
pub async fn by_token(
    state: &AppState,
    raw_app: &str,
    token: &str,
) -> ApiResult<Option<InteractionRecord>> {
    let Ok(app) = raw_app.parse::<ApplicationId>() else {
        return Ok(None);
    };
    Ok(state
        .store
        .interaction_by_token_hash(app.as_i64(), &accord_auth::secret_digest(token))
        .await?
        .filter(|r| now_ms() as i64 - r.created_ms <= TOKEN_LIFETIME_MS))
}

/// The channel an interaction happened in, with every permission (the application answers as
/// a webhook does).
pub async fn standing(state: &AppState, record: &InteractionRecord) -> ApiResult<ChannelAccess> {
    let channel_id = record
        .channel_id
        .map(ChannelId::from_i64)
        .ok_or(ApiError::Unknown(Unknown::Channel))?;
    let channel = state
        .store
        .channel(channel_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Channel))?;
    Ok(ChannelAccess {
        channel,
        permissions: Permissions::all(),
        guild: None,
    })
}

/// Whether a message is ephemeral.
pub fn is_ephemeral(flags: i64) -> bool {
    flags as u64 & MessageFlags::EPHEMERAL.bits() != 0
}

/// Publishes a change of an interaction response message: to the channel, or to the invoking
/// user alone when it is ephemeral.
pub async fn publish(
    state: &AppState,
    record: &InteractionRecord,
    access: &ChannelAccess,
    event: &str,
    view: &Message,
) -> ApiResult<()> {
    let payload = events::gateway_view(state, access, view).await?;
    let audience = if is_ephemeral(view.flags.map_or(0, |f| f.bits() as i64)) {
        Audience::Users(vec![UserId::from_i64(record.user_id)])
    } else {
        Audience::Channel(access.channel.channel_id())
    };
    state.dispatch(event, audience, &payload).await;
    Ok(())
}

/// Sends a response message (`original`: the first response, else a follow-up) for the
/// interaction. `loading` makes the "thinking" message of a deferred response.
pub async fn send(
    state: &AppState,
    record: &InteractionRecord,
    body: ExecuteWebhook,
    files: Vec<Upload>,
    original: bool,
    loading: bool,
) -> ApiResult<Message> {
    let access = standing(state, record).await?;
    let channel = &access.channel;
    let channel_id = channel.channel_id();
    if !TEXT_CHANNEL_TYPES.contains(&channel.kind) {
        return Err(ApiError::NonTextChannel);
    }
    let app = state
        .store
        .application(ApplicationId::from_i64(record.application_id))
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let bot = app.bot_user_id.ok_or(ApiError::ApplicationHasNoBot)?;
    let mut tree = ErrorTree::new();
    let content = body.content.clone().unwrap_or_default();
    let max = state.config.limits.message_length as usize;
    if content.chars().count() > max {
        tree.add(
            &["content"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        );
    }
    let embeds = embeds::validate(
        &mut tree,
        body.embeds.clone().unwrap_or_default(),
        state.config.limits.embeds_per_message as usize,
    );
    if let Some(a) = &body.allowed_mentions {
        mentions::validate(&mut tree, a);
    }
    let flags = body.flags.unwrap_or(0);
    let allowed = SENDABLE_FLAGS | MessageFlags::EPHEMERAL.bits();
    if flags & !allowed != 0 {
        tree.add(
            &["flags"],
            "MESSAGE_FLAGS_INVALID",
            "Only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_COMPONENTS_V2 and EPHEMERAL can be set.",
        );
    }
    let has_files = !files.is_empty();
    let (components, prepared) =
        webhook_messages::components_and_uploads(state, &mut tree, &access, &body, files)?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    if !loading
        && content.trim().is_empty()
        && embeds.is_empty()
        && components.is_empty()
        && !has_files
    {
        return Err(ApiError::EmptyMessage);
    }
    let resolved =
        webhook_messages::resolve(state, &access, &content, body.allowed_mentions.as_ref()).await?;
    let metadata: Value = serde_json::from_str(&record.metadata)
        .map_err(|e| ApiError::Internal(format!("interaction metadata: {e}")))?;
    let context_menu = matches!(
        metadata["interaction_metadata"]["command_type"].as_u64(),
        Some(2 | 3)
    );
    let interacted = metadata["interaction_metadata"]["interacted_message_id"]
        .as_str()
        .and_then(|m| m.parse::<MessageId>().ok());
    let mut new = NewMessage::new(state.ids.next(), channel_id, UserId::from_i64(bot), content);
    new.guild_id = channel.guild_id.map(GuildId::from_i64);
    new.webhook_id = Some(WebhookId::from_i64(app.id));
    new.kind = if interacted.is_some() {
        19
    } else if context_menu {
        23
    } else {
        20
    };
    new.reference = interacted.map(|m| (m, channel_id, new.guild_id));
    new.tts = body.tts == Some(true);
    new.mention_everyone = resolved.everyone;
    new.flags = (flags
        | if loading {
            MessageFlags::LOADING.bits()
        } else {
            0
        }) as i64;
    new.embeds = serde_json::to_value(&embeds).map_err(|e| ApiError::Internal(e.to_string()))?;
    new.components = Value::Array(components);
    new.mentions = resolved.users.clone();
    new.mention_roles = resolved.roles.clone();
    new.attachments = prepared.iter().map(|p| p.row.clone()).collect();
    uploads::store(state, &prepared).await?;
    let message = match state.store.create_message(&new).await {
        Ok(r) => r,
        Err(e) => {
            uploads::discard(state, &prepared).await;
            return Err(e.into());
        }
    };
    // Unread mentions for those the response mentions, as any message; an ephemeral one is not
    // in the channel's history, so it leaves everyone's read state alone.
    if !is_ephemeral(new.flags) {
        let mentioned: Vec<UserId> = resolved
            .users
            .iter()
            .copied()
            .filter(|u| u.as_i64() != bot)
            .collect();
        if !mentioned.is_empty() {
            state.store.add_mentions(channel_id, &mentioned).await?;
        }
    }
    let mut shown = metadata.clone();
    if !original && let Some(original_id) = record.original_message_id {
        shown["interaction_metadata"]["original_response_message_id"] =
            json!(original_id.to_string());
    }
    state
        .store
        .add_message_interaction(
            message.message_id(),
            record.interaction_id(),
            &shown.to_string(),
        )
        .await?;
    if original {
        state
            .store
            .set_original_message(record.interaction_id(), Some(message.message_id()))
            .await?;
    }
    let view = views_message::message(state, &message).await?;
    publish(state, record, &access, "MESSAGE_CREATE", &view).await?;
    Ok(view)
}

/// The interaction type of a stored row.
fn interaction_type(kind: i32) -> Option<InteractionType> {
    serde_json::from_value(json!(kind)).ok()
}

/// What `with_response=true` answers.
fn callback_response(
    record: &InteractionRecord,
    kind: CallbackType,
    message: Option<&Message>,
) -> Value {
    let mut interaction = json!({"id": record.id.to_string(), "type": record.kind});
    if let Some(m) = message {
        interaction["response_message_id"] = json!(m.id);
        interaction["response_message_loading"] =
            json!(m.flags.is_some_and(|f| f.contains(MessageFlags::LOADING)));
        interaction["response_message_ephemeral"] =
            json!(m.flags.is_some_and(|f| f.contains(MessageFlags::EPHEMERAL)));
    }
    let mut resource = json!({"type": kind});
    if let (Some(m), CallbackType::ChannelMessageWithSource) = (message, kind) {
        resource["message"] = json!(m);
    }
    json!({"interaction": interaction, "resource": resource})
}

/// Handles a first response; returns the `with_response` body.
pub async fn callback(
    state: &AppState,
    record: InteractionRecord,
    body: CallbackBody,
    files: Vec<Upload>,
) -> ApiResult<Value> {
    let kind = interaction_type(record.kind);
    use CallbackType as C;
    let from_component = record.metadata.contains("\"interacted_message_id\"");
    let valid = match body.kind {
        C::Pong => kind == Some(InteractionType::Ping),
        C::ChannelMessageWithSource | C::DeferredChannelMessageWithSource => matches!(
            kind,
            Some(
                InteractionType::ApplicationCommand
                    | InteractionType::MessageComponent
                    | InteractionType::ModalSubmit
            )
        ),
        C::DeferredUpdateMessage | C::UpdateMessage => from_component,
        C::ApplicationCommandAutocompleteResult => {
            kind == Some(InteractionType::ApplicationCommandAutocomplete)
        }
        C::Modal => matches!(
            kind,
            Some(InteractionType::ApplicationCommand | InteractionType::MessageComponent)
        ),
        // Premium buttons and Activities do not exist on this instance.
        C::PremiumRequired | C::LaunchActivity => false,
    };
    if !valid {
        return Err(ApiError::field(
            &["type"],
            "INTERACTION_RESPONSE_TYPE_INVALID",
            "This response type is not valid for this interaction.",
        ));
    }
    // Validate the data before the response is claimed.
    let message_body: Option<ExecuteWebhook> = match body.kind {
        C::ChannelMessageWithSource | C::DeferredChannelMessageWithSource => Some(
            serde_json::from_value(body.data.clone().unwrap_or(json!({})))
                .map_err(|e| ApiError::field(&["data"], "BASE_TYPE_INVALID", e.to_string()))?,
        ),
        _ => None,
    };
    let update: Option<EditMessage> = match body.kind {
        C::UpdateMessage => Some(
            serde_json::from_value(body.data.clone().unwrap_or(json!({})))
                .map_err(|e| ApiError::field(&["data"], "BASE_TYPE_INVALID", e.to_string()))?,
        ),
        _ => None,
    };
    let modal = match body.kind {
        C::Modal => Some(crate::services::modal_components::validate(
            body.data.as_ref().unwrap_or(&Value::Null),
        )?),
        _ => None,
    };
    let choices = match body.kind {
        C::ApplicationCommandAutocompleteResult => {
            let data: AutocompleteData =
                serde_json::from_value(body.data.clone().unwrap_or(json!({}))).map_err(|e| {
                    ApiError::field(&["data", "choices"], "BASE_TYPE_INVALID", e.to_string())
                })?;
            if data.choices.len() > 25 {
                return Err(ApiError::field(
                    &["data", "choices"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                ));
            }
            Some(data.choices)
        }
        _ => None,
    };
    let not_before = now_ms() as i64 - FIRST_RESPONSE_MS;
    if !state
        .store
        .claim_interaction_response(record.interaction_id(), body.kind as i32, not_before)
        .await?
    {
        let now = state.store.interaction(record.interaction_id()).await?;
        return Err(match now {
            Some(r) if r.responded != 0 => ApiError::AlreadyAcknowledged,
            _ => unknown(),
        });
    }
    let mut record = record;
    record.responded = body.kind as i32;
    let message = match (body.kind, message_body) {
        (C::ChannelMessageWithSource, Some(m)) => {
            match send(state, &record, m, files, true, false).await {
                Ok(view) => Some(view),
                Err(e) => {
                    state
                        .store
                        .release_interaction_response(record.interaction_id())
                        .await?;
                    return Err(e);
                }
            }
        }
        (C::DeferredChannelMessageWithSource, Some(m)) => {
            let loading = ExecuteWebhook {
                flags: Some(m.flags.unwrap_or(0) & MessageFlags::EPHEMERAL.bits()),
                ..ExecuteWebhook::default()
            };
            Some(send(state, &record, loading, Vec::new(), true, true).await?)
        }
        _ => None,
    };
    if matches!(body.kind, C::DeferredUpdateMessage | C::UpdateMessage) {
        let (access, current) = interaction_messages::interacted_message(state, &record).await?;
        if let Some(update) = update {
            let view = match interaction_messages::update_message(
                state, &record, &access, &current, &update,
            )
            .await
            {
                Ok(view) => view,
                Err(e) => {
                    state
                        .store
                        .release_interaction_response(record.interaction_id())
                        .await?;
                    return Err(e);
                }
            };
            interactions::notify(state, &record, "INTERACTION_SUCCESS").await;
            state
                .store
                .set_original_message(record.interaction_id(), Some(current.message_id()))
                .await?;
            return Ok(callback_response(&record, body.kind, Some(&view)));
        }
        state
            .store
            .set_original_message(record.interaction_id(), Some(current.message_id()))
            .await?;
    }
    if let Some(modal) = &modal {
        crate::services::interaction_modals::show(state, &record, modal).await?;
    }
    if let Some(choices) = choices {
        let audience = match &record.session_id {
            Some(s) => Audience::Session(s.as_str().into()),
            None => Audience::Users(vec![UserId::from_i64(record.user_id)]),
        };
        state
            .dispatch(
                "APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE",
                audience,
                &json!({"choices": choices, "nonce": record.nonce, "interaction_id": record.id.to_string()}),
            )
            .await;
    }
    interactions::notify(state, &record, "INTERACTION_SUCCESS").await;
    Ok(callback_response(&record, body.kind, message.as_ref()))
}
