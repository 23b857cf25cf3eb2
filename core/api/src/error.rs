//! The one API error type, with exactly one mapping from each variant to an HTTP status and a
//! Discord JSON error code. Internal causes are logged here and never sent to the client.

use accord_model::error::codes;
use accord_model::{ErrorBody, ErrorTree};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or a token that is not valid (40001).
    #[error("401: Unauthorized")]
    Unauthorized,
    /// Something addressed by the route does not exist (100xx).
    #[error("{0}")]
    Unknown(Unknown),
    /// The body failed validation (50035) with per-field errors.
    #[error("Invalid Form Body")]
    InvalidForm(ErrorTree),
    /// The body is not valid JSON (50109).
    #[error("The request body contains invalid JSON.")]
    InvalidJson,
    /// The body is larger than the instance accepts (40005).
    #[error("Request entity too large")]
    TooLarge,
    /// The caller lacks a permission or instance right (50013).
    #[error("Missing Permissions")]
    MissingPermissions,
    /// The caller may not see the resource (50001).
    #[error("Missing Access")]
    MissingAccess,
    /// Bots may not use this route (20001).
    #[error("Bots cannot use this endpoint")]
    BotsForbidden,
    /// Only bots may use this route (20002).
    #[error("Only bots can use this endpoint")]
    OnlyBots,
    /// The owner has as many applications as the instance allows (50011).
    #[error("OAuth2 application limit reached")]
    ApplicationLimit,
    /// The instance does not accept registrations (403, code 0).
    #[error("Registration is disabled on this instance.")]
    RegistrationClosed,
    /// No route matches the path (404, code 0).
    #[error("404: Not Found")]
    NotFound,
    /// The route exists but not for this method (405, code 0).
    #[error("405: Method Not Allowed")]
    MethodNotAllowed,
    /// The database (or another dependency) is not reachable (503, code 0).
    #[error("Service Unavailable")]
    Unavailable,
    /// A failure inside the server; the cause is logged, the client sees a generic 500.
    #[error("500: Internal Server Error")]
    Internal(String),
}

/// Which kind of thing was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unknown {
    /// 10002.
    #[error("Unknown Application")]
    Application,
    /// 10013.
    #[error("Unknown User")]
    User,
    /// 10006.
    #[error("Unknown Invite")]
    Invite,
}

impl Unknown {
    fn code(self) -> u32 {
        match self {
            Unknown::Application => codes::UNKNOWN_APPLICATION,
            Unknown::User => codes::UNKNOWN_USER,
            Unknown::Invite => codes::UNKNOWN_INVITE,
        }
    }
}

impl ApiError {
    /// A 50035 error with one field error at `path`.
    pub fn field(path: &[&str], code: &str, message: impl Into<String>) -> Self {
        let mut tree = ErrorTree::new();
        tree.add(path, code, message);
        ApiError::InvalidForm(tree)
    }

    /// The status and JSON code of this error.
    pub fn status_and_code(&self) -> (StatusCode, u32) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED),
            ApiError::Unknown(u) => (StatusCode::NOT_FOUND, u.code()),
            ApiError::InvalidForm(_) => (StatusCode::BAD_REQUEST, codes::INVALID_FORM_BODY),
            ApiError::InvalidJson => (StatusCode::BAD_REQUEST, codes::INVALID_JSON),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, codes::ENTITY_TOO_LARGE),
            ApiError::MissingPermissions => (StatusCode::FORBIDDEN, codes::MISSING_PERMISSIONS),
            ApiError::MissingAccess => (StatusCode::FORBIDDEN, codes::MISSING_ACCESS),
            ApiError::BotsForbidden => (StatusCode::FORBIDDEN, codes::BOTS_CANNOT_USE),
            ApiError::OnlyBots => (StatusCode::FORBIDDEN, codes::ONLY_BOTS_CAN_USE),
            ApiError::ApplicationLimit => (StatusCode::BAD_REQUEST, codes::APPLICATION_LIMIT),
            ApiError::RegistrationClosed => (StatusCode::FORBIDDEN, codes::GENERAL),
            ApiError::NotFound => (StatusCode::NOT_FOUND, codes::GENERAL),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, codes::GENERAL),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, codes::GENERAL),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, codes::GENERAL),
        }
    }

    /// The JSON body of this error.
    pub fn body(&self) -> ErrorBody {
        let (_, code) = self.status_and_code();
        let errors = match self {
            ApiError::InvalidForm(tree) => Some(tree.clone()),
            _ => None,
        };
        ErrorBody {
            code,
            message: self.to_string(),
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let (status, _) = self.status_and_code();
        (status, Json(self.body())).into_response()
    }
}

impl From<accord_store::StoreError> for ApiError {
    fn from(e: accord_store::StoreError) -> Self {
        match e {
            accord_store::StoreError::Database(sqlx_err) if is_unavailable(&sqlx_err) => {
                tracing::error!(error = %sqlx_err, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

fn is_unavailable(e: &accord_store::sqlx::Error) -> bool {
    use accord_store::sqlx::Error as E;
    matches!(e, E::PoolTimedOut | E::PoolClosed | E::Io(_))
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_discords_status_and_code() {
        let cases = [
            (ApiError::Unauthorized, 401, 40001, "401: Unauthorized"),
            (ApiError::Unknown(Unknown::User), 404, 10013, "Unknown User"),
            (
                ApiError::InvalidJson,
                400,
                50109,
                "The request body contains invalid JSON.",
            ),
            (ApiError::TooLarge, 413, 40005, "Request entity too large"),
            (
                ApiError::MissingPermissions,
                403,
                50013,
                "Missing Permissions",
            ),
            (
                ApiError::BotsForbidden,
                403,
                20001,
                "Bots cannot use this endpoint",
            ),
            (
                ApiError::OnlyBots,
                403,
                20002,
                "Only bots can use this endpoint",
            ),
            (ApiError::NotFound, 404, 0, "404: Not Found"),
            (
                ApiError::Internal("secret cause".into()),
                500,
                0,
                "500: Internal Server Error",
            ),
        ];
        for (err, status, code, message) in cases {
            let (s, c) = err.status_and_code();
            assert_eq!((s.as_u16(), c), (status, code), "{err:?}");
            let body = err.body();
            assert_eq!(body.message, message);
            assert!(!body.message.contains("secret"));
        }
        let form = ApiError::field(
            &["username"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
        let body = serde_json::to_value(form.body()).unwrap();
        assert_eq!(body["code"], 50035);
        assert_eq!(
            body["errors"]["username"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
    }
}
