//! JSON shape tests: Discord's documented example objects (developers/resources/*.mdx), adapted
//! where noted, must deserialise, serialise back to the same JSON value, and carry exactly the
//! expected keys, with the expected ones null.

use std::collections::BTreeSet;
use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

mod application;
mod channel;
mod emoji;
mod guild;
mod invite;
mod member;
mod message;
mod role;
mod user;
mod webhook;

/// Parses `json` as `T`, checks it serialises back to the same value (also through a string),
/// and returns the parsed object.
pub fn round_trip<T>(json: &Value) -> T
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let parsed: T = serde_json::from_value(json.clone()).unwrap_or_else(|e| {
        panic!(
            "{} did not parse: {e}\n{json:#}",
            std::any::type_name::<T>()
        )
    });
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(&back, json, "{} changed shape", std::any::type_name::<T>());
    let text = serde_json::to_string(&parsed).unwrap();
    let again: T = serde_json::from_str(&text).unwrap();
    assert_eq!(again, parsed);
    parsed
}

/// Asserts that `value` (an object) has exactly the keys `present`, and that exactly `null`
/// of them are null.
pub fn assert_keys(value: &Value, present: &[&str], null: &[&str]) {
    let object = value.as_object().expect("an object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = present.iter().copied().collect();
    assert_eq!(keys, expected, "keys differ");
    let nulls: BTreeSet<&str> = object
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.as_str())
        .collect();
    let expected_nulls: BTreeSet<&str> = null.iter().copied().collect();
    assert_eq!(nulls, expected_nulls, "null keys differ");
}

/// Serialises `value` and checks its keys with [`assert_keys`].
pub fn assert_serialised_keys<T: Serialize>(value: &T, present: &[&str], null: &[&str]) {
    assert_keys(&serde_json::to_value(value).unwrap(), present, null);
}

/// Asserts that `json` (where `key` is null) still parses without `key`, and is written back
/// with `key: null`: always-present nullable fields are lenient on input.
pub fn assert_missing_is_null<T: Serialize + DeserializeOwned + Debug>(json: &Value, key: &str) {
    let mut with_null = json.clone();
    with_null[key] = Value::Null;
    let mut without = json.clone();
    without.as_object_mut().unwrap().remove(key);
    let parsed: T =
        serde_json::from_value(without).unwrap_or_else(|e| panic!("missing {key} rejected: {e}"));
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        with_null,
        "{key} not written as null"
    );
}

/// Asserts that `json` without `key` no longer parses as `T` (the key is required).
pub fn assert_required<T: DeserializeOwned + Debug>(json: &Value, key: &str) {
    let mut without = json.clone();
    without.as_object_mut().unwrap().remove(key);
    assert!(
        serde_json::from_value::<T>(without).is_err(),
        "{key} is not required"
    );
}
