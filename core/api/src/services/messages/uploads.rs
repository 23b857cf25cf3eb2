//! Files uploaded with a message: matching `files[n]` to their `attachments` metadata, size and
//! count limits, file names, content types (sent or sniffed), image sizes that are cheap to read,
//! and writing them to blob storage.

use accord_model::{AttachmentId, ChannelId, ErrorTree, GenericId, Permissions};
use accord_store::NewAttachment;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult, Maximum};
use crate::extract::multipart::Upload;
use crate::state::AppState;

/// An entry of a request's `attachments` array: an upload's `files[n]` index (new files) or an
/// existing attachment's id (edits), with its metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct AttachmentRequest {
    /// `n` of `files[n]`, or an attachment id; strings and integers are both accepted.
    pub id: GenericId,
    /// File name to use instead of the part's.
    #[serde(default)]
    pub filename: Option<String>,
    /// Alt text (up to 1024 characters).
    #[serde(default)]
    pub description: Option<String>,
}

/// An upload ready to be stored: its row and its bytes.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The attachment row.
    pub row: NewAttachment,
    /// The bytes to store under `row.storage_key`.
    pub bytes: axum::body::Bytes,
}

/// Longest alt text.
const DESCRIPTION: usize = 1024;

/// Checks the uploads of a message (ATTACH_FILES, count, size, metadata) and prepares their
/// rows; nothing is stored yet.
pub fn prepare(
    state: &AppState,
    tree: &mut ErrorTree,
    permissions: Permissions,
    channel: ChannelId,
    files: Vec<Upload>,
    meta: &[AttachmentRequest],
) -> ApiResult<Vec<Prepared>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    if !permissions.contains(Permissions::ATTACH_FILES) {
        return Err(ApiError::MissingPermissions);
    }
    let limits = &state.config.limits;
    if files.len() > limits.attachments_per_message as usize {
        return Err(ApiError::Maximum(
            Maximum::Attachments,
            limits.attachments_per_message,
        ));
    }
    if files
        .iter()
        .any(|f| f.bytes.len() as u64 > limits.attachment_size_bytes)
    {
        return Err(ApiError::TooLarge);
    }
    // Sizes are read under the instance's image limits; the bytes were checked above.
    let probe_limits = crate::services::images::limits(&state.config.cdn.images, usize::MAX);
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let m = meta.iter().find(|m| m.id.get() == file.index);
        let filename = sanitize(
            m.and_then(|m| m.filename.as_deref())
                .unwrap_or(&file.filename),
        );
        let description = m.and_then(|m| m.description.clone());
        if description
            .as_deref()
            .is_some_and(|d| d.chars().count() > DESCRIPTION)
        {
            tree.add(
                &["attachments", &file.index.to_string(), "description"],
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {DESCRIPTION} or fewer in length."),
            );
        }
        let id: AttachmentId = state.ids.next();
        let content_type = content_type(file.content_type.as_deref(), &filename, &file.bytes);
        let (width, height) = image_size(&file.bytes, &probe_limits).unzip();
        out.push(Prepared {
            row: NewAttachment {
                id,
                storage_key: format!("{}/{}/{}", channel.get(), id.get(), filename),
                filename,
                description,
                content_type,
                size: file.bytes.len() as i64,
                height,
                width,
                ephemeral: false,
                duration_secs: None,
                waveform: None,
                flags: 0,
            },
            bytes: file.bytes,
        });
    }
    Ok(out)
}

/// Writes prepared uploads to blob storage; on failure removes what was written.
pub async fn store(state: &AppState, files: &[Prepared]) -> ApiResult<()> {
    let blobs = &state.blobs;
    for (i, f) in files.iter().enumerate() {
        if let Err(e) = blobs.put(&f.row.storage_key, f.bytes.clone()).await {
            for done in &files[..i] {
                let _ = blobs.delete(&done.row.storage_key).await;
            }
            return Err(e.into());
        }
    }
    Ok(())
}

