//! Images named by hash (avatars, banners, guild icons and splashes, role icons, application
//! icons, member avatars and banners) or by id (emojis, stickers), in the format the URL's
//! extension asks for and at `?size=`: the original when it already is that, otherwise a copy
//! rendered once (resized, converted, animation kept for `.gif`, `?animated=true` and an APNG's
//! `.png`) and kept on storage under `cache/`.

use std::sync::Arc;

use accord_media::{Format, ImageKind, Limits, Variant};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::CdnState;
use crate::error::CdnError;
use crate::respond::{self, Download};
use crate::routes::snowflake;

/// What the image routes share: the decoding limits and the slots for rendering (one per core,
/// so that a burst of new sizes cannot take every thread from serving).
#[derive(Debug, Clone)]
pub struct Rendering {
    /// The limits an image must pass before it is decoded.
    pub limits: Limits,
    /// At most this many renders at once.
    pub slots: Arc<Semaphore>,
}

impl Rendering {
    /// Rendering with `limits`, as many at once as the machine has cores.
    pub fn new(limits: Limits) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            limits,
            slots: Arc::new(Semaphore::new(cores)),
        }
    }
}

/// The query an image URL may carry.
#[derive(Debug, Default, Deserialize)]
pub struct ImageQuery {
    /// The longest side wanted, a power of two from 16 to 4096.
    #[serde(default)]
    size: Option<String>,
    /// For `.webp`: keep the animation.
    #[serde(default)]
    animated: Option<String>,
}

/// The image routes (GET, and HEAD through it).
pub fn routes() -> Router<CdnState> {
    let mut router = Router::new();
    for family in [
        "avatars",
        "banners",
        "icons",
        "splashes",
        "discovery-splashes",
        "role-icons",
        "app-icons",
        "channel-icons",
    ] {
        router = router.route(
            &format!("/{family}/{{id}}/{{file}}"),
            get(
                move |state: State<CdnState>,
                      Path((id, file)): Path<(String, String)>,
                      query: Query<ImageQuery>,
                      method: Method,
                      headers: HeaderMap| {
                    hashed(state, family, id, file, query, method, headers)
                },
            ),
        );
    }
    for family in ["emojis", "stickers"] {
        router = router.route(
            &format!("/{family}/{{file}}"),
            get(
                move |state: State<CdnState>,
                      Path(file): Path<String>,
                      query: Query<ImageQuery>,
                      method: Method,
                      headers: HeaderMap| {
                    by_id(state, family, file, query, method, headers)
                },
            ),
        );
    }
    router.route(
        "/guilds/{guild_id}/users/{user_id}/{family}/{file}",
        get(member),
    )
}

