//! Invoking a command (`POST /interactions` from a user account): the checks (command, place,
//! permissions, options), the interaction row and token, INTERACTION_CREATE to the application's
//! bot and to the invoking session, and INTERACTION_FAILURE when no answer comes in 3 seconds.

use std::collections::BTreeMap;
use std::time::Duration;

use accord_auth::now_ms;
use accord_bus::Audience;
use accord_model::{
    ApplicationCommand, ApplicationId, ChannelId, CommandData, CommandDataOption, CommandId,
    CommandPermission, CommandPermissionType, GenericId, GuildId, Interaction,
    InteractionContextType, InteractionId, InteractionStatus, InteractionType, Nonce, Permissions,
    UserId,
};
use accord_store::{ApplicationRecord, InteractionRecord, UserRecord};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::multipart::Upload;
use crate::services::access::{ChannelAccess, GuildAccess};
use crate::services::interaction_responses::{self, CallbackBody};
use crate::services::messages::uploads::AttachmentRequest;
use crate::services::{
    commands, interaction_attachments, interaction_endpoint, interaction_options,
};
use crate::state::AppState;
use crate::{views, views_guild};

/// How long an application has for its first answer.
pub const FIRST_RESPONSE_MS: i64 = 3_000;
/// How long an interaction token works (follow-ups, `@original`).
pub const TOKEN_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// The data of an invocation as the client sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct InvokeData {
    /// The command.
    pub id: CommandId,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type", default)]
    pub kind: Option<accord_model::CommandType>,
    /// The command version the client knows.
    #[serde(default)]
    pub version: Option<GenericId>,
    /// Option values.
    #[serde(default)]
    pub options: Option<Vec<CommandDataOption>>,
    /// The user or message of a context menu command.
    #[serde(default)]
    pub target_id: Option<GenericId>,
}

/// The `POST /interactions` body Discord's client sends.
#[derive(Debug, Clone, Deserialize)]
pub struct InvokeBody {
    /// 2 (APPLICATION_COMMAND) or 4 (APPLICATION_COMMAND_AUTOCOMPLETE).
    #[serde(rename = "type")]
    pub kind: InteractionType,
    /// The application.
    pub application_id: ApplicationId,
    /// The guild, in guild channels.
    #[serde(default)]
    pub guild_id: Option<GuildId>,
    /// The channel.
    pub channel_id: ChannelId,
    /// The invoking gateway session.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The client's nonce, echoed in INTERACTION_CREATE/SUCCESS/FAILURE.
    #[serde(default)]
    pub nonce: Option<Nonce>,
    /// The message of a component interaction.
    #[serde(default)]
    pub message_id: Option<accord_model::MessageId>,
    /// The command and its options, or the component used.
    pub data: Value,
}

pub(crate) fn nonce_text(n: &Nonce) -> String {
    match n {
        Nonce::Integer(i) => i.to_string(),
        Nonce::String(s) => s.clone(),
    }
}

