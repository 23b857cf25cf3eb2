//! CDN renditions: decode (after [`probe`] has refused bombs), resize with `fast_image_resize`
//! (Lanczos3 on premultiplied alpha) and re-encode as PNG, JPEG, WebP or GIF, keeping a GIF,
//! WebP or APNG animation for animated GIF output, and an APNG's for animated PNG output.

use std::io::Cursor;

use fast_image_resize as fir;
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{PngDecoder, PngEncoder};
use image::codecs::webp::{WebPDecoder, WebPEncoder};
use image::{
    AnimationDecoder, Delay, ExtendedColorType, Frame, Frames, ImageDecoder, ImageEncoder,
    ImageFormat, ImageReader, RgbaImage,
};

use crate::{Format, ImageKind, Limits, MediaError, Probed, Variant, probe};

/// JPEG output quality.
const JPEG_QUALITY: u8 = 90;
/// NeuQuant speed of GIF output (1 = best and slowest, 30 = fastest); 10 is a fair trade for
/// animations of hundreds of frames.
const GIF_SPEED: i32 = 10;

/// Renders `bytes` as `variant`. The image is [`probe`]d first, so oversized, bomb and non-image
/// input is refused before any pixel is decoded; the decoder also gets `image`'s own limits (the
/// probed canvas size and an allocation cap) as a second guard.
///
/// * `size`: the longer side becomes `size`, aspect ratio kept, never upscaled (`None`: original
///   dimensions). `Some(0)` is an [`MediaError::Encode`] error.
/// * PNG keeps alpha; JPEG (quality 90) flattens alpha onto white; WebP is lossless and always a
///   still (animated WebP output would need libwebp, which this pure-Rust crate avoids).
/// * An animated source (GIF, animated WebP or APNG) with `animated` and GIF output becomes an
///   animated GIF, and an APNG with `animated` and PNG output an APNG, every frame resized and
///   its delay kept; every other case renders the first frame (of an APNG: its default image).
/// * When the source is already in the asked format and size, and no animation has to be
///   dropped, the input bytes are returned unchanged.
pub fn render(bytes: &[u8], variant: &Variant, limits: &Limits) -> Result<Vec<u8>, MediaError> {
    let probed = probe(bytes, limits)?;
    let (width, height) = target_size(probed.width, probed.height, variant.size)?;
    let resized = (width, height) != (probed.width, probed.height);
    let same_format = Format::from(probed.kind) == variant.format;
    if same_format && !resized && (!probed.animated || variant.animated) {
        return Ok(bytes.to_vec());
    }
    if probed.animated && variant.animated && variant.format == Format::Gif {
        return animated_gif(bytes, &probed, width, height, limits);
    }
    if probed.animated
        && variant.animated
        && variant.format == Format::Png
        && probed.kind == ImageKind::Png
    {
        return animated_png(bytes, &probed, width, height, limits);
    }
    let still = first_frame(bytes, &probed, limits)?;
    let still = resize(still, width, height)?;
    encode_still(still, variant.format)
}

/// The output dimensions: the longer side scaled down to `size`, the other rounded, at least 1.
fn target_size(width: u32, height: u32, size: Option<u32>) -> Result<(u32, u32), MediaError> {
    let Some(size) = size else {
        return Ok((width, height));
    };
    if size == 0 {
        return Err(MediaError::Encode("size must be at least 1".into()));
    }
    let longer = u64::from(width.max(height));
    if u64::from(size) >= longer {
        return Ok((width, height));
    }
    let scale = |side: u32| -> u32 {
        let scaled = (u64::from(side) * u64::from(size) + longer / 2) / longer;
        // At most `size`, so it fits in u32.
        scaled.max(1) as u32
    };
    Ok((scale(width), scale(height)))
}

/// `image`'s decoder limits: nothing larger than the probed canvas, and an allocation cap of
/// 16-bit RGBA at `max_pixels` plus slack.
fn decoder_limits(probed: &Probed, limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(probed.width);
    l.max_image_height = Some(probed.height);
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    l
}

fn decode_error(e: image::ImageError) -> MediaError {
    match e {
        image::ImageError::Limits(e) => MediaError::Bomb(e.to_string()),
        e => MediaError::Decode(e.to_string()),
    }
}

