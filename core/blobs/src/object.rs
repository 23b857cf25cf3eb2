//! The object-store backend: S3-compatible storage (AWS, MinIO, Garage, Ceph, R2, ...) through
//! `object_store`, or its in-memory store in tests.

use std::ops::Range;
use std::time::SystemTime;

use accord_config::S3Config;
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};

use crate::{BlobError, Meta, check_range};

/// The S3 client of `[cdn.s3]`. Credentials and settings not configured there come from the
/// usual `AWS_*` environment variables (and, on AWS, the instance's role).
pub(crate) fn s3(c: &S3Config) -> Result<AmazonS3, BlobError> {
    let bucket = c.bucket.as_deref().ok_or(BlobError::Setup {
        what: "cdn.s3.bucket",
        message: "must be set when cdn.storage is \"s3\"".to_owned(),
    })?;
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(&c.region)
        .with_virtual_hosted_style_request(c.virtual_hosted_style)
        .with_http_connector(crate::https::Connector);
    if let Some(endpoint) = &c.endpoint {
        b = b
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(id) = &c.access_key_id {
        b = b.with_access_key_id(id);
    }
    if let Some(secret) = &c.secret_access_key {
        b = b.with_secret_access_key(secret);
    }
    b.build().map_err(|e| BlobError::Setup {
        what: "cdn.s3",
        message: e.to_string(),
    })
}

fn location(key: &str) -> Result<Path, BlobError> {
    Path::parse(key).map_err(|_| BlobError::InvalidKey(key.to_owned()))
}

pub(crate) async fn put(store: &dyn ObjectStore, key: &str, bytes: Bytes) -> Result<(), BlobError> {
    store
        .put(&location(key)?, PutPayload::from_bytes(bytes))
        .await?;
    Ok(())
}

pub(crate) async fn head(store: &dyn ObjectStore, key: &str) -> Result<Option<Meta>, BlobError> {
    match store.head(&location(key)?).await {
        Ok(m) => Ok(Some(meta(&m))),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn read(
    store: &dyn ObjectStore,
    key: &str,
    range: Option<Range<u64>>,
) -> Result<Option<(Meta, Bytes)>, BlobError> {
    let location = location(key)?;
    if let Some(r) = &range
        && r.start == r.end
    {
        // An empty range is no request an object store understands; the metadata is enough.
        let Some(m) = head(store, key).await? else {
            return Ok(None);
        };
        check_range(r, m.size)?;
        return Ok(Some((m, Bytes::new())));
    }
    let options = GetOptions {
        range: range.clone().map(GetRange::Bounded),
        ..GetOptions::default()
    };
    let result = match store.get_opts(&location, options).await {
        Ok(r) => r,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => {
            // Ask for the size to tell "range past the end" from other failures.
            if let Some(r) = &range
                && let Some(m) = head(store, key).await?
            {
                check_range(r, m.size)?;
            }
            return Err(e.into());
        }
    };
    let m = meta(&result.meta);
    if let Some(r) = &range {
        check_range(r, m.size)?;
    }
    Ok(Some((m, result.bytes().await?)))
}

pub(crate) async fn delete(store: &dyn ObjectStore, key: &str) -> Result<(), BlobError> {
    match store.delete(&location(key)?).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The store's entity tag (quoted), or one made of the size and time when it has none.
fn meta(m: &ObjectMeta) -> Meta {
    let modified = SystemTime::from(m.last_modified);
    let etag = match &m.e_tag {
        Some(t) => format!("\"{}\"", t.trim_matches('"')),
        None => format!(
            "\"{:x}-{:x}\"",
            m.size,
            m.last_modified.timestamp_nanos_opt().unwrap_or(0)
        ),
    };
    Meta {
        size: m.size,
        etag,
        modified,
    }
}
