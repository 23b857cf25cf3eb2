//! `POST /attachments/refresh-urls`: fresh signed URLs for attachment URLs of this instance's CDN
//! (expired or not, signed or not), as Discord's clients ask for when a link has run out. Only
//! for attachments of channels the caller can read.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use accord_model::{ChannelId, ErrorTree, Permissions};
use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use crate::services::access::ChannelAccess;
use crate::state::AppState;
use crate::views_message::signed_cdn_url;

/// Most URLs one request may refresh.
pub const MAX_URLS: usize = 50;

/// `POST /attachments/refresh-urls` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    /// Attachment URLs of this instance's CDN (at most 50).
    pub attachment_urls: Vec<String>,
}

/// One refreshed URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshedUrl {
    /// The URL as sent.
    pub original: String,
    /// The same attachment's URL, signed from now.
    pub refreshed: String,
}

/// `POST /attachments/refresh-urls` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshResponse {
    /// One entry per URL sent, in order, leaving out those of channels the caller cannot read.
    pub refreshed_urls: Vec<RefreshedUrl>,
}

/// Re-sign attachment URLs. Each must be an attachment URL of this instance's CDN; its old
/// signature and other query parameters are dropped. URLs of channels the caller cannot read
/// (VIEW_CHANNEL and READ_MESSAGE_HISTORY; DMs they are not in) are left out of the answer. With
/// `cdn.signed_urls.bind_ip` the new URLs work only from the caller's address; with signing
/// disabled the plain URLs come back.
#[utoipa::path(post, path = "/attachments/refresh-urls", tag = "attachments", request_body = RefreshBody,
    responses((status = 200, body = RefreshResponse), (status = 400, description = "Not an attachment URL of this instance, or more than 50 (50035)"), (status = 401, description = "Not signed in")))]
pub async fn refresh_urls(
    State(state): State<AppState>,
    auth: Auth,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Json(body): Json<RefreshBody>,
) -> ApiResult<axum::Json<RefreshResponse>> {
    let mut tree = ErrorTree::new();
    if body.attachment_urls.len() > MAX_URLS {
        tree.add(
            &["attachment_urls"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_URLS} or fewer in length."),
        );
        return Err(ApiError::InvalidForm(tree));
    }
    let base = state.config.cdn_public_url();
    let paths: Vec<Option<String>> = body
        .attachment_urls
        .iter()
        .map(|url| attachment_path(&base, url))
        .collect();
    for (i, path) in paths.iter().enumerate() {
        if path.is_none() {
            tree.add(
                &["attachment_urls", &i.to_string()],
                "URL_TYPE_INVALID_URL",
                "Not a well formed URL.",
            );
        }
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let ip = if state.config.cdn.signed_urls.bind_ip {
        connection.map(|Extension(ConnectInfo(peer))| caller_ip(&state, peer.ip(), &headers))
    } else {
        None
    };
    // Attachments are stored under their channel (`<channel>/<id>/<file>`), so a readable
    // channel in the path cannot open another channel's file: the channel is all to check.
    let mut readable: HashMap<u64, bool> = HashMap::new();
    let mut refreshed_urls = Vec::with_capacity(paths.len());
    for (original, path) in body
        .attachment_urls
        .into_iter()
        .zip(paths.into_iter().flatten())
    {
        let channel = path_channel(&path);
        let can_read = match readable.get(&channel) {
            Some(&known) => known,
            None => {
                let known = can_read(&state, auth.user_id, channel).await?;
                readable.insert(channel, known);
                known
            }
        };
        if can_read {
            refreshed_urls.push(RefreshedUrl {
                refreshed: signed_cdn_url(&state, &path, ip),
                original,
            });
        }
    }
    Ok(axum::Json(RefreshResponse { refreshed_urls }))
}

/// The channel id of an attachment path made by [`attachment_path`].
fn path_channel(path: &str) -> u64 {
    path.split('/')
        .nth(2)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Whether `user` may read the messages (and so the attachments) of `channel`: VIEW_CHANNEL and
/// READ_MESSAGE_HISTORY there, or a DM they are in. A channel that does not exist is not.
async fn can_read(state: &AppState, user: accord_model::UserId, channel: u64) -> ApiResult<bool> {
    let Ok(channel) = i64::try_from(channel) else {
        return Ok(false);
    };
    match ChannelAccess::load(state, ChannelId::from_i64(channel), user).await {
        Ok(access) => Ok(access
            .permissions
            .contains(Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY)),
        Err(ApiError::Unknown(_) | ApiError::MissingAccess | ApiError::MissingPermissions) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// The caller's address: the peer, or behind a trusted proxy (`security.trusted_proxies`) the
/// client it forwards for, as the rate limiter counts it.
fn caller_ip(state: &AppState, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let trusted = state.config.trusted_proxies();
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    accord_auth::signed_url::client_ip(peer, forwarded, |ip| trusted.iter().any(|n| n.contains(ip)))
}

/// The path (`/attachments/<channel>/<id>/<filename>`) of `url` when it is an attachment URL on
/// the CDN at `base`, whatever its query string and fragment.
fn attachment_path(base: &str, url: &str) -> Option<String> {
    let rest = url.strip_prefix(base)?.strip_prefix("/attachments/")?;
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let mut parts = rest[..end].split('/');
    let (channel, id, filename) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_snowflake(channel) || !is_snowflake(id) {
        return None;
    }
    let name_ok = (1..=256).contains(&filename.len())
        && filename
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !filename.bytes().all(|b| b == b'.');
    name_ok.then(|| format!("/attachments/{channel}/{id}/{filename}"))
}

/// Decimal digits of a positive 63-bit number.
fn is_snowflake(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u64>().is_ok_and(|n| n <= i64::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::attachment_path;

    #[test]
    fn our_attachment_urls_only() {
        let base = "https://cdn.example.com";
        assert_eq!(
            attachment_path(base, "https://cdn.example.com/attachments/1/2/a.png").as_deref(),
            Some("/attachments/1/2/a.png")
        );
        assert_eq!(
            attachment_path(
                base,
                "https://cdn.example.com/attachments/1/2/a.png?ex=1&is=2&hm=3&size=9#x"
            )
            .as_deref(),
            Some("/attachments/1/2/a.png")
        );
        for bad in [
            "https://evil.example.com/attachments/1/2/a.png",
            "https://cdn.example.com.evil.test/attachments/1/2/a.png",
            "https://cdn.example.com/emojis/1.png",
            "https://cdn.example.com/attachments/1/2",
            "https://cdn.example.com/attachments/1/2/a.png/b",
            "https://cdn.example.com/attachments/x/2/a.png",
            "https://cdn.example.com/attachments/1/2/..",
            "https://cdn.example.com/attachments/1/2/a%2fb",
            "https://cdn.example.com/attachments/1/99999999999999999999/a.png",
            "/attachments/1/2/a.png",
            "",
        ] {
            assert_eq!(attachment_path(base, bad), None, "{bad}");
        }
    }
}
