//! Default avatars (`/embed/avatars/{n}.png`, n 0–5): simple PNGs drawn and encoded here at
//! startup, one background colour each with a light disc in the middle — Accord's own artwork.

use std::hash::{Hash, Hasher};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use accord_blobs::Meta;
use bytes::Bytes;

/// How many default avatars there are (Discord's clients pick one of 0..6).
pub const COUNT: usize = 6;

/// Width and height in pixels.
const SIDE: u32 = 128;

/// Background colours, one per avatar.
const COLOURS: [[u8; 3]; COUNT] = [
    [0x4f, 0x6b, 0xd8],
    [0x6e, 0x77, 0x80],
    [0x2f, 0x9e, 0x5b],
    [0xd6, 0x8a, 0x1c],
    [0xc8, 0x3c, 0x3f],
    [0xc2, 0x4f, 0xa8],
];

/// A default avatar: the PNG and what the answer says about it.
pub struct Avatar {
    /// The PNG file.
    pub bytes: Bytes,
    /// Size, entity tag (from a hash of the content) and a fixed modification time.
    pub meta: Meta,
}

static AVATARS: LazyLock<Vec<Avatar>> = LazyLock::new(|| (0..COUNT).map(draw).collect());

/// Avatar `n` (0–5), or `None` past the end.
pub fn avatar(n: usize) -> Option<&'static Avatar> {
    AVATARS.get(n)
}

/// Draws and encodes avatar `n`.
fn draw(n: usize) -> Avatar {
    let [r, g, b] = COLOURS[n];
    let centre = SIDE as i64 / 2;
    let radius = SIDE as i64 * 3 / 10;
    let mut raw = Vec::with_capacity((SIDE * 3 * SIDE) as usize);
    for y in 0..SIDE as i64 {
        for x in 0..SIDE as i64 {
            let (dx, dy) = (x - centre, y - centre);
            if dx * dx + dy * dy <= radius * radius {
                raw.extend_from_slice(&[0xf4, 0xf4, 0xf4]);
            } else {
                raw.extend_from_slice(&[r, g, b]);
            }
        }
    }
    let bytes = Bytes::from(png(SIDE, SIDE, &raw));
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hash);
    let meta = Meta {
        size: bytes.len() as u64,
        etag: format!("\"default-{n}-{:016x}\"", hash.finish()),
        modified: SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
    };
    Avatar { bytes, meta }
}

/// `rgb` (8-bit RGB pixels, row by row) as a PNG file (the `png` crate's encoder).
fn png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().expect("a PNG header fits in memory");
    writer
        .write_image_data(rgb)
        .expect("the pixels match the header's size");
    writer.finish().expect("a PNG fits in memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatars_are_valid_distinct_pngs() {
        let mut seen = std::collections::HashSet::new();
        for (n, colour) in COLOURS.iter().enumerate() {
            let a = avatar(n).unwrap();
            assert_eq!(infer::get(&a.bytes).unwrap().mime_type(), "image/png");
            assert_eq!(a.meta.size, a.bytes.len() as u64);
            assert!(seen.insert(a.meta.etag.clone()));
            // Decodes as a 128×128 RGB image with the avatar's colour in its corner.
            let decoder = png::Decoder::new(std::io::Cursor::new(&a.bytes[..]));
            let mut reader = decoder.read_info().unwrap();
            let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
            let frame = reader.next_frame(&mut pixels).unwrap();
            assert_eq!((frame.width, frame.height), (SIDE, SIDE));
            assert_eq!(frame.color_type, png::ColorType::Rgb);
            assert_eq!(pixels[..3], colour[..]);
        }
        assert!(avatar(COUNT).is_none());
    }
}
