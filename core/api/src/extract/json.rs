//! The JSON body extractor: Discord's errors for a wrong content type (50035), invalid JSON
//! (50109), a body over the size limit (40005), and fields of the wrong type or missing (50035
//! with the field's path in `errors`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`. An empty body is read as `{}` so that routes whose fields are
/// all optional accept a bodyless request, as Discord does.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::InvalidJson
            }
        })?;
        if bytes.is_empty() {
            return parse(b"{}").map(Json);
        }
        if is_json != Some(true) {
            return Err(ApiError::field(
                &[],
                "CONTENT_TYPE_INVALID",
                "Expected \"Content-Type\" header to be one of {'application/json'}.",
            ));
        }
        parse(&bytes).map(Json)
    }
}

/// Parses `bytes` into `T`, turning serde's complaint into Discord's error shape.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let inner = err.inner();
            if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                return Err(ApiError::InvalidJson);
            }
            let mut path: Vec<String> = err
                .path()
                .iter()
                .filter_map(|seg| match seg {
                    serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            let (code, text) = classify(&message, &mut path);
            let mut tree = accord_model::ErrorTree::new();
            tree.add(&path, code, text);
            Err(ApiError::InvalidForm(tree))
        }
    }
}

/// Maps serde's message onto Discord's field error codes, moving a missing field's name onto
/// the path.
fn classify(message: &str, path: &mut Vec<String>) -> (&'static str, String) {
    if let Some(rest) = message.strip_prefix("missing field `") {
        path.push(rest.trim_end_matches('`').to_owned());
        return ("BASE_TYPE_REQUIRED", "This field is required".to_owned());
    }
    if message.contains("is not snowflake") {
        return ("NUMBER_TYPE_COERCE", message.to_owned());
    }
    if let Some((_, expected)) = message.split_once(", expected ") {
        let expected = expected.to_ascii_lowercase();
        if expected.contains("string") || expected.contains("str") {
            return (
                "BASE_TYPE_STRING",
                "Could not interpret value as string.".to_owned(),
            );
        }
        if expected.contains("bool") {
            return (
                "BASE_TYPE_BOOLEAN",
                "Must be either true or false.".to_owned(),
            );
        }
        if expected.contains("integer")
            || expected.starts_with('u')
            || expected.starts_with('i')
            || expected.contains("number")
        {
            return ("NUMBER_TYPE_COERCE", "Value is not int.".to_owned());
        }
        if expected.contains("sequence") || expected.contains("array") {
            return ("BASE_TYPE_ARRAY", "Must be an array.".to_owned());
        }
    }
    if message.starts_with("unknown variant") || message.contains("expected one of") {
        return ("BASE_TYPE_CHOICES", message.to_owned());
    }
    ("MODEL_TYPE_CONVERT", message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        username: String,
        age: Option<u32>,
        nested: Option<Vec<Inner>>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    fn errors(json: &str) -> serde_json::Value {
        match parse::<Body>(json.as_bytes()) {
            Err(ApiError::InvalidForm(tree)) => serde_json::to_value(tree).unwrap(),
            other => panic!("expected a form error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_50109() {
        assert!(matches!(
            parse::<Body>(b"{\"username\": "),
            Err(ApiError::InvalidJson)
        ));
        assert!(matches!(
            parse::<Body>(b"not json"),
            Err(ApiError::InvalidJson)
        ));
    }

    #[test]
    fn field_errors_carry_their_path() {
        assert_eq!(
            errors("{}")["username"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
        assert_eq!(
            errors(r#"{"username": 5}"#)["username"]["_errors"][0]["code"],
            "BASE_TYPE_STRING"
        );
        assert_eq!(
            errors(r#"{"username": "a", "age": "x"}"#)["age"]["_errors"][0]["code"],
            "NUMBER_TYPE_COERCE"
        );
        assert_eq!(
            errors(r#"{"username": "a", "nested": [{"flag": true}, {"flag": 1}]}"#)["nested"]["1"]
                ["flag"]["_errors"][0]["code"],
            "BASE_TYPE_BOOLEAN"
        );
        assert_eq!(
            errors(r#"{"username": "a", "nested": [{}]}"#)["nested"]["0"]["flag"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
    }
}
