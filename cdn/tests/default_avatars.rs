//! Default avatars through the CDN: `/embed/avatars/{0..5}.png` are distinct PNGs with the file
//! headers (type, entity tag and 304, ranges, immutable caching), `?size=` is ignored, and other
//! names are Discord's 404. They are drawn in memory, so they work whatever the storage: run on the
//! local disk and on S3.

mod common;

use common::{Stack, Storage, error_body, header};
use reqwest::{Method, StatusCode};

async fn default_avatars_are_served_as_png(storage: Storage) {
    let s = Stack::start(storage).await;
    let mut bodies = Vec::new();
    for n in 0..6 {
        let resp = s.get(&format!("/embed/avatars/{n}.png?size=64"), &[]).await;
        assert_eq!(resp.status(), StatusCode::OK, "avatar {n}");
        assert_eq!(header(&resp, "content-type"), "image/png");
        assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
        assert!(header(&resp, "cache-control").contains("immutable"));
        assert_eq!(header(&resp, "content-disposition"), "inline");
        let etag = header(&resp, "etag").to_owned();
        let body = resp.bytes().await.unwrap();
        assert!(body.starts_with(b"\x89PNG\r\n\x1a\n"), "avatar {n}");
        assert!(!bodies.contains(&body), "avatar {n} repeats another");
        // Conditional and partial requests work as on stored files.
        let again = s
            .get(
                &format!("/embed/avatars/{n}.png"),
                &[("if-none-match", &etag)],
            )
            .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let part = s
            .get(
                &format!("/embed/avatars/{n}.png"),
                &[("range", "bytes=0-7")],
            )
            .await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            header(&part, "content-range"),
            format!("bytes 0-7/{}", body.len())
        );
        assert_eq!(part.bytes().await.unwrap(), body.slice(0..8));
        let head = s
            .request(Method::HEAD, &format!("/embed/avatars/{n}.png"), &[])
            .await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(header(&head, "content-length"), body.len().to_string());
        bodies.push(body);
    }
    for bad in [
        "6.png",
        "01.png",
        "-1.png",
        "0.jpg",
        "0",
        "a.png",
        "0.png.png",
    ] {
        let resp = s.get(&format!("/embed/avatars/{bad}"), &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{bad}");
        assert!(error_body(resp).await["code"].is_number(), "{bad}");
    }
    s.stop().await;
}

on_both_storages!(default_avatars_are_served_as_png);
