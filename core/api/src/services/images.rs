//! Image uploads sent as data URIs (avatars, banners, guild icons and splashes, role icons,
//! webhook avatars, application icons): checked without decoding them (type from the bytes,
//! size, the decompression-bomb limits of `[cdn.images]`), stored under Discord's CDN path with
//! a content hash, and the hash returned for the record.

use accord_config::ImageLimitsConfig;
use accord_media::{Limits, MediaError, Probed};
use accord_model::ErrorTree;

use crate::error::ApiResult;
use crate::state::AppState;

/// A checked upload, ready to store.
#[derive(Debug)]
pub struct Upload {
    /// The image as sent.
    pub bytes: Vec<u8>,
    /// What its header says.
    pub probed: Probed,
    /// Its hash: 32 hex characters, `a_` first when animated.
    pub hash: String,
}

/// The media crate's limits from the config's.
pub fn limits(config: &ImageLimitsConfig, max_bytes: usize) -> Limits {
    Limits {
        max_bytes,
        max_pixels: config.max_pixels,
        max_frames: config.max_frames,
        max_animation_pixels: config.max_animation_pixels,
    }
}

/// The upload limits for avatars, banners, icons and splashes.
pub fn upload_limits(state: &AppState) -> Limits {
    let images = &state.config.cdn.images;
    limits(
        images,
        usize::try_from(images.max_upload_bytes).unwrap_or(usize::MAX),
    )
}

/// Checks the data URI in field `path`, adding Discord-style errors to `tree` when it is not
/// an acceptable image.
pub fn check(tree: &mut ErrorTree, path: &[&str], uri: &str, limits: &Limits) -> Option<Upload> {
    let refused = match accord_media::parse_data_uri(uri) {
        Ok(bytes) => match accord_media::probe(&bytes, limits) {
            Ok(probed) => {
                let hash = accord_media::content_hash(&bytes, probed.animated);
                return Some(Upload {
                    bytes,
                    probed,
                    hash,
                });
            }
            Err(e) => e,
        },
        Err(e) => e,
    };
    match refused {
        MediaError::TooLarge { max_bytes } => tree.add(
            path,
            "BINARY_TYPE_MAX_SIZE",
            format!("File cannot be larger than {}.", size_text(max_bytes)),
        ),
        MediaError::Bomb(why) => tree.add(
            path,
            "IMAGE_TOO_LARGE",
            format!("Image dimensions are too large: {why}."),
        ),
        _ => tree.add(path, "IMAGE_INVALID", "Invalid image data"),
    };
    None
}

/// Discord's way of writing a byte limit ("256.0 kb", "10.0 mb").
fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} mb", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} kb", bytes as f64 / 1024.0)
    }
}

/// Stores `upload` at `<prefix>/<hash>` (the CDN serves it at `/<prefix>/<hash>.<ext>`) and
/// returns the hash. Content-addressed: storing the same image twice writes the same object.
pub async fn store(state: &AppState, prefix: &str, upload: Upload) -> ApiResult<String> {
    let key = format!("{prefix}/{}", upload.hash);
    state.blobs.put(&key, upload.bytes.into()).await?;
    Ok(upload.hash)
}

/// What a `field: "data:..." | null` in a PATCH body asks for, after [`check`]: nothing, to
/// clear the image, or to store a new one.
#[derive(Debug)]
pub enum Change {
    /// The field was absent.
    Keep,
    /// The field was null.
    Clear,
    /// A new image, checked.
    Set(Upload),
}

impl Change {
    /// Reads an `Option<Option<String>>` field (absent / null / data URI), checking the image.
    pub fn of(
        tree: &mut ErrorTree,
        field: &str,
        value: Option<&Option<String>>,
        limits: &Limits,
    ) -> Self {
        match value {
            None => Change::Keep,
            Some(None) => Change::Clear,
            Some(Some(uri)) => Change::set(tree, field, uri, limits),
        }
    }

    /// A new image from the data URI in `field`, checked (`Keep` when refused: the problem is
    /// in `tree`).
    pub fn set(tree: &mut ErrorTree, field: &str, uri: &str, limits: &Limits) -> Self {
        match check(tree, &[field], uri, limits) {
            Some(upload) => Change::Set(upload),
            None => Change::Keep,
        }
    }

    /// Stores a new image under `prefix` and returns what the record's column becomes:
    /// `None` = unchanged, `Some(None)` = cleared, `Some(Some(hash))` = the new image.
    pub async fn apply(self, state: &AppState, prefix: &str) -> ApiResult<Option<Option<String>>> {
        Ok(match self {
            Change::Keep => None,
            Change::Clear => Some(None),
            Change::Set(upload) => Some(Some(store(state, prefix, upload).await?)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_defaults_are_the_media_defaults() {
        let media = Limits::default();
        let from_config = limits(&ImageLimitsConfig::default(), media.max_bytes);
        assert_eq!(
            (
                from_config.max_pixels,
                from_config.max_frames,
                from_config.max_animation_pixels
            ),
            (
                media.max_pixels,
                media.max_frames,
                media.max_animation_pixels
            )
        );
        assert_eq!(
            ImageLimitsConfig::default().max_upload_bytes,
            media.max_bytes as u64
        );
    }

    #[test]
    fn byte_limits_read_like_discords() {
        assert_eq!(size_text(256 * 1024), "256.0 kb");
        assert_eq!(size_text(10 * 1024 * 1024), "10.0 mb");
    }

    #[test]
    fn a_bad_data_uri_is_named_by_its_field() {
        let mut tree = ErrorTree::new();
        let limits = Limits::default();
        assert!(
            check(
                &mut tree,
                &["avatar"],
                "data:text/plain;base64,aGk=",
                &limits
            )
            .is_none()
        );
        let node = tree.get(&["avatar"]).expect("avatar errors");
        assert_eq!(node.errors[0].code, "IMAGE_INVALID");
        let mut tree = ErrorTree::new();
        assert!(matches!(
            Change::of(&mut tree, "icon", Some(&None), &limits),
            Change::Clear
        ));
        assert!(tree.is_empty());
    }
}
