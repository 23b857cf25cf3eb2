//! The options of an invoked command checked against the stored command (names, types,
//! required options, choices, bounds, lengths, one subcommand), and the users, members, roles,
//! channels and messages they name resolved for the application.

use accord_model::{
    ApplicationCommand, ChannelId, ChoiceValue, CommandDataOption, CommandOption,
    CommandOptionType, CommandType, ErrorTree, GenericId, GuildId, MessageId, UserId,
};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{views, views_guild, views_message};

type Path = Vec<String>;

fn at(path: &Path, key: impl ToString) -> Path {
    let mut p = path.clone();
    p.push(key.to_string());
    p
}

/// Ids the options name, to resolve.
#[derive(Default)]
pub(crate) struct Wanted {
    pub(crate) users: Vec<i64>,
    pub(crate) roles: Vec<i64>,
    pub(crate) channels: Vec<i64>,
}

fn snowflake(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse::<u64>().ok().and_then(|n| i64::try_from(n).ok()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn fits_choices(def: &CommandOption, value: &Value) -> bool {
    let Some(choices) = def.choices.as_deref().filter(|c| !c.is_empty()) else {
        return true;
    };
    choices.iter().any(|c| match (&c.value, value) {
        (ChoiceValue::String(s), Value::String(v)) => s == v,
        (ChoiceValue::Integer(i), Value::Number(n)) => n.as_f64() == Some(*i as f64),
        (ChoiceValue::Number(f), Value::Number(n)) => n.as_f64() == Some(*f),
        _ => false,
    })
}

fn check_value(
    tree: &mut ErrorTree,
    path: &Path,
    def: &CommandOption,
    value: Option<&Value>,
    autocomplete: bool,
    wanted: &mut Wanted,
) {
    use CommandOptionType as T;
    let Some(value) = value else {
        tree.add(path, "BASE_TYPE_REQUIRED", "This field is required");
        return;
    };
    let p = at(path, "value");
    let bad = |tree: &mut ErrorTree, what: &str| {
        tree.add(
            &p,
            "APPLICATION_COMMAND_OPTION_VALUE_INVALID",
            format!("Value must be {what}."),
        );
    };
    match def.kind {
        T::String => {
            let Some(s) = value.as_str() else {
                return bad(tree, "a string");
            };
            let len = s.chars().count();
            if !autocomplete
                && (def.min_length.is_some_and(|m| len < m as usize)
                    || def.max_length.is_some_and(|m| len > m as usize))
            {
                bad(tree, "within the option's length limits");
            }
        }
        T::Integer | T::Number => {
            let Some(n) = value.as_f64() else {
                return bad(tree, "a number");
            };
            if def.kind == T::Integer && !(value.is_i64() || value.is_u64()) && !autocomplete {
                return bad(tree, "an integer");
            }
            let min = def.min_value.as_ref().and_then(|v| v.as_f64());
            let max = def.max_value.as_ref().and_then(|v| v.as_f64());
            if !autocomplete && (min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m)) {
                bad(tree, "within the option's range");
            }
        }
        T::Boolean => {
            if !value.is_boolean() {
                bad(tree, "a boolean");
            }
        }
        T::User | T::Channel | T::Role | T::Mentionable | T::Attachment => {
            let Some(id) = snowflake(value) else {
                return bad(tree, "a snowflake");
            };
            match def.kind {
                T::User => wanted.users.push(id),
                T::Role => wanted.roles.push(id),
                T::Channel => wanted.channels.push(id),
                T::Mentionable => {
                    wanted.users.push(id);
                    wanted.roles.push(id);
                }
                // An attachment names `files[n]` uploaded with the interaction; matched to
                // its file by `interaction_attachments`.
                _ => {}
            }
            return;
        }
        T::SubCommand | T::SubCommandGroup => unreachable!("handled by the caller"),
    }
    if !autocomplete && !fits_choices(def, value) {
        tree.add(
            &p,
            "APPLICATION_COMMAND_OPTION_VALUE_INVALID",
            "Value must be one of the option's choices.",
        );
    }
}

/// Checks one level of given options against the command's definitions.
fn check_level(
    tree: &mut ErrorTree,
    path: &Path,
    defs: &[CommandOption],
    given: &[CommandDataOption],
    autocomplete: bool,
    wanted: &mut Wanted,
) {
    let subs = defs.iter().any(|d| d.kind.is_subcommand());
    if subs && given.len() != 1 {
        tree.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_INVALID",
            "Exactly one subcommand must be given.",
        );
        return;
    }
    for (i, option) in given.iter().enumerate() {
        let p = at(path, i);
        if given[..i].iter().any(|o| o.name == option.name) {
            tree.add(
                &at(&p, "name"),
                "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                "Option names must be unique",
            );
            continue;
        }
        let Some(def) = defs.iter().find(|d| d.name == option.name) else {
            tree.add(
                &at(&p, "name"),
                "APPLICATION_COMMAND_OPTION_UNKNOWN",
                "The command has no such option.",
            );
            continue;
        };
        if def.kind != option.kind {
            tree.add(
                &at(&p, "type"),
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                "The option has another type.",
            );
            continue;
        }
        if def.kind.is_subcommand() {
            check_level(
                tree,
                &at(&p, "options"),
                def.options.as_deref().unwrap_or(&[]),
                option.options.as_deref().unwrap_or(&[]),
                autocomplete,
                wanted,
            );
        } else {
            check_value(tree, &p, def, option.value.as_ref(), autocomplete, wanted);
        }
    }
    if !autocomplete {
        for def in defs.iter().filter(|d| d.required == Some(true)) {
            if !given.iter().any(|g| g.name == def.name) {
                tree.add(
                    path,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED",
                    format!("The option \"{}\" is required.", def.name),
                );
            }
        }
    }
    if autocomplete && given.iter().all(|g| g.kind.is_subcommand()) {
        return;
    }
    if autocomplete
        && !given.iter().any(|g| g.kind.is_subcommand())
        && given.iter().filter(|g| g.focused == Some(true)).count() != 1
    {
        tree.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_INVALID",
            "Exactly one option must be focused.",
        );
    }
}

