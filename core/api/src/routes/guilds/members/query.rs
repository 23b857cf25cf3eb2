//! Query-string parameters read by hand, so a bad value is answered with Discord's 50035 field
//! error rather than a bare rejection.

use std::collections::HashMap;

use accord_model::{ErrorTree, Id};

/// The raw query parameters.
pub type Params = HashMap<String, String>;

/// An integer parameter between 1 and `max`, `default` when absent.
pub fn limit(tree: &mut ErrorTree, q: &Params, default: u32, max: u32) -> u32 {
    let Some(raw) = q.get("limit") else {
        return default;
    };
    match raw.trim().parse::<i64>() {
        Ok(n) if (1..=i64::from(max)).contains(&n) => n as u32,
        Ok(n) if n < 1 => {
            tree.add(
                &["limit"],
                "NUMBER_TYPE_MIN",
                "int value should be greater than or equal to 1.",
            );
            default
        }
        Ok(_) => {
            tree.add(
                &["limit"],
                "NUMBER_TYPE_MAX",
                format!("int value should be less than or equal to {max}."),
            );
            default
        }
        Err(_) => {
            tree.add(&["limit"], "NUMBER_TYPE_COERCE", "Value is not int.");
            default
        }
    }
}

/// An optional snowflake parameter.
pub fn snowflake<T>(tree: &mut ErrorTree, q: &Params, name: &str) -> Option<Id<T>> {
    let raw = q.get(name)?;
    match raw.trim().parse() {
        Ok(id) => Some(id),
        Err(_) => {
            tree.add(
                &[name],
                "NUMBER_TYPE_COERCE",
                format!("Value \"{raw}\" is not snowflake."),
            );
            None
        }
    }
}