/// `GET /{family}/{id}/{hash}.{ext}`: an image stored at `{family}/{id}/{hash}`.
async fn hashed(
    State(state): State<CdnState>,
    family: &'static str,
    id: String,
    file: String,
    Query(query): Query<ImageQuery>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, CdnError> {
    let id = snowflake(&id).ok_or(CdnError::NotFound)?;
    let (hash, format) = hashed_file(&file)?;
    let key = format!("{family}/{id}/{hash}");
    image(&state, &key, format, &query, &method, &headers).await
}

/// `GET /guilds/{guild_id}/users/{user_id}/avatars|banners/{hash}.{ext}`: a member's guild
/// avatar or banner.
async fn member(
    State(state): State<CdnState>,
    Path((guild, user, family, file)): Path<(String, String, String, String)>,
    Query(query): Query<ImageQuery>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, CdnError> {
    let (Some(guild), Some(user)) = (snowflake(&guild), snowflake(&user)) else {
        return Err(CdnError::NotFound);
    };
    if !matches!(family.as_str(), "avatars" | "banners") {
        return Err(CdnError::NotFound);
    }
    let (hash, format) = hashed_file(&file)?;
    let key = format!("guilds/{guild}/users/{user}/{family}/{hash}");
    image(&state, &key, format, &query, &method, &headers).await
}

/// `GET /emojis/{emoji_id}.{ext}` and `/stickers/{sticker_id}.{ext}` (the extension may be left
/// out: PNG): an image stored by id at `{family}/{id}`.
async fn by_id(
    State(state): State<CdnState>,
    family: &'static str,
    file: String,
    Query(query): Query<ImageQuery>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, CdnError> {
    let (id, format) = id_file(&file)?;
    let key = format!("{family}/{id}");
    image(&state, &key, format, &query, &method, &headers).await
}

/// `{hash}.{ext}`: 32 lowercase hex digits, `a_` first for an animated image.
fn hashed_file(file: &str) -> Result<(&str, Format), CdnError> {
    let (hash, ext) = file.rsplit_once('.').ok_or(CdnError::NotFound)?;
    let hex = hash.strip_prefix("a_").unwrap_or(hash);
    let ok = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let format = Format::from_ext(ext).ok_or(CdnError::NotFound)?;
    if !ok {
        return Err(CdnError::NotFound);
    }
    Ok((hash, format))
}

/// `{id}` or `{id}.{ext}`.
fn id_file(file: &str) -> Result<(u64, Format), CdnError> {
    let (id, format) = match file.rsplit_once('.') {
        Some((id, ext)) => (id, Format::from_ext(ext).ok_or(CdnError::NotFound)?),
        None => (file, Format::Png),
    };
    Ok((snowflake(id).ok_or(CdnError::NotFound)?, format))
}

/// The answer for the image stored at `key`, as `format` at `query.size`.
async fn image(
    state: &CdnState,
    key: &str,
    format: Format,
    query: &ImageQuery,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, CdnError> {
    let size = match &query.size {
        None => None,
        Some(raw) => Some(
            raw.parse::<u32>()
                .ok()
                .filter(|&n| allowed_size(n))
                .ok_or(CdnError::BadRequest("Invalid size"))?,
        ),
    };
    let animated = match format {
        Format::Gif => true,
        Format::Webp => query
            .animated
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("true")),
        Format::Png | Format::Jpeg => false,
    };
    let variant = Variant {
        format,
        size,
        animated,
    };
    let cached = cache_key(key, &variant);
    let download = Download { filename: None };
    // Hashed images are never deleted (a new image gets a new hash); an emoji or sticker is
    // deleted under its id, and then its renders must not outlive it.
    let by_id = key.starts_with("emojis/") || key.starts_with("stickers/");
    if state.blobs.head(&cached).await?.is_some()
        && (!by_id || state.blobs.head(key).await?.is_some())
    {
        return respond::file(&state.blobs, &cached, method, headers, download).await;
    }
    let original = state.blobs.get(key).await?.ok_or(CdnError::NotFound)?;
    // The file is already in memory and was checked when it was uploaded (under the byte limit
    // of that time, or the emojis' own): only what decoding it costs is limited here.
    let limits = Limits {
        max_bytes: usize::MAX,
        ..state.rendering.limits.clone()
    };
    let probed = accord_media::probe(&original, &limits).map_err(|e| {
        tracing::warn!(key, error = %e, "stored image refused");
        CdnError::NotFound
    })?;
    // An APNG asked as PNG keeps its animation (as Discord serves APNG stickers): the original
    // as it is, a resized one as an APNG. The cache key needs no mark for it: which renders of
    // one stored image are animated follows from the image.
    let animated = animated || (format == Format::Png && probed.kind == ImageKind::Png);
    let variant = Variant {
        animated,
        ..variant
    };
    let same_format = probed.kind.mime() == format.mime();
    let same_animation = !probed.animated || animated;
    if size.is_none() && same_format && same_animation {
        return respond::file(&state.blobs, key, method, headers, download).await;
    }
    // Animated WebP cannot be encoded here (that needs libwebp): an animation asked for as
    // `.webp?animated=true` is rendered as an animated GIF, which its Content-Type says, rather
    // than lose its animation.
    let variant = if probed.animated && animated && format == Format::Webp {
        Variant {
            format: Format::Gif,
            ..variant
        }
    } else {
        variant
    };
    let _slot = state
        .rendering
        .slots
        .acquire()
        .await
        .map_err(|_| CdnError::NotFound)?;
    let rendered =
        tokio::task::spawn_blocking(move || accord_media::render(&original, &variant, &limits))
            .await
            .map_err(|e| CdnError::Render(e.to_string()))?
            .map_err(|e| CdnError::Render(e.to_string()))?;
    state.blobs.put(&cached, rendered.into()).await?;
    respond::file(&state.blobs, &cached, method, headers, download).await
}

/// Sizes Discord's own clients ask for besides the powers of two (emojis at 44 and 48, avatars
/// at 80, 96, 240, 300, 600, ...). Other values are refused, so one image cannot be made into
/// thousands of cached copies.
const CLIENT_SIZES: [u32; 18] = [
    20, 22, 24, 28, 40, 44, 48, 56, 60, 80, 96, 100, 160, 240, 300, 320, 480, 600,
];

/// Whether `?size=n` is served: Discord's powers of two from 16 to 4096, or a size its clients
/// use.
fn allowed_size(n: u32) -> bool {
    accord_media::valid_size(n) || CLIENT_SIZES.contains(&n)
}

/// Where the rendered copy of `key` as `variant` is kept: `cache/{key}/{size}[a].{ext}` (size 0
/// = the original's dimensions).
fn cache_key(key: &str, variant: &Variant) -> String {
    format!(
        "cache/{key}/{}{}.{}",
        variant.size.unwrap_or(0),
        if variant.animated { "a" } else { "" },
        variant.format.ext()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let hash = "0123456789abcdef0123456789abcdef";
        assert!(matches!(
            hashed_file(&format!("{hash}.png")),
            Ok((h, Format::Png)) if h == hash
        ));
        assert!(hashed_file(&format!("a_{hash}.gif")).is_ok());
        for bad in [
            format!("{hash}.svg"),
            hash.to_owned(),
            format!("b_{hash}.png"),
            format!("{}.png", hash.to_uppercase()),
            format!("{hash}0.png"),
            "../x.png".to_owned(),
        ] {
            assert!(hashed_file(&bad).is_err(), "{bad}");
        }
        assert!(matches!(id_file("42"), Ok((42, Format::Png))));
        assert!(matches!(id_file("42.webp"), Ok((42, Format::Webp))));
        assert!(id_file("42.html").is_err());
        assert!(id_file("x.png").is_err());
    }

    #[test]
    fn sizes() {
        for n in [16, 32, 48, 64, 96, 128, 300, 4096] {
            assert!(allowed_size(n), "{n}");
        }
        for n in [0, 8, 15, 17, 100_000, 4095, 8192] {
            assert!(!allowed_size(n), "{n}");
        }
    }

    #[test]
    fn cache_keys_differ_per_variant() {
        let v = |format, size, animated| Variant {
            format,
            size,
            animated,
        };
        assert_eq!(
            cache_key("avatars/1/h", &v(Format::Webp, Some(64), false)),
            "cache/avatars/1/h/64.webp"
        );
        assert_eq!(
            cache_key("avatars/1/h", &v(Format::Gif, None, true)),
            "cache/avatars/1/h/0a.gif"
        );
    }
}
