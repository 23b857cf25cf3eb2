//! Image uploads through the REST API (data URIs for avatars, banners, guild icons and splashes,
//! role icons, member guild avatars and banners, webhook avatars, application icons, emojis)
//! fetched from the CDN at Discord's paths, on the local disk and on S3: hashes, original bytes,
//! `?size=`, format conversions and their cache, animation (GIF and WebP), clearing with null,
//! deletion, and path tricks. The refusals are in `image_refusals.rs`.

mod common;

use common::images::{
    animated_webp, assert_hash, dims, gif, gif_frames, image_uri, is_apng, jpeg, png, webp,
};
use common::{Stack, Storage};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The side of the test images: larger than the `?size=64` asked for.
const W: u32 = 128;
const H: u32 = 96;

/// Every asset kind with a hash: uploaded, served, cleared.
async fn every_asset_kind(storage: Storage) {
    let s = Stack::start(storage).await;
    let me = s.user_id().await;
    let g = s.guild.clone();

    // User avatar and banner.
    let (avatar, banner) = (png(W, H, 1), jpeg(W, H, 2));
    let (st, user) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(()),
            json!({"avatar": image_uri(&avatar), "banner": image_uri(&banner)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{user}");
    let hash = assert_hash(&user["avatar"], false);
    assert_eq!(hash, accord_media::content_hash(&avatar, false));
    s.assert_image(&format!("/avatars/{me}/{hash}"), &avatar)
        .await;
    let hash = assert_hash(&user["banner"], false);
    s.assert_image(&format!("/banners/{me}/{hash}"), &banner)
        .await;
    // Another user's id, or the banner's hash as an avatar, names nothing.
    for path in [
        format!("/avatars/{g}/{hash}.jpg"),
        format!("/avatars/{me}/{hash}.jpg"),
        format!("/icons/{me}/{hash}.jpg"),
    ] {
        assert_eq!(
            s.get(&path, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // Guild icon when creating the guild.
    let icon = png(W, H, 3);
    let (st, guild) = s
        .call(
            Method::POST,
            "/guilds",
            Some(()),
            json!({"name": "Pictures", "icon": image_uri(&icon)}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{guild}");
    let hash = assert_hash(&guild["icon"], false);
    let new_guild = guild["id"].as_str().unwrap();
    s.assert_image(&format!("/icons/{new_guild}/{hash}"), &icon)
        .await;

    // Guild icon, banner, splash and discovery splash when modifying it.
    let images = [
        ("icon", "icons", png(H, W, 4)),
        ("banner", "banners", jpeg(W, H, 5)),
        ("splash", "splashes", png(W, W, 6)),
        ("discovery_splash", "discovery-splashes", jpeg(W, H, 7)),
    ];
    let mut body = json!({});
    for (field, _, bytes) in &images {
        body[*field] = image_uri(bytes).into();
    }
    let (st, guild) = s
        .call(Method::PATCH, &format!("/guilds/{g}"), Some(()), body)
        .await;
    assert_eq!(st, StatusCode::OK, "{guild}");
    for (field, family, bytes) in &images {
        let hash = assert_hash(&guild[*field], false);
        s.assert_image(&format!("/{family}/{g}/{hash}"), bytes)
            .await;
    }

    // Role icon when creating and when modifying the role.
    let role_icon = png(W, H, 8);
    let (st, role) = s
        .call(
            Method::POST,
            &format!("/guilds/{g}/roles"),
            Some(()),
            json!({"name": "painters", "icon": image_uri(&role_icon)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{role}");
    let role_id = role["id"].as_str().unwrap().to_owned();
    let hash = assert_hash(&role["icon"], false);
    s.assert_image(&format!("/role-icons/{role_id}/{hash}"), &role_icon)
        .await;
    let role_icon = jpeg(W, H, 9);
    let (st, role) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{g}/roles/{role_id}"),
            Some(()),
            json!({"icon": image_uri(&role_icon)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{role}");
    let hash = assert_hash(&role["icon"], false);
    s.assert_image(&format!("/role-icons/{role_id}/{hash}"), &role_icon)
        .await;

    // The member's guild avatar and banner.
    let (m_avatar, m_banner) = (png(W, H, 10), png(W, H, 11));
    let (st, member) = s
        .call(
            Method::PATCH,
            &format!("/guilds/{g}/members/@me"),
            Some(()),
            json!({"avatar": image_uri(&m_avatar), "banner": image_uri(&m_banner)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{member}");
    let hash = assert_hash(&member["avatar"], false);
    s.assert_image(&format!("/guilds/{g}/users/{me}/avatars/{hash}"), &m_avatar)
        .await;
    let hash = assert_hash(&member["banner"], false);
    s.assert_image(&format!("/guilds/{g}/users/{me}/banners/{hash}"), &m_banner)
        .await;
    for path in [
        format!("/guilds/{g}/users/{me}/icons/{hash}.png"),
        format!("/guilds/{g}/users/{g}/banners/{hash}.png"),
        format!("/guilds/{me}/users/{me}/banners/{hash}.png"),
    ] {
        assert_eq!(
            s.get(&path, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // A webhook's avatar when creating and when modifying it.
    let hook_avatar = png(W, H, 12);
    let (st, hook) = s
        .call(
            Method::POST,
            &format!("/channels/{}/webhooks", s.channel),
            Some(()),
            json!({"name": "painter", "avatar": image_uri(&hook_avatar)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{hook}");
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let hash = assert_hash(&hook["avatar"], false);
    s.assert_image(&format!("/avatars/{hook_id}/{hash}"), &hook_avatar)
        .await;
    let hook_avatar = jpeg(W, H, 13);
    let (st, hook) = s
        .call(
            Method::PATCH,
            &format!("/webhooks/{hook_id}"),
            Some(()),
            json!({"avatar": image_uri(&hook_avatar)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{hook}");
    let hash = assert_hash(&hook["avatar"], false);
    s.assert_image(&format!("/avatars/{hook_id}/{hash}"), &hook_avatar)
        .await;

    // An application's icon, set by its bot.
    let (app_id, bot) = s.application().await;
    let app_icon = png(W, H, 14);
    let (st, app) = s
        .call_as(
            Method::PATCH,
            "/applications/@me",
            &bot,
            json!({"icon": image_uri(&app_icon)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{app}");
    let hash = assert_hash(&app["icon"], false);
    s.assert_image(&format!("/app-icons/{app_id}/{hash}"), &app_icon)
        .await;

    // An emoji, named by its id.
    let emoji = png(W, H, 15);
    let (st, created) = s
        .call(
            Method::POST,
            &format!("/guilds/{g}/emojis"),
            Some(()),
            json!({"name": "art", "image": image_uri(&emoji)}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["animated"], false);
    s.assert_image(&format!("/emojis/{id}"), &emoji).await;
    let (mime, _, bytes) = s.fetch_ok(&format!("/emojis/{id}")).await;
    assert_eq!((mime.as_str(), bytes), ("image/png", emoji));
    // A deleted emoji is gone from the CDN, renders included.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/guilds/{g}/emojis/{id}"),
            Some(()),
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for path in [
        format!("/emojis/{id}.png"),
        format!("/emojis/{id}.webp"),
        format!("/emojis/{id}.png?size=64"),
        format!("/emojis/{id}.jpg?size=32"),
    ] {
        let resp = s.get(&path, &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Null clears every one of them.
    let clears = [
        (
            "/users/@me".to_owned(),
            json!({"avatar": null, "banner": null}),
            vec!["avatar", "banner"],
        ),
        (
            format!("/guilds/{g}"),
            json!({"icon": null, "banner": null, "splash": null, "discovery_splash": null}),
            vec!["icon", "banner", "splash", "discovery_splash"],
        ),
        (
            format!("/guilds/{g}/roles/{role_id}"),
            json!({"icon": null}),
            vec!["icon"],
        ),
        (
            format!("/guilds/{g}/members/@me"),
            json!({"avatar": null, "banner": null}),
            vec!["avatar", "banner"],
        ),
        (
            format!("/webhooks/{hook_id}"),
            json!({"avatar": null}),
            vec!["avatar"],
        ),
    ];
    for (path, body, fields) in clears {
        let (st, got) = s.call(Method::PATCH, &path, Some(()), body).await;
        assert_eq!(st, StatusCode::OK, "{path}: {got}");
        for field in fields {
            assert_eq!(got[field], Value::Null, "{path} {field}: {got}");
        }
    }
    let (st, app) = s
        .call_as(
            Method::PATCH,
            "/applications/@me",
            &bot,
            json!({"icon": null}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{app}");
    assert_eq!(app["icon"], Value::Null, "{app}");
    let (_, user) = s
        .call(Method::GET, "/users/@me", Some(()), Value::Null)
        .await;
    assert_eq!(user["avatar"], Value::Null, "{user}");
    let (_, guild) = s
        .call(Method::GET, &format!("/guilds/{g}"), Some(()), Value::Null)
        .await;
    assert_eq!(guild["icon"], Value::Null, "{guild}");
    s.stop().await;
}

/// An animated GIF avatar: an `a_` hash, animated as `.gif` (and as `.webp?animated=true`, sent
/// as a GIF), a still as `.png` and `.webp`.
async fn animated_avatar(storage: Storage) {
    let s = Stack::start(storage).await;
    let me = s.user_id().await;
    let animation = gif(W, H, 4);
    assert_eq!(gif_frames(&animation), 4);
    let (st, user) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(()),
            json!({"avatar": image_uri(&animation)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{user}");
    let hash = assert_hash(&user["avatar"], true);
    assert_eq!(hash, accord_media::content_hash(&animation, true));
    let base = format!("/avatars/{me}/{hash}");

    let (mime, _, bytes) = s.fetch_ok(&format!("{base}.gif")).await;
    assert_eq!(mime, "image/gif");
    assert!(bytes == animation, "not the uploaded GIF");

    let path = format!("{base}.gif?size=32");
    let (mime, etag, bytes) = s.fetch_ok(&path).await;
    assert_eq!(mime, "image/gif");
    assert_eq!(dims(&bytes), (32, 24), "{path}");
    assert!(gif_frames(&bytes) > 1, "{path} lost its animation");
    let (_, again, _) = s.fetch_ok(&path).await;
    assert_eq!(again, etag, "{path}: the cached render changed");
    assert!(
        s.stored(&format!("cache/avatars/{me}/{hash}/32a.gif"))
            .await
    );

    let path = format!("{base}.png");
    let (mime, _, bytes) = s.fetch_ok(&path).await;
    assert_eq!(mime, "image/png");
    assert_eq!(
        accord_media::sniff(&bytes),
        Some(accord_media::ImageKind::Png)
    );
    assert!(!is_apng(&bytes), "{path} is animated");
    assert_eq!(dims(&bytes), (W, H));
    let path = format!("{base}.webp?size=64");
    let (mime, _, bytes) = s.fetch_ok(&path).await;
    assert_eq!(mime, "image/webp", "{path}");
    assert_eq!(dims(&bytes), (64, 48), "{path}");
    // Animated WebP output needs libwebp: the animation comes as a GIF, and says so.
    let path = format!("{base}.webp?size=64&animated=true");
    let (mime, _, bytes) = s.fetch_ok(&path).await;
    assert_eq!(mime, "image/gif", "{path}");
    assert_eq!(dims(&bytes), (64, 48), "{path}");
    assert!(gif_frames(&bytes) > 1, "{path} lost its animation");
    // A still image asked for as a GIF is converted, one frame.
    let still = png(W, H, 20);
    let (st, user) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(()),
            json!({"avatar": image_uri(&still)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{user}");
    let hash = assert_hash(&user["avatar"], false);
    let (mime, _, bytes) = s.fetch_ok(&format!("/avatars/{me}/{hash}.gif")).await;
    assert_eq!(mime, "image/gif");
    assert_eq!(gif_frames(&bytes), 1);
    s.stop().await;
}

/// WebP avatars: a still one served like any image; an animated one gets an `a_` hash, is
/// itself as `.webp?animated=true`, animated as `.gif` (and as a resized
/// `.webp?animated=true`, sent as a GIF), a still as `.webp` and `.png`.
async fn webp_avatars(storage: Storage) {
    let s = Stack::start(storage).await;
    let me = s.user_id().await;
    let still = webp(W, H, 30);
    let (st, user) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(()),
            json!({"avatar": image_uri(&still)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{user}");
    let hash = assert_hash(&user["avatar"], false);
    assert_eq!(hash, accord_media::content_hash(&still, false));
    s.assert_image(&format!("/avatars/{me}/{hash}"), &still)
        .await;

    let animation = animated_webp(W, H, 4);
    let (st, user) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(()),
            json!({"avatar": image_uri(&animation)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{user}");
    let hash = assert_hash(&user["avatar"], true);
    assert_eq!(hash, accord_media::content_hash(&animation, true));
    let base = format!("/avatars/{me}/{hash}");
    let probe = |bytes: &[u8]| accord_media::probe(bytes, &Default::default()).unwrap();

    // As itself: the uploaded animation.
    let (mime, _, bytes) = s.fetch_ok(&format!("{base}.webp?animated=true")).await;
    assert_eq!(mime, "image/webp");
    assert!(bytes == animation, "not the uploaded WebP");
    // As .webp without animated=true: a still WebP.
    let (mime, _, bytes) = s.fetch_ok(&format!("{base}.webp")).await;
    assert_eq!(mime, "image/webp");
    let p = probe(&bytes);
    assert_eq!(
        (p.kind, p.width, p.height, p.frames),
        (accord_media::ImageKind::Webp, W, H, 1)
    );
    // Resized and animated: a GIF, and says so.
    let path = format!("{base}.webp?size=64&animated=true");
    let (mime, _, bytes) = s.fetch_ok(&path).await;
    assert_eq!(mime, "image/gif", "{path}");
    assert_eq!(dims(&bytes), (64, 48), "{path}");
    assert_eq!(gif_frames(&bytes), 4, "{path}");
    // As .gif: every frame.
    for (path, size) in [
        (format!("{base}.gif"), (W, H)),
        (format!("{base}.gif?size=32"), (32, 24)),
    ] {
        let (mime, _, bytes) = s.fetch_ok(&path).await;
        assert_eq!(mime, "image/gif", "{path}");
        assert_eq!(dims(&bytes), size, "{path}");
        assert_eq!(gif_frames(&bytes), 4, "{path}");
    }
    // As .png: a still PNG.
    let (mime, _, bytes) = s.fetch_ok(&format!("{base}.png")).await;
    assert_eq!(mime, "image/png");
    assert_eq!(
        accord_media::sniff(&bytes),
        Some(accord_media::ImageKind::Png)
    );
    assert!(!is_apng(&bytes), "{base}.png is animated");
    assert_eq!(dims(&bytes), (W, H));
    s.stop().await;
}

/// Paths that try to leave the image families or the storage name nothing.
async fn image_path_tricks(storage: Storage) {
    let s = Stack::start(storage).await;
    let me = s.user_id().await;
    let avatar = png(W, H, 30);
    let (st, user) = s
        .call(
            Method::PATCH,
            "/users/@me",
            Some(()),
            json!({"avatar": image_uri(&avatar)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{user}");
    let hash = assert_hash(&user["avatar"], false);
    // Make a rendition so that `cache/` exists.
    s.fetch_ok(&format!("/avatars/{me}/{hash}.webp")).await;
    std::fs::write(s.data.path().join("secret.png"), "TOP-SECRET").unwrap();
    let g = &s.guild;
    for trick in [
        format!("/avatars/{me}/..%2F..%2F..%2Fsecret.png"),
        format!("/avatars/{me}/%2e%2e%2f%2e%2e%2fsecret.png"),
        format!("/avatars/{me}/../../secret.png"),
        format!("/avatars/..%2F..%2F/{hash}.png"),
        format!("/avatars/{me}%2F..%2F..%2F/{hash}.png"),
        format!("/avatars/{me}/{hash}.png%00.html"),
        format!("/avatars/{me}/{hash}%2F..%2F{hash}.png"),
        format!("/guilds/{g}/users/{me}/..%2F..%2F..%2Favatars/{hash}.png"),
        format!("/guilds/{g}/users/{me}/avatars/..%2F{hash}.png"),
        format!("/guilds/../avatars/{me}/{hash}.png"),
        format!("/cache/avatars/{me}/{hash}/0.webp"),
        format!("/emojis/..%2Favatars%2F{me}%2F{hash}.png"),
        "/stickers/..%2F..%2Fsecret.png".to_owned(),
        "/avatars/1/..%2F..%2Fsecret.png".to_owned(),
        "/icons/-1/0123456789abcdef0123456789abcdef.png".to_owned(),
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

on_both_storages!(
    every_asset_kind,
    animated_avatar,
    webp_avatars,
    image_path_tricks
);
