//! Cheap header probing: dimensions and frame counts read from the container (PNG IHDR and APNG
//! acTL/fcTL, JPEG SOF, GIF blocks, WebP chunks) without decoding a pixel, and the decompression-bomb rules.

use crate::{ImageKind, Limits, MediaError, Probed, sniff};

/// What a container's headers say.
struct Header {
    width: u32,
    height: u32,
    frames: u32,
    /// Largest `width * height` of a single frame (frames may claim more than the canvas).
    largest_frame: u64,
}

impl Header {
    fn still(width: u32, height: u32) -> Self {
        Header {
            width,
            height,
            frames: 1,
            largest_frame: 0,
        }
    }
}

/// Reads what `bytes` are and how big they claim to be, then applies `limits`:
/// [`MediaError::TooLarge`] over `max_bytes`, [`MediaError::NotAnImage`] when the magic bytes
/// are not PNG/JPEG/GIF/WebP, [`MediaError::Decode`] for broken headers or a zero dimension,
/// [`MediaError::Bomb`] over `max_pixels` (canvas or any frame), `max_frames` or
/// `max_animation_pixels` (`width * height * frames`). Walks the headers only: cost is linear in
/// the bytes at worst (GIF sub-blocks, WebP chunks) and nothing is allocated.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<Probed, MediaError> {
    if bytes.len() > limits.max_bytes {
        return Err(MediaError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    let kind = sniff(bytes).ok_or(MediaError::NotAnImage)?;
    let header = match kind {
        ImageKind::Png => png(bytes)?,
        ImageKind::Jpeg => jpeg(bytes)?,
        ImageKind::Gif => gif(bytes)?,
        ImageKind::Webp => webp(bytes)?,
    };
    check(&header, limits)?;
    Ok(Probed {
        kind,
        width: header.width,
        height: header.height,
        animated: header.frames > 1,
        frames: header.frames,
    })
}

fn check(h: &Header, limits: &Limits) -> Result<(), MediaError> {
    if h.width == 0 || h.height == 0 {
        return Err(MediaError::Decode(format!(
            "image is {}x{} pixels",
            h.width, h.height
        )));
    }
    let pixels = u64::from(h.width) * u64::from(h.height);
    if pixels > limits.max_pixels {
        return Err(MediaError::Bomb(format!(
            "{}x{} is more than {} pixels",
            h.width, h.height, limits.max_pixels
        )));
    }
    if h.largest_frame > limits.max_pixels {
        return Err(MediaError::Bomb(format!(
            "a frame of {} pixels is more than {}",
            h.largest_frame, limits.max_pixels
        )));
    }
    if h.frames > limits.max_frames {
        return Err(MediaError::Bomb(format!(
            "{} frames is more than {}",
            h.frames, limits.max_frames
        )));
    }
    let total = pixels.saturating_mul(u64::from(h.frames));
    if total > limits.max_animation_pixels {
        return Err(MediaError::Bomb(format!(
            "{} frames of {}x{} is more than {} pixels",
            h.frames, h.width, h.height, limits.max_animation_pixels
        )));
    }
    Ok(())
}

fn truncated(what: &str) -> MediaError {
    MediaError::Decode(format!("truncated {what} header"))
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// PNG: the IHDR chunk must come first, right after the signature. An animation control chunk
/// (`acTL`) before the image data makes it an APNG: its frame count is the larger of what
/// `acTL` claims and the frame control chunks (`fcTL`) present, and every `fcTL` frame size
/// counts towards the largest frame. Walks chunk headers only (linear in the chunks).
fn png(b: &[u8]) -> Result<Header, MediaError> {
    if b.get(12..16) != Some(b"IHDR") {
        return Err(MediaError::Decode("PNG without IHDR".into()));
    }
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let (width, height) = be32(16).zip(be32(20)).ok_or_else(|| truncated("PNG"))?;
    let mut claimed: Option<u32> = None;
    let mut controls = 0u32;
    let mut largest_frame = 0u64;
    let mut seen_data = false;
    let mut pos = 8usize;
    // Decoders stop at IEND or at truncation: so does the walk.
    while let (Some(len), Some(id)) = (be32(pos), b.get(pos + 4..pos + 8)) {
        let data = pos + 8;
        match id {
            b"IEND" => break,
            b"IDAT" => seen_data = true,
            // acTL after the image data is not an APNG's: decoders ignore it.
            b"acTL" if !seen_data && claimed.is_none() => {
                let n = be32(data).ok_or_else(|| truncated("PNG acTL"))?;
                if n == 0 {
                    return Err(MediaError::Decode("APNG of zero frames".into()));
                }
                claimed = Some(n);
            }
            // sequence(4) width(4) height(4) x(4) y(4) ...
            b"fcTL" => {
                controls = controls.saturating_add(1);
                if let (Some(fw), Some(fh)) = (be32(data + 4), be32(data + 8)) {
                    largest_frame = largest_frame.max(u64::from(fw) * u64::from(fh));
                }
            }
            _ => {}
        }
        pos = data.saturating_add(len as usize).saturating_add(4);
    }
    let Some(claimed) = claimed else {
        return Ok(Header::still(width, height));
    };
    Ok(Header {
        width,
        height,
        frames: claimed.max(controls),
        largest_frame,
    })
}

/// JPEG: walks the marker segments up to the first frame header (SOF0..SOF15 but DHT, JPG, DAC).
fn jpeg(b: &[u8]) -> Result<Header, MediaError> {
    let mut pos = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while b.get(pos) == Some(&0xFF) && b.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if b.get(pos) != Some(&0xFF) {
            return Err(match b.get(pos) {
                None => truncated("JPEG"),
                Some(_) => MediaError::Decode("bad JPEG marker".into()),
            });
        }
        let marker = *b.get(pos + 1).ok_or_else(|| truncated("JPEG"))?;
        pos += 2;
        match marker {
            // Stand-alone markers: no length.
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 | 0xDA => {
                return Err(MediaError::Decode("JPEG without a frame header".into()));
            }
            _ => {}
        }
        let len = be16(b, pos).ok_or_else(|| truncated("JPEG"))? as usize;
        if len < 2 {
            return Err(MediaError::Decode("bad JPEG segment length".into()));
        }
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            // length(2) precision(1) height(2) width(2)
            let height = be16(b, pos + 3).ok_or_else(|| truncated("JPEG"))?;
            let width = be16(b, pos + 5).ok_or_else(|| truncated("JPEG"))?;
            return Ok(Header::still(width, height));
        }
        pos += len;
    }
}

