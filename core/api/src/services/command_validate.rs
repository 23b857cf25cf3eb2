//! Checking an application command the way Discord does: names (the CHAT_INPUT pattern and
//! lowercase rule), lengths, localizations, at most 25 options and choices, required options
//! first, unique names, what each option type may carry, and the 8000-character total.

use accord_model::command::LOCALES;
use accord_model::{
    ApplicationCommand, ChoiceValue, CommandOption, CommandOptionType, CommandType, ErrorTree,
    Localizations,
};

/// Most options per level and choices per option.
pub const MAX_OPTIONS: usize = 25;
/// Largest integer or double an option value may be (2^53).
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;
/// Largest combined length of a command's names, descriptions and choice values.
const MAX_COMMAND_CHARS: usize = 8000;

/// A path in the error tree.
type Path = Vec<String>;

fn at(path: &Path, key: &str) -> Path {
    let mut p = path.clone();
    p.push(key.to_owned());
    p
}

/// Whether `name` is a valid CHAT_INPUT command or option name: 1–32 of letters, digits, `-`,
/// `_` and `'` (Devanagari and Thai marks included), lowercase where a lowercase form exists.
pub fn is_chat_input_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=32).contains(&len)
        && name.chars().all(|c| {
            matches!(c, '-' | '_' | '\'') || c.is_alphabetic() || c.is_numeric() || is_mark(c)
        })
        && name.chars().all(|c| {
            let lower: String = c.to_lowercase().collect();
            lower.chars().eq(std::iter::once(c)) || !c.is_uppercase()
        })
}

/// Devanagari and Thai characters the pattern admits besides letters (vowel signs, marks).
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{097F}' | '\u{A8E0}'..='\u{A8FF}' | '\u{0E00}'..='\u{0E7F}')
}

fn check_name(tree: &mut ErrorTree, path: &Path, name: &str, chat_input: bool) {
    let len = name.chars().count();
    if !(1..=32).contains(&len) {
        tree.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        );
    } else if chat_input && !is_chat_input_name(name) {
        tree.add(
            path,
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        );
    }
}

fn check_description(tree: &mut ErrorTree, path: &Path, text: &str) {
    let len = text.chars().count();
    if !(1..=100).contains(&len) {
        tree.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
    }
}

fn check_localizations(
    tree: &mut ErrorTree,
    path: &Path,
    map: Option<&Option<Localizations>>,
    each: impl Fn(&mut ErrorTree, &Path, &str),
) {
    let Some(Some(map)) = map else { return };
    for (locale, value) in map {
        let p = at(path, locale);
        if !LOCALES.contains(&locale.as_str()) {
            tree.add(
                &p,
                "LOCALE_INVALID",
                format!("Invalid locale \"{locale}\"."),
            );
        } else {
            each(tree, &p, value);
        }
    }
}

/// Counts the characters that make up the command's size.
fn size_of_options(options: &[CommandOption]) -> usize {
    options
        .iter()
        .map(|o| {
            o.name.chars().count()
                + o.description.chars().count()
                + o.choices.as_deref().map_or(0, |cs| {
                    cs.iter()
                        .map(|c| {
                            c.name.chars().count()
                                + match &c.value {
                                    ChoiceValue::String(s) => s.chars().count(),
                                    other => serde_json::to_string(other).map_or(0, |s| s.len()),
                                }
                        })
                        .sum()
                })
                + o.options.as_deref().map_or(0, size_of_options)
        })
        .sum()
}

/// Checks a whole command (its type, name, description, localizations and options) and adds
/// every problem to `tree` under `path`.
pub fn command(tree: &mut ErrorTree, path: &Path, cmd: &ApplicationCommand) {
    let chat_input = cmd.kind == CommandType::ChatInput;
    if cmd.kind == CommandType::PrimaryEntryPoint {
        tree.add(
            &at(path, "type"),
            "APPLICATION_COMMAND_TYPE_INVALID",
            "Entry point commands are only available to apps with an Activity.",
        );
        return;
    }
    check_name(tree, &at(path, "name"), &cmd.name, chat_input);
    check_localizations(
        tree,
        &at(path, "name_localizations"),
        cmd.name_localizations.as_ref(),
        |t, p, v| check_name(t, p, v, chat_input),
    );
    if chat_input {
        check_description(tree, &at(path, "description"), &cmd.description);
        check_localizations(
            tree,
            &at(path, "description_localizations"),
            cmd.description_localizations.as_ref(),
            check_description,
        );
        options(tree, &at(path, "options"), cmd.options.as_deref(), 0);
        let size = cmd.name.chars().count()
            + cmd.description.chars().count()
            + cmd.options.as_deref().map_or(0, size_of_options);
        if size > MAX_COMMAND_CHARS {
            tree.add(
                path,
                "APPLICATION_COMMAND_TOO_LARGE",
                format!("Command exceeds maximum size ({MAX_COMMAND_CHARS})"),
            );
        }
    } else {
        if !cmd.description.is_empty() {
            tree.add(
                &at(path, "description"),
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have description",
            );
        }
        if cmd.options.as_ref().is_some_and(|o| !o.is_empty()) {
            tree.add(
                &at(path, "options"),
                "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                "Context menu commands cannot have options",
            );
        }
    }
}

