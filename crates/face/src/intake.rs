//! Photo intake: decode JPEG or PNG from bytes, apply the EXIF orientation, flatten
//! alpha, and enforce the service's photo requirements — with typed errors that map to
//! call codes 419 (unusable) and 421 (larger than 1 MB). Hostile files (truncated,
//! absurd dimensions, decompression bombs) give errors, never a panic or an OOM: the
//! header's dimensions are checked before any pixel is decoded, the decoder runs under
//! an allocation limit ([`DECODE_MEMORY_LIMIT`]), a PNG's ICC profile (which the PNG
//! decoder would inflate outside that limit's accounting, and which nothing here uses)
//! is dropped unread, and a JPEG whose scan data stops early is refused rather than
//! analysed grey-filled.

use std::borrow::Cow;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};
use serde::{Deserialize, Serialize};
use shiren_catalog::CallCode;

/// The photo requirements. Sizes are judged after orientation, in landscape terms, so
/// photos rotated by 90/180/270° are accepted alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRules {
    /// Files must be smaller than this many bytes.
    pub max_bytes: usize,
    /// Smallest accepted (long side, short side).
    pub min_size: (u32, u32),
    /// Largest accepted (long side, short side).
    pub max_size: (u32, u32),
}

impl Default for PhotoRules {
    /// Under 1 MB; at least 640×480; at most 1920×1080.
    fn default() -> PhotoRules {
        PhotoRules { max_bytes: 1 << 20, min_size: (640, 480), max_size: (1920, 1080) }
    }
}

/// Why a photo was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// The file is 1 MB or larger (code 421).
    #[error("the image is {bytes} bytes; it must be smaller than {limit}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a JPEG or PNG, or damaged (code 419).
    #[error("the image cannot be read: {0}")]
    Undecodable(String),
    /// A JPEG whose scan data stops before the last pixel: the file was cut short,
    /// perhaps with an end marker appended (code 419). Decoders fill the missing part
    /// with grey; the photo must be sent again whole.
    #[error("the JPEG is truncated: its image data stops before the last pixel row; send the whole file")]
    Truncated,
    /// Outside the accepted resolution (code 419).
    #[error("the image is {width}×{height}; it must be between 640×480 and 1920×1080 (either orientation)")]
    Resolution {
        /// Width after orientation.
        width: u32,
        /// Height after orientation.
        height: u32,
    },
}

impl IntakeError {
    /// The API call code.
    pub fn call_code(&self) -> CallCode {
        match self {
            IntakeError::TooLarge { .. } => CallCode::ImageTooLarge,
            _ => CallCode::ImageUnusable,
        }
    }
}

/// A decoded, upright RGB photo.
#[derive(Clone, Debug, PartialEq)]
pub struct Photo {
    /// Pixels, row-major RGB, upright (EXIF orientation applied), alpha flattened onto
    /// white.
    pub rgb: RgbImage,
    /// Whether the file carried an alpha channel.
    pub had_alpha: bool,
}

impl Photo {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.rgb.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.rgb.height()
    }
}

fn fits(rules: &PhotoRules, width: u32, height: u32) -> bool {
    let (long, short) = (width.max(height), width.min(height));
    long >= rules.min_size.0
        && short >= rules.min_size.1
        && long <= rules.max_size.0
        && short <= rules.max_size.1
}

/// Headers claiming a side longer than this are refused before anything else is read.
const HARD_MAX_SIDE: u32 = 20_000;

/// Most heap the image decoder may allocate for one photo: generous for a 1920×1080
/// RGBA16 frame (16 MB) plus decoder state; bombs stop here. The PNG decoder inflates
/// an ICC profile up to this much on top of the frame and keeps going when it is
/// larger, so intake drops ICC profiles before decoding.
pub const DECODE_MEMORY_LIMIT: u64 = 64 << 20;

/// Decodes and checks a photo: `TooLarge` (421) at [`PhotoRules::max_bytes`] or more;
/// `Undecodable` when it is not a JPEG or PNG or is damaged, `Resolution` outside the
/// rules' sizes, `Truncated` for a JPEG whose scan data stops early (all 419). ICC
/// profiles are ignored (dropped unread from PNGs): pixels are taken as sRGB.
pub fn decode_photo(bytes: &[u8], rules: &PhotoRules) -> Result<Photo, IntakeError> {
    if bytes.len() >= rules.max_bytes {
        return Err(IntakeError::TooLarge { bytes: bytes.len(), limit: rules.max_bytes });
    }
    match image::guess_format(bytes) {
        Ok(image::ImageFormat::Jpeg) => {
            // The decoder fills whatever the scans do not cover with grey; such a photo
            // is unusable. Where the scans end is found by walking the markers, and
            // whether they covered the image by decoding once more with other bytes
            // before that end: complete scan data never reads them.
            let end = jpeg_scans_end(bytes).ok_or(IntakeError::Truncated)?;
            let photo = decode(bytes, rules)?;
            let mut probe = Vec::with_capacity(bytes.len() + PROBE.len());
            probe.extend_from_slice(bytes.get(..end).unwrap_or_default());
            probe.extend_from_slice(&PROBE);
            probe.extend_from_slice(bytes.get(end..).unwrap_or_default());
            match decode(&probe, rules) {
                Ok(again) if again == photo => Ok(photo),
                _ => Err(IntakeError::Truncated),
            }
        }
        Ok(image::ImageFormat::Png) => decode(&without_icc_profile(bytes), rules),
        Ok(_) => Err(IntakeError::Undecodable("only JPEG and PNG are accepted".to_owned())),
        Err(e) => Err(IntakeError::Undecodable(e.to_string())),
    }
}

