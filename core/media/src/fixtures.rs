//! Test images made in code (no binary fixtures): small encodings of each kind, a hand-made
//! animated WebP container, an APNG and a bare PNG header claiming any size.

use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{Delay, ExtendedColorType, Frame, ImageEncoder, Rgba, RgbaImage};

/// A gradient with some half-transparent pixels; `seed` changes the colours.
pub fn rgba(w: u32, h: u32, seed: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        Rgba([
            (x * 255 / w.max(1)) as u8,
            (y * 255 / h.max(1)) as u8,
            (seed.wrapping_mul(40) % 256) as u8,
            if (x + y) % 3 == 0 { 255 } else { 128 },
        ])
    })
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(rgba(w, h, 0).as_raw(), w, h, ExtendedColorType::Rgba8)
        .unwrap();
    out
}

pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let rgb = image::DynamicImage::ImageRgba8(rgba(w, h, 0)).to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(rgb.as_raw(), w, h, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn webp_of(img: &RgbaImage) -> Vec<u8> {
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

pub fn webp(w: u32, h: u32) -> Vec<u8> {
    webp_of(&rgba(w, h, 0))
}

/// A GIF of `frames` frames, the i-th shown for `40 + 10 * i` ms.
pub fn gif(w: u32, h: u32, frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 30);
        enc.set_repeat(Repeat::Infinite).unwrap();
        for i in 0..frames {
            let delay = Delay::from_numer_denom_ms(40 + 10 * i, 1);
            enc.encode_frame(Frame::from_parts(rgba(w, h, i), 0, 0, delay))
                .unwrap();
        }
    }
    out
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

/// An animated WebP (VP8X + ANIM + one ANMF per frame, each a lossless bitstream).
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
        let chunk = vp8l_chunk(&webp_of(&rgba(w, h, i)));
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

/// A PNG signature, IHDR (RGBA, 8 bits) claiming `w` x `h`, and IEND: no pixel data at all.
pub fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&[8, 6, 0, 0, 0]);
    out.extend_from_slice(&[0, 0, 0, 0]); // CRC (never read: refused before decoding)
    out.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
    out
}

/// An endlessly looping APNG of `frames` frames, the i-th shown for `40 + 10 * i` ms; the
/// default image is the first frame.
pub fn apng(w: u32, h: u32, frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_animated(frames, 0).unwrap();
    let mut writer = enc.write_header().unwrap();
    for i in 0..frames {
        writer.set_frame_delay((40 + 10 * i) as u16, 1000).unwrap();
        writer.write_image_data(rgba(w, h, i).as_raw()).unwrap();
    }
    writer.finish().unwrap();
    out
}
