//! Message components (developers/components/reference.mdx) checked before a message is stored:
//! up to 5 action rows, each with up to 5 buttons or one select menu; buttons with their style's
//! fields; string, user, role, mentionable and channel selects with their bounds and options;
//! `custom_id`s of 1–100 characters, unique in the message. Layout components of the newer
//! "components v2" system are refused here: they need the IS_COMPONENTS_V2 flag
//! ([`super::components_v2`]).

use accord_model::ErrorTree;
use serde_json::Value;

/// Most action rows per message, components per row and options per select.
const MAX: usize = 5;
const MAX_OPTIONS: usize = 25;

pub(crate) fn at(path: &[String], key: impl ToString) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(key.to_string());
    p
}

fn str_len(v: &Value, key: &str) -> Option<usize> {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| s.chars().count())
}

pub(crate) fn too_long(tree: &mut ErrorTree, c: &Value, path: &[String], key: &str, max: usize) {
    if str_len(c, key).is_some_and(|n| n > max) {
        tree.add(
            &at(path, key),
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        );
    }
}

pub(crate) fn custom_id(tree: &mut ErrorTree, c: &Value, path: &[String], seen: &mut Vec<String>) {
    match c.get("custom_id").and_then(Value::as_str) {
        Some(id) if (1..=100).contains(&id.chars().count()) => {
            if seen.iter().any(|s| s == id) {
                tree.add(
                    &at(path, "custom_id"),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                );
            }
            seen.push(id.to_owned());
        }
        Some(_) => {
            tree.add(
                &at(path, "custom_id"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            );
        }
        None => {
            tree.add(
                &at(path, "custom_id"),
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
        }
    }
}

pub(crate) fn button(tree: &mut ErrorTree, c: &Value, path: &[String], seen: &mut Vec<String>) {
    too_long(tree, c, path, "label", 80);
    let has = |k: &str| c.get(k).is_some_and(|v| !v.is_null());
    match c.get("style").and_then(Value::as_u64) {
        Some(1..=4) => {
            custom_id(tree, c, path, seen);
            if has("url") {
                tree.add(
                    &at(path, "url"),
                    "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                    "A non-link button cannot have a url",
                );
            }
            if !has("label") && !has("emoji") {
                tree.add(
                    &at(path, "label"),
                    "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED",
                    "A button needs a label or an emoji",
                );
            }
        }
        Some(5) => {
            if has("custom_id") {
                tree.add(
                    &at(path, "custom_id"),
                    "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                    "A link button cannot have a custom id",
                );
            }
            let url = c.get("url").and_then(Value::as_str).unwrap_or("");
            let scheme_ok = ["http://", "https://", "discord://"]
                .iter()
                .any(|p| url.starts_with(p));
            if !scheme_ok || url.chars().count() > 512 {
                tree.add(
                    &at(path, "url"),
                    "URL_TYPE_INVALID_URL",
                    "Not a well formed URL.",
                );
            }
        }
        Some(6) => {
            tree.add(
                &at(path, "style"),
                "BUTTON_COMPONENT_PREMIUM_UNSUPPORTED",
                "Premium buttons need SKUs, which this instance does not have",
            );
        }
        _ => {
            tree.add(
                &at(path, "style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2, 3, 4, 5, 6}.",
            );
        }
    }
}

pub(crate) fn select(
    tree: &mut ErrorTree,
    c: &Value,
    path: &[String],
    kind: u64,
    seen: &mut Vec<String>,
) {
    custom_id(tree, c, path, seen);
    too_long(tree, c, path, "placeholder", 150);
    let min = c.get("min_values").and_then(Value::as_u64);
    let max = c.get("max_values").and_then(Value::as_u64);
    if min.is_some_and(|m| m > MAX_OPTIONS as u64) {
        tree.add(
            &at(path, "min_values"),
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 25.",
        );
    }
    if max.is_some_and(|m| !(1..=MAX_OPTIONS as u64).contains(&m)) {
        tree.add(
            &at(path, "max_values"),
            "NUMBER_TYPE_MAX",
            "int value should be between 1 and 25.",
        );
    }
    if min.unwrap_or(1) > max.unwrap_or(1) {
        tree.add(
            &at(path, "min_values"),
            "SELECT_COMPONENT_MIN_MAX_INVALID",
            "min_values must be less than or equal to max_values",
        );
    }
    if kind == 3 {
        let options = c.get("options").and_then(Value::as_array);
        match options {
            Some(list) if (1..=MAX_OPTIONS).contains(&list.len()) => {
                for (i, o) in list.iter().enumerate() {
                    let p = at(path, "options");
                    let p = at(&p, i);
                    for key in ["label", "value"] {
                        match str_len(o, key) {
                            Some(1..=100) => {}
                            Some(_) => {
                                tree.add(
                                    &at(&p, key),
                                    "BASE_TYPE_BAD_LENGTH",
                                    "Must be between 1 and 100 in length.",
                                );
                            }
                            None => {
                                tree.add(
                                    &at(&p, key),
                                    "BASE_TYPE_REQUIRED",
                                    "This field is required",
                                );
                            }
                        }
                    }
                    too_long(tree, o, &p, "description", 100);
                    if list[..i].iter().any(|q| q.get("value") == o.get("value")) {
                        tree.add(
                            &at(&p, "value"),
                            "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                            "Select option values must be unique",
                        );
                    }
                }
            }
            _ => {
                tree.add(
                    &at(path, "options"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 25 in length.",
                );
            }
        }
    } else if c.get("options").is_some() {
        tree.add(
            &at(path, "options"),
            "COMPONENT_FIELD_INVALID",
            "Only string selects have options",
        );
    }
    if kind != 8 && c.get("channel_types").is_some() {
        tree.add(
            &at(path, "channel_types"),
            "COMPONENT_FIELD_INVALID",
            "Only channel selects have channel types",
        );
    }
}

/// Checks a message's `components` and adds every problem to `tree` under `components`.
pub fn validate(tree: &mut ErrorTree, components: &[Value]) {
    let root = vec!["components".to_owned()];
    if components.len() > MAX {
        tree.add(
            &root,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX} or fewer in length."),
        );
        return;
    }
    let mut seen = Vec::new();
    for (i, row) in components.iter().enumerate() {
        let path = at(&root, i);
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            tree.add(
                &at(&path, "type"),
                "COMPONENT_LAYOUT_INVALID",
                "Top-level components must be action rows",
            );
            continue;
        }
        action_row(tree, row, &path, &mut seen);
    }
}

/// Checks an action row at `path`: 1 to 5 buttons or one select menu.
pub(crate) fn action_row(
    tree: &mut ErrorTree,
    row: &Value,
    path: &[String],
    seen: &mut Vec<String>,
) {
    let children = row
        .get("components")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let kinds: Vec<u64> = children
        .iter()
        .map(|c| c.get("type").and_then(Value::as_u64).unwrap_or(0))
        .collect();
    let buttons = kinds.iter().all(|k| *k == 2);
    let one_select = kinds.len() == 1 && matches!(kinds[0], 3 | 5..=8);
    if children.is_empty() || (buttons && children.len() > MAX) || !(buttons || one_select) {
        tree.add(
            &at(path, "components"),
            "COMPONENT_LAYOUT_INVALID",
            "An action row holds 1 to 5 buttons or one select menu",
        );
        return;
    }
    for (j, c) in children.iter().enumerate() {
        let p = at(&at(path, "components"), j);
        match kinds[j] {
            2 => button(tree, c, &p, seen),
            k => select(tree, c, &p, k, seen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(components: Value) -> Vec<String> {
        let mut tree = ErrorTree::new();
        validate(&mut tree, components.as_array().unwrap());
        let body = serde_json::to_value(&tree).unwrap();
        let mut out = Vec::new();
        fn walk(v: &Value, out: &mut Vec<String>) {
            if let Some(errors) = v.get("_errors").and_then(Value::as_array) {
                out.extend(
                    errors
                        .iter()
                        .map(|e| e["code"].as_str().unwrap().to_owned()),
                );
            }
            if let Some(obj) = v.as_object() {
                for (k, child) in obj {
                    if k != "_errors" {
                        walk(child, out);
                    }
                }
            }
        }
        walk(&body, &mut out);
        out
    }

    #[test]
    fn action_rows_hold_buttons_or_one_select() {
        let ok = json!([
            {"type": 1, "components": [
                {"type": 2, "style": 1, "label": "Yes", "custom_id": "yes"},
                {"type": 2, "style": 5, "label": "Docs", "url": "https://example.com"}
            ]},
            {"type": 1, "components": [
                {"type": 3, "custom_id": "pick", "options": [{"label": "A", "value": "a"}], "max_values": 1}
            ]},
            {"type": 1, "components": [{"type": 5, "custom_id": "who"}]}
        ]);
        assert_eq!(codes(ok), Vec::<String>::new());
        assert_eq!(
            codes(json!([{"type": 2, "style": 1, "label": "x", "custom_id": "x"}])),
            ["COMPONENT_LAYOUT_INVALID"]
        );
        assert_eq!(
            codes(
                json!([{"type": 1, "components": [{"type": 3, "custom_id": "a", "options": [{"label": "A", "value": "a"}]},
                                                   {"type": 2, "style": 1, "label": "x", "custom_id": "x"}]}])
            ),
            ["COMPONENT_LAYOUT_INVALID"]
        );
        assert_eq!(
            codes(
                json!([{"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": "x"},
                                                   {"type": 2, "style": 2, "label": "y", "custom_id": "x"}]}])
            ),
            ["COMPONENT_CUSTOM_ID_DUPLICATED"]
        );
        assert_eq!(
            codes(json!([{"type": 1, "components": [{"type": 2, "style": 1, "label": "x"}]}])),
            ["BASE_TYPE_REQUIRED"]
        );
        assert_eq!(
            codes(
                json!([{"type": 1, "components": [{"type": 2, "style": 5, "label": "x", "url": "https://a", "custom_id": "c"}]}])
            ),
            ["BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED"]
        );
        assert_eq!(
            codes(
                json!([{"type": 1, "components": [{"type": 3, "custom_id": "s", "options": []}]}])
            ),
            ["BASE_TYPE_BAD_LENGTH"]
        );
        assert_eq!(
            codes(
                json!([{"type": 1, "components": [{"type": 5, "custom_id": "s", "min_values": 3, "max_values": 2}]}])
            ),
            ["SELECT_COMPONENT_MIN_MAX_INVALID"]
        );
    }
}