/// Skips GIF data sub-blocks starting at `pos`; returns the position after the terminator (or the
/// end of the data when truncated).
fn skip_sub_blocks(b: &[u8], mut pos: usize) -> usize {
    loop {
        let Some(&n) = b.get(pos) else {
            return b.len();
        };
        pos += 1;
        if n == 0 {
            return pos;
        }
        pos += usize::from(n);
    }
}

/// GIF: the logical screen gives the canvas; every image descriptor is a frame.
fn gif(b: &[u8]) -> Result<Header, MediaError> {
    let width = le16(b, 6).ok_or_else(|| truncated("GIF"))?;
    let height = le16(b, 8).ok_or_else(|| truncated("GIF"))?;
    let packed = *b.get(10).ok_or_else(|| truncated("GIF"))?;
    let mut pos = 13;
    if packed & 0x80 != 0 {
        pos += 3usize << ((packed & 7) + 1);
    }
    let mut frames = 0u32;
    let mut largest_frame = 0u64;
    // Decoders stop at the trailer, at truncation or at garbage: so does the count.
    while let Some(&intro) = b.get(pos) {
        match intro {
            0x21 => pos = skip_sub_blocks(b, pos + 2),
            0x2C => {
                let (Some(fw), Some(fh), Some(&p)) =
                    (le16(b, pos + 5), le16(b, pos + 7), b.get(pos + 9))
                else {
                    break;
                };
                frames = frames.saturating_add(1);
                largest_frame = largest_frame.max(u64::from(fw) * u64::from(fh));
                pos += 10;
                if p & 0x80 != 0 {
                    pos += 3usize << ((p & 7) + 1);
                }
                // LZW minimum code size, then the image data sub-blocks.
                pos = skip_sub_blocks(b, pos + 1);
            }
            _ => break,
        }
    }
    if frames == 0 {
        return Err(MediaError::Decode("GIF without an image".into()));
    }
    Ok(Header {
        width,
        height,
        frames,
        largest_frame,
    })
}

