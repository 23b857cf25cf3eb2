//! Accord's image rules, shared by the API (uploads: avatars, icons, emojis...) and the CDN
//! (renditions): what an image really is, how big it claims to be, whether it is a decompression
//! bomb, its content hash, and re-encoding to another format or size. Pure: no I/O, no async.

use base64::Engine as _;
use sha2::{Digest, Sha256};

mod probe;
mod render;

pub use probe::probe;
pub use render::render;

/// An image container Accord accepts, told from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG, still or animated (an APNG: an `acTL` chunk before the image data).
    Png,
    /// JPEG (JFIF or EXIF).
    Jpeg,
    /// GIF 87a or 89a, still or animated.
    Gif,
    /// WebP (lossy, lossless or extended, still or animated).
    Webp,
}

impl ImageKind {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Gif => "image/gif",
            ImageKind::Webp => "image/webp",
        }
    }

    /// The usual file extension, without a dot.
    pub fn ext(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
            ImageKind::Gif => "gif",
            ImageKind::Webp => "webp",
        }
    }
}

/// What an image may cost. The defaults suit avatars, icons, banners and emojis.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest encoded size.
    pub max_bytes: usize,
    /// Largest `width * height` (of the canvas and of any single frame).
    pub max_pixels: u64,
    /// Most frames of an animation.
    pub max_frames: u32,
    /// Largest `width * height * frames`: what decoding every frame would cost.
    pub max_animation_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 10 * 1024 * 1024,
            max_pixels: 4096 * 4096,
            max_frames: 512,
            max_animation_pixels: 268_435_456,
        }
    }
}

/// What [`probe`] learnt from an image's headers.
#[derive(Clone, Debug)]
pub struct Probed {
    /// The container.
    pub kind: ImageKind,
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// More than one frame (a GIF, an animated WebP or an APNG).
    pub animated: bool,
    /// Number of frames (1 for a still image).
    pub frames: u32,
}

/// Why an image was refused or could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The bytes are not a PNG, JPEG, GIF or WebP.
    #[error("Invalid image data")]
    NotAnImage,
    /// Not a `data:image/<type>;base64,<data>` URI.
    #[error("Invalid image data")]
    BadDataUri,
    /// Larger than [`Limits::max_bytes`].
    #[error("File cannot be larger than {max_bytes} bytes")]
    TooLarge {
        /// The limit that was passed.
        max_bytes: usize,
    },
    /// The headers claim more pixels or frames than [`Limits`] allow.
    #[error("Image is too large to process: {0}")]
    Bomb(String),
    /// The image is malformed.
    #[error("Invalid image data: {0}")]
    Decode(String),
    /// The image could not be re-encoded.
    #[error("Could not encode image: {0}")]
    Encode(String),
}

/// The kind of image `bytes` are, from their magic bytes alone (never a name or extension).
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageKind::Gif)
    } else if bytes.len() >= 16 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageKind::Webp)
    } else {
        None
    }
}

/// Base64 that accepts data with or without `=` padding.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Decodes `data:image/<type>;base64,<data>` (case-insensitive prefix; whitespace around the URI
/// and inside the base64, such as line breaks, is ignored). The type is not trusted: sniff or
/// [`probe`] the bytes.
pub fn parse_data_uri(uri: &str) -> Result<Vec<u8>, MediaError> {
    let uri = uri.trim();
    let (meta, data) = uri.split_once(',').ok_or(MediaError::BadDataUri)?;
    let meta = meta.trim().to_ascii_lowercase();
    let mime = meta
        .strip_prefix("data:")
        .and_then(|m| m.strip_suffix(";base64"))
        .ok_or(MediaError::BadDataUri)?
        .trim();
    let subtype = mime.strip_prefix("image/").ok_or(MediaError::BadDataUri)?;
    if subtype.is_empty()
        || !subtype
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
    {
        return Err(MediaError::BadDataUri);
    }
    let compact: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(MediaError::BadDataUri);
    }
    LENIENT_BASE64
        .decode(&compact)
        .map_err(|_| MediaError::BadDataUri)
}

/// An output format of [`render`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// PNG (RGBA); an APNG when asked animated and the source is an APNG.
    Png,
    /// JPEG, quality 90; transparency is flattened onto white.
    Jpeg,
    /// Lossless WebP, always a still.
    Webp,
    /// GIF, animated when asked and the source is animated.
    Gif,
}

impl Format {
    /// The format for a file extension (`png`, `jpg`, `jpeg`, `webp`, `gif`; case-insensitive).
    pub fn from_ext(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "png" => Some(Format::Png),
            "jpg" | "jpeg" => Some(Format::Jpeg),
            "webp" => Some(Format::Webp),
            "gif" => Some(Format::Gif),
            _ => None,
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        self.kind().mime()
    }

    /// The usual file extension, without a dot.
    pub fn ext(self) -> &'static str {
        self.kind().ext()
    }

    /// The same container as an [`ImageKind`].
    pub fn kind(self) -> ImageKind {
        match self {
            Format::Png => ImageKind::Png,
            Format::Jpeg => ImageKind::Jpeg,
            Format::Webp => ImageKind::Webp,
            Format::Gif => ImageKind::Gif,
        }
    }
}

