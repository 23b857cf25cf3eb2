//! Discord's CDN paths served from storage, and the checks that keep a path from naming anything
//! but the one file it stands for.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;

use crate::CdnState;
use crate::defaults;
use crate::error::CdnError;
use crate::respond::{self, Download};

/// The routes (GET, and HEAD through it).
pub fn routes() -> Router<CdnState> {
    Router::new()
        .route(
            "/attachments/{channel_id}/{attachment_id}/{filename}",
            get(attachment),
        )
        .route("/embed/avatars/{file}", get(default_avatar))
}

/// `GET /embed/avatars/{n}.png`, n 0–5: a default avatar, drawn at startup (`?size=` is
/// accepted and ignored).
async fn default_avatar(
    Path(file): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, CdnError> {
    let n = file
        .strip_suffix(".png")
        .filter(|n| n.len() == 1)
        .and_then(|n| n.parse::<usize>().ok());
    let avatar = n.and_then(defaults::avatar).ok_or(CdnError::NotFound)?;
    respond::memory(&avatar.bytes, &avatar.meta, &method, &headers)
}

/// `GET /attachments/{channel_id}/{attachment_id}/{filename}`: a message attachment, stored by
/// the API under `<channel_id>/<attachment_id>/<filename>`. With `cdn.signed_urls` enabled, only
/// for a URL signed for this client and not expired (see [`crate::signed`]).
async fn attachment(
    State(state): State<CdnState>,
    Path((channel, id, filename)): Path<(String, String, String)>,
    uri: axum::http::Uri,
    connection: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, CdnError> {
    let (Some(channel), Some(id)) = (snowflake(&channel), snowflake(&id)) else {
        return Err(CdnError::NotFound);
    };
    if !is_file_name(&filename) {
        return Err(CdnError::NotFound);
    }
    let peer = connection.map(|c| c.0.0.ip());
    let path = format!("/attachments/{channel}/{id}/{filename}");
    state
        .signed_urls
        .check(&path, uri.query(), peer, &headers)?;
    let key = format!("{channel}/{id}/{filename}");
    let download = Download {
        filename: Some(&filename),
    };
    respond::file(&state.blobs, &key, &method, &headers, download).await
}

/// A snowflake written as decimal digits (no sign, no leading `+`, fits in 63 bits).
pub(crate) fn snowflake(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&n| n <= i64::MAX as u64)
}

/// A name as the API stores it: 1 to 256 of `[A-Za-z0-9._-]`, not only dots. Anything else
/// (separators, `..`, percent-decoded tricks) names no stored file.
fn is_file_name(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !s.bytes().all(|b| b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parts() {
        assert_eq!(snowflake("1234"), Some(1234));
        assert_eq!(snowflake("9223372036854775807"), Some(i64::MAX as u64));
        for bad in [
            "",
            "-1",
            "+1",
            "1.5",
            "9223372036854775808",
            "..",
            "1/2",
            "０",
        ] {
            assert_eq!(snowflake(bad), None, "{bad:?}");
        }
        assert!(is_file_name("my_file__1_.txt"));
        assert!(is_file_name(".hidden"));
        for bad in [
            "", ".", "..", "...", "../x", "a/b", "a\\b", "a b", "a%2fb", "é", "a\0b",
        ] {
            assert!(!is_file_name(bad), "{bad:?}");
        }
        assert!(!is_file_name(&"a".repeat(257)));
    }
}