fn encode_error(e: image::ImageError) -> MediaError {
    MediaError::Encode(e.to_string())
}

fn image_format(kind: ImageKind) -> ImageFormat {
    match kind {
        ImageKind::Png => ImageFormat::Png,
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Gif => ImageFormat::Gif,
        ImageKind::Webp => ImageFormat::WebP,
    }
}

/// Decodes the (first frame of the) image as 8-bit RGBA.
fn first_frame(bytes: &[u8], probed: &Probed, limits: &Limits) -> Result<RgbaImage, MediaError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(probed.kind));
    reader.limits(decoder_limits(probed, limits));
    Ok(reader.decode().map_err(decode_error)?.into_rgba8())
}

/// Resizes RGBA to `width` x `height` (Lanczos3; colour is premultiplied by alpha for the
/// convolution and divided back after, so transparent pixels do not bleed their colour).
fn resize(src: RgbaImage, width: u32, height: u32) -> Result<RgbaImage, MediaError> {
    if src.dimensions() == (width, height) {
        return Ok(src);
    }
    let (w, h) = src.dimensions();
    let src = fir::images::Image::from_vec_u8(w, h, src.into_raw(), fir::PixelType::U8x4)
        .map_err(|e| MediaError::Encode(e.to_string()))?;
    let mut dst = fir::images::Image::new(width, height, fir::PixelType::U8x4);
    let mut options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3));
    options.mul_div_alpha = true;
    fir::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| MediaError::Encode(e.to_string()))?;
    RgbaImage::from_raw(width, height, dst.into_vec())
        .ok_or_else(|| MediaError::Encode("resized buffer has the wrong size".into()))
}

/// Flattens RGBA onto a white background as RGB (for JPEG).
fn flatten_on_white(img: &RgbaImage) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(img.as_raw().len() / 4 * 3);
    for px in img.pixels() {
        let a = u32::from(px.0[3]);
        for &c in &px.0[..3] {
            rgb.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    rgb
}

fn encode_still(img: RgbaImage, format: Format) -> Result<Vec<u8>, MediaError> {
    let (w, h) = img.dimensions();
    let mut out = Vec::new();
    match format {
        Format::Png => {
            PngEncoder::new(&mut out).write_image(img.as_raw(), w, h, ExtendedColorType::Rgba8)
        }
        Format::Jpeg => JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(
            &flatten_on_white(&img),
            w,
            h,
            ExtendedColorType::Rgb8,
        ),
        // Lossless and still: animated WebP output would need libwebp.
        Format::Webp => WebPEncoder::new_lossless(&mut out).write_image(
            img.as_raw(),
            w,
            h,
            ExtendedColorType::Rgba8,
        ),
        Format::Gif => {
            // The encoder writes the trailer when dropped, at the end of this block.
            let mut enc = GifEncoder::new_with_speed(&mut out, GIF_SPEED);
            enc.encode_frame(Frame::new(img))
        }
    }
    .map_err(encode_error)?;
    Ok(out)
}

/// The frames of an animated GIF, WebP or APNG, each composed onto the full canvas, decoded
/// under `image`'s limits.
fn frames<'a>(bytes: &'a [u8], probed: &Probed, limits: &Limits) -> Result<Frames<'a>, MediaError> {
    let decoder_limits = decoder_limits(probed, limits);
    Ok(match probed.kind {
        ImageKind::Gif => {
            let mut d = GifDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            d.set_limits(decoder_limits).map_err(decode_error)?;
            d.into_frames()
        }
        ImageKind::Webp => {
            let mut d = WebPDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            d.set_limits(decoder_limits).map_err(decode_error)?;
            d.into_frames()
        }
        ImageKind::Png => {
            let mut d = PngDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            d.set_limits(decoder_limits).map_err(decode_error)?;
            d.apng().map_err(decode_error)?.into_frames()
        }
        ImageKind::Jpeg => {
            return Err(MediaError::Decode("not an animated format".into()));
        }
    })
}