/// WebP: the first chunk is `VP8 ` (lossy), `VP8L` (lossless) or `VP8X` (extended: canvas size and
/// flags; when animated, every `ANMF` chunk is a frame).
fn webp(b: &[u8]) -> Result<Header, MediaError> {
    let riff_len = le32(b, 4).ok_or_else(|| truncated("WebP"))? as usize;
    let end = b.len().min(riff_len.saturating_add(8));
    let b = &b[..end];
    let fourcc = b.get(12..16).ok_or_else(|| truncated("WebP"))?;
    let size = le32(b, 16).ok_or_else(|| truncated("WebP"))? as usize;
    let data = 20;
    match fourcc {
        b"VP8 " => {
            // frame tag(3), start code 9d 01 2a, then 14-bit width and height.
            if b.get(data + 3..data + 6) != Some(&[0x9d, 0x01, 0x2a]) {
                return Err(MediaError::Decode("bad VP8 start code".into()));
            }
            let w = le16(b, data + 6).ok_or_else(|| truncated("WebP"))? & 0x3fff;
            let h = le16(b, data + 8).ok_or_else(|| truncated("WebP"))? & 0x3fff;
            Ok(Header::still(w, h))
        }
        b"VP8L" => {
            if b.get(data) != Some(&0x2f) {
                return Err(MediaError::Decode("bad VP8L signature".into()));
            }
            let bits = le32(b, data + 1).ok_or_else(|| truncated("WebP"))?;
            Ok(Header::still(
                (bits & 0x3fff) + 1,
                ((bits >> 14) & 0x3fff) + 1,
            ))
        }
        b"VP8X" => {
            let flags = *b.get(data).ok_or_else(|| truncated("WebP"))?;
            let w = le24(b, data + 4).ok_or_else(|| truncated("WebP"))? + 1;
            let h = le24(b, data + 7).ok_or_else(|| truncated("WebP"))? + 1;
            if flags & 0x02 == 0 {
                return Ok(Header::still(w, h));
            }
            let mut frames = 0u32;
            let mut largest_frame = 0u64;
            let mut pos = data.saturating_add(size).saturating_add(size & 1);
            while let (Some(id), Some(len)) = (b.get(pos..pos + 4), le32(b, pos + 4)) {
                let len = len as usize;
                if id == b"ANMF" {
                    frames = frames.saturating_add(1);
                    // x(3) y(3) width-1(3) height-1(3) duration(3) flags(1)
                    if let (Some(fw), Some(fh)) = (le24(b, pos + 14), le24(b, pos + 17)) {
                        largest_frame = largest_frame.max(u64::from(fw + 1) * u64::from(fh + 1));
                    }
                }
                pos = pos
                    .saturating_add(8)
                    .saturating_add(len)
                    .saturating_add(len & 1);
            }
            if frames == 0 {
                return Err(MediaError::Decode("animated WebP without frames".into()));
            }
            Ok(Header {
                width: w,
                height: h,
                frames,
                largest_frame,
            })
        }
        _ => Err(MediaError::Decode("unknown WebP chunk".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn dims(bytes: &[u8]) -> (ImageKind, u32, u32, bool, u32) {
        let p = probe(bytes, &Limits::default()).unwrap();
        (p.kind, p.width, p.height, p.animated, p.frames)
    }

    #[test]
    fn dimensions_of_each_kind() {
        assert_eq!(
            dims(&fixtures::png(37, 21)),
            (ImageKind::Png, 37, 21, false, 1)
        );
        assert_eq!(
            dims(&fixtures::jpeg(37, 21)),
            (ImageKind::Jpeg, 37, 21, false, 1)
        );
        assert_eq!(
            dims(&fixtures::gif(37, 21, 1)),
            (ImageKind::Gif, 37, 21, false, 1)
        );
        assert_eq!(
            dims(&fixtures::gif(37, 21, 4)),
            (ImageKind::Gif, 37, 21, true, 4)
        );
        assert_eq!(
            dims(&fixtures::webp(37, 21)),
            (ImageKind::Webp, 37, 21, false, 1)
        );
        assert_eq!(
            dims(&fixtures::animated_webp(37, 21, 3)),
            (ImageKind::Webp, 37, 21, true, 3)
        );
        // A lossy VP8 header, written by hand: tag, start code, 14-bit sizes with scale bits.
        let mut vp8 = b"RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00".to_vec();
        vp8.extend_from_slice(&[
            0, 0, 0, 0x9d, 0x01, 0x2a, 0x90, 0x41, 0x2c, 0xc1, 0, 0, 0, 0,
        ]);
        assert_eq!(dims(&vp8), (ImageKind::Webp, 400, 300, false, 1));
    }

    #[test]
    fn jpeg_segments_before_the_frame_header_are_skipped() {
        // SOI, APP0 (length 16), fill bytes, SOF2 (progressive) of 300x200.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        j.extend_from_slice(&[0u8; 14]);
        j.extend_from_slice(&[0xFF, 0xFF, 0xC2, 0x00, 0x11, 0x08, 0x00, 200, 0x01, 0x2C]);
        assert_eq!(dims(&j), (ImageKind::Jpeg, 300, 200, false, 1));
        // A scan before any frame header is broken.
        let j = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02];
        assert!(matches!(
            probe(&j, &Limits::default()),
            Err(MediaError::Decode(_))
        ));
    }

    #[test]
    fn huge_png_header_is_a_bomb() {
        let png = fixtures::png_header(100_000, 100_000);
        assert!(png.len() < 64, "nothing but the header");
        let err = probe(&png, &Limits::default()).unwrap_err();
        assert!(matches!(err, MediaError::Bomb(_)), "{err:?}");
    }

    #[test]
    fn huge_gif_screen_is_a_bomb() {
        // GIF89a, 65535x65535 screen, no colour table, one 1x1 frame.
        let mut g = b"GIF89a\xff\xff\xff\xff\x00\x00\x00".to_vec();
        g.extend_from_slice(b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0\x3b");
        let err = probe(&g, &Limits::default()).unwrap_err();
        assert!(matches!(err, MediaError::Bomb(_)), "{err:?}");
        // A small screen with a huge frame is refused too.
        let mut g = b"GIF89a\x01\0\x01\0\x00\x00\x00".to_vec();
        g.extend_from_slice(b"\x2c\0\0\0\0\xff\xff\xff\xff\0\x02\x02\x44\x01\0\x3b");
        let err = probe(&g, &Limits::default()).unwrap_err();
        assert!(matches!(err, MediaError::Bomb(_)), "{err:?}");
    }

    #[test]
    fn too_many_frames_is_a_bomb() {
        let g = fixtures::gif(2, 2, 513);
        let err = probe(&g, &Limits::default()).unwrap_err();
        assert!(
            matches!(&err, MediaError::Bomb(m) if m.contains("513")),
            "{err:?}"
        );
        let few = Limits {
            max_frames: 3,
            ..Limits::default()
        };
        assert!(matches!(
            probe(&fixtures::gif(4, 4, 4), &few),
            Err(MediaError::Bomb(_))
        ));
        assert_eq!(probe(&fixtures::gif(4, 4, 3), &few).unwrap().frames, 3);
        assert!(matches!(
            probe(&fixtures::animated_webp(4, 4, 4), &few),
            Err(MediaError::Bomb(_))
        ));
    }

    #[test]
    fn animation_pixels_are_limited() {
        let small = Limits {
            max_animation_pixels: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            probe(&fixtures::gif(10, 10, 11), &small),
            Err(MediaError::Bomb(_))
        ));
        assert!(probe(&fixtures::gif(10, 10, 10), &small).is_ok());
    }

    #[test]
    fn size_and_kind_are_checked_first() {
        let tiny = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            probe(&fixtures::png(2, 2), &tiny),
            Err(MediaError::TooLarge { max_bytes: 10 })
        ));
        assert!(matches!(
            probe(b"<svg/>", &Limits::default()),
            Err(MediaError::NotAnImage)
        ));
    }

    #[test]
    fn zero_and_truncated_headers_are_decode_errors() {
        for bad in [
            fixtures::png_header(0, 10),
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0".to_vec(),
            b"GIF89a\x01\0".to_vec(),
            b"GIF89a\x01\0\x01\0\0\0\0\x3b".to_vec(),
            b"RIFF\x0c\0\0\0WEBPVP8X\x0a\0\0\0".to_vec(),
            b"RIFF\x0c\0\0\0WEBPABCD\x0a\0\0\0".to_vec(),
            vec![0xFF, 0xD8, 0xFF],
        ] {
            let r = probe(&bad, &Limits::default());
            assert!(matches!(r, Err(MediaError::Decode(_))), "{r:?} for {bad:?}");
        }
    }

    /// `png` with a chunk `id` holding `data` inserted at byte `at` (CRC left zero: the probe
    /// never reads it).
    fn with_chunk(png: &[u8], at: usize, id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(id);
        chunk.extend_from_slice(data);
        chunk.extend_from_slice(&[0; 4]);
        let mut out = png[..at].to_vec();
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&png[at..]);
        out
    }

    /// Just after IHDR (signature 8 + IHDR 25).
    const AFTER_IHDR: usize = 33;

    #[test]
    fn apng_frames_are_counted_and_limited() {
        assert_eq!(
            dims(&fixtures::apng(37, 21, 3)),
            (ImageKind::Png, 37, 21, true, 3)
        );
        // One frame is a still.
        assert_eq!(
            dims(&fixtures::apng(37, 21, 1)),
            (ImageKind::Png, 37, 21, false, 1)
        );
        let few = Limits {
            max_frames: 3,
            ..Limits::default()
        };
        assert!(matches!(
            probe(&fixtures::apng(4, 4, 4), &few),
            Err(MediaError::Bomb(_))
        ));
        assert_eq!(probe(&fixtures::apng(4, 4, 3), &few).unwrap().frames, 3);
        let small = Limits {
            max_animation_pixels: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            probe(&fixtures::apng(10, 10, 11), &small),
            Err(MediaError::Bomb(_))
        ));
        assert!(probe(&fixtures::apng(10, 10, 10), &small).is_ok());
    }

    #[test]
    fn apng_claims_are_bombs() {
        let still = fixtures::png(8, 8);
        // A still PNG whose acTL claims a million frames.
        let mut actl = 1_000_000u32.to_be_bytes().to_vec();
        actl.extend_from_slice(&0u32.to_be_bytes());
        let claimed = with_chunk(&still, AFTER_IHDR, b"acTL", &actl);
        let err = probe(&claimed, &Limits::default()).unwrap_err();
        assert!(
            matches!(&err, MediaError::Bomb(m) if m.contains("1000000")),
            "{err:?}"
        );
        // Two frames, one claiming 100000x100000 pixels.
        let mut two = 2u32.to_be_bytes().to_vec();
        two.extend_from_slice(&0u32.to_be_bytes());
        let mut fctl = 0u32.to_be_bytes().to_vec();
        fctl.extend_from_slice(&100_000u32.to_be_bytes());
        fctl.extend_from_slice(&100_000u32.to_be_bytes());
        fctl.extend_from_slice(&[0; 14]);
        let huge = with_chunk(&still, AFTER_IHDR, b"acTL", &two);
        let huge = with_chunk(&huge, AFTER_IHDR, b"fcTL", &fctl);
        let err = probe(&huge, &Limits::default()).unwrap_err();
        assert!(matches!(err, MediaError::Bomb(_)), "{err:?}");
        // Zero frames is broken.
        let zero = with_chunk(&still, AFTER_IHDR, b"acTL", &[0; 8]);
        assert!(matches!(
            probe(&zero, &Limits::default()),
            Err(MediaError::Decode(_))
        ));
        // acTL after the image data is no APNG's: a still.
        let iend = still.len() - 12;
        let late = with_chunk(&still, iend, b"acTL", &actl);
        assert_eq!(dims(&late), (ImageKind::Png, 8, 8, false, 1));
    }
}
