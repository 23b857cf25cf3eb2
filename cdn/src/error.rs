//! The CDN's errors, answered as Discord's JSON error bodies (`{"code": 0, "message": ...}`).

use accord_model::ErrorBody;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a request got no file.
#[derive(Debug)]
pub enum CdnError {
    /// No such file, or a path that cannot name one (404).
    NotFound,
    /// An attachment URL without a valid signature, or past its expiry, when URLs are signed
    /// (404 "This content is no longer available.", as Discord's CDN answers).
    NoLongerAvailable,
    /// Only GET and HEAD are served (405).
    MethodNotAllowed,
    /// The requested byte range lies outside a file of this size (416).
    RangeNotSatisfiable(u64),
    /// The storage failed; the cause is logged, never sent (500).
    Storage(accord_blobs::BlobError),
    /// A query the route cannot answer, such as a `?size=` that is not a power of two from 16
    /// to 4096 (400).
    BadRequest(&'static str),
    /// A stored image could not be resized or converted; the cause is logged (415).
    Render(String),
}

impl From<accord_blobs::BlobError> for CdnError {
    fn from(e: accord_blobs::BlobError) -> Self {
        match e {
            accord_blobs::BlobError::InvalidKey(_) => CdnError::NotFound,
            accord_blobs::BlobError::Range { size, .. } => CdnError::RangeNotSatisfiable(size),
            other => CdnError::Storage(other),
        }
    }
}

impl IntoResponse for CdnError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            CdnError::NotFound => (StatusCode::NOT_FOUND, "404: Not Found"),
            CdnError::NoLongerAvailable => (
                StatusCode::NOT_FOUND,
                "This content is no longer available.",
            ),
            CdnError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "405: Method Not Allowed")
            }
            CdnError::RangeNotSatisfiable(_) => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "416: Range Not Satisfiable",
            ),
            CdnError::BadRequest(why) => (StatusCode::BAD_REQUEST, *why),
            CdnError::Render(e) => {
                tracing::warn!(error = %e, "CDN could not render an image");
                (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "415: Unsupported Media Type",
                )
            }
            CdnError::Storage(e) => {
                tracing::error!(error = %e, "CDN storage failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "500: Internal Server Error",
                )
            }
        };
        let body = ErrorBody {
            code: 0,
            message: message.to_owned(),
            errors: None,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let CdnError::RangeNotSatisfiable(size) = self
            && let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            headers.insert(header::CONTENT_RANGE, v);
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        }
        response
    }
}