/// Each frame of `frames`, resized to `width` x `height` and passed to `each` with its delay.
/// The probe counted the frames; a decoder that finds more is not trusted further.
fn for_each_frame(
    frames: Frames<'_>,
    probed: &Probed,
    limits: &Limits,
    (width, height): (u32, u32),
    mut each: impl FnMut(RgbaImage, Delay) -> Result<(), MediaError>,
) -> Result<u32, MediaError> {
    let mut count = 0u32;
    for frame in frames {
        let frame = frame.map_err(decode_error)?;
        count += 1;
        if count > probed.frames || count > limits.max_frames {
            return Err(MediaError::Bomb(format!(
                "more than {} frames",
                probed.frames
            )));
        }
        let delay = frame.delay();
        each(resize(frame.into_buffer(), width, height)?, delay)?;
    }
    if count == 0 {
        return Err(MediaError::Decode("animation without frames".into()));
    }
    Ok(count)
}

/// Every frame of an animated GIF, WebP or APNG, resized, as an endlessly looping GIF with the
/// same delays. Frames are decoded, resized and encoded one at a time.
fn animated_gif(
    bytes: &[u8],
    probed: &Probed,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<Vec<u8>, MediaError> {
    let frames = frames(bytes, probed, limits)?;
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, GIF_SPEED);
        enc.set_repeat(Repeat::Infinite).map_err(encode_error)?;
        for_each_frame(frames, probed, limits, (width, height), |buffer, delay| {
            enc.encode_frame(Frame::from_parts(buffer, 0, 0, delay))
                .map_err(encode_error)
        })?;
    }
    Ok(out)
}

fn png_error(e: png::EncodingError) -> MediaError {
    MediaError::Encode(e.to_string())
}

