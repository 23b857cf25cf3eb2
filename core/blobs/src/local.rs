//! The local-disk backend: one file per key under a root directory, written to a temporary file
//! and renamed into place.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::Bytes;

use crate::{BlobError, Meta, check_range};

/// The file of `key` under `root` (the key is checked by the caller).
fn path(root: &Path, key: &str) -> PathBuf {
    root.join(key)
}

pub(crate) async fn put(root: &Path, key: &str, bytes: Bytes) -> Result<(), BlobError> {
    let path = path(root, key);
    blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename, so a reader never sees a half-written file.
        let mut tmp = path.clone().into_os_string();
        tmp.push(format!(".partial-{}", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path)
    })
    .await
}

pub(crate) async fn head(root: &Path, key: &str) -> Result<Option<Meta>, BlobError> {
    let path = path(root, key);
    blocking(move || match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(Some(meta(&m))),
        Ok(_) => Ok(None),
        Err(e) if missing(&e) => Ok(None),
        Err(e) => Err(e),
    })
    .await
}

pub(crate) async fn read(
    root: &Path,
    key: &str,
    range: Option<Range<u64>>,
) -> Result<Option<(Meta, Bytes)>, BlobError> {
    let path = path(root, key);
    let found = blocking(move || {
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let m = file.metadata()?;
        if !m.is_file() {
            return Ok(None);
        }
        let meta = meta(&m);
        let range = range.unwrap_or(0..meta.size);
        if check_range(&range, meta.size).is_err() {
            return Ok(Some((meta, Err(range))));
        }
        file.seek(SeekFrom::Start(range.start))?;
        let len = usize::try_from(range.end - range.start).map_err(std::io::Error::other)?;
        let mut buf = vec![0; len];
        file.read_exact(&mut buf)?;
        Ok(Some((meta, Ok(Bytes::from(buf)))))
    })
    .await?;
    match found {
        None => Ok(None),
        Some((meta, Ok(bytes))) => Ok(Some((meta, bytes))),
        Some((meta, Err(range))) => Err(BlobError::Range {
            start: range.start,
            end: range.end,
            size: meta.size,
        }),
    }
}

pub(crate) async fn delete(root: &Path, key: &str) -> Result<(), BlobError> {
    let path = path(root, key);
    blocking(move || match std::fs::remove_file(path) {
        Err(e) if !missing(&e) => Err(e),
        _ => Ok(()),
    })
    .await
}

/// Size, time and an entity tag made of both (a rewrite changes the time).
fn meta(m: &std::fs::Metadata) -> Meta {
    let modified = m.modified().unwrap_or(UNIX_EPOCH);
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Meta {
        size: m.len(),
        etag: format!("\"{:x}-{nanos:x}\"", m.len()),
        modified,
    }
}

fn missing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Runs file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, BlobError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(BlobError::Io(std::io::Error::other(e))),
    }
}
