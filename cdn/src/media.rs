//! What a stored file is, from its first bytes: the `Content-Type` to send and whether a browser
//! may show it in place (`inline`) or must download it (`attachment`).

/// How many leading bytes are enough to tell a file's type.
pub const SNIFF_LEN: u64 = 8192;

/// The type of a file and how to present it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The `Content-Type` value.
    pub content_type: &'static str,
    /// Whether a browser may display it in place.
    pub inline: bool,
}

/// Images, audio and video that browsers play themselves and that cannot carry scripts.
const INLINE: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/bmp",
    "image/heif",
    "image/jxl",
    "image/vnd.microsoft.icon",
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "video/x-m4v",
    "audio/mpeg",
    "audio/ogg",
    "audio/opus",
    "audio/x-flac",
    "audio/x-wav",
    "audio/m4a",
    "audio/aac",
];

/// Markup that a browser would run or render if told what it is: sent as plain text instead.
const MARKUP: &[&str] = &["text/html", "text/xml", "image/svg+xml"];

const TEXT: &str = "text/plain; charset=utf-8";
const BINARY: &str = "application/octet-stream";

/// Sniffs `head` (the first up to [`SNIFF_LEN`] bytes of a file; `whole` when that is all of it).
pub fn sniff(head: &[u8], whole: bool) -> Media {
    if let Some(kind) = infer::get(head) {
        let mime = kind.mime_type();
        if INLINE.contains(&mime) {
            return Media {
                content_type: mime,
                inline: true,
            };
        }
        if MARKUP.contains(&mime) {
            return Media {
                content_type: TEXT,
                inline: false,
            };
        }
        if kind.matcher_type() != infer::MatcherType::Text {
            return Media {
                content_type: mime,
                inline: false,
            };
        }
    }
    if is_text(head, whole) {
        // Shown as text: with nosniff, a browser never treats it as markup.
        return Media {
            content_type: TEXT,
            inline: true,
        };
    }
    Media {
        content_type: BINARY,
        inline: false,
    }
}

/// UTF-8 without NUL or other control bytes than tab, newline, carriage return and form feed;
/// a character cut at the end of a partial read is allowed.
fn is_text(head: &[u8], whole: bool) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(_) => head.len(),
        Err(e) if e.error_len().is_none() && !whole => e.valid_up_to(),
        Err(_) => return false,
    };
    head[..valid]
        .iter()
        .all(|&b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        assert_eq!(
            sniff(png, true),
            Media {
                content_type: "image/png",
                inline: true
            }
        );
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0", true).content_type, "image/gif");
        assert_eq!(
            sniff(b"%PDF-1.7\n", true),
            Media {
                content_type: "application/pdf",
                inline: false
            }
        );
        assert_eq!(
            sniff(b"PK\x03\x04\x14\0\0\0\0\0", true),
            Media {
                content_type: "application/zip",
                inline: false
            }
        );
        assert_eq!(
            sniff("hello, wörld\n".as_bytes(), true),
            Media {
                content_type: TEXT,
                inline: true
            }
        );
        assert_eq!(sniff(b"\0\x01\x02binary", true).content_type, BINARY);
        assert!(!sniff(b"\0\x01\x02binary", true).inline);
    }

    #[test]
    fn markup_is_never_inline_markup() {
        for doc in [
            &b"<!DOCTYPE html><html><script>alert(1)</script></html>"[..],
            b"<html><body onload=alert(1)>",
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        ] {
            let m = sniff(doc, true);
            assert_eq!(m.content_type, TEXT, "{}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn a_cut_character_is_still_text() {
        let text = "ééé".as_bytes();
        assert!(is_text(&text[..5], false));
        assert!(!is_text(&text[..5], true));
    }
}