/// Every frame of an APNG, resized, as an endlessly looping APNG with the same delays. The
/// APNG header needs the frame count first, so the resized frames are kept until all are
/// decoded (at most `max_animation_pixels` pixels at the original size; smaller once resized).
fn animated_png(
    bytes: &[u8],
    probed: &Probed,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<Vec<u8>, MediaError> {
    let mut resized: Vec<(RgbaImage, Delay)> = Vec::new();
    let frames = frames(bytes, probed, limits)?;
    for_each_frame(frames, probed, limits, (width, height), |buffer, delay| {
        resized.push((buffer, delay));
        Ok(())
    })?;
    let count = u32::try_from(resized.len()).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_animated(count, 0).map_err(png_error)?;
    // Every frame covers the whole canvas and replaces it.
    enc.set_blend_op(png::BlendOp::Source).map_err(png_error)?;
    enc.set_dispose_op(png::DisposeOp::None)
        .map_err(png_error)?;
    let mut writer = enc.write_header().map_err(png_error)?;
    for (buffer, delay) in resized {
        let (numer, denom) = delay.numer_denom_ms();
        let ms = (numer + denom / 2).checked_div(denom).unwrap_or(0);
        writer
            .set_frame_delay(u16::try_from(ms).unwrap_or(u16::MAX), 1000)
            .map_err(png_error)?;
        writer
            .write_image_data(buffer.as_raw())
            .map_err(png_error)?;
    }
    writer.finish().map_err(png_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fixtures, sniff};

    fn variant(format: Format, size: Option<u32>, animated: bool) -> Variant {
        Variant {
            format,
            size,
            animated,
        }
    }

    fn decoded_dims(bytes: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory(bytes).unwrap();
        (img.width(), img.height())
    }

    #[test]
    fn target_size_keeps_aspect_and_never_upscales() {
        assert_eq!(target_size(400, 200, Some(100)).unwrap(), (100, 50));
        assert_eq!(target_size(200, 400, Some(100)).unwrap(), (50, 100));
        assert_eq!(target_size(300, 300, Some(128)).unwrap(), (128, 128));
        assert_eq!(target_size(1000, 3, Some(16)).unwrap(), (16, 1));
        assert_eq!(target_size(333, 100, Some(128)).unwrap(), (128, 38));
        assert_eq!(target_size(64, 32, Some(4096)).unwrap(), (64, 32));
        assert_eq!(target_size(64, 32, Some(64)).unwrap(), (64, 32));
        assert_eq!(target_size(64, 32, None).unwrap(), (64, 32));
        assert!(target_size(64, 32, Some(0)).is_err());
    }

    #[test]
    fn every_conversion_sniffs_and_decodes_as_asked() {
        let sources = [
            fixtures::png(120, 60),
            fixtures::jpeg(120, 60),
            fixtures::gif(120, 60, 1),
            fixtures::gif(120, 60, 3),
            fixtures::webp(120, 60),
            fixtures::animated_webp(120, 60, 2),
            fixtures::apng(120, 60, 3),
        ];
        for (i, src) in sources.iter().enumerate() {
            for format in [Format::Png, Format::Jpeg, Format::Webp, Format::Gif] {
                for (size, dims) in [(Some(32), (32, 16)), (None, (120, 60))] {
                    let out = render(src, &variant(format, size, false), &Limits::default())
                        .unwrap_or_else(|e| panic!("source {i} to {format:?}: {e}"));
                    assert_eq!(sniff(&out), Some(format.kind()), "source {i} to {format:?}");
                    assert_eq!(
                        decoded_dims(&out),
                        dims,
                        "source {i} to {format:?} {size:?}"
                    );
                    let p = probe(&out, &Limits::default()).unwrap();
                    assert!(!p.animated, "source {i} to {format:?} is a still");
                }
            }
        }
    }

    #[test]
    fn resize_never_upscales() {
        let out = render(
            &fixtures::png(40, 20),
            &variant(Format::Webp, Some(1024), false),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(decoded_dims(&out), (40, 20));
        let out = render(
            &fixtures::jpeg(30, 90),
            &variant(Format::Png, Some(64), false),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(decoded_dims(&out), (21, 64));
    }

    #[test]
    fn same_format_and_size_is_returned_unchanged() {
        let png = fixtures::png(40, 20);
        let out = render(
            &png,
            &variant(Format::Png, Some(64), false),
            &Limits::default(),
        );
        assert_eq!(out.unwrap(), png);
        let gif = fixtures::gif(40, 20, 3);
        let out = render(&gif, &variant(Format::Gif, None, true), &Limits::default());
        assert_eq!(out.unwrap(), gif);
        // Dropping the animation re-encodes the first frame.
        let out = render(&gif, &variant(Format::Gif, None, false), &Limits::default()).unwrap();
        assert_ne!(out, gif);
        assert_eq!(probe(&out, &Limits::default()).unwrap().frames, 1);
    }

    #[test]
    fn animated_gif_is_resized_frame_by_frame() {
        let gif = fixtures::gif(80, 40, 5);
        let out = render(
            &gif,
            &variant(Format::Gif, Some(16), true),
            &Limits::default(),
        )
        .unwrap();
        let p = probe(&out, &Limits::default()).unwrap();
        assert_eq!(
            (p.kind, p.width, p.height, p.frames),
            (ImageKind::Gif, 16, 8, 5)
        );
        let frames = GifDecoder::new(Cursor::new(&out[..]))
            .unwrap()
            .into_frames()
            .collect_frames()
            .unwrap();
        let delays: Vec<_> = frames
            .iter()
            .map(|f| f.delay().numer_denom_ms())
            .map(|(n, d)| n / d)
            .collect();
        assert_eq!(delays, [40, 50, 60, 70, 80]);
        assert!(frames.iter().all(|f| f.buffer().dimensions() == (16, 8)));
    }

    #[test]
    fn animated_webp_becomes_an_animated_gif() {
        let webp = fixtures::animated_webp(64, 32, 3);
        let out = render(
            &webp,
            &variant(Format::Gif, Some(32), true),
            &Limits::default(),
        )
        .unwrap();
        let p = probe(&out, &Limits::default()).unwrap();
        assert_eq!(
            (p.kind, p.width, p.height, p.frames),
            (ImageKind::Gif, 32, 16, 3)
        );
        // Asked as WebP, it can only be a still.
        let out = render(
            &webp,
            &variant(Format::Webp, Some(32), true),
            &Limits::default(),
        )
        .unwrap();
        let p = probe(&out, &Limits::default()).unwrap();
        assert_eq!((p.kind, p.width, p.frames), (ImageKind::Webp, 32, 1));
    }

    #[test]
    fn alpha_is_premultiplied_and_jpeg_is_on_white() {
        // Opaque red next to fully transparent green: no green may bleed into the edge.
        let img = RgbaImage::from_fn(64, 64, |x, _| {
            if x < 32 {
                image::Rgba([255, 0, 0, 255])
            } else {
                image::Rgba([0, 255, 0, 0])
            }
        });
        let small = resize(img.clone(), 16, 16).unwrap();
        for px in small.pixels().filter(|p| p.0[3] > 0) {
            assert!(px.0[1] < 8, "green bled into {px:?}");
        }
        let flat = flatten_on_white(&img);
        assert_eq!(&flat[..3], &[255, 0, 0]);
        assert_eq!(&flat[flat.len() - 3..], &[255, 255, 255]);
    }

    #[test]
    fn bombs_are_refused_before_decoding() {
        let bomb = fixtures::png_header(100_000, 100_000);
        let r = render(
            &bomb,
            &variant(Format::Png, Some(64), false),
            &Limits::default(),
        );
        assert!(matches!(r, Err(MediaError::Bomb(_))), "{r:?}");
        let few = Limits {
            max_frames: 2,
            ..Limits::default()
        };
        let r = render(
            &fixtures::gif(8, 8, 3),
            &variant(Format::Gif, None, true),
            &few,
        );
        assert!(matches!(r, Err(MediaError::Bomb(_))), "{r:?}");
        let r = render(
            b"<svg/>",
            &variant(Format::Png, None, false),
            &Limits::default(),
        );
        assert!(matches!(r, Err(MediaError::NotAnImage)), "{r:?}");
    }

    #[test]
    fn corrupt_pixel_data_is_a_decode_error() {
        let mut png = fixtures::png(40, 20);
        let n = png.len();
        png[n - 30..n - 12].fill(0xAA);
        let r = render(
            &png,
            &variant(Format::Jpeg, None, false),
            &Limits::default(),
        );
        assert!(matches!(r, Err(MediaError::Decode(_))), "{r:?}");
    }

    /// Frames and delays (ms) of an APNG.
    fn apng_frames(bytes: &[u8]) -> Vec<(u32, u32, u32)> {
        let d = PngDecoder::new(Cursor::new(bytes)).unwrap();
        assert!(d.is_apng().unwrap(), "not an APNG");
        d.apng()
            .unwrap()
            .into_frames()
            .collect_frames()
            .unwrap()
            .iter()
            .map(|f| {
                let (n, d) = f.delay().numer_denom_ms();
                let (w, h) = f.buffer().dimensions();
                (w, h, n / d)
            })
            .collect()
    }

    #[test]
    fn apng_keeps_its_animation_as_png_and_gif() {
        let apng = fixtures::apng(64, 32, 3);
        // As the original, it is the original.
        let out = render(&apng, &variant(Format::Png, None, true), &Limits::default());
        assert_eq!(out.unwrap(), apng);
        // Resized as PNG: an APNG, every frame resized, delays kept.
        let out = render(
            &apng,
            &variant(Format::Png, Some(32), true),
            &Limits::default(),
        )
        .unwrap();
        let p = probe(&out, &Limits::default()).unwrap();
        assert_eq!(
            (p.kind, p.width, p.height, p.frames),
            (ImageKind::Png, 32, 16, 3)
        );
        assert_eq!(
            apng_frames(&out),
            [(32, 16, 40), (32, 16, 50), (32, 16, 60)]
        );
        // As GIF: an animated GIF.
        let out = render(
            &apng,
            &variant(Format::Gif, Some(32), true),
            &Limits::default(),
        )
        .unwrap();
        let p = probe(&out, &Limits::default()).unwrap();
        assert_eq!(
            (p.kind, p.width, p.height, p.frames),
            (ImageKind::Gif, 32, 16, 3)
        );
        // Not asked animated: its default image, a still PNG.
        let out = render(
            &apng,
            &variant(Format::Png, None, false),
            &Limits::default(),
        )
        .unwrap();
        assert_ne!(out, apng);
        assert!(!probe(&out, &Limits::default()).unwrap().animated);
        // A GIF asked as an animated PNG is a still: only an APNG's animation stays a PNG's.
        let out = render(
            &fixtures::gif(64, 32, 3),
            &variant(Format::Png, Some(32), true),
            &Limits::default(),
        )
        .unwrap();
        assert!(!probe(&out, &Limits::default()).unwrap().animated);
        // The frame limit holds for APNGs too.
        let few = Limits {
            max_frames: 2,
            ..Limits::default()
        };
        let r = render(&apng, &variant(Format::Png, Some(32), true), &few);
        assert!(matches!(r, Err(MediaError::Bomb(_))), "{r:?}");
    }
}
