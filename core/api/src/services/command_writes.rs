//! Changing an application's commands in one scope (global or one guild): create-or-replace by
//! name, edit, delete and bulk overwrite, with Discord's matching and limits.

use accord_model::{ApplicationCommand, ApplicationId, CommandId, CommandType, ErrorTree, GuildId};
use accord_store::StoreError;

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::services::commands::{self, CommandBody};
use crate::state::AppState;

/// Most commands one bulk overwrite may hold (every type's limit together).
fn bulk_max(state: &AppState) -> usize {
    let c = &state.config.interactions;
    (c.chat_input_commands + c.user_commands + c.message_commands) as usize
}

/// Takes `count` creates from the daily budget of `app` in its scope, or refuses with 30034.
async fn take_creates(
    state: &AppState,
    app: ApplicationId,
    guild: Option<GuildId>,
    count: usize,
) -> ApiResult<()> {
    let limit = state.config.interactions.daily_command_creates;
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    if state
        .store
        .reserve_command_creates(app, guild, count, limit, accord_auth::now_ms() as i64)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::Maximum(Maximum::DailyCommandCreates, limit))
    }
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::CommandNameExists,
        StoreError::NotFound => ApiError::Unknown(Unknown::Command),
        other => other.into(),
    }
}

/// `POST`: creates the command, or replaces the one of the same name and type (keeping its id).
/// Returns the command and whether it is new (201) rather than replaced (200).
pub async fn upsert(
    state: &AppState,
    app: ApplicationId,
    guild: Option<GuildId>,
    body: &CommandBody,
) -> ApiResult<(ApplicationCommand, bool)> {
    let mut tree = ErrorTree::new();
    let mut command = commands::build(&mut tree, &[], app, guild, None, body);
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let existing = commands::list(state, app, guild).await?;
    let same = existing
        .iter()
        .find(|c| c.kind == command.kind && c.name == command.name);
    match same {
        Some(old) => {
            command.id = old.id;
            command.version = old.version;
            if commands::changed(old, &command) {
                command.version = state.ids.next();
                state
                    .store
                    .replace_command(&commands::record(&command)?)
                    .await
                    .map_err(conflict)?;
            }
            Ok((command, false))
        }
        None => {
            commands::check_room(state, &existing, command.kind)?;
            take_creates(state, app, guild, 1).await?;
            command.id = state.ids.next();
            command.version = state.ids.next();
            state
                .store
                .insert_command(&commands::record(&command)?)
                .await
                .map_err(conflict)?;
            Ok((command, true))
        }
    }
}

/// `PATCH`: changes the fields given.
pub async fn edit(
    state: &AppState,
    app: ApplicationId,
    guild: Option<GuildId>,
    raw_id: &str,
    body: &CommandBody,
) -> ApiResult<ApplicationCommand> {
    let old = commands::one(state, app, guild, raw_id).await?;
    let mut tree = ErrorTree::new();
    let body = CommandBody {
        id: None,
        ..body.clone()
    };
    let mut command = commands::build(&mut tree, &[], app, guild, Some(&old), &body);
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    if commands::changed(&old, &command) {
        command.version = state.ids.next();
        state
            .store
            .replace_command(&commands::record(&command)?)
            .await
            .map_err(conflict)?;
    }
    Ok(command)
}

/// `DELETE`: removes the command and its permissions.
pub async fn delete(
    state: &AppState,
    app: ApplicationId,
    guild: Option<GuildId>,
    raw_id: &str,
) -> ApiResult<()> {
    let old = commands::one(state, app, guild, raw_id).await?;
    if !state.store.delete_command(old.id).await? {
        return Err(ApiError::Unknown(Unknown::Command));
    }
    Ok(())
}

/// `PUT`: makes `bodies` the scope's whole command list. A command keeps its id (and, when
/// nothing changed, its version) when the body names its id or an existing command has the same
/// name and type; every other command is deleted.
pub async fn overwrite(
    state: &AppState,
    app: ApplicationId,
    guild: Option<GuildId>,
    bodies: &[CommandBody],
) -> ApiResult<Vec<ApplicationCommand>> {
    if bodies.len() > bulk_max(state) {
        return Err(ApiError::field(
            &[],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {} or fewer in length.", bulk_max(state)),
        ));
    }
    let existing = commands::list(state, app, guild).await?;
    let mut tree = ErrorTree::new();
    let mut out: Vec<ApplicationCommand> = Vec::with_capacity(bodies.len());
    let mut used: Vec<CommandId> = Vec::new();
    let mut created = 0;
    for (i, body) in bodies.iter().enumerate() {
        let path = [i.to_string()];
        let mut command = commands::build(&mut tree, &path, app, guild, None, body);
        if out
            .iter()
            .any(|c| c.kind == command.kind && c.name == command.name)
        {
            tree.add(
                &[i.to_string(), "name".into()],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            );
        }
        let by_id = body.id.and_then(|id| {
            existing
                .iter()
                .find(|c| c.id == id && c.kind == command.kind)
        });
        let base = by_id.or_else(|| {
            existing
                .iter()
                .find(|c| c.kind == command.kind && c.name == command.name)
        });
        match base.filter(|b| !used.contains(&b.id)) {
            Some(old) => {
                used.push(old.id);
                command.id = old.id;
                command.version = if commands::changed(old, &command) {
                    state.ids.next()
                } else {
                    old.version
                };
            }
            None => {
                created += 1;
                command.id = state.ids.next();
                command.version = state.ids.next();
            }
        }
        out.push(command);
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    for kind in [
        CommandType::ChatInput,
        CommandType::User,
        CommandType::Message,
    ] {
        let max = commands::limit(state, kind);
        if out.iter().filter(|c| c.kind == kind).count() > max as usize {
            return Err(ApiError::Maximum(Maximum::ApplicationCommands, max));
        }
    }
    let rows = out
        .iter()
        .map(commands::record)
        .collect::<ApiResult<Vec<_>>>()?;
    take_creates(state, app, guild, created).await?;
    state
        .store
        .overwrite_commands(app, guild, &rows)
        .await
        .map_err(conflict)?;
    Ok(out)
}
