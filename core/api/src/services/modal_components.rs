//! The form of a modal (developers/components/reference.mdx, using-modal-components.mdx): 1 to
//! 5 top-level components, each a Label (type 18: `label` up to 45 characters, `description`
//! up to 100) wrapping a text input or a string select, a text display (10), or the legacy
//! action row of one text input; and the user's answers to it, checked against what was shown
//! (text lengths, `required`, the select's options and `min_values`/`max_values`) and shaped
//! as Discord sends them in MODAL_SUBMIT.

use std::collections::BTreeMap;

use accord_model::ErrorTree;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::services::messages::components::{at, select, too_long};

fn len(v: &Value, key: &str) -> Option<usize> {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| s.chars().count())
}

fn kind(v: &Value) -> Option<u64> {
    v.get("type").and_then(Value::as_u64)
}

/// Adds an error unless the string `key` of `v` is `min`..=`max` characters (absent: only an
/// error when `min` > 0).
fn bounded(tree: &mut ErrorTree, path: &[String], v: &Value, key: &str, min: usize, max: usize) {
    let p = at(path, key);
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

/// A text input; `labelled` when a Label carries its label (its own `label` is then optional).
fn text_input(
    tree: &mut ErrorTree,
    path: &[String],
    input: &Value,
    labelled: bool,
    seen: &mut Vec<String>,
) {
    crate::services::messages::components::custom_id(tree, input, path, seen);
    bounded(tree, path, input, "label", usize::from(!labelled), 45);
    bounded(tree, path, input, "value", 0, 4000);
    bounded(tree, path, input, "placeholder", 0, 100);
    if !matches!(input.get("style").and_then(Value::as_u64), Some(1 | 2)) {
        tree.add(
            &at(path, "style"),
            "BASE_TYPE_CHOICES",
            "Value must be one of {1, 2}.",
        );
    }
    let min = input.get("min_length").and_then(Value::as_u64);
    let max = input.get("max_length").and_then(Value::as_u64);
    if min.is_some_and(|m| m > 4000)
        || max.is_some_and(|m| !(1..=4000).contains(&m))
        || min.zip(max).is_some_and(|(a, b)| a > b)
    {
        tree.add(
            &at(path, "min_length"),
            "COMPONENT_MIN_MAX_INVALID",
            "min_length and max_length must be within 0–4000 and in order.",
        );
    }
}

/// Whether an input must be answered (`required`, true by default).
fn required(input: &Value) -> bool {
    input
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// A string select in a modal: a message select's rules, no `disabled` (the docs: "Using
/// `disabled` in a modal will result in an error"), and `min_values` omitted or at least 1
/// when the select is required.
fn modal_select(tree: &mut ErrorTree, path: &[String], c: &Value, seen: &mut Vec<String>) {
    select(tree, c, path, 3, seen);
    if c.get("disabled").is_some_and(|d| !d.is_null()) {
        tree.add(
            &at(path, "disabled"),
            "COMPONENT_FIELD_INVALID",
            "Modals cannot have disabled components",
        );
    }
    if required(c) && c.get("min_values").and_then(Value::as_u64) == Some(0) {
        tree.add(
            &at(path, "min_values"),
            "SELECT_COMPONENT_MIN_MAX_INVALID",
            "min_values must be at least 1 when the select is required",
        );
    }
}

fn layout_error(tree: &mut ErrorTree, path: &[String], message: &str) {
    tree.add(path, "COMPONENT_LAYOUT_INVALID", message);
}

/// Checks a MODAL callback's data; returns it as shown.
pub fn validate(data: &Value) -> ApiResult<Value> {
    let mut tree = ErrorTree::new();
    let root = vec!["data".to_owned()];
    bounded(&mut tree, &root, data, "custom_id", 1, 100);
    bounded(&mut tree, &root, data, "title", 1, 45);
    let top = data
        .get("components")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let list = at(&root, "components");
    if !(1..=5).contains(&top.len()) {
        layout_error(&mut tree, &list, "A modal holds 1 to 5 components");
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, c) in top.iter().enumerate() {
        let path = at(&list, i);
        match kind(c) {
            Some(1) => {
                let children = c.get("components").and_then(Value::as_array);
                match children {
                    Some(ch) if ch.len() == 1 && kind(&ch[0]) == Some(4) => {
                        text_input(
                            &mut tree,
                            &at(&at(&path, "components"), 0),
                            &ch[0],
                            false,
                            &mut seen,
                        );
                    }
                    _ => layout_error(
                        &mut tree,
                        &at(&path, "components"),
                        "An action row in a modal holds one text input",
                    ),
                }
            }
            Some(18) => {
                bounded(&mut tree, &path, c, "label", 1, 45);
                too_long(&mut tree, c, &path, "description", 100);
                let inner = c.get("component").unwrap_or(&Value::Null);
                let p = at(&path, "component");
                match kind(inner) {
                    Some(4) => text_input(&mut tree, &p, inner, true, &mut seen),
                    Some(3) => modal_select(&mut tree, &p, inner, &mut seen),
                    _ => layout_error(
                        &mut tree,
                        &p,
                        "A label holds a text input or a string select",
                    ),
                }
            }
            Some(10) => bounded(&mut tree, &path, c, "content", 1, 4000),
            _ => layout_error(
                &mut tree,
                &at(&path, "type"),
                "A modal holds labels, text displays and action rows of one text input",
            ),
        }
    }
    if tree.is_empty() {
        Ok(data.clone())
    } else {
        Err(ApiError::InvalidForm(tree))
    }
}

fn invalid(message: &str) -> ApiError {
    ApiError::field(&["data"], "COMPONENT_VALIDATION_FAILED", message.to_owned())
}

/// Every answered component (anything with a `custom_id`) in the submitted tree, whatever
/// wraps it (action rows' `components`, labels' `component`).
fn answered<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(list) => list.iter().for_each(|c| answered(c, out)),
        Value::Object(o) => {
            if o.contains_key("custom_id") {
                out.push(v);
            } else {
                if let Some(c) = o.get("components") {
                    answered(c, out);
                }
                if let Some(c) = o.get("component") {
                    answered(c, out);
                }
            }
        }
        _ => {}
    }
}

