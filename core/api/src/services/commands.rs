//! Application commands: who may manage an application's commands, the request body and how it
//! becomes a command (create, edit, bulk overwrite), per-type limits, and the stored rows.

use accord_model::{
    ApplicationCommand, ApplicationId, ApplicationIntegrationType, CommandId, CommandOption,
    CommandType, ErrorTree, GenericId, GuildId, InteractionContextType, Localizations, Permissions,
    UserId,
};
use accord_store::{ApplicationRecord, CommandRecord};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::Auth;
use crate::routes::nullable;
use crate::services::{applications, command_validate};
use crate::state::AppState;

/// The application `raw_id` if the caller may manage its commands: its bot (Bot token) or its
/// owner. 10002 when it does not exist, 20012 when the caller is neither.
pub async fn managed_app(
    state: &AppState,
    auth: &Auth,
    raw_id: &str,
) -> ApiResult<ApplicationRecord> {
    let id: ApplicationId = raw_id
        .parse()
        .map_err(|_| ApiError::Unknown(Unknown::Application))?;
    if auth.bot {
        let app = state
            .store
            .application(id)
            .await?
            .ok_or(ApiError::Unknown(Unknown::Application))?;
        if app.bot_user_id == Some(auth.user_id.as_i64()) {
            return Ok(app);
        }
        return Err(ApiError::NotAppAuthorized);
    }
    match applications::owned(state, id, auth.user_id).await {
        Err(ApiError::Unknown(Unknown::Application))
            if state.store.application(id).await?.is_some() =>
        {
            Err(ApiError::NotAppAuthorized)
        }
        other => other,
    }
}

/// The guild `raw_id` if the application is in it (its bot is a member): 10004 when the guild
/// does not exist, 50001 when the application is not in it.
pub async fn app_guild(
    state: &AppState,
    app: &ApplicationRecord,
    raw_id: &str,
) -> ApiResult<GuildId> {
    let guild: GuildId = raw_id
        .parse()
        .map_err(|_| ApiError::Unknown(Unknown::Guild))?;
    state
        .store
        .guild(guild)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Guild))?;
    let Some(bot) = app.bot_user_id else {
        return Err(ApiError::MissingAccess);
    };
    if state
        .store
        .member(guild, UserId::from_i64(bot))
        .await?
        .is_none()
    {
        return Err(ApiError::MissingAccess);
    }
    Ok(guild)
}

/// A command as sent to create, edit or bulk-overwrite commands (absent fields: defaults on
/// creation, unchanged on edit).
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
pub struct CommandBody {
    /// The command's id (bulk overwrite only: keeps that command).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub id: Option<CommandId>,
    /// Name, 1–32 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Localized names.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub name_localizations: Option<Option<Localizations>>,
    /// Description (CHAT_INPUT), 1–100 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Localized descriptions.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub description_localizations: Option<Option<Localizations>>,
    /// Parameters (CHAT_INPUT), at most 25.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub options: Option<Option<Vec<CommandOption>>>,
    /// Permissions needed to use it, as a decimal string; null for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub default_member_permissions: Option<Option<Permissions>>,
    /// Deprecated: whether it is available in DMs (global commands).
    #[serde(default, deserialize_with = "nullable")]
    pub dm_permission: Option<Option<bool>>,
    /// Deprecated: whether it is enabled by default.
    #[serde(default, deserialize_with = "nullable")]
    pub default_permission: Option<Option<bool>>,
    /// Installation contexts.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<u8>>)]
    pub integration_types: Option<Option<Vec<ApplicationIntegrationType>>>,
    /// Interaction contexts.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<u8>>)]
    pub contexts: Option<Option<Vec<InteractionContextType>>>,
    /// Type (default 1, CHAT_INPUT).
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<u8>)]
    pub kind: Option<CommandType>,
    /// Whether it is age-restricted.
    #[serde(default, deserialize_with = "nullable")]
    pub nsfw: Option<Option<bool>>,
}

