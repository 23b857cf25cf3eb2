//! The CDN in the `accord` binary: `accord cdn` alone (no database needed) and the default
//! `accord`, which runs it beside the API, serve the files of the configured storage.

mod support;

use support::{accord, free_port, start, stop};

/// Puts a file where local storage keeps attachment `2` of channel `1`.
fn stored_file(dir: &std::path::Path) -> Vec<u8> {
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
    let at = dir.join("data/attachments/1/2");
    std::fs::create_dir_all(&at).unwrap();
    std::fs::write(at.join("blob.bin"), &bytes).unwrap();
    bytes
}

async fn fetch(url: &str) -> (u16, Vec<u8>, String) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, resp.bytes().await.unwrap().to_vec(), kind)
}

#[tokio::test]
async fn accord_cdn_runs_alone_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = stored_file(dir.path());
    let cdn = free_port();
    let mut cmd = accord(
        dir.path(),
        free_port(),
        Some("postgres://nobody@127.0.0.1:1/none"),
    );
    cmd.arg("cdn")
        .env("ACCORD_CDN__LISTEN", format!("127.0.0.1:{cdn}"));
    let (child, banner) = start(cmd);
    assert!(banner.contains("CDN only"), "{banner}");
    assert!(
        banner.contains(&format!("CDN:       http://127.0.0.1:{cdn}")),
        "{banner}"
    );
    assert!(banner.contains("local disk"), "{banner}");
    let (status, body, kind) =
        fetch(&format!("http://127.0.0.1:{cdn}/attachments/1/2/blob.bin")).await;
    assert_eq!((status, kind.as_str()), (200, "application/octet-stream"));
    assert_eq!(body, bytes);
    let (status, body, kind) =
        fetch(&format!("http://127.0.0.1:{cdn}/attachments/1/3/blob.bin")).await;
    assert_eq!((status, kind.as_str()), (404, "application/json"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"code": 0, "message": "404: Not Found"})
    );
    assert!(stop(child).success());
}

#[tokio::test]
async fn the_default_accord_includes_the_cdn() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = stored_file(dir.path());
    let cdn = free_port();
    let mut cmd = accord(dir.path(), free_port(), None);
    cmd.env("ACCORD_CDN__LISTEN", format!("127.0.0.1:{cdn}"));
    let (child, banner) = start(cmd);
    assert!(
        banner.contains(&format!("CDN:       http://127.0.0.1:{cdn}")),
        "{banner}"
    );
    let (status, body, _) =
        fetch(&format!("http://127.0.0.1:{cdn}/attachments/1/2/blob.bin")).await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes);
    assert!(stop(child).success());
}
