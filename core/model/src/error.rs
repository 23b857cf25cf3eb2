//! The JSON error body Discord sends: `{code, message, errors?}` with nested `_errors` leaves.

use std::collections::BTreeMap;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Discord's JSON error codes that Accord sends (developers/topics/opcodes-and-status-codes.mdx).
pub mod codes {
    /// General error (the code of plain 404s and 405s).
    pub const GENERAL: u32 = 0;
    /// Unknown account.
    pub const UNKNOWN_ACCOUNT: u32 = 10001;
    /// Unknown application.
    pub const UNKNOWN_APPLICATION: u32 = 10002;
    /// Unknown channel.
    pub const UNKNOWN_CHANNEL: u32 = 10003;
    /// Unknown guild.
    pub const UNKNOWN_GUILD: u32 = 10004;
    /// Unknown invite.
    pub const UNKNOWN_INVITE: u32 = 10006;
    /// Unknown member.
    pub const UNKNOWN_MEMBER: u32 = 10007;
    /// Unknown message.
    pub const UNKNOWN_MESSAGE: u32 = 10008;
    /// Unknown role.
    pub const UNKNOWN_ROLE: u32 = 10011;
    /// Unknown token.
    pub const UNKNOWN_TOKEN: u32 = 10012;
    /// Unknown user.
    pub const UNKNOWN_USER: u32 = 10013;
    /// Unknown emoji.
    pub const UNKNOWN_EMOJI: u32 = 10014;
    /// Unknown webhook.
    pub const UNKNOWN_WEBHOOK: u32 = 10015;
    /// Unknown ban.
    pub const UNKNOWN_BAN: u32 = 10026;
    /// Bots cannot use this endpoint.
    pub const BOTS_CANNOT_USE: u32 = 20001;
    /// Only bots can use this endpoint.
    pub const ONLY_BOTS_CAN_USE: u32 = 20002;
    /// Maximum number of guilds reached.
    pub const MAX_GUILDS: u32 = 30001;
    /// Unauthorized: provide a valid token.
    pub const UNAUTHORIZED: u32 = 40001;
    /// Request entity too large.
    pub const ENTITY_TOO_LARGE: u32 = 40005;
    /// "internal network error": what Discord answers, with 403, to an address its network
    /// refuses; the edge proxy's IP filter sends it the same way.
    pub const ADDRESS_BLOCKED: u32 = 40333;
    /// Missing access.
    pub const MISSING_ACCESS: u32 = 50001;
    /// Invalid account type.
    pub const INVALID_ACCOUNT_TYPE: u32 = 50002;
    /// Missing permissions.
    pub const MISSING_PERMISSIONS: u32 = 50013;
    /// Invalid authentication token.
    pub const INVALID_TOKEN: u32 = 50014;
    /// Invalid form body.
    pub const INVALID_FORM_BODY: u32 = 50035;
    /// The request body contains invalid JSON.
    pub const INVALID_JSON: u32 = 50109;
    /// OAuth2 application limit reached.
    pub const APPLICATION_LIMIT: u32 = 50011;
    /// Invalid API version provided.
    pub const INVALID_API_VERSION: u32 = 50041;
}

/// One leaf error: `{code, message}` with a string code such as `BASE_TYPE_REQUIRED`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Machine-readable code, e.g. `BASE_TYPE_REQUIRED`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// The nested `errors` object: it mirrors the request body's shape, with `_errors` at each node
/// that has errors of its own. Array indices are keys too (`"0"`, `"1"`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorTree {
    /// This node's own errors (`_errors`).
    pub errors: Vec<FieldError>,
    /// Children by field name or array index.
    pub children: BTreeMap<String, ErrorTree>,
}

impl ErrorTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an error at `path` (field names and indices, outermost first).
    pub fn add<S: AsRef<str>>(
        &mut self,
        path: &[S],
        code: &str,
        message: impl Into<String>,
    ) -> &mut Self {
        let mut node = &mut *self;
        for key in path {
            node = node.children.entry(key.as_ref().to_owned()).or_default();
        }
        node.errors.push(FieldError {
            code: code.to_owned(),
            message: message.into(),
        });
        self
    }

    /// True when no error is anywhere in the tree.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.children.values().all(ErrorTree::is_empty)
    }

    /// The node at `path`, if present.
    pub fn get<S: AsRef<str>>(&self, path: &[S]) -> Option<&ErrorTree> {
        let mut node = self;
        for key in path {
            node = node.children.get(key.as_ref())?;
        }
        Some(node)
    }
}

impl Serialize for ErrorTree {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let children: Vec<_> = self
            .children
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .collect();
        let own = usize::from(!self.errors.is_empty());
        let mut map = serializer.serialize_map(Some(children.len() + own))?;
        if own == 1 {
            map.serialize_entry("_errors", &self.errors)?;
        }
        for (key, child) in children {
            map.serialize_entry(key, child)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ErrorTree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TreeVisitor;
        impl<'de> Visitor<'de> for TreeVisitor {
            type Value = ErrorTree;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an error tree object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut tree = ErrorTree::new();
                while let Some(key) = access.next_key::<String>()? {
                    if key == "_errors" {
                        tree.errors = access.next_value()?;
                    } else {
                        tree.children.insert(key, access.next_value()?);
                    }
                }
                Ok(tree)
            }
        }
        deserializer
            .deserialize_map(TreeVisitor)
            .map_err(de::Error::custom)
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Discord's JSON error code (see [`codes`]).
    pub code: u32,
    /// Human-readable message.
    pub message: String,
    /// Per-field errors, for 50035 Invalid Form Body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<ErrorTree>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_errors_match_discords_shape() {
        let mut tree = ErrorTree::new();
        tree.add(
            &["username"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
        tree.add(
            &["embeds", "0", "title"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 256 or fewer in length.",
        );
        let body = ErrorBody {
            code: codes::INVALID_FORM_BODY,
            message: "Invalid Form Body".into(),
            errors: Some(tree),
        };
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value,
            json!({
                "code": 50035,
                "message": "Invalid Form Body",
                "errors": {
                    "embeds": {"0": {"title": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]}}},
                    "username": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}
                }
            })
        );
        let back: ErrorBody = serde_json::from_value(value).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn plain_error_has_no_errors_key() {
        let body = ErrorBody {
            code: 40001,
            message: "401: Unauthorized".into(),
            errors: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"code":40001,"message":"401: Unauthorized"}"#
        );
    }

    #[test]
    fn empty_tree_reports_empty() {
        let mut tree = ErrorTree::new();
        assert!(tree.is_empty());
        tree.add(&["a", "b"], "X", "y");
        assert!(!tree.is_empty());
        assert_eq!(tree.get(&["a", "b"]).unwrap().errors.len(), 1);
    }
}