/// The full name of the invoked command with its group and subcommand (`perms user get`).
pub fn full_name(command: &ApplicationCommand, given: &[CommandDataOption]) -> String {
    let mut name = command.name.clone();
    let mut level = given;
    while let Some(sub) = level.iter().find(|o| o.kind.is_subcommand()) {
        name.push(' ');
        name.push_str(&sub.name);
        level = sub.options.as_deref().unwrap_or(&[]);
    }
    name
}

/// Checks the options (and target) of an invocation of `command` in `guild`/`channel`, and
/// returns the `resolved` object for the application (null when nothing is named).
pub async fn check(
    state: &AppState,
    command: &ApplicationCommand,
    given: &[CommandDataOption],
    target: Option<GenericId>,
    guild: Option<GuildId>,
    channel: ChannelId,
    autocomplete: bool,
) -> ApiResult<Option<Value>> {
    let mut tree = ErrorTree::new();
    let mut wanted = Wanted::default();
    let root: Path = vec!["data".into(), "options".into()];
    let mut messages = Vec::new();
    match command.kind {
        CommandType::ChatInput => {
            check_level(
                &mut tree,
                &root,
                command.options.as_deref().unwrap_or(&[]),
                given,
                autocomplete,
                &mut wanted,
            );
            if target.is_some() {
                tree.add(
                    &["data", "target_id"],
                    "APPLICATION_COMMAND_TARGET_INVALID",
                    "Slash commands have no target.",
                );
            }
        }
        CommandType::User | CommandType::Message => {
            if !given.is_empty() {
                tree.add(
                    &root,
                    "APPLICATION_COMMAND_OPTIONS_INVALID",
                    "Context menu commands have no options.",
                );
            }
            match target {
                None => {
                    tree.add(
                        &["data", "target_id"],
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    );
                }
                Some(t) if command.kind == CommandType::User => wanted.users.push(t.as_i64()),
                Some(t) => messages.push(t.as_i64()),
            }
        }
        CommandType::PrimaryEntryPoint => {
            tree.add(
                &["data", "type"],
                "APPLICATION_COMMAND_TYPE_INVALID",
                "Entry point commands are not supported.",
            );
        }
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    resolve(state, wanted, messages, guild, channel).await
}

pub(crate) async fn resolve(
    state: &AppState,
    wanted: Wanted,
    messages: Vec<i64>,
    guild: Option<GuildId>,
    channel: ChannelId,
) -> ApiResult<Option<Value>> {
    let mut tree = ErrorTree::new();
    let mut users = Map::new();
    let mut members = Map::new();
    let mut roles = Map::new();
    let mut channels = Map::new();
    let mut messages_out = Map::new();
    let guild_roles = match guild {
        Some(g) => state.store.guild_roles(g).await?,
        None => Vec::new(),
    };
    for id in &wanted.roles {
        if let Some(r) = guild_roles.iter().find(|r| r.id == *id) {
            roles.insert(id.to_string(), json!(views_guild::role(r)));
        }
    }
    for id in &wanted.users {
        // A MENTIONABLE naming a role is resolved as the role above.
        if roles.contains_key(&id.to_string()) {
            continue;
        }
        let Some(user) = state.store.user(UserId::from_i64(*id)).await? else {
            tree.add(
                &["data", "options"],
                "APPLICATION_COMMAND_OPTION_VALUE_INVALID",
                format!("Unknown user {id}."),
            );
            continue;
        };
        users.insert(id.to_string(), json!(views::public_user(&user)));
        if let Some(g) = guild
            && let Some(m) = state.store.member(g, UserId::from_i64(*id)).await?
        {
            let mut member = json!(views_guild::member(&m, None));
            if let Some(obj) = member.as_object_mut() {
                obj.remove("user");
                obj.remove("deaf");
                obj.remove("mute");
            }
            members.insert(id.to_string(), member);
        }
    }
    for id in wanted.roles.iter().filter(|id| !wanted.users.contains(id)) {
        if !roles.contains_key(&id.to_string()) {
            tree.add(
                &["data", "options"],
                "APPLICATION_COMMAND_OPTION_VALUE_INVALID",
                format!("Unknown role {id}."),
            );
        }
    }
    for id in &wanted.channels {
        let found = state.store.channel(ChannelId::from_i64(*id)).await?;
        match found.filter(|c| c.guild_id == guild.map(GuildId::as_i64) && guild.is_some()) {
            Some(c) => {
                let view = views_guild::channel(&c, &[]);
                let mut v = json!({
                    "id": view.id, "name": view.name, "type": view.kind, "guild_id": view.guild_id,
                    "parent_id": view.parent_id, "nsfw": view.nsfw, "topic": view.topic,
                    "position": view.position, "rate_limit_per_user": view.rate_limit_per_user,
                    "last_message_id": view.last_message_id, "flags": view.flags,
                });
                if let Some(obj) = v.as_object_mut() {
                    obj.retain(|_, v| !v.is_null());
                }
                channels.insert(id.to_string(), v);
            }
            None => {
                tree.add(
                    &["data", "options"],
                    "APPLICATION_COMMAND_OPTION_VALUE_INVALID",
                    format!("Unknown channel {id}."),
                );
            }
        }
    }
    for id in &messages {
        match state
            .store
            .message(channel, MessageId::from_i64(*id))
            .await?
        {
            Some(m) => {
                let view = views_message::message(state, &m).await?;
                messages_out.insert(id.to_string(), json!(view));
            }
            None => {
                tree.add(
                    &["data", "target_id"],
                    "APPLICATION_COMMAND_TARGET_INVALID",
                    "Unknown message.",
                );
            }
        }
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let mut out = Map::new();
    for (key, map) in [
        ("users", users),
        ("members", members),
        ("roles", roles),
        ("channels", channels),
        ("messages", messages_out),
    ] {
        if !map.is_empty() {
            out.insert(key.into(), Value::Object(map));
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}