/// Builds the command `body` describes: on `base` (an edit or overwrite of an existing command)
/// or from scratch, in the scope `guild`. Problems go to `tree` under `path`; the id and
/// version are the base's (or zero, for the caller to assign).
pub fn build(
    tree: &mut ErrorTree,
    path: &[String],
    app: ApplicationId,
    guild: Option<GuildId>,
    base: Option<&ApplicationCommand>,
    body: &CommandBody,
) -> ApplicationCommand {
    let path = path.to_vec();
    let kind = body
        .kind
        .or(base.map(|b| b.kind))
        .unwrap_or(CommandType::ChatInput);
    if let (Some(base), Some(k)) = (base, body.kind)
        && base.kind != k
        && body.id.is_none()
    {
        let mut p = path.clone();
        p.push("type".into());
        tree.add(
            &p,
            "APPLICATION_COMMAND_TYPE_INVALID",
            "The type of a command cannot be changed.",
        );
    }
    let name = match (&body.name, base) {
        (Some(n), _) => n.clone(),
        (None, Some(b)) => b.name.clone(),
        (None, None) => {
            let mut p = path.clone();
            p.push("name".into());
            tree.add(&p, "BASE_TYPE_REQUIRED", "This field is required");
            String::new()
        }
    };
    let description = match (&body.description, base) {
        (Some(d), _) => d.clone(),
        (None, Some(b)) => b.description.clone(),
        (None, None) => String::new(),
    };
    let options = match &body.options {
        Some(o) => o.clone().filter(|o| !o.is_empty()).map(|mut o| {
            clear_localized(&mut o);
            o
        }),
        None => base.and_then(|b| b.options.clone()),
    };
    let global = guild.is_none();
    let default_member_permissions = match &body.default_member_permissions {
        Some(p) => *p,
        None => base.and_then(|b| b.default_member_permissions),
    };
    let dm_permission = if global {
        match &body.dm_permission {
            Some(v) => Some(v.unwrap_or(true)),
            None => base.and_then(|b| b.dm_permission).or(Some(true)),
        }
    } else {
        None
    };
    let integration_types = match &body.integration_types {
        Some(Some(v)) if !v.is_empty() => Some(v.clone()),
        Some(_) => Some(vec![ApplicationIntegrationType::GuildInstall]),
        None => base
            .and_then(|b| b.integration_types.clone())
            .or(Some(vec![ApplicationIntegrationType::GuildInstall])),
    };
    let contexts = pick(&body.contexts, base.and_then(|b| b.contexts.clone())).or(Some(None));
    let command = ApplicationCommand {
        id: base.map_or(CommandId::new(0), |b| b.id),
        kind,
        application_id: app,
        guild_id: guild,
        name,
        name_localizations: pick(
            &body.name_localizations,
            base.and_then(|b| b.name_localizations.clone()),
        )
        .or(Some(None)),
        name_localized: None,
        description,
        description_localizations: pick(
            &body.description_localizations,
            base.and_then(|b| b.description_localizations.clone()),
        )
        .or(Some(None)),
        description_localized: None,
        options,
        default_member_permissions,
        dm_permission,
        default_permission: match &body.default_permission {
            Some(v) => Some(v.unwrap_or(true)),
            None => base.and_then(|b| b.default_permission).or(Some(true)),
        },
        nsfw: match body.nsfw {
            Some(v) => v.unwrap_or(false),
            None => base.is_some_and(|b| b.nsfw),
        },
        integration_types,
        contexts,
        version: base.map_or(GenericId::new(0), |b| b.version),
    };
    command_validate::command(tree, &path, &command);
    command
}

/// Whether two commands differ in what users see (anything but id and version).
pub fn changed(a: &ApplicationCommand, b: &ApplicationCommand) -> bool {
    let strip = |c: &ApplicationCommand| ApplicationCommand {
        id: CommandId::new(0),
        version: GenericId::new(0),
        ..c.clone()
    };
    strip(a) != strip(b)
}

/// The configured number of commands of `kind` an application may have per scope.
pub fn limit(state: &AppState, kind: CommandType) -> u32 {
    let c = &state.config.interactions;
    match kind {
        CommandType::ChatInput => c.chat_input_commands,
        CommandType::User => c.user_commands,
        CommandType::Message => c.message_commands,
        CommandType::PrimaryEntryPoint => 1,
    }
}