/// The answer to a text input, checked.
fn text_answer(input: &Value, answer: Option<&Value>) -> ApiResult<Value> {
    let value = answer
        .and_then(|a| a.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let n = value.chars().count() as u64;
    let min = input.get("min_length").and_then(Value::as_u64).unwrap_or(0);
    let max = input
        .get("max_length")
        .and_then(Value::as_u64)
        .unwrap_or(4000);
    if (required(input) && n == 0) || (n > 0 && (n < min || n > max)) {
        return Err(invalid(
            "An answer is missing or outside its input's lengths.",
        ));
    }
    Ok(json!({"type": 4, "custom_id": input["custom_id"], "value": value}))
}

/// The answer to a string select, checked: known distinct option values, as many as allowed.
fn select_answer(input: &Value, answer: Option<&Value>) -> ApiResult<Value> {
    let values: Vec<&str> = match answer.and_then(|a| a.get("values")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| invalid("Select values are strings."))
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(invalid("Select values are a list.")),
    };
    let options: Vec<&str> = input["options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["value"].as_str())
        .collect();
    let known = values.iter().all(|v| options.contains(v));
    let distinct = values
        .iter()
        .enumerate()
        .all(|(i, v)| !values[..i].contains(v));
    let min = input.get("min_values").and_then(Value::as_u64).unwrap_or(1) as usize;
    let max = input.get("max_values").and_then(Value::as_u64).unwrap_or(1) as usize;
    let count_ok = if values.is_empty() {
        !required(input)
    } else {
        (min..=max).contains(&values.len())
    };
    if !known || !distinct || !count_ok {
        return Err(invalid(
            "A select's values are not among its options or not as many as it allows.",
        ));
    }
    Ok(json!({"type": 3, "custom_id": input["custom_id"], "values": values}))
}

/// `answer` with the shown component's `id`, when it had one.
fn with_id(mut answer: Value, shown: &Value) -> Value {
    if let (Some(obj), Some(id)) = (answer.as_object_mut(), shown.get("id")) {
        let mut out = Map::new();
        out.insert("type".into(), obj.remove("type").unwrap_or(Value::Null));
        out.insert("id".into(), id.clone());
        out.extend(std::mem::take(obj));
        return Value::Object(out);
    }
    answer
}

/// The submitted answers checked against the modal: every answer names one of its inputs (of
/// the same type) once, each input's answer fits it. Returns the components as the
/// application receives them, in the modal's layout.
pub fn check_answers(modal: &Value, submitted: &[Value]) -> ApiResult<Vec<Value>> {
    let shown: &[Value] = modal["components"].as_array().map_or(&[], Vec::as_slice);
    let mut inputs: Vec<&Value> = Vec::new();
    for c in shown {
        match kind(c) {
            Some(1) => inputs.extend(c["components"].get(0)),
            Some(18) => inputs.extend(c.get("component")),
            _ => {}
        }
    }
    let mut given: Vec<&Value> = Vec::new();
    for c in submitted {
        answered(c, &mut given);
    }
    let mut answers: BTreeMap<String, Value> = BTreeMap::new();
    for a in given {
        let id = a.get("custom_id").and_then(Value::as_str).unwrap_or("");
        let input = inputs.iter().find(|i| i["custom_id"] == id);
        let same_type = input.is_some_and(|i| kind(a).is_none_or(|k| Some(k) == kind(i)));
        if !same_type || answers.contains_key(id) {
            return Err(invalid("An answer names no input of the modal."));
        }
        answers.insert(id.to_owned(), a.clone());
    }
    let answer_to = |input: &Value| -> ApiResult<Value> {
        let given = input["custom_id"].as_str().and_then(|id| answers.get(id));
        let checked = match kind(input) {
            Some(3) => select_answer(input, given)?,
            _ => text_answer(input, given)?,
        };
        Ok(with_id(checked, input))
    };
    let mut out = Vec::new();
    for c in shown {
        match kind(c) {
            Some(1) => {
                let input = &c["components"][0];
                out.push(with_id(
                    json!({"type": 1, "components": [answer_to(input)?]}),
                    c,
                ));
            }
            Some(18) => {
                out.push(with_id(
                    json!({"type": 18, "component": answer_to(&c["component"])?}),
                    c,
                ));
            }
            Some(10) => out.push(with_id(json!({"type": 10}), c)),
            _ => {}
        }
    }
    Ok(out)
}
