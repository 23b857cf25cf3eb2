//! Answering for one stored file: conditional requests (`If-None-Match`), byte ranges (`Range`,
//! `If-Range`), and the headers every file answer carries.

use std::ops::Range;

use accord_blobs::{Blobs, Meta};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::error::CdnError;
use crate::media::{self, Media};

/// These URLs name content that never changes (a new upload gets a new id): cache for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// How the file is named when downloaded.
#[derive(Debug, Clone, Copy)]
pub struct Download<'a> {
    /// The file name (already limited to `[A-Za-z0-9._-]`), if the URL has one.
    pub filename: Option<&'a str>,
}

/// The answer for `key`: 200, 206, 304, 404 or 416.
pub async fn file(
    blobs: &Blobs,
    key: &str,
    method: &Method,
    headers: &HeaderMap,
    download: Download<'_>,
) -> Result<Response, CdnError> {
    let meta = blobs.head(key).await?.ok_or(CdnError::NotFound)?;
    if not_modified(headers, &meta.etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        common_headers(response.headers_mut(), &meta);
        return Ok(response);
    }
    let range = match requested_range(headers, &meta) {
        Wanted::Whole => None,
        Wanted::Part(r) => Some(r),
        Wanted::Unsatisfiable => return Err(CdnError::RangeNotSatisfiable(meta.size)),
    };
    let head_only = method == Method::HEAD;
    // The bytes to send (none for HEAD), and the bytes to sniff when those do not start the file.
    let body = if head_only {
        Bytes::new()
    } else {
        let (_, bytes) = blobs
            .read(key, range.clone())
            .await?
            .ok_or(CdnError::NotFound)?;
        bytes
    };
    let starts_file = !head_only && range.as_ref().is_none_or(|r| r.start == 0);
    let sniff_len = media::SNIFF_LEN.min(meta.size);
    let sniffed = if starts_file && body.len() as u64 >= sniff_len {
        let n = sniff_len as usize;
        media::sniff(&body[..n], sniff_len == meta.size)
    } else {
        let (_, head) = blobs
            .read(key, Some(0..sniff_len))
            .await?
            .ok_or(CdnError::NotFound)?;
        media::sniff(&head, sniff_len == meta.size)
    };
    Ok(content(body, head_only, range, &meta, &sniffed, download))
}

/// A 200 (or 206 for `range`) answer carrying `body` (the whole file or that part; empty for
/// HEAD) with every file header.
fn content(
    body: Bytes,
    head_only: bool,
    range: Option<Range<u64>>,
    meta: &Meta,
    sniffed: &Media,
    download: Download<'_>,
) -> Response {
    let (status, length) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start),
        None => (StatusCode::OK, meta.size),
    };
    let mut response = if head_only {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(body))
    };
    *response.status_mut() = status;
    let h = response.headers_mut();
    common_headers(h, meta);
    media_headers(h, sniffed, download);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(r) = &range
        && let Ok(v) =
            HeaderValue::from_str(&format!("bytes {}-{}/{}", r.start, r.end - 1, meta.size))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}

/// The answer for a file held in memory (the default avatars): 200, 206, 304 or 416, with the
/// same headers as a stored file.
pub fn memory(
    bytes: &Bytes,
    meta: &Meta,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, CdnError> {
    if not_modified(headers, &meta.etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        common_headers(response.headers_mut(), meta);
        return Ok(response);
    }
    let range = match requested_range(headers, meta) {
        Wanted::Whole => None,
        Wanted::Part(r) => Some(r),
        Wanted::Unsatisfiable => return Err(CdnError::RangeNotSatisfiable(meta.size)),
    };
    let sniffed = media::sniff(
        &bytes[..media::SNIFF_LEN.min(meta.size) as usize],
        media::SNIFF_LEN >= meta.size,
    );
    let part = match &range {
        Some(r) => bytes.slice(r.start as usize..r.end as usize),
        None => bytes.clone(),
    };
    let download = Download { filename: None };
    Ok(content(
        part,
        method == Method::HEAD,
        range,
        meta,
        &sniffed,
        download,
    ))
}

/// Headers of every answer about a file, 304s included.
fn common_headers(h: &mut HeaderMap, meta: &Meta) {
    if let Ok(v) = HeaderValue::from_str(&meta.etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(meta.modified)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// Type, disposition and the headers that keep a browser from running what it got.
fn media_headers(h: &mut HeaderMap, media: &Media, download: Download<'_>) {
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    let disposition = if media.inline { "inline" } else { "attachment" };
    let value = match download.filename {
        Some(name) => format!("{disposition}; filename=\"{name}\""),
        None => disposition.to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
}

/// Whether `If-None-Match` names the current entity tag (weak comparison, `*` included).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = strip(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || strip(t) == ours)
}

/// What part of the file a request wants.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// All of it (no `Range`, one that is ignored, or a stale `If-Range`).
    Whole,
    /// These bytes.
    Part(Range<u64>),
    /// A range that lies outside the file.
    Unsatisfiable,
}

/// The one byte range asked for. Several ranges, malformed ones and other units are ignored (the
/// whole file is sent), as HTTP allows; so is a `Range` whose `If-Range` no longer matches.
fn requested_range(headers: &HeaderMap, meta: &Meta) -> Wanted {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Wanted::Whole;
    };
    if let Some(if_range) = headers.get(header::IF_RANGE) {
        // Only a strong entity tag can validate a range; dates are not compared.
        if if_range.to_str().ok().map(str::trim) != Some(meta.etag.as_str()) {
            return Wanted::Whole;
        }
    }
    parse_range(value, meta.size)
}

fn parse_range(value: &str, size: u64) -> Wanted {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            Some(0) => Wanted::Unsatisfiable,
            Some(n) if size > 0 => Wanted::Part(size.saturating_sub(n)..size),
            Some(_) => Wanted::Unsatisfiable,
            None => Wanted::Whole,
        },
        (start, end) => {
            let Some(start) = number(start) else {
                return Wanted::Whole;
            };
            let end = if end.is_empty() {
                None
            } else {
                match number(end) {
                    Some(e) if e >= start => Some(e),
                    _ => return Wanted::Whole,
                }
            };
            if start >= size {
                return Wanted::Unsatisfiable;
            }
            let end = end.map_or(size, |e| e.saturating_add(1).min(size));
            Wanted::Part(start..end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use Wanted::*;
        assert_eq!(parse_range("bytes=0-4", 10), Part(0..5));
        assert_eq!(parse_range("bytes=5-", 10), Part(5..10));
        assert_eq!(parse_range("bytes=5-100", 10), Part(5..10));
        assert_eq!(parse_range("bytes=-3", 10), Part(7..10));
        assert_eq!(parse_range("bytes=-30", 10), Part(0..10));
        assert_eq!(parse_range("bytes=9-9", 10), Part(9..10));
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=10-20", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
        for ignored in [
            "bytes=4-2",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=",
            "bytes=-",
        ] {
            assert_eq!(parse_range(ignored, 10), Whole, "{ignored}");
        }
    }

    #[test]
    fn conditional() {
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, "\"abc\""));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(not_modified(&h, "\"abc\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\""));
        assert!(!not_modified(&h, "\"abc\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, "\"abc\""));
    }
}