/// A fresh interaction token (shaped like Discord's: base64 of `interaction:<id>:<random>`).
pub(crate) fn new_token(id: InteractionId) -> String {
    let random: [u8; 48] = rand::random();
    let raw = format!("interaction:{id}:{}", hex::encode(random));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Whether the member may use `command` in the channel: administrators always; else the
/// command's own permissions in the guild (or the application's, when the command has none)
/// decide for the channel, then the user, then the member's roles, then @everyone; without any
/// of these, `default_member_permissions`.
async fn may_use(
    state: &AppState,
    app: &ApplicationRecord,
    command: &ApplicationCommand,
    guild: &GuildAccess,
    access: &ChannelAccess,
) -> ApiResult<bool> {
    if guild.permissions.contains(Permissions::ADMINISTRATOR) {
        return Ok(true);
    }
    let guild_id = guild.guild_id();
    let load = |target: i64| async move {
        let json = state.store.command_permission(guild_id, target).await?;
        Ok::<_, ApiError>(
            json.and_then(|j| serde_json::from_str::<Vec<CommandPermission>>(&j).ok())
                .unwrap_or_default(),
        )
    };
    let own = load(command.id.as_i64()).await?;
    let list = if own.is_empty() {
        load(app.id).await?
    } else {
        own
    };
    let find = |kind: CommandPermissionType, id: i64| {
        list.iter()
            .find(|p| p.kind == kind && p.id.as_i64() == id)
            .map(|p| p.permission)
    };
    let channel_id = access.channel.id;
    let channel_rule = find(CommandPermissionType::Channel, channel_id)
        .or_else(|| {
            access
                .channel
                .parent_id
                .and_then(|p| find(CommandPermissionType::Channel, p))
        })
        .or_else(|| find(CommandPermissionType::Channel, guild_id.as_i64() - 1));
    if channel_rule == Some(false) {
        return Ok(false);
    }
    if let Some(allowed) = find(CommandPermissionType::User, guild.user_id.as_i64()) {
        return Ok(allowed);
    }
    let role_rules: Vec<bool> = guild
        .member
        .roles
        .iter()
        .filter_map(|r| find(CommandPermissionType::Role, *r))
        .collect();
    if !role_rules.is_empty() {
        return Ok(role_rules.contains(&true));
    }
    if let Some(allowed) = find(CommandPermissionType::Role, guild_id.as_i64()) {
        return Ok(allowed);
    }
    Ok(match command.default_member_permissions {
        None => true,
        Some(p) if p.is_empty() => false,
        Some(p) => access.permissions.contains(p),
    })
}

/// Where the interaction happens, and what the application and the user may do there.
pub(crate) struct Place {
    pub(crate) access: ChannelAccess,
    pub(crate) guild: Option<GuildAccess>,
    pub(crate) context: InteractionContextType,
    pub(crate) app_permissions: Permissions,
}

pub(crate) async fn place(
    state: &AppState,
    body: &InvokeBody,
    user: UserId,
    app: &ApplicationRecord,
    command: Option<&ApplicationCommand>,
) -> ApiResult<Place> {
    let bot = app
        .bot_user_id
        .map(UserId::from_i64)
        .ok_or(ApiError::ApplicationHasNoBot)?;
    let access = ChannelAccess::load(state, body.channel_id, user).await?;
    if access.channel.guild_id.map(GuildId::from_i64) != body.guild_id {
        return Err(ApiError::Unknown(Unknown::Channel));
    }
    match body.guild_id {
        Some(guild_id) => {
            if command.is_some_and(|c| c.guild_id.is_some_and(|g| g != guild_id)) {
                return Err(ApiError::Unknown(Unknown::Command));
            }
            let allowed_here = command.is_none_or(|c| {
                c.guild_id.is_some()
                    || c.contexts
                        .clone()
                        .flatten()
                        .is_none_or(|c| c.contains(&InteractionContextType::Guild))
            });
            if !allowed_here || state.store.member(guild_id, bot).await?.is_none() {
                return Err(ApiError::MissingAccess);
            }
            let guild = access.guild.clone().ok_or(ApiError::MissingAccess)?;
            if let Some(command) = command {
                access.require(Permissions::USE_APPLICATION_COMMANDS)?;
                if command.nsfw && !age_restricted(state, &access).await? {
                    return Err(ApiError::MissingAccess);
                }
                if !may_use(state, app, command, &guild, &access).await? {
                    return Err(ApiError::MissingPermissions);
                }
            }
            let app_permissions = match ChannelAccess::load(state, body.channel_id, bot).await {
                Ok(a) => a.permissions,
                Err(_) => Permissions::empty(),
            };
            Ok(Place {
                access,
                guild: Some(guild),
                context: InteractionContextType::Guild,
                app_permissions,
            })
        }
        None => {
            // Only the DM with the application's bot (BOT_DM); user-installed apps elsewhere
            // are not supported.
            let recipients = state.store.recipients(body.channel_id).await?;
            let bot_dm = access.channel.kind == 1 && recipients.contains(&bot);
            let allowed = command.is_none_or(|c| {
                c.guild_id.is_none()
                    && c.dm_permission != Some(false)
                    && c.contexts
                        .clone()
                        .flatten()
                        .is_none_or(|c| c.contains(&InteractionContextType::BotDm))
            });
            // Age-restricted commands work in a DM only for users who enabled them in their
            // settings, which Accord's users cannot (yet) do: Discord's default, off, applies.
            if !bot_dm || !allowed || command.is_some_and(|c| c.nsfw) {
                return Err(ApiError::MissingAccess);
            }
            Ok(Place {
                access,
                guild: None,
                context: InteractionContextType::BotDm,
                app_permissions: crate::services::access::private_channel_permissions()
                    | Permissions::USE_EXTERNAL_EMOJIS,
            })
        }
    }
}

/// Whether the channel is age-restricted (`nsfw`; a thread is when its parent is).
///
/// Discord limits age-restricted commands (`nsfw: true`) to age-restricted channels
/// (application-commands.mdx, "Using Age-Restricted Commands"): its client does not offer them
/// elsewhere, and the docs name no error for a client that invokes one anyway, so Accord
/// answers as for any command unavailable where it is used: 50001 Missing Access (the docs
/// say the flag limits who may "access the command, and from which channels").
async fn age_restricted(state: &AppState, access: &ChannelAccess) -> ApiResult<bool> {
    let c = &access.channel;
    if c.nsfw {
        return Ok(true);
    }
    if !matches!(c.kind, 10..=12) {
        return Ok(false);
    }
    let Some(parent) = c.parent_id else {
        return Ok(false);
    };
    Ok(state
        .store
        .channel(ChannelId::from_i64(parent))
        .await?
        .is_some_and(|p| p.nsfw))
}

/// The partial channel an interaction carries.
pub(crate) async fn channel_view(state: &AppState, place: &Place) -> ApiResult<Value> {
    let c = &place.access.channel;
    let mut v = if place.guild.is_some() {
        let overwrites = state.store.channel_overwrites(c.channel_id()).await?;
        json!(views_guild::channel(c, &overwrites))
    } else {
        let mut users = Vec::new();
        for id in state.store.recipients(c.channel_id()).await? {
            if let Some(u) = state.store.user(id).await? {
                users.push(views::public_user(&u));
            }
        }
        json!(views_guild::private_channel(c, users))
    };
    if let Some(obj) = v.as_object_mut() {
        obj.insert("permissions".into(), json!(place.access.permissions));
    }
    Ok(v)
}

/// Invokes a command for `user`; returns the stored interaction.
pub async fn invoke(
    state: &AppState,
    user: &UserRecord,
    body: InvokeBody,
    files: Vec<Upload>,
) -> ApiResult<InteractionRecord> {
    if !files.is_empty()
        && !matches!(
            body.kind,
            InteractionType::ApplicationCommand | InteractionType::ApplicationCommandAutocomplete
        )
    {
        return Err(ApiError::field(
            &["files"],
            "ATTACHMENTS_UNEXPECTED",
            "Only commands with attachment options take files.",
        ));
    }
    if body.kind == InteractionType::MessageComponent {
        return crate::services::interaction_components::invoke(state, user, body).await;
    }
    if body.kind == InteractionType::ModalSubmit {
        return crate::services::interaction_modals::invoke_submit(state, user, body).await;
    }
    if !matches!(
        body.kind,
        InteractionType::ApplicationCommand | InteractionType::ApplicationCommandAutocomplete
    ) {
        return Err(ApiError::field(
            &["type"],
            "INTERACTION_TYPE_INVALID",
            "PING interactions cannot be sent here.",
        ));
    }
    let data: InvokeData = crate::extract::json::parse(body.data.to_string().as_bytes())?;
    let app = state
        .store
        .application(body.application_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let row = state
        .store
        .command(data.id)
        .await?
        .filter(|r| r.application_id == app.id)
        .ok_or(ApiError::Unknown(Unknown::Command))?;
    let command = commands::view(&row)?;
    if data.name != command.name || data.kind.is_some_and(|k| k != command.kind) {
        return Err(ApiError::field(
            &["data", "name"],
            "APPLICATION_COMMAND_OUTDATED",
            "The command changed; fetch it again.",
        ));
    }
    let user_id = user.user_id();
    let place = place(state, &body, user_id, &app, Some(&command)).await?;
    let mut given = data.options.clone().unwrap_or_default();
    let autocomplete = body.kind == InteractionType::ApplicationCommandAutocomplete;
    let mut resolved = interaction_options::check(
        state,
        &command,
        &given,
        data.target_id,
        body.guild_id,
        body.channel_id,
        autocomplete,
    )
    .await?;
    // Files of ATTACHMENT options (an autocomplete carries none: its values are not final).
    let meta: Vec<AttachmentRequest> = match body.data.get("attachments") {
        Some(a) if !a.is_null() => crate::extract::json::parse(a.to_string().as_bytes())?,
        _ => Vec::new(),
    };
    let mut option_files = if autocomplete {
        interaction_attachments::OptionFiles::default()
    } else {
        interaction_attachments::prepare(
            state,
            place.access.permissions,
            body.channel_id,
            &mut given,
            files,
            &meta,
        )?
    };
    if let Some(attachments) =
        interaction_attachments::store(state, body.channel_id, &mut option_files).await?
    {
        resolved.get_or_insert_with(|| json!({}))["attachments"] = attachments;
    }

    let id: InteractionId = state.ids.next();
    let token = new_token(id);
    let owners: BTreeMap<String, String> = BTreeMap::from([(
        "0".to_owned(),
        body.guild_id.map_or("0".to_owned(), |g| g.to_string()),
    )]);
    let public = views::public_user(user);
    let data = CommandData {
        id: command.id,
        name: command.name.clone(),
        kind: command.kind,
        resolved,
        options: (!given.is_empty()).then_some(given.clone()),
        guild_id: command.guild_id,
        target_id: data.target_id,
        version: None,
    };
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
        kind: body.kind,
        data: Some(json!(data)),
        guild_id: body.guild_id,
        guild: guild_record
            .map(|g| json!({"id": g.id.to_string(), "locale": g.preferred_locale, "features": []})),
        channel: Some(channel_view(state, &place).await?),
        channel_id: Some(body.channel_id),
        member,
        user: user_field,
        token: token.clone(),
        version: 1,
        message: None,
        app_permissions: place.app_permissions,
        locale: Some(user.locale.clone()),
        guild_locale: guild_record.map(|g| g.preferred_locale.clone()),
        entitlements: Vec::new(),
        authorizing_integration_owners: owners.clone(),
        context: Some(place.context),
        attachment_size_limit: state.config.limits.attachment_size_bytes,
    };
    let name = interaction_options::full_name(&command, &given);
    let metadata = json!({
        "interaction_metadata": {
            "id": id, "type": body.kind, "user": public,
            "authorizing_integration_owners": owners,
            "name": name, "command_type": command.kind,
            "target_user": (command.kind == accord_model::CommandType::User)
                .then(|| data.resolved.as_ref().and_then(|r| data.target_id.and_then(|t| r["users"].get(t.to_string()).cloned()))).flatten(),
            "target_message_id": (command.kind == accord_model::CommandType::Message).then_some(data.target_id).flatten(),
        },
        "interaction": {"id": id, "type": body.kind, "name": name, "user": public},
    });
    let record = InteractionRecord {
        id: id.as_i64(),
        application_id: app.id,
        kind: body.kind as i32,
        token_hash: accord_auth::secret_digest(&token),
        user_id: user.id,
        guild_id: body.guild_id.map(GuildId::as_i64),
        channel_id: Some(body.channel_id.as_i64()),
        session_id: body.session_id.clone(),
        nonce: body.nonce.as_ref().map(nonce_text),
        metadata: metadata.to_string(),
        created_ms: now_ms() as i64,
        responded: 0,
        original_message_id: None,
        modal: None,
    };
    start(state, &app, &record, &payload).await?;
    Ok(record)
}

/// Stores a new interaction, sends it to the application (gateway or endpoint) and tells the
/// invoking session, then watches for the first response.
pub(crate) async fn start(
    state: &AppState,
    app: &ApplicationRecord,
    record: &InteractionRecord,
    payload: &Interaction,
) -> ApiResult<()> {
    state.store.create_interaction(record).await?;
    match &app.interactions_endpoint_url {
        Some(url) => deliver(state.clone(), record.clone(), payload, url.clone())?,
        None => {
            let bot = UserId::from_i64(app.bot_user_id.unwrap_or_default());
            state
                .dispatch("INTERACTION_CREATE", Audience::Users(vec![bot]), payload)
                .await;
        }
    }
    notify(state, record, "INTERACTION_CREATE").await;
    watch_first_response(state.clone(), record.interaction_id());
    Ok(())
}

/// POSTs the interaction to the application's endpoint (instead of the gateway) and takes a
/// 200 answer as its first response; with 202/204 the application answers through the callback
/// route. Without an answer in time, the first-response watch reports the failure.
fn deliver(
    state: AppState,
    record: InteractionRecord,
    payload: &Interaction,
    url: String,
) -> ApiResult<()> {
    let body = serde_json::to_vec(payload).map_err(|e| ApiError::Internal(e.to_string()))?;
    tokio::spawn(async move {
        let id = record.id;
        let app = ApplicationId::from_i64(record.application_id);
        let result = async {
            let key = interaction_endpoint::signing_key(&state, app)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let answer = interaction_endpoint::post(&state, &url, &key, body, false).await?;
            match answer.status {
                200 => {
                    let callback: CallbackBody = serde_json::from_slice(&answer.body)
                        .map_err(|e| format!("answer is not an interaction response: {e}"))?;
                    interaction_responses::callback(&state, record, callback, Vec::new())
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("answer refused: {e}"))
                }
                202 | 204 => Ok(()),
                other => Err(format!("answered {other}")),
            }
        }
        .await;
        if let Err(why) = result {
            tracing::info!("interaction {id}: endpoint {url}: {why}");
        }
    });
    Ok(())
}

/// Sends INTERACTION_CREATE / _SUCCESS / _FAILURE `{id, nonce}` to the invoking session (or,
/// when the client named none, to the user's sessions).
pub async fn notify(state: &AppState, record: &InteractionRecord, event: &str) {
    let audience = match &record.session_id {
        Some(s) => Audience::Session(s.as_str().into()),
        None => Audience::Users(vec![UserId::from_i64(record.user_id)]),
    };
    let status = InteractionStatus {
        id: record.interaction_id(),
        nonce: record.nonce.clone(),
    };
    state.dispatch(event, audience, &status).await;
}

/// After the first-response window, tells the invoking user the application did not answer.
fn watch_first_response(state: AppState, id: InteractionId) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(FIRST_RESPONSE_MS as u64)).await;
        match state.store.interaction(id).await {
            Ok(Some(record)) if record.responded == 0 => {
                notify(&state, &record, "INTERACTION_FAILURE").await;
            }
            Ok(_) => {}
            Err(e) => tracing::error!("interaction {id}: cannot check its response: {e}"),
        }
    });
}
