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
        let (width, height) = image_size(&file.bytes).unzip();
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

/// The sent content type, or one sniffed from the bytes or guessed from the extension.
fn content_type(sent: Option<&str>, filename: &str, bytes: &[u8]) -> Option<String> {
    if let Some(t) = sent.filter(|t| !t.is_empty() && *t != "application/octet-stream") {
        return Some(t.to_owned());
    }
    let sniffed = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    };
    if let Some(t) = sniffed {
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
        _ => sent?,
    };
    Some(guess.to_owned())
}

/// Width and height of PNG and GIF images (read from their headers).
fn image_size(b: &[u8]) -> Option<(i32, i32)> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() >= 24 && &b[12..16] == b"IHDR" {
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        return Some((i32::try_from(w).ok()?, i32::try_from(h).ok()?));
    }
    if (b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) && b.len() >= 10 {
        let w = u16::from_le_bytes([b[6], b[7]]);
        let h = u16::from_le_bytes([b[8], b[9]]);
        return Some((w.into(), h.into()));
    }
    None
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
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&3u32.to_be_bytes());
        png.extend_from_slice(&2u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((3, 2)));
        assert_eq!(image_size(b"GIF89a\x05\x00\x07\x00"), Some((5, 7)));
    }
}
