//! A webhook message's `avatar_url` on another host (`api.remote_images`): fetched once from a
//! loopback image server this test runs, stored as one of the webhook's avatars and shown as
//! the author's avatar; private addresses refused by default (the message is still sent, with
//! the webhook's own avatar, and the server never sees a request); non-images and oversized
//! images not used; fetching turned off refuses the field. On both backends.

mod common;
mod webhooks_util;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::field_code;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhooks_util::*;

/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap()
}

/// Serves `/a.png` (the PNG), `/text` (not an image), `/big.png` (past 2 KiB) and 404 else, on
/// 127.0.0.1; counts the requests.
async fn image_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&buf).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let (status, body): (&str, Vec<u8>) = match path.as_str() {
                    "/a.png" => ("200 OK", png()),
                    "/text" => ("200 OK", b"hello, not an image".to_vec()),
                    "/big.png" => ("200 OK", vec![0u8; 4096]),
                    _ => ("404 Not Found", Vec::new()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    (port, hits)
}

async fn send(s: &common::Server, at: &str, avatar_url: &str) -> (StatusCode, Value) {
    s.call(
        Method::POST,
        &format!("{at}?wait=true"),
        None,
        Some(json!({"content": "hi", "avatar_url": avatar_url})),
    )
    .await
}

async fn fetched_and_stored(backend: &str) {
    let (port, hits) = image_server().await;
    let (s, _owner, _cid, hid, token) = with_hook_using(backend, |c| {
        c.api.remote_images.allow_private_addresses = true;
        c.cdn.images.max_upload_bytes = 2048;
    })
    .await;
    let at = format!("/webhooks/{hid}/{token}");
    let url = format!("http://127.0.0.1:{port}/a.png");

    let (status, message) = send(&s, &at, &url).await;
    assert_eq!(status, StatusCode::OK, "{message}");
    let hash = message["author"]["avatar"]
        .as_str()
        .expect("the fetched image is the author's avatar")
        .to_owned();
    assert_eq!(hash.len(), 32, "{hash}");
    let stored = s
        .state
        .blobs
        .get(&format!("avatars/{hid}/{hash}"))
        .await
        .unwrap()
        .expect("stored as the webhook's avatar");
    assert_eq!(&stored[..], &png()[..]);
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // The same URL again: remembered, not fetched again.
    let (status, again) = send(&s, &at, &url).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["author"]["avatar"], hash.as_str());
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // Not an image, too large, missing: the message goes out with the webhook's own avatar
    // (none), as on Discord.
    for path in ["/text", "/big.png", "/missing.png"] {
        let (status, message) = send(&s, &at, &format!("http://127.0.0.1:{port}{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {message}");
        assert!(message["author"]["avatar"].is_null(), "{path}: {message}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    s.stop().await;
}

async fn private_addresses_refused_by_default(backend: &str) {
    let (port, hits) = image_server().await;
    let (s, _owner, _cid, hid, token) = with_hook(backend).await;
    let at = format!("/webhooks/{hid}/{token}");
    for url in [
        format!("http://127.0.0.1:{port}/a.png"),
        format!("http://localhost:{port}/a.png"),
        format!("http://[::ffff:127.0.0.1]:{port}/a.png"),
    ] {
        let (status, message) = send(&s, &at, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {message}");
        assert!(message["author"]["avatar"].is_null(), "{url}: {message}");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "no request reached the server"
    );
    s.stop().await;
}

async fn fetching_turned_off(backend: &str) {
    let (port, hits) = image_server().await;
    let (s, _owner, _cid, hid, token) = with_hook_using(backend, |c| {
        c.api.remote_images.enabled = false;
        c.api.remote_images.allow_private_addresses = true;
    })
    .await;
    let at = format!("/webhooks/{hid}/{token}");
    let (status, body) = send(&s, &at, &format!("http://127.0.0.1:{port}/a.png")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], 50035, "{body}");
    assert_eq!(
        field_code(&body, &["avatar_url"]),
        Some("IMAGE_UNSUPPORTED"),
        "{body}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    s.stop().await;
}

both_backends!(
    fetched_and_stored,
    private_addresses_refused_by_default,
    fetching_turned_off
);