/// Removes stored uploads again (when the message could not be written).
pub async fn discard(state: &AppState, files: &[Prepared]) {
    let blobs = &state.blobs;
    for f in files {
        let _ = blobs.delete(&f.row.storage_key).await;
    }
}

/// A file name safe in a URL path and on disk: letters, digits, `.`, `-` and `_`; everything
/// else becomes `_` (as Discord does with spaces).
pub fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        out = "unknown".to_owned();
    }
    out
}

/// The content type of an upload, from its bytes first: a recognised image, PDF, ... is what
/// its bytes say, whatever was sent; otherwise the sent type, unless it claims a media or
/// markup type the bytes do not bear out; otherwise a guess from a harmless extension.
fn content_type(sent: Option<&str>, filename: &str, bytes: &[u8]) -> Option<String> {
    if let Some(kind) = accord_media::sniff(bytes) {
        return Some(kind.mime().to_owned());
    }
    if bytes.starts_with(b"%PDF-") {
        return Some("application/pdf".to_owned());
    }
    let sent = sent.filter(|t| {
        let t = t.to_ascii_lowercase();
        !t.is_empty()
            && t != "application/octet-stream"
            // Not borne out by the bytes: an image the sniffer did not recognise, or markup.
            && !t.starts_with("image/")
            && !t.contains("html")
            && !t.contains("xml")
            && !t.contains("javascript")
    });
    if let Some(t) = sent {
        return Some(t.to_owned());
    }
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    let guess = match ext.as_deref() {
        Some("txt" | "log" | "md") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        Some("zip") => "application/zip",
        _ => return None,
    };
    Some(guess.to_owned())
}

/// Width and height of an image (PNG, JPEG, GIF, WebP), read from its header without decoding
/// it; none for anything else or an image past `limits` (the instance's).
fn image_size(b: &[u8], limits: &accord_media::Limits) -> Option<(i32, i32)> {
    let probed = accord_media::probe(b, limits).ok()?;
    Some((
        i32::try_from(probed.width).ok()?,
        i32::try_from(probed.height).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_and_sizes() {
        assert_eq!(sanitize("my file (1).txt"), "my_file__1_.txt");
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize(".."), "unknown");
        assert_eq!(
            content_type(None, "a.bin", b"\x89PNG\r\n\x1a\n").as_deref(),
            Some("image/png")
        );
        assert_eq!(
            content_type(Some("text/csv"), "a.csv", b"x").as_deref(),
            Some("text/csv")
        );
        assert_eq!(content_type(None, "a.bin", b"x"), None);
        // The bytes win over the claim; claims the bytes do not bear out are dropped.
        assert_eq!(
            content_type(Some("text/plain"), "a.txt", b"GIF89a\x05\x00\x07\x00").as_deref(),
            Some("image/gif")
        );
        assert_eq!(content_type(Some("image/png"), "a.png", b"<html>"), None);
        assert_eq!(content_type(Some("text/html"), "a.bin", b"<html>"), None);
        assert_eq!(
            content_type(Some("image/svg+xml"), "a.txt", b"<svg>").as_deref(),
            Some("text/plain; charset=utf-8")
        );
        // A 5×7 GIF: screen, two-colour table, one image of one LZW sub-block, trailer.
        let gif = b"GIF89a\x05\x00\x07\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00\
                    ,\x00\x00\x00\x00\x05\x00\x07\x00\x00\x02\x02D\x01\x00;";
        let limits = accord_media::Limits::default();
        assert_eq!(image_size(gif, &limits), Some((5, 7)));
        assert_eq!(image_size(b"not an image", &limits), None);
        let tiny = accord_media::Limits {
            max_pixels: 34,
            ..accord_media::Limits::default()
        };
        assert_eq!(image_size(gif, &tiny), None, "5×7 is past 34 pixels");
    }
}
