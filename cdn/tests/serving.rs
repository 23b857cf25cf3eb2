//! Files uploaded through the REST API (multipart messages, emoji data URIs) and fetched through
//! the CDN, on the local disk and on S3: the bytes, the sniffed type and disposition, entity tags
//! and 304s, ranges (206/416), HEAD, Discord's 404 body, refused methods and path tricks, and
//! deletion.

mod common;

use base64::Engine;
use common::{Stack, Storage, error_body, header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A 1×1 GIF.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&3u32.to_be_bytes());
    b.extend_from_slice(&2u32.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 1, 2, 3, 4]);
    b
}

fn attachment<'a>(message: &'a Value, name: &str) -> &'a Value {
    message["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["filename"] == name)
        .unwrap_or_else(|| panic!("no attachment {name} in {message}"))
}

async fn files_round_trip(storage: Storage) {
    let s = Stack::start(storage).await;
    // A PNG claimed to be HTML, markup claimed to be an image, and 70 KiB of binary data.
    let image = png();
    let page = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>".to_vec();
    let data: Vec<u8> = (0..70 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let m = s
        .upload(&[
            ("pic.dat", "text/html", image.clone()),
            ("page.html", "image/png", page.clone()),
            ("data.bin", "application/octet-stream", data.clone()),
        ])
        .await;

    // The image: its bytes, typed by its content, shown inline, cached forever.
    let url = attachment(&m, "pic.dat")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&format!("{}/attachments/{}/", s.cdn, s.channel)),
        "{url}"
    );
    let resp = s.get(&url, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-type"), "image/png");
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    assert!(header(&resp, "content-disposition").starts_with("inline"));
    assert!(header(&resp, "cache-control").contains("immutable"));
    assert_eq!(header(&resp, "accept-ranges"), "bytes");
    let etag = header(&resp, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
    assert_eq!(resp.bytes().await.unwrap(), image);

    // Conditional requests: a matching tag gets 304 with no body, another tag the file.
    let resp = s.get(&url, &[("if-none-match", &etag)]).await;
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&resp, "etag"), etag);
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = s.get(&url, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap(), image);

    // The markup: never rendered — plain text, as a download.
    let page_url = attachment(&m, "page.html")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = s.get(&page_url, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(
        header(&resp, "content-disposition"),
        "attachment; filename=\"page.html\""
    );
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    assert!(header(&resp, "content-security-policy").contains("sandbox"));
    assert_eq!(resp.bytes().await.unwrap(), page);

    // The binary file: a download, whole and in ranges.
    let data_url = attachment(&m, "data.bin")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = s.get(&data_url, &[]).await;
    assert_eq!(header(&resp, "content-type"), "application/octet-stream");
    assert_eq!(
        header(&resp, "content-disposition"),
        "attachment; filename=\"data.bin\""
    );
    let data_etag = header(&resp, "etag").to_owned();
    assert_eq!(resp.bytes().await.unwrap(), data);
    let n = data.len();
    for (range, want) in [
        ("bytes=10-19", 10..20),
        ("bytes=9000-", 9000..n),
        ("bytes=-5", n - 5..n),
        ("bytes=100-999999", 100..n),
    ] {
        let resp = s.get(&data_url, &[("range", range)]).await;
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&resp, "content-range"),
            format!("bytes {}-{}/{n}", want.start, want.end - 1)
        );
        // The type is still sniffed from the file's start, not from the slice.
        assert_eq!(header(&resp, "content-type"), "application/octet-stream");
        assert_eq!(resp.bytes().await.unwrap(), &data[want], "{range}");
    }
    let resp = s.get(&url, &[("range", "bytes=0-3")]).await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&resp, "content-type"), "image/png");
    assert_eq!(resp.bytes().await.unwrap(), &image[..4]);
    for unsatisfiable in [format!("bytes={n}-"), "bytes=-0".to_owned()] {
        let resp = s.get(&data_url, &[("range", &unsatisfiable)]).await;
        assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(header(&resp, "content-range"), format!("bytes */{n}"));
        let body = error_body(resp).await;
        assert_eq!(
            body,
            json!({"code": 0, "message": "416: Range Not Satisfiable"})
        );
    }
    // A stale If-Range gets the whole file; a current one the range.
    let resp = s
        .get(
            &data_url,
            &[("range", "bytes=0-9"), ("if-range", "\"stale\"")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().len(), n);
    let resp = s
        .get(
            &data_url,
            &[("range", "bytes=0-9"), ("if-range", &data_etag)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.bytes().await.unwrap(), &data[..10]);

    // HEAD: the same headers, no body.
    let resp = s.request(Method::HEAD, &data_url, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-length"), n.to_string());
    assert_eq!(header(&resp, "content-type"), "application/octet-stream");
    assert_eq!(header(&resp, "etag"), data_etag);
    assert!(resp.bytes().await.unwrap().is_empty());

    // Only GET and HEAD.
    let resp = s.request(Method::POST, &data_url, &[]).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        error_body(resp).await,
        json!({"code": 0, "message": "405: Method Not Allowed"})
    );

    // Unknown files and paths: Discord's 404 body.
    let att_id = attachment(&m, "data.bin")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for missing in [
        format!("/attachments/{}/{att_id}/other.bin", s.channel),
        format!("/attachments/{}/1/data.bin", s.channel),
        format!("/attachments/1/{att_id}/data.bin"),
        "/attachments/1/2".to_owned(),
        "/avatars/1/abc.png".to_owned(),
        "/".to_owned(),
    ] {
        let resp = s.get(&missing, &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(
            error_body(resp).await,
            json!({"code": 0, "message": "404: Not Found"}),
            "{missing}"
        );
    }

    // Deleting the message removes its files from storage, and so from the CDN.
    let mid = m["id"].as_str().unwrap();
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/channels/{}/messages/{mid}", s.channel),
            Some(()),
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for u in [&url, &page_url, &data_url] {
        assert_eq!(s.get(u, &[]).await.status(), StatusCode::NOT_FOUND, "{u}");
    }
    // On S3 nothing was written to the local disk.
    if storage == Storage::S3 {
        assert!(!s.data.path().join("attachments").exists());
    }
    s.stop().await;
}

async fn emoji_images(storage: Storage) {
    let s = Stack::start(storage).await;
    let uri = format!(
        "data:image/gif;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(GIF)
    );
    let (st, emoji) = s
        .call(
            Method::POST,
            &format!("/guilds/{}/emojis", s.guild),
            Some(()),
            json!({"name": "dot", "image": uri}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{emoji}");
    let id = emoji["id"].as_str().unwrap().to_owned();
    // Its own format is the stored image; other extensions are conversions, typed by what they
    // are (images are covered at length in tests/images.rs).
    for (path, mime) in [
        (format!("/emojis/{id}.gif"), "image/gif"),
        (format!("/emojis/{id}.png?size=48"), "image/png"),
        (
            format!("/emojis/{id}.webp?size=96&quality=lossless"),
            "image/webp",
        ),
        (format!("/emojis/{id}"), "image/png"),
    ] {
        let resp = s.get(&path, &[]).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&resp, "content-type"), mime, "{path}");
        assert!(header(&resp, "cache-control").contains("immutable"));
        assert_eq!(header(&resp, "content-disposition"), "inline");
        let bytes = resp.bytes().await.unwrap();
        if mime == "image/gif" {
            assert_eq!(bytes, GIF, "{path}");
        } else {
            assert_eq!(accord_media::sniff(&bytes).map(|k| k.mime()), Some(mime));
        }
    }
    for bad in [
        format!("/emojis/{id}.svg"),
        format!("/emojis/{id}.gif.gif"),
        "/emojis/1.png".to_owned(),
        "/emojis/-1.png".to_owned(),
    ] {
        assert_eq!(
            s.get(&bad, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/guilds/{}/emojis/{id}", s.guild),
            Some(()),
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get(&format!("/emojis/{id}.gif"), &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    s.stop().await;
}

/// Paths that try to leave the storage (dot segments, encoded separators, NUL, backslashes)
/// name nothing: a secret next to the storage directory is never served.
async fn path_tricks(storage: Storage) {
    let s = Stack::start(storage).await;
    let m = s
        .upload(&[("a.txt", "text/plain", b"inside".to_vec())])
        .await;
    let a = attachment(&m, "a.txt");
    let id = a["id"].as_str().unwrap();
    let c = &s.channel;
    std::fs::write(s.data.path().join("secret.txt"), "TOP-SECRET").unwrap();
    std::fs::create_dir_all(s.data.path().join("attachments/1/2")).unwrap();
    std::fs::write(s.data.path().join("attachments/1/2/..."), "TOP-SECRET").unwrap();
    // The real file is served at its own path.
    let (status, text) = s.raw_get(&format!("/attachments/{c}/{id}/a.txt")).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("inside"));
    for trick in [
        format!("/attachments/{c}/{id}/..%2F..%2F..%2Fsecret.txt"),
        format!("/attachments/{c}/{id}/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt"),
        format!("/attachments/{c}/{id}/..%5C..%5C..%5Csecret.txt"),
        format!("/attachments/{c}/{id}/../../../secret.txt"),
        format!("/attachments/{c}/{id}/a.txt%00.png"),
        format!("/attachments/{c}/{id}/a.txt/../../../../secret.txt"),
        "/attachments/..%2F..%2F/x/secret.txt".to_owned(),
        "/attachments/../../secret.txt".to_owned(),
        "/attachments/%2e%2e/%2e%2e/secret.txt".to_owned(),
        "/attachments/1/2/...".to_owned(),
        "/attachments/1/2/%2E%2E".to_owned(),
        "/emojis/..%2F..%2Fsecret.txt".to_owned(),
        "/emojis/..%2F1%2F2%2F....png".to_owned(),
        "//secret.txt".to_owned(),
        "/../secret.txt".to_owned(),
        "/%2e%2e/secret.txt".to_owned(),
    ] {
        let (status, text) = s.raw_get(&trick).await;
        assert!(!text.contains("TOP-SECRET"), "{trick} served the secret");
        assert!(
            status == 404 || status == 400,
            "{trick}: status {status}\n{text}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_files_round_trip() {
    files_round_trip(Storage::Disk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_files_round_trip() {
    files_round_trip(Storage::S3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_emoji_images() {
    emoji_images(Storage::Disk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_emoji_images() {
    emoji_images(Storage::S3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_path_tricks() {
    path_tricks(Storage::Disk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_path_tricks() {
    path_tricks(Storage::S3).await;
}
