//! Image helpers of the CDN tests: test images made in code (no binary fixtures; the animated
//! WebP and APNG builders as in `accord-media`'s fixtures), data URIs, API
//! calls with another token, Discord form-error checks, and the checks every stored image must
//! pass at the CDN (original bytes, `?size=`, format conversions, the render cache, bad sizes).

use std::io::Cursor;

use accord_media::{Format, ImageKind};
use base64::Engine;
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{PngDecoder, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{AnimationDecoder, Delay, ExtendedColorType, Frame, ImageEncoder, Rgba, RgbaImage};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Stack, header};

/// A gradient with half-transparent pixels; `seed` changes the colours.
pub fn rgba(w: u32, h: u32, seed: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        Rgba([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            (seed.wrapping_mul(53) % 256) as u8,
            if (x + y) % 3 == 0 { 255 } else { 128 },
        ])
    })
}

/// Pixels that do not compress: a PNG of these is about `4 * w * h` bytes.
pub fn noise(w: u32, h: u32) -> RgbaImage {
    let mut state = 0x2545_f491_u32;
    RgbaImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        Rgba(state.to_le_bytes())
    })
}

/// `img` as a PNG.
pub fn png_of(img: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

/// A `w`×`h` PNG; `seed` makes images (and so hashes) differ.
pub fn png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    png_of(&rgba(w, h, seed))
}

/// A `w`×`h` JPEG.
pub fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let rgb = image::DynamicImage::ImageRgba8(rgba(w, h, seed)).to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(rgb.as_raw(), w, h, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// A looping GIF of `frames` different frames.
pub fn gif(w: u32, h: u32, frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 30);
        enc.set_repeat(Repeat::Infinite).unwrap();
        for i in 0..frames {
            let delay = Delay::from_numer_denom_ms(60, 1);
            enc.encode_frame(Frame::from_parts(rgba(w, h, i * 3), 0, 0, delay))
                .unwrap();
        }
    }
    out
}

/// `img` as a lossless WebP.
pub fn webp_of(img: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

/// A `w`×`h` still (lossless) WebP.
pub fn webp(w: u32, h: u32, seed: u32) -> Vec<u8> {
    webp_of(&rgba(w, h, seed))
}

fn push_le24(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes()[..3]);
}

/// The `VP8L` chunk (header, payload, padding) of a simple lossless WebP.
fn vp8l_chunk(webp: &[u8]) -> Vec<u8> {
    let mut pos = 12;
    while pos + 8 <= webp.len() {
        let len = u32::from_le_bytes(webp[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let end = (pos + 8 + len + (len & 1)).min(webp.len());
        if &webp[pos..pos + 4] == b"VP8L" {
            let mut chunk = webp[pos..end].to_vec();
            chunk.resize(8 + len + (len & 1), 0);
            return chunk;
        }
        pos = end;
    }
    panic!("no VP8L chunk in the encoder's output");
}

/// An animated WebP of `frames` different frames, 100 ms each (the `image` crate cannot write
/// one: a VP8X header with the animation flag, ANIM, then one ANMF per frame wrapping a
/// lossless bitstream from the encoder).
pub fn animated_webp(w: u32, h: u32, frames: u32) -> Vec<u8> {
    let mut body = b"VP8X".to_vec();
    body.extend_from_slice(&10u32.to_le_bytes());
    body.extend_from_slice(&[0x02 | 0x10, 0, 0, 0]);
    push_le24(&mut body, w - 1);
    push_le24(&mut body, h - 1);
    body.extend_from_slice(b"ANIM");
    body.extend_from_slice(&6u32.to_le_bytes());
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    for i in 0..frames {
        let chunk = vp8l_chunk(&webp_of(&rgba(w, h, i * 3)));
        body.extend_from_slice(b"ANMF");
        body.extend_from_slice(&(16 + chunk.len() as u32).to_le_bytes());
        push_le24(&mut body, 0);
        push_le24(&mut body, 0);
        push_le24(&mut body, w - 1);
        push_le24(&mut body, h - 1);
        push_le24(&mut body, 100);
        body.push(0x02); // do not blend, do not dispose
        body.extend_from_slice(&chunk);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(4 + body.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&body);
    out
}

/// A looping APNG of `frames` different frames, 60 ms each; the default image is the first.
pub fn apng(w: u32, h: u32, frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_animated(frames, 0).unwrap();
    let mut writer = enc.write_header().unwrap();
    for i in 0..frames {
        writer.set_frame_delay(60, 1000).unwrap();
        writer.write_image_data(rgba(w, h, i * 3).as_raw()).unwrap();
    }
    writer.finish().unwrap();
    out
}

/// Number of frames of an APNG.
pub fn apng_frames(bytes: &[u8]) -> usize {
    PngDecoder::new(Cursor::new(bytes))
        .expect("a PNG")
        .apng()
        .expect("an APNG")
        .into_frames()
        .collect_frames()
        .expect("APNG frames")
        .len()
}

/// A PNG signature and an IHDR claiming `w`×`h` (RGBA), then IEND: no pixel data at all.
pub fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
    out
}

/// `bytes` as a `data:image/<mime>;base64,...` URI.
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// An image's data URI, typed by what it really is.
pub fn image_uri(bytes: &[u8]) -> String {
    data_uri(accord_media::sniff(bytes).expect("an image").mime(), bytes)
}

/// Width and height of an encoded image.
pub fn dims(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("a decodable image");
    (img.width(), img.height())
}

/// Number of frames of a GIF.
pub fn gif_frames(bytes: &[u8]) -> usize {
    GifDecoder::new(Cursor::new(bytes))
        .expect("a GIF")
        .into_frames()
        .collect_frames()
        .expect("GIF frames")
        .len()
}

/// Whether a PNG is animated (an APNG).
pub fn is_apng(bytes: &[u8]) -> bool {
    PngDecoder::new(Cursor::new(bytes))
        .expect("a PNG")
        .is_apng()
        .expect("PNG header")
}

/// Checks `hash` is an image hash as Discord's: 32 lowercase hex digits, `a_` first when (and
/// only when) `animated`.
pub fn assert_hash(hash: &Value, animated: bool) -> String {
    let hash = hash
        .as_str()
        .unwrap_or_else(|| panic!("not a hash: {hash}"));
    let hex = match hash.strip_prefix("a_") {
        Some(hex) => {
            assert!(animated, "a still image got an animated hash: {hash}");
            hex
        }
        None => {
            assert!(!animated, "an animated image got a still hash: {hash}");
            hash
        }
    };
    assert_eq!(hex.len(), 32, "{hash}");
    assert!(
        hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{hash}"
    );
    hash.to_owned()
}

/// Checks an API answer is a 400 form error (50035) with `code` on `field`.
pub fn assert_field_error(status: StatusCode, body: &Value, field: &str, code: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], 50035, "{body}");
    assert_eq!(
        body["errors"][field]["_errors"][0]["code"], code,
        "{field}: {body}"
    );
}

