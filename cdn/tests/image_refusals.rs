//! Image uploads the API refuses, on the local disk and on S3: data URIs that are not images,
//! decompression bombs (a tiny PNG claiming 100000×100000) and uploads over
//! `cdn.images.max_upload_bytes`, on every image field, each a 50035 form error naming the field,
//! with nothing stored; animations (GIF, WebP, APNG) past `cdn.images.max_frames` or
//! `cdn.images.max_animation_pixels`; and the CDN never decoding a bomb planted in storage.

mod common;

use common::images::{
    animated_webp, apng, assert_field_error, assert_hash, data_uri, dims, gif, image_uri, noise,
    png, png_header, png_of,
};
use common::{Stack, Storage, header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The side of the test images.
const W: u32 = 128;
const H: u32 = 96;

/// Uploads that are not images, or that claim too many pixels, are refused with the field's
/// error, and nothing is stored.
async fn refusals(storage: Storage) {
    let s = Stack::start(storage).await;
    let me = s.user_id().await;
    let g = s.guild.clone();
    let (_, bot) = s.application().await;
    let (st, role) = s
        .call(
            Method::POST,
            &format!("/guilds/{g}/roles"),
            Some(()),
            json!({"name": "r"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{role}");
    let role_id = role["id"].as_str().unwrap();
    let (st, hook) = s
        .call(
            Method::POST,
            &format!("/channels/{}/webhooks", s.channel),
            Some(()),
            json!({"name": "hook"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{hook}");
    let hook_id = hook["id"].as_str().unwrap();
    let bomb = png_header(100_000, 100_000);
    let not_images = [
        data_uri("text/plain", b"hello, world"),
        data_uri("image/png", b"hello, world"),
        data_uri(
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        ),
        "data:image/png;base64,@@@@".to_owned(),
        "https://example.com/cat.png".to_owned(),
        String::new(),
    ];
    let targets: Vec<(Method, String, &str, Option<&str>)> = vec![
        (Method::PATCH, "/users/@me".into(), "avatar", None),
        (Method::PATCH, "/users/@me".into(), "banner", None),
        (Method::POST, "/guilds".into(), "icon", None),
        (Method::PATCH, format!("/guilds/{g}"), "icon", None),
        (Method::PATCH, format!("/guilds/{g}"), "banner", None),
        (Method::PATCH, format!("/guilds/{g}"), "splash", None),
        (
            Method::PATCH,
            format!("/guilds/{g}"),
            "discovery_splash",
            None,
        ),
        (Method::POST, format!("/guilds/{g}/roles"), "icon", None),
        (
            Method::PATCH,
            format!("/guilds/{g}/roles/{role_id}"),
            "icon",
            None,
        ),
        (
            Method::PATCH,
            format!("/guilds/{g}/members/@me"),
            "avatar",
            None,
        ),
        (
            Method::PATCH,
            format!("/guilds/{g}/members/@me"),
            "banner",
            None,
        ),
        (
            Method::POST,
            format!("/channels/{}/webhooks", s.channel),
            "avatar",
            None,
        ),
        (
            Method::PATCH,
            format!("/webhooks/{hook_id}"),
            "avatar",
            None,
        ),
        (
            Method::PATCH,
            "/applications/@me".into(),
            "icon",
            Some(bot.as_str()),
        ),
    ];
    for (method, path, field, token) in &targets {
        for uri in &not_images {
            let (st, body) = send_image(&s, method, path, field, *token, uri).await;
            assert_field_error(st, &body, field, "IMAGE_INVALID");
        }
        let (st, body) = send_image(&s, method, path, field, *token, &image_uri(&bomb)).await;
        assert_field_error(st, &body, field, "IMAGE_TOO_LARGE");
    }
    // The emoji route refuses them too.
    let emoji_uris = not_images.iter().map(|u| (u.clone(), "IMAGE_INVALID"));
    for (uri, code) in emoji_uris.chain([(image_uri(&bomb), "IMAGE_TOO_LARGE")]) {
        let (st, body) = s
            .call(
                Method::POST,
                &format!("/guilds/{g}/emojis"),
                Some(()),
                json!({"name": "bad", "image": uri}),
            )
            .await;
        assert_field_error(st, &body, "image", code);
    }
    let (_, emojis) = s
        .call(
            Method::GET,
            &format!("/guilds/{g}/emojis"),
            Some(()),
            Value::Null,
        )
        .await;
    assert_eq!(emojis, json!([]), "an emoji was made");
    // Nothing was stored, and nothing changed.
    let bomb_hash = accord_media::content_hash(&bomb, false);
    for key in [
        format!("avatars/{me}/{bomb_hash}"),
        format!("banners/{me}/{bomb_hash}"),
        format!("icons/{g}/{bomb_hash}"),
        format!("role-icons/{role_id}/{bomb_hash}"),
        format!("avatars/{hook_id}/{bomb_hash}"),
        format!("guilds/{g}/users/{me}/avatars/{bomb_hash}"),
    ] {
        assert!(!s.stored(&key).await, "{key} was stored");
    }
    let (_, user) = s
        .call(Method::GET, "/users/@me", Some(()), Value::Null)
        .await;
    assert_eq!(user["avatar"], Value::Null, "{user}");
    let (_, guilds) = s
        .call(Method::GET, "/users/@me/guilds", Some(()), Value::Null)
        .await;
    assert_eq!(guilds.as_array().map(Vec::len), Some(1), "{guilds}");
    // Even planted in storage, a bomb is never decoded by the CDN.
    s.state
        .blobs
        .put(&format!("avatars/{me}/{bomb_hash}"), bomb.clone().into())
        .await
        .unwrap();
    let resp = s
        .get(&format!("/avatars/{me}/{bomb_hash}.webp?size=64"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    s.stop().await;
}

/// Animations past `cdn.images.max_frames` (GIF, animated WebP, APNG) or
/// `cdn.images.max_animation_pixels` are IMAGE_TOO_LARGE on avatars and emojis, and nothing is
/// stored; the same animations within the limits are taken.
async fn animation_limits(storage: Storage) {
    let s = Stack::start_with(storage, |c| {
        c.cdn.images.max_frames = 3;
        c.cdn.images.max_animation_pixels = 4000;
    })
    .await;
    let me = s.user_id().await;
    // 4 frames of 16x16 (1024 pixels in all): too many frames only.
    // 3 frames of 40x40 (4800 pixels in all): too many pixels only.
    let refused = [
        (gif(16, 16, 4), "frames is more than 3"),
        (animated_webp(16, 16, 4), "frames is more than 3"),
        (apng(16, 16, 4), "frames is more than 3"),
        (gif(40, 40, 3), "is more than 4000 pixels"),
        (animated_webp(40, 40, 3), "is more than 4000 pixels"),
        (apng(40, 40, 3), "is more than 4000 pixels"),
    ];
    for (i, (bytes, why)) in refused.iter().enumerate() {
        let (st, body) = s
            .call(
                Method::PATCH,
                "/users/@me",
                Some(()),
                json!({"avatar": image_uri(bytes)}),
            )
            .await;
        assert_field_error(st, &body, "avatar", "IMAGE_TOO_LARGE");
        let message = body["errors"]["avatar"]["_errors"][0]["message"]
            .as_str()
            .unwrap();
        assert!(message.contains(why), "animation {i}: {message}");
        let (st, body) = s
            .call(
                Method::POST,
                &format!("/guilds/{}/emojis", s.guild),
                Some(()),
                json!({"name": "busy", "image": image_uri(bytes)}),
            )
            .await;
        assert_field_error(st, &body, "image", "IMAGE_TOO_LARGE");
        let hash = accord_media::content_hash(bytes, true);
        assert!(
            !s.stored(&format!("avatars/{me}/{hash}")).await,
            "animation {i} was stored"
        );
    }
    let (_, user) = s
        .call(Method::GET, "/users/@me", Some(()), Value::Null)
        .await;
    assert_eq!(user["avatar"], Value::Null, "{user}");
    let (_, emojis) = s
        .call(
            Method::GET,
            &format!("/guilds/{}/emojis", s.guild),
            Some(()),
            Value::Null,
        )
        .await;
    assert_eq!(emojis, json!([]), "an emoji was made");
    // Within both limits (3 frames, 3 * 30 * 30 = 2700 pixels): taken, animated.
    for bytes in [gif(30, 30, 3), animated_webp(30, 30, 3), apng(30, 30, 3)] {
        let (st, user) = s
            .call(
                Method::PATCH,
                "/users/@me",
                Some(()),
                json!({"avatar": image_uri(&bytes)}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{user}");
        let hash = assert_hash(&user["avatar"], true);
        assert!(s.stored(&format!("avatars/{me}/{hash}")).await);
    }
    s.stop().await;
}

/// Sends `{field: uri}` (with a name where the route needs one) as the user, or as `token`.
async fn send_image(
    s: &Stack,
    method: &Method,
    path: &str,
    field: &str,
    token: Option<&str>,
    uri: &str,
) -> (StatusCode, Value) {
    let mut body = json!({});
    body[field] = uri.into();
    if path.ends_with("/guilds") || path.ends_with("/webhooks") {
        body["name"] = "named".into();
    }
    match token {
        Some(t) => s.call_as(method.clone(), path, t, body).await,
        None => s.call(method.clone(), path, Some(()), body).await,
    }
}

/// An upload over `cdn.images.max_upload_bytes` is refused with BINARY_TYPE_MAX_SIZE; one under
/// it is taken.
async fn upload_size_limit(storage: Storage) {
    let s = Stack::start_with(storage, |c| c.cdn.images.max_upload_bytes = 32 * 1024).await;
    let big = png_of(&noise(W, H));
    assert!(big.len() > 32 * 1024, "{}", big.len());
    for (path, field) in [
        ("/users/@me".to_owned(), "avatar"),
        (format!("/guilds/{}", s.guild), "icon"),
    ] {
        let (st, body) = send_image(&s, &Method::PATCH, &path, field, None, &image_uri(&big)).await;
        assert_field_error(st, &body, field, "BINARY_TYPE_MAX_SIZE");
        let message = body["errors"][field]["_errors"][0]["message"]
            .as_str()
            .unwrap();
        assert_eq!(message, "File cannot be larger than 32.0 kb.");
    }
    let small = png(W, H, 40);
    assert!(small.len() <= 32 * 1024, "{}", small.len());
    let (st, user) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(()),
            json!({"avatar": image_uri(&small)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{user}");
    let hash = assert_hash(&user["avatar"], false);
    let me = s.user_id().await;
    let resp = s
        .get(&format!("/avatars/{me}/{hash}.webp?size=64"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-type"), "image/webp");
    // Emojis keep Discord's own 256 KiB limit, and the CDN still renders them.
    let (st, emoji) = s
        .call(
            Method::POST,
            &format!("/guilds/{}/emojis", s.guild),
            Some(()),
            json!({"name": "noisy", "image": image_uri(&big)}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{emoji}");
    let id = emoji["id"].as_str().unwrap();
    let (mime, _, bytes) = s.fetch_ok(&format!("/emojis/{id}.webp?size=32")).await;
    assert_eq!(mime, "image/webp");
    assert_eq!(dims(&bytes), (32, 24));
    s.stop().await;
}

on_both_storages!(refusals, upload_size_limit, animation_limits);