impl From<ImageKind> for Format {
    fn from(kind: ImageKind) -> Self {
        match kind {
            ImageKind::Png => Format::Png,
            ImageKind::Jpeg => Format::Jpeg,
            ImageKind::Webp => Format::Webp,
            ImageKind::Gif => Format::Gif,
        }
    }
}

/// A rendition asked of the CDN.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Output format.
    pub format: Format,
    /// The longer side in pixels (never upscaled); `None` keeps the original dimensions.
    pub size: Option<u32>,
    /// Keep the animation when the source has one (GIF output can carry any source's; PNG
    /// output only an APNG's).
    pub animated: bool,
}

/// Whether `n` is a `?size=` Discord accepts: a power of two from 16 to 4096.
pub fn valid_size(n: u32) -> bool {
    n.is_power_of_two() && (16..=4096).contains(&n)
}

/// The hash naming an image: 32 lowercase hex characters (the first 16 bytes of its SHA-256),
/// with `a_` in front when it is animated, as Discord's avatar and icon hashes.
pub fn content_hash(bytes: &[u8], animated: bool) -> String {
    let digest = Sha256::digest(bytes);
    let hex = hex::encode(&digest[..16]);
    if animated { format!("a_{hex}") } else { hex }
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_kind() {
        assert_eq!(sniff(&fixtures::png(3, 2)), Some(ImageKind::Png));
        assert_eq!(sniff(&fixtures::jpeg(3, 2)), Some(ImageKind::Jpeg));
        assert_eq!(sniff(&fixtures::gif(3, 2, 1)), Some(ImageKind::Gif));
        assert_eq!(sniff(&fixtures::webp(3, 2)), Some(ImageKind::Webp));
        assert_eq!(sniff(b"GIF87a\x01\x00\x01\x00"), Some(ImageKind::Gif));
    }

    #[test]
    fn sniff_refuses_text_markup_and_svg() {
        for doc in [
            &b""[..],
            b"hello",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            b"RIFF\x00\x00\x00\x00WAVEfmt ",
            b"\x89PN",
            b"%PDF-1.7\n",
        ] {
            assert_eq!(sniff(doc), None, "{}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn kinds_and_formats_agree() {
        for kind in [
            ImageKind::Png,
            ImageKind::Jpeg,
            ImageKind::Gif,
            ImageKind::Webp,
        ] {
            let format = Format::from(kind);
            assert_eq!(format.kind(), kind);
            assert_eq!(format.mime(), kind.mime());
            assert_eq!(Format::from_ext(kind.ext()), Some(format));
        }
        assert_eq!(Format::from_ext("jpeg"), Some(Format::Jpeg));
        assert_eq!(Format::from_ext("PNG"), Some(Format::Png));
        assert_eq!(Format::from_ext("svg"), None);
        assert_eq!(Format::from_ext(""), None);
        assert_eq!(ImageKind::Jpeg.mime(), "image/jpeg");
        assert_eq!(Format::Webp.ext(), "webp");
    }

    #[test]
    fn good_data_uris() {
        let png = fixtures::png(2, 2);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
        let uri = format!("data:image/png;base64,{b64}");
        assert_eq!(parse_data_uri(&uri).unwrap(), png);
        // Whitespace around and inside, upper-case prefix, another declared type, no padding.
        let wrapped: String = b64
            .as_bytes()
            .chunks(10)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n");
        let uri = format!("  DATA:image/JPEG;BASE64, {wrapped}\n");
        assert_eq!(parse_data_uri(&uri).unwrap(), png);
        let uri = format!("data:image/gif;base64,{}", b64.trim_end_matches('='));
        assert_eq!(parse_data_uri(&uri).unwrap(), png);
    }

    #[test]
    fn bad_data_uris() {
        for uri in [
            "",
            "iVBORw0KGgo=",
            "data:image/png,iVBORw0KGgo=",
            "data:text/html;base64,PGh0bWw+",
            "data:image/svg+xml;utf8,<svg/>",
            "data:image/png;base64,",
            "data:image/png;base64,@@@@",
            "data:image/;base64,iVBORw0KGgo=",
            "data:image/p\"ng;base64,iVBORw0KGgo=",
            "image/png;base64,iVBORw0KGgo=",
        ] {
            assert!(
                matches!(parse_data_uri(uri), Err(MediaError::BadDataUri)),
                "{uri}"
            );
        }
    }

    #[test]
    fn content_hash_is_stable() {
        let a = content_hash(b"hello", false);
        assert_eq!(a, "2cf24dba5fb0a30e26e83b2ac5b9e29e");
        assert_eq!(a, content_hash(b"hello", false));
        assert_eq!(content_hash(b"hello", true), format!("a_{a}"));
        assert_ne!(content_hash(b"hellp", false), a);
        assert_eq!(content_hash(b"", false).len(), 32);
    }

    #[test]
    fn valid_sizes() {
        for n in [16, 32, 64, 128, 256, 512, 1024, 2048, 4096] {
            assert!(valid_size(n), "{n}");
        }
        for n in [0, 1, 2, 8, 15, 17, 100, 300, 4095, 4097, 8192, u32::MAX] {
            assert!(!valid_size(n), "{n}");
        }
    }
}