impl Stack {
    /// An API call with `token` in the `Authorization` header (e.g. `Bot ...`).
    pub async fn call_as(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v10{path}", self.api))
            .header("authorization", token);
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The user's id.
    pub async fn user_id(&self) -> String {
        let (st, me) = self
            .call(Method::GET, "/users/@me", Some(()), Value::Null)
            .await;
        assert_eq!(st, StatusCode::OK, "{me}");
        me["id"].as_str().unwrap().to_owned()
    }

    /// Whether storage holds `key`.
    pub async fn stored(&self, key: &str) -> bool {
        self.state.blobs.head(key).await.expect("storage").is_some()
    }

    /// GETs a CDN path that must answer 200; returns content type, entity tag and body.
    pub async fn fetch_ok(&self, path: &str) -> (String, String, Vec<u8>) {
        let resp = self.get(path, &[]).await;
        let status = resp.status();
        if status != StatusCode::OK {
            panic!("{path}: {status} {}", resp.text().await.unwrap_or_default());
        }
        let mime = header(&resp, "content-type").to_owned();
        let etag = header(&resp, "etag").to_owned();
        (mime, etag, resp.bytes().await.unwrap().to_vec())
    }

    /// Checks the image stored at `base` (a CDN path without extension, e.g.
    /// `/avatars/{id}/{hash}`; storage key = the same without the leading slash) is `original`,
    /// served as Discord's CDN serves it: the original bytes in their own format, `?size=64`
    /// resized, `.webp`/`.jpg`/`.jpeg`/`.png` converted (typed by header and by content), renders
    /// kept under `cache/` and served again with the same tag, bad sizes 400, bad extensions 404.
    /// `original` must be larger than 64 pixels on its longer side.
    pub async fn assert_image(&self, base: &str, original: &[u8]) {
        let kind = accord_media::sniff(original).expect("an image");
        let (w, h) = dims(original);
        assert!(w.max(h) > 64, "the test image must be larger than 64");
        let key = base.trim_start_matches('/');

        // The original, byte for byte.
        let (mime, _, bytes) = self.fetch_ok(&format!("{base}.{}", kind.ext())).await;
        assert_eq!(mime, kind.mime(), "{base}");
        assert!(bytes == original, "{base}: not the uploaded bytes");
        if kind == ImageKind::Jpeg {
            let (_, _, bytes) = self.fetch_ok(&format!("{base}.jpeg")).await;
            assert!(bytes == original, "{base}.jpeg: not the uploaded bytes");
        }

        // Resized: the longer side becomes 64, the aspect ratio is kept.
        let path = format!("{base}.{}?size=64", kind.ext());
        let (mime, etag, bytes) = self.fetch_ok(&path).await;
        assert_eq!(mime, kind.mime(), "{path}");
        assert_eq!(accord_media::sniff(&bytes), Some(kind), "{path}");
        let (rw, rh) = dims(&bytes);
        assert_eq!(rw.max(rh), 64, "{path}: {rw}x{rh}");
        let want_short = (u64::from(w.min(h)) * 64).div_ceil(u64::from(w.max(h))) as i64;
        assert!(
            (i64::from(rw.min(rh)) - want_short).abs() <= 1,
            "{path}: {rw}x{rh} from {w}x{h}"
        );
        assert!(
            self.stored(&format!("cache/{key}/64.{}", kind.ext())).await,
            "{path}: no render kept under cache/"
        );
        // Served again from the cache: the same tag and bytes.
        let (_, again, bytes_again) = self.fetch_ok(&path).await;
        assert_eq!(again, etag, "{path}: the cached render changed");
        assert!(bytes_again == bytes, "{path}: the cached render changed");
        let resp = self.get(&path, &[("if-none-match", &etag)]).await;
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED, "{path}");

        // Converted to each still format, at full size and resized.
        for (ext, format) in [
            ("webp", Format::Webp),
            ("jpg", Format::Jpeg),
            ("jpeg", Format::Jpeg),
            ("png", Format::Png),
        ] {
            let path = format!("{base}.{ext}");
            let (mime, etag, bytes) = self.fetch_ok(&path).await;
            assert_eq!(mime, format.mime(), "{path}");
            assert_eq!(accord_media::sniff(&bytes), Some(format.kind()), "{path}");
            assert_eq!(dims(&bytes), (w, h), "{path}");
            let (_, again, _) = self.fetch_ok(&path).await;
            assert_eq!(again, etag, "{path}: a second fetch differs");
            if format.kind() != kind {
                assert!(
                    self.stored(&format!("cache/{key}/0.{}", format.ext()))
                        .await,
                    "{path}: no conversion kept under cache/"
                );
            }
            let path = format!("{base}.{ext}?size=32");
            let (mime, _, bytes) = self.fetch_ok(&path).await;
            assert_eq!(mime, format.mime(), "{path}");
            assert_eq!(dims(&bytes).0.max(dims(&bytes).1), 32, "{path}");
        }

        // A size Discord's clients use besides the powers of two.
        let path = format!("{base}.png?size=100");
        let (_, _, bytes) = self.fetch_ok(&path).await;
        assert_eq!(dims(&bytes).0.max(dims(&bytes).1), 100, "{path}");
        // Other sizes are refused: 400 with a JSON body.
        for size in ["50", "8", "1000", "8192", "0", "-64", "abc", ""] {
            let path = format!("{base}.png?size={size}");
            let resp = self.get(&path, &[]).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(header(&resp, "content-type"), "application/json", "{path}");
        }
        // Extensions that are not image formats, and names that are not this one.
        let (dir, name) = base.rsplit_once('/').unwrap();
        let mut bad = vec![
            format!("{base}.svg"),
            format!("{base}.html"),
            format!("{base}.png.png"),
            format!("{base}."),
            format!("{base}0.png"),
            format!("{dir}/{}.png", &name[1..]),
        ];
        if !base.starts_with("/emojis/") {
            // Emojis may leave the extension out; hashes are lower case.
            bad.push(base.to_owned());
            bad.push(format!("{dir}/{}.png", name.to_uppercase()));
        }
        for path in bad {
            let resp = self.get(&path, &[]).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    /// Creates an application with a bot; returns its id and the bot's `Bot ...` token.
    pub async fn application(&self) -> (String, String) {
        let (st, app) = self
            .call(
                Method::POST,
                "/applications",
                Some(()),
                json!({"name": "Easel"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{app}");
        let id = app["id"].as_str().unwrap().to_owned();
        let (st, bot) = self
            .call(
                Method::POST,
                &format!("/applications/{id}/bot"),
                Some(()),
                Value::Null,
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{bot}");
        let token = format!("Bot {}", bot["token"].as_str().unwrap());
        (id, token)
    }
}

/// Runs each named `async fn(Storage)` of the calling file as two tests, `disk::name` and
/// `s3::name`.
#[macro_export]
macro_rules! on_both_storages {
    ($($name:ident),* $(,)?) => {
        mod disk {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(Storage::Disk).await;
                }
            )*
        }
        mod s3 {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(Storage::S3).await;
                }
            )*
        }
    };
}
