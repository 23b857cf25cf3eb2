//! Guild stickers uploaded through the REST API (multipart/form-data) and fetched from the CDN at
//! `/stickers/{id}.{png,gif,webp}`, on the local disk and on S3: the original bytes, `?size=`,
//! a GIF kept animated, an APNG served as itself (animated, as `.png`, resized too), and a deleted
//! sticker gone with its renders.

mod common;

use common::images::{apng, apng_frames, dims, gif, gif_frames, is_apng, png};
use common::{Stack, Storage, header};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

impl Stack {
    /// Creates a sticker named `name` from `file` in the user's guild; returns the sticker.
    async fn sticker(&self, name: &str, file: Vec<u8>) -> Value {
        let form = Form::new()
            .text("name", name.to_owned())
            .text("tags", "smile")
            .part("file", Part::bytes(file).file_name("sticker"));
        let path = format!("/guilds/{}/stickers", self.guild);
        self.post_form(&path, form, StatusCode::CREATED).await
    }
}

async fn stickers_served(storage: Storage) {
    let s = Stack::start(storage).await;
    let still = png(128, 96, 1);
    let created = s.sticker("still", still.clone()).await;
    assert_eq!(created["format_type"], 1);
    let id = created["id"].as_str().unwrap().to_owned();

    // The original, byte for byte, typed from its bytes.
    let (mime, _, bytes) = s.fetch_ok(&format!("/stickers/{id}.png")).await;
    assert_eq!(mime, "image/png");
    assert!(bytes == still, "not the uploaded bytes");

    // Resized: the longer side becomes 32, still a PNG.
    let (mime, _, bytes) = s.fetch_ok(&format!("/stickers/{id}.png?size=32")).await;
    assert_eq!(mime, "image/png");
    assert_eq!(
        accord_media::sniff(&bytes),
        Some(accord_media::ImageKind::Png)
    );
    assert_eq!(dims(&bytes), (32, 24));
    // And converted to WebP.
    let (mime, _, bytes) = s.fetch_ok(&format!("/stickers/{id}.webp?size=64")).await;
    assert_eq!(mime, "image/webp");
    assert_eq!(dims(&bytes), (64, 48));

    // An animated GIF sticker stays animated as .gif.
    let animated = gif(64, 64, 3);
    let created = s.sticker("dance", animated.clone()).await;
    assert_eq!(created["format_type"], 4);
    let gif_id = created["id"].as_str().unwrap().to_owned();
    let (mime, _, bytes) = s.fetch_ok(&format!("/stickers/{gif_id}.gif")).await;
    assert_eq!(mime, "image/gif");
    assert!(bytes == animated);
    let (_, _, bytes) = s.fetch_ok(&format!("/stickers/{gif_id}.gif?size=32")).await;
    assert_eq!(gif_frames(&bytes), 3);
    assert_eq!(dims(&bytes), (32, 32));

    // An APNG sticker: format type 2, served as itself (image/png, animated), resized as an
    // APNG, and as an animated GIF.
    let animated = apng(64, 64, 3);
    let created = s.sticker("wave", animated.clone()).await;
    assert_eq!(created["format_type"], 2, "{created}");
    let apng_id = created["id"].as_str().unwrap().to_owned();
    assert!(s.stored(&format!("stickers/{apng_id}")).await);
    let (mime, _, bytes) = s.fetch_ok(&format!("/stickers/{apng_id}.png")).await;
    assert_eq!(mime, "image/png");
    assert!(bytes == animated, "not the uploaded APNG");
    let (_, _, bytes) = s.fetch_ok(&format!("/stickers/{apng_id}")).await;
    assert!(bytes == animated, "not the uploaded APNG");
    let path = format!("/stickers/{apng_id}.png?size=32");
    let (mime, _, bytes) = s.fetch_ok(&path).await;
    assert_eq!(mime, "image/png", "{path}");
    assert!(is_apng(&bytes), "{path} lost its animation");
    assert_eq!(apng_frames(&bytes), 3, "{path}");
    assert_eq!(dims(&bytes), (32, 32), "{path}");
    let (mime, _, bytes) = s
        .fetch_ok(&format!("/stickers/{apng_id}.gif?size=32"))
        .await;
    assert_eq!(mime, "image/gif");
    assert_eq!(gif_frames(&bytes), 3);
    // As WebP: a still.
    let (mime, _, bytes) = s.fetch_ok(&format!("/stickers/{apng_id}.webp")).await;
    assert_eq!(mime, "image/webp");
    assert_eq!(
        accord_media::probe(&bytes, &Default::default())
            .unwrap()
            .frames,
        1
    );

    // A deleted sticker is gone from the CDN, renders included.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/guilds/{}/stickers/{id}", s.guild),
            Some(()),
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(!s.stored(&format!("stickers/{id}")).await);
    for path in [
        format!("/stickers/{id}.png"),
        format!("/stickers/{id}.png?size=32"),
        format!("/stickers/{id}.webp?size=64"),
    ] {
        let resp = s.get(&path, &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(header(&resp, "content-type"), "application/json");
    }
    let (st, b) = s
        .call(
            Method::GET,
            &format!("/stickers/{id}"),
            Some(()),
            json!(null),
        )
        .await;
    assert_eq!((st.as_u16(), b["code"].clone()), (404, json!(10060)));
    s.stop().await;
}

on_both_storages!(stickers_served);