/// Checks one level of options. `depth` 0 is the command's own list, 1 a group's or
/// subcommand's, 2 a subcommand inside a group.
fn options(tree: &mut ErrorTree, path: &Path, list: Option<&[CommandOption]>, depth: u8) {
    let Some(list) = list else { return };
    if list.len() > MAX_OPTIONS {
        tree.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_OPTIONS} or fewer in length."),
        );
        return;
    }
    let subs = list.iter().filter(|o| o.kind.is_subcommand()).count();
    if subs != 0 && subs != list.len() {
        tree.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        );
    }
    let mut seen_optional = false;
    for (i, option) in list.iter().enumerate() {
        let p = at(path, &i.to_string());
        if list[..i].iter().any(|o| o.name == option.name) {
            tree.add(
                &at(&p, "name"),
                "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                "Option names must be unique",
            );
        }
        let required = option.required == Some(true);
        if required && seen_optional {
            tree.add(
                &at(&p, "required"),
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            );
        }
        seen_optional |= !required;
        one(tree, &p, option, depth);
    }
}

fn one(tree: &mut ErrorTree, path: &Path, o: &CommandOption, depth: u8) {
    use CommandOptionType as T;
    check_name(tree, &at(path, "name"), &o.name, true);
    check_localizations(
        tree,
        &at(path, "name_localizations"),
        o.name_localizations.as_ref(),
        |t, p, v| check_name(t, p, v, true),
    );
    check_description(tree, &at(path, "description"), &o.description);
    check_localizations(
        tree,
        &at(path, "description_localizations"),
        o.description_localizations.as_ref(),
        check_description,
    );
    let not_for = |tree: &mut ErrorTree, key: &str, present: bool| {
        if present {
            tree.add(
                &at(path, key),
                "APPLICATION_COMMAND_OPTION_FIELD_INVALID",
                format!("This option type cannot have \"{key}\"."),
            );
        }
    };
    match o.kind {
        T::SubCommandGroup | T::SubCommand => {
            let allowed_here = match o.kind {
                T::SubCommandGroup => depth == 0,
                _ => depth <= 1,
            };
            if !allowed_here {
                tree.add(
                    &at(path, "type"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-commands cannot be nested this deep",
                );
            }
            not_for(tree, "required", o.required.is_some_and(|r| r));
            let children = o.options.as_deref();
            if o.kind == T::SubCommandGroup
                && children.is_some_and(|c| c.iter().any(|c| c.kind != T::SubCommand))
            {
                tree.add(
                    &at(path, "options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "A sub-command group may only hold sub-commands",
                );
            } else if o.kind == T::SubCommand
                && children.is_some_and(|c| c.iter().any(|c| c.kind.is_subcommand()))
            {
                tree.add(
                    &at(path, "options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "A sub-command may not hold sub-commands",
                );
            } else {
                options(tree, &at(path, "options"), children, depth + 1);
            }
        }
        _ => not_for(tree, "options", o.options.is_some()),
    }
    let choosable = matches!(o.kind, T::String | T::Integer | T::Number);
    not_for(tree, "choices", !choosable && o.choices.is_some());
    not_for(
        tree,
        "autocomplete",
        !choosable && o.autocomplete == Some(true),
    );
    not_for(
        tree,
        "channel_types",
        o.kind != T::Channel && o.channel_types.is_some(),
    );
    let numeric = matches!(o.kind, T::Integer | T::Number);
    not_for(tree, "min_value", !numeric && o.min_value.is_some());
    not_for(tree, "max_value", !numeric && o.max_value.is_some());
    not_for(
        tree,
        "min_length",
        o.kind != T::String && o.min_length.is_some(),
    );
    not_for(
        tree,
        "max_length",
        o.kind != T::String && o.max_length.is_some(),
    );
    if o.autocomplete == Some(true) && o.choices.as_ref().is_some_and(|c| !c.is_empty()) {
        tree.add(
            &at(path, "autocomplete"),
            "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
            "Autocomplete cannot be set on options with choices",
        );
    }
    if choosable && let Some(choices) = &o.choices {
        check_choices(tree, &at(path, "choices"), o.kind, choices);
    }
    if numeric {
        check_bounds(tree, path, o);
    }
    if o.kind == T::String {
        if o.min_length.is_some_and(|v| v > 6000) {
            tree.add(
                &at(path, "min_length"),
                "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 6000.",
            );
        }
        if let Some(max) = o.max_length
            && !(1..=6000).contains(&max)
        {
            tree.add(
                &at(path, "max_length"),
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 6000.",
            );
        }
        if let (Some(min), Some(max)) = (o.min_length, o.max_length)
            && min > max
        {
            tree.add(
                &at(path, "min_length"),
                "APPLICATION_COMMAND_OPTION_MIN_MAX_INVALID",
                "min_length must be less than or equal to max_length",
            );
        }
    }
}

fn check_choices(
    tree: &mut ErrorTree,
    path: &Path,
    kind: CommandOptionType,
    choices: &[accord_model::CommandOptionChoice],
) {
    if choices.len() > MAX_OPTIONS {
        tree.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_OPTIONS} or fewer in length."),
        );
        return;
    }
    for (i, choice) in choices.iter().enumerate() {
        let p = at(path, &i.to_string());
        let len = choice.name.chars().count();
        if !(1..=100).contains(&len) {
            tree.add(
                &at(&p, "name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            );
        }
        check_localizations(
            tree,
            &at(&p, "name_localizations"),
            choice.name_localizations.as_ref(),
            |t, p, v| {
                if !(1..=100).contains(&v.chars().count()) {
                    t.add(
                        p,
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    );
                }
            },
        );
        let ok = match (&choice.value, kind) {
            (ChoiceValue::String(s), CommandOptionType::String) => {
                if s.chars().count() > 100 {
                    tree.add(
                        &at(&p, "value"),
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 100 or fewer in length.",
                    );
                }
                true
            }
            (ChoiceValue::Integer(v), CommandOptionType::Integer | CommandOptionType::Number) => {
                (*v as f64).abs() < MAX_SAFE
            }
            (ChoiceValue::Number(v), CommandOptionType::Number) => v.abs() <= MAX_SAFE,
            _ => false,
        };
        if !ok {
            tree.add(
                &at(&p, "value"),
                "APPLICATION_COMMAND_OPTION_CHOICE_VALUE_INVALID",
                "The choice value does not match the option type",
            );
        }
    }
}

fn check_bounds(tree: &mut ErrorTree, path: &Path, o: &CommandOption) {
    let integer = o.kind == CommandOptionType::Integer;
    let mut read = |key: &str, v: Option<&serde_json::Number>| -> Option<f64> {
        let v = v?;
        let value = v.as_f64()?;
        if (integer && !(v.is_i64() || v.is_u64())) || value.abs() > MAX_SAFE {
            tree.add(
                &at(path, key),
                "NUMBER_TYPE_COERCE",
                format!(
                    "Value \"{v}\" is not a valid {}.",
                    if integer { "integer" } else { "number" }
                ),
            );
            return None;
        }
        Some(value)
    };
    let min = read("min_value", o.min_value.as_ref());
    let max = read("max_value", o.max_value.as_ref());
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        tree.add(
            &at(path, "min_value"),
            "APPLICATION_COMMAND_OPTION_MIN_MAX_INVALID",
            "min_value must be less than or equal to max_value",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_input_names_follow_discords_pattern() {
        for ok in [
            "blep",
            "only_smol",
            "a-b",
            "it's",
            "生日",
            "γενέθλια",
            "x1",
            "ßeta",
        ] {
            assert!(is_chat_input_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Blep",
            "has space",
            "a.b",
            "emoji🙂",
            &"a".repeat(33),
            "ΓΕΝ",
        ] {
            assert!(!is_chat_input_name(bad), "{bad}");
        }
    }
}