/// 30032 unless one more command of `kind` fits next to `existing`.
pub fn check_room(
    state: &AppState,
    existing: &[ApplicationCommand],
    kind: CommandType,
) -> ApiResult<()> {
    let max = limit(state, kind);
    let have = existing.iter().filter(|c| c.kind == kind).count();
    if have >= max as usize {
        Err(ApiError::Maximum(Maximum::ApplicationCommands, max))
    } else {
        Ok(())
    }
}

/// The command object stored in a row.
pub fn view(row: &CommandRecord) -> ApiResult<ApplicationCommand> {
    serde_json::from_str(&row.data)
        .map_err(|e| ApiError::Internal(format!("stored command {}: {e}", row.id)))
}

/// The row that stores `command`.
pub fn record(command: &ApplicationCommand) -> ApiResult<CommandRecord> {
    Ok(CommandRecord {
        id: command.id.as_i64(),
        application_id: command.application_id.as_i64(),
        guild_id: command.guild_id.map(GuildId::as_i64),
        kind: command.kind as i32,
        name: command.name.clone(),
        version: command.version.as_i64(),
        data: serde_json::to_string(command).map_err(|e| ApiError::Internal(e.to_string()))?,
    })
}

/// Every command of `app` in the scope, as objects.
pub async fn list(
    state: &AppState,
    app: ApplicationId,
    guild: Option<GuildId>,
) -> ApiResult<Vec<ApplicationCommand>> {
    state
        .store
        .commands(app, guild)
        .await?
        .iter()
        .map(view)
        .collect()
}

/// The command `raw_id` of `app` in the scope; 10063 otherwise.
pub async fn one(
    state: &AppState,
    app: ApplicationId,
    guild: Option<GuildId>,
    raw_id: &str,
) -> ApiResult<ApplicationCommand> {
    let id: CommandId = raw_id
        .parse()
        .map_err(|_| ApiError::Unknown(Unknown::Command))?;
    let row = state
        .store
        .command(id)
        .await?
        .filter(|r| r.application_id == app.as_i64() && r.guild_id == guild.map(GuildId::as_i64))
        .ok_or(ApiError::Unknown(Unknown::Command))?;
    view(&row)
}

/// Localized lists: without `with_localizations`, the dictionaries are replaced by
/// `name_localized` / `description_localized` in `locale` (when it has an entry).
pub fn localize(command: &mut ApplicationCommand, locale: Option<&str>) {
    let pick = |map: &Option<Option<Localizations>>| -> Option<String> {
        let locale = locale?;
        map.as_ref()?.as_ref()?.get(locale).cloned()
    };
    command.name_localized = pick(&command.name_localizations);
    command.description_localized = pick(&command.description_localizations);
    command.name_localizations = None;
    command.description_localizations = None;
    if let Some(options) = &mut command.options {
        localize_options(options, locale);
    }
}

/// The new value of a nullable field when the body has one, else the old.
fn pick<T: Clone>(new: &Option<Option<T>>, old: Option<Option<T>>) -> Option<Option<T>> {
    match new {
        Some(v) => Some(v.clone()),
        None => old,
    }
}

fn localize_options(options: &mut [CommandOption], locale: Option<&str>) {
    for o in options {
        let pick = |map: &Option<Option<Localizations>>| -> Option<String> {
            map.as_ref()?.as_ref()?.get(locale?).cloned()
        };
        o.name_localized = pick(&o.name_localizations);
        o.description_localized = pick(&o.description_localizations);
        o.name_localizations = None;
        o.description_localizations = None;
        if let Some(children) = &mut o.options {
            localize_options(children, locale);
        }
    }
}

/// Drops the `*_localized` fields a client may have sent back inside options.
pub fn clear_localized(options: &mut [CommandOption]) {
    for o in options {
        o.name_localized = None;
        o.description_localized = None;
        if let Some(children) = &mut o.options {
            clear_localized(children);
        }
    }
}
