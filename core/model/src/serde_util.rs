//! Serde helpers for Discord's two kinds of "maybe" fields.
//!
//! Discord's docs write `field?: ?type` for a field that may be absent, present as `null`, or
//! present with a value. Accord models it as `Option<Option<T>>` (`None` = absent,
//! `Some(None)` = null, `Some(Some(v))` = value) with
//!
//! ```ignore
//! #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
//! ```
//!
//! so the three states survive a round trip. Request bodies that follow PATCH semantics
//! (absent = leave alone, null = clear) can use the same helper.
//!
//! `null_flag` handles role tags, where a key present with the value `null` means `true` and an
//! absent key means `false`.

use serde::{Deserialize, Deserializer, Serializer};

/// Deserialises a field that is present (possibly `null`) into `Some(..)`; used with
/// `#[serde(default)]` so that an absent field stays `None`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A boolean written as "key present with value `null`" (true) or "key absent" (false).
///
/// Use as `#[serde(default, with = "null_flag", skip_serializing_if = "null_flag::is_false")]`.
pub mod null_flag {
    use super::{Deserialize, Deserializer, Serializer};

    /// Any value present under the key means `true` (Discord sends `null`).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
    }

    /// Writes `null` (the field is skipped entirely when `false`).
    pub fn serialize<S: Serializer>(_: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }

    /// For `skip_serializing_if`.
    pub fn is_false(value: &bool) -> bool {
        !*value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Probe {
        #[serde(
            default,
            deserialize_with = "nullable",
            skip_serializing_if = "Option::is_none"
        )]
        field: Option<Option<u32>>,
        #[serde(
            default,
            with = "null_flag",
            skip_serializing_if = "null_flag::is_false"
        )]
        flag: bool,
    }

    #[test]
    fn three_states_round_trip() {
        for (value, expected) in [
            (
                json!({}),
                Probe {
                    field: None,
                    flag: false,
                },
            ),
            (
                json!({"field": null}),
                Probe {
                    field: Some(None),
                    flag: false,
                },
            ),
            (
                json!({"field": 5, "flag": null}),
                Probe {
                    field: Some(Some(5)),
                    flag: true,
                },
            ),
        ] {
            let parsed: Probe = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(parsed, expected);
            assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
        }
    }
}
