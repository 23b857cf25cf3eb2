//! Storage of uploaded files (message attachments, emoji images): one key → bytes interface over
//! two backends, the local disk (the default, under the data directory) and S3-compatible object
//! storage through `object_store`. The API writes through it and the CDN reads through it, so it
//! lives below both.
//!
//! Keys are relative `/`-separated paths made by the server (`<channel>/<attachment>/<name>`,
//! `emojis/<id>`); a key with an empty, `.` or `..` segment is refused by every backend.

mod https;
mod local;
mod object;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use accord_config::{Config, StorageKind};
use bytes::Bytes;
use object_store::ObjectStore;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key could leave its namespace (empty, `.` or `..` segments, backslashes, NUL).
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    /// A requested byte range lies outside the stored file.
    #[error("range {start}..{end} outside a file of {size} bytes")]
    Range {
        /// First byte asked for.
        start: u64,
        /// One past the last byte asked for.
        end: u64,
        /// The file's size.
        size: u64,
    },
    /// The local disk failed.
    #[error("local storage: {0}")]
    Io(#[from] std::io::Error),
    /// The object store failed.
    #[error("object storage: {0}")]
    Object(#[from] object_store::Error),
    /// The storage could not be set up from the configuration.
    #[error("cannot set up {what}: {message}")]
    Setup {
        /// The setting or backend at fault.
        what: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// What is known about a stored file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Size in bytes.
    pub size: u64,
    /// An entity tag that changes whenever the content does, quoted as HTTP wants it.
    pub etag: String,
    /// When it was written.
    pub modified: SystemTime,
}

/// Where uploaded files live (cheap to clone).
#[derive(Debug, Clone)]
pub enum Blobs {
    /// Files on the local disk, under this directory.
    Local(PathBuf),
    /// An object store: S3-compatible storage, or memory in tests.
    Object(Arc<dyn ObjectStore>),
}

impl Blobs {
    /// The configured storage: `cdn.storage = "local"` (under `cdn.local_dir`, by default
    /// `<data_dir>/attachments`) or `"s3"` (the `[cdn.s3]` bucket).
    pub fn from_config(config: &Config) -> Result<Self, BlobError> {
        match config.cdn.storage {
            StorageKind::Local => Ok(Blobs::Local(local_dir(config))),
            StorageKind::S3 => object::s3(&config.cdn.s3).map(|s| Blobs::Object(Arc::new(s))),
        }
    }

    /// Storage in memory (tests, and a second-best S3 stand-in).
    pub fn in_memory() -> Self {
        Blobs::Object(Arc::new(object_store::memory::InMemory::new()))
    }

    /// A short name of the backend for logs and the start-up banner.
    pub fn describe(&self) -> String {
        match self {
            Blobs::Local(dir) => format!("local disk, {}", dir.display()),
            Blobs::Object(store) => format!("object storage, {store}"),
        }
    }

    /// Stores `bytes` under `key`, replacing what was there. Readers never see a partial file.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        check_key(key)?;
        match self {
            Blobs::Local(root) => local::put(root, key, bytes).await,
            Blobs::Object(store) => object::put(store.as_ref(), key, bytes).await,
        }
    }

    /// The size, entity tag and time of `key`, or `None` when nothing is stored there.
    pub async fn head(&self, key: &str) -> Result<Option<Meta>, BlobError> {
        check_key(key)?;
        match self {
            Blobs::Local(root) => local::head(root, key).await,
            Blobs::Object(store) => object::head(store.as_ref(), key).await,
        }
    }

    /// The bytes of `key` (all of them, or `range`), with its metadata; `None` when nothing is
    /// stored there. A range past the end is [`BlobError::Range`].
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<Option<(Meta, Bytes)>, BlobError> {
        check_key(key)?;
        match self {
            Blobs::Local(root) => local::read(root, key, range).await,
            Blobs::Object(store) => object::read(store.as_ref(), key, range).await,
        }
    }

    /// The whole file of `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        Ok(self.read(key, None).await?.map(|(_, b)| b))
    }

    /// Removes what is stored under `key` (nothing if there is nothing).
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_key(key)?;
        match self {
            Blobs::Local(root) => local::delete(root, key).await,
            Blobs::Object(store) => object::delete(store.as_ref(), key).await,
        }
    }
}

/// The directory of local storage: `cdn.local_dir`, or `<data_dir>/attachments`.
pub fn local_dir(config: &Config) -> PathBuf {
    config
        .cdn
        .local_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("attachments"))
}

/// Refuses keys that could name something outside the storage's namespace.
fn check_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.contains(['\\', '\0'])
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(BlobError::InvalidKey(key.to_owned()));
    }
    Ok(())
}

/// Checks `range` against `size`.
fn check_range(range: &Range<u64>, size: u64) -> Result<(), BlobError> {
    if range.start > range.end || range.end > size {
        return Err(BlobError::Range {
            start: range.start,
            end: range.end,
            size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
