//! `JsonOrMultipart<T>`: a body sent either as `application/json` or as `multipart/form-data`
//! with the JSON in a `payload_json` part and the uploads in `files[n]` parts (Discord's
//! "Uploading Files" in developers/reference.mdx).

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::extract::json::{Json, parse};

/// One uploaded file part.
#[derive(Debug, Clone)]
pub struct Upload {
    /// `n` of the part's name `files[n]`.
    pub index: u64,
    /// The file name the client gave.
    pub filename: String,
    /// The part's content type, if sent.
    pub content_type: Option<String>,
    /// The file's bytes.
    pub bytes: Bytes,
}

/// A request body: the JSON payload and the uploaded files (none for JSON bodies).
#[derive(Debug, Clone)]
pub struct JsonOrMultipart<T> {
    /// The JSON payload (`{}` when a multipart body has no `payload_json`).
    pub payload: T,
    /// The `files[n]` parts, in the order they came.
    pub files: Vec<Upload>,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonOrMultipart<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_multipart = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("multipart/form-data")
            });
        if !is_multipart {
            let Json(payload) = Json::<T>::from_request(req, state).await?;
            return Ok(Self {
                payload,
                files: Vec::new(),
            });
        }
        let mut multipart = Multipart::from_request(req, state)
            .await
            .map_err(|_| invalid_form())?;
        let mut payload: Option<Bytes> = None;
        let mut files = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(read_error)? {
            let name = field.name().unwrap_or("").to_owned();
            if name == "payload_json" {
                payload = Some(field.bytes().await.map_err(read_error)?);
            } else if let Some(index) = file_index(&name) {
                let filename = field
                    .file_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("file{index}"));
                let content_type = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await.map_err(read_error)?;
                files.push(Upload {
                    index,
                    filename,
                    content_type,
                    bytes,
                });
            }
            // Other parts (Discord accepts form fields it does not use) are skipped.
        }
        let payload = match payload {
            Some(bytes) if !bytes.is_empty() => parse(&bytes)?,
            _ => parse(b"{}")?,
        };
        Ok(Self { payload, files })
    }
}

/// `n` of a part named `files[n]` (or `file` / `files` for clients that send one file so).
fn file_index(name: &str) -> Option<u64> {
    if name == "file" || name == "files" {
        return Some(0);
    }
    name.strip_prefix("files[")?.strip_suffix(']')?.parse().ok()
}

/// A multipart body that cannot be read: too large (40005) or malformed (50035).
fn read_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge
    } else {
        invalid_form()
    }
}

fn invalid_form() -> ApiError {
    ApiError::field(
        &[],
        "BASE_TYPE_BAD_FORM",
        "Invalid multipart/form-data body.",
    )
}

#[cfg(test)]
mod tests {
    use super::file_index;

    #[test]
    fn file_part_names() {
        assert_eq!(file_index("files[0]"), Some(0));
        assert_eq!(file_index("files[12]"), Some(12));
        assert_eq!(file_index("file"), Some(0));
        assert_eq!(file_index("files[x]"), None);
        assert_eq!(file_index("payload_json"), None);
    }
}
