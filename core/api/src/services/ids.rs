//! Path ids: a path segment that is not a snowflake names nothing, so it is answered with the
//! same "unknown" error as an id that does not exist.

use accord_model::Id;

use crate::error::{ApiError, ApiResult, Unknown};

/// Parses a snowflake from a path segment; `what` is the error when it is not one.
pub fn parse<T>(raw: &str, what: Unknown) -> ApiResult<Id<T>> {
    raw.parse().map_err(|_| ApiError::Unknown(what))
}
