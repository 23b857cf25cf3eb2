//! The same checks on every backend: put, head, whole and ranged reads, delete, refused keys.

use super::*;

async fn exercise(blobs: &Blobs) {
    assert!(blobs.head("1/2/a.txt").await.unwrap().is_none());
    assert!(blobs.read("1/2/a.txt", None).await.unwrap().is_none());
    blobs
        .put("1/2/a.txt", Bytes::from_static(b"hello world"))
        .await
        .unwrap();
    let meta = blobs.head("1/2/a.txt").await.unwrap().unwrap();
    assert_eq!(meta.size, 11);
    assert!(meta.etag.starts_with('"') && meta.etag.ends_with('"') && meta.etag.len() > 2);
    assert_eq!(
        blobs.get("1/2/a.txt").await.unwrap().unwrap(),
        "hello world"
    );
    let (m, part) = blobs.read("1/2/a.txt", Some(6..11)).await.unwrap().unwrap();
    assert_eq!((m.size, &part[..]), (11, &b"world"[..]));
    assert_eq!(m.etag, meta.etag);
    let (_, empty) = blobs.read("1/2/a.txt", Some(3..3)).await.unwrap().unwrap();
    assert!(empty.is_empty());
    assert!(matches!(
        blobs.read("1/2/a.txt", Some(5..12)).await,
        Err(BlobError::Range { size: 11, .. })
    ));
    // A rewrite changes the entity tag.
    blobs
        .put("1/2/a.txt", Bytes::from_static(b"hello there!"))
        .await
        .unwrap();
    let again = blobs.head("1/2/a.txt").await.unwrap().unwrap();
    assert_eq!(again.size, 12);
    assert_ne!(again.etag, meta.etag);
    blobs.delete("1/2/a.txt").await.unwrap();
    assert!(blobs.get("1/2/a.txt").await.unwrap().is_none());
    blobs.delete("1/2/a.txt").await.unwrap();
    for bad in ["", "../x", "/abs", "a//b", "a/./b", "a/../b", "a\\b", "a/"] {
        assert!(
            matches!(
                blobs.put(bad, Bytes::from_static(b"no")).await,
                Err(BlobError::InvalidKey(_))
            ),
            "{bad:?} accepted"
        );
        assert!(blobs.head(bad).await.is_err(), "{bad:?} accepted");
    }
}

#[tokio::test]
async fn local_disk() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::Local(dir.path().join("files"));
    exercise(&blobs).await;
    // Nothing outside the root was written, and no temporary file is left behind.
    let mut left = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("files/1/2")).unwrap() {
        left.push(entry.unwrap().file_name());
    }
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn in_memory() {
    exercise(&Blobs::in_memory()).await;
}

#[test]
fn configured_backend() {
    let mut config = Config {
        data_dir: PathBuf::from("/srv/accord"),
        ..Config::default()
    };
    match Blobs::from_config(&config).unwrap() {
        Blobs::Local(dir) => assert_eq!(dir, PathBuf::from("/srv/accord/attachments")),
        other => panic!("{other:?}"),
    }
    config.cdn.local_dir = Some(PathBuf::from("/mnt/uploads"));
    assert_eq!(local_dir(&config), PathBuf::from("/mnt/uploads"));
    config.cdn.storage = StorageKind::S3;
    config.cdn.s3.bucket = Some("uploads".into());
    config.cdn.s3.endpoint = Some("http://127.0.0.1:9".into());
    config.cdn.s3.access_key_id = Some("id".into());
    config.cdn.s3.secret_access_key = Some("secret".into());
    let blobs = Blobs::from_config(&config).unwrap();
    assert!(matches!(blobs, Blobs::Object(_)));
    assert!(blobs.describe().contains("uploads"), "{}", blobs.describe());
    config.cdn.s3.bucket = None;
    assert!(matches!(
        Blobs::from_config(&config),
        Err(BlobError::Setup { .. })
    ));
}