/// Decodes a JPEG or PNG under the limits and checks its size.
fn decode(bytes: &[u8], rules: &PhotoRules) -> Result<Photo, IntakeError> {
    let undecodable = |e: image::ImageError| IntakeError::Undecodable(e.to_string());
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| IntakeError::Undecodable(e.to_string()))?;
    // A hard ceiling against absurd headers; the rules check below reports ordinary
    // oversize photos as `Resolution` with their dimensions.
    let mut limits = Limits::default();
    limits.max_image_width = Some(HARD_MAX_SIDE);
    limits.max_image_height = Some(HARD_MAX_SIDE);
    limits.max_alloc = Some(DECODE_MEMORY_LIMIT);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let (width, height) = decoder.dimensions();
    if !fits(rules, width, height) {
        return Err(IntakeError::Resolution { width, height });
    }
    let orientation = decoder.orientation().map_err(undecodable)?;
    let had_alpha = decoder.color_type().has_alpha();
    let mut image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    image.apply_orientation(orientation);
    let rgb = if had_alpha { flatten_on_white(&image) } else { image.to_rgb8() };
    Ok(Photo { rgb, had_alpha })
}

/// Bytes put before a JPEG's end marker to see whether the decoder reads them: entropy-
/// coded data (no `FF`) that decodes differently from the zero bits a decoder
/// substitutes at an early end marker.
const PROBE: [u8; 64] = [0x5A; 64];

/// The offset of the end-of-image marker (`FF D9`) that ends a JPEG's scans, found by
/// walking its structure: marker segments are skipped by their length (so a thumbnail
/// inside EXIF is never mistaken for the image), and inside entropy-coded data `FF` is
/// followed only by `00` (a stuffed byte) or a restart marker. `None` when the walk
/// runs off the end: the file stops before its end-of-image marker.
fn jpeg_scans_end(bytes: &[u8]) -> Option<usize> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2usize;
    loop {
        // A marker: one or more `FF` then its code.
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        while bytes.get(at.checked_add(1)?) == Some(&0xFF) {
            at += 1;
        }
        let code = *bytes.get(at.checked_add(1)?)?;
        match code {
            0xD9 => return Some(at),
            0x01 | 0xD0..=0xD7 => at = at.checked_add(2)?,
            _ => {
                let length = bytes.get(at.checked_add(2)?..at.checked_add(4)?)?;
                let length = usize::from(u16::from_be_bytes([*length.first()?, *length.get(1)?]));
                at = at.checked_add(2)?.checked_add(length)?;
                if code == 0xDA {
                    at = entropy_coded_end(bytes, at)?;
                }
            }
        }
    }
}

/// Where the entropy-coded data starting at `from` ends: the first `FF` followed by
/// neither `00` nor a restart marker (`D0`–`D7`).
fn entropy_coded_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let rest = bytes.get(at..)?;
        at = at.checked_add(rest.iter().position(|&b| b == 0xFF)?)?;
        match bytes.get(at.checked_add(1)?)? {
            0x00 | 0xD0..=0xD7 => at = at.checked_add(2)?,
            // Fill bytes before a marker: the marker starts at the last one.
            0xFF => at = at.checked_add(1)?,
            _ => return Some(at),
        }
    }
}

/// A PNG's bytes without its iCCP (ICC profile) chunks, borrowed when it has none.
/// The PNG decoder inflates a profile in full before decoding a pixel (64 KiB can
/// claim 64 MiB), outside the pixel buffer's accounting; intake treats every photo as
/// sRGB and never reads the profile, so the chunk is dropped unread. Whole chunks are
/// removed, so every other chunk's CRC stays valid; a chunk structure that runs off
/// the end is left for the decoder to refuse.
fn without_icc_profile(png: &[u8]) -> Cow<'_, [u8]> {
    let chunks = png_chunks(png);
    if !chunks.iter().any(|&(kind, _)| kind == *b"iCCP") {
        return Cow::Borrowed(png);
    }
    let mut kept = Vec::with_capacity(png.len());
    kept.extend_from_slice(png.get(..PNG_SIGNATURE_LEN).unwrap_or_default());
    let mut end = PNG_SIGNATURE_LEN;
    for (kind, range) in chunks {
        end = range.end;
        if kind != *b"iCCP" {
            kept.extend_from_slice(png.get(range).unwrap_or_default());
        }
    }
    kept.extend_from_slice(png.get(end..).unwrap_or_default());
    Cow::Owned(kept)
}

const PNG_SIGNATURE_LEN: usize = 8;

/// The type and byte range (length, type, data and CRC) of each whole chunk of a PNG,
/// up to `IEND` or the first chunk that runs off the end.
fn png_chunks(png: &[u8]) -> Vec<([u8; 4], std::ops::Range<usize>)> {
    let mut chunks = Vec::new();
    let mut at = PNG_SIGNATURE_LEN;
    while let Some(header) = png.get(at..).and_then(|rest| rest.first_chunk::<8>()) {
        let [l0, l1, l2, l3, k0, k1, k2, k3] = *header;
        let kind = [k0, k1, k2, k3];
        let length = usize::try_from(u32::from_be_bytes([l0, l1, l2, l3])).unwrap_or(usize::MAX);
        let Some(end) =
            length.checked_add(12).and_then(|n| n.checked_add(at)).filter(|&end| end <= png.len())
        else {
            break;
        };
        chunks.push((kind, at..end));
        at = end;
        if kind == *b"IEND" {
            break;
        }
    }
    chunks
}

/// Composites an image with alpha over white.
fn flatten_on_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| {
            let (c, a) = (u32::from(c), u32::from(a));
            u8::try_from((c * a + 255 * (255 - a) + 127) / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}
