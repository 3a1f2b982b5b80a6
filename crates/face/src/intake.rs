//! Photo intake: decode JPEG or PNG from bytes, apply the EXIF orientation, flatten
//! alpha, and enforce the service's photo requirements — with typed errors that map to
//! call codes 419 (unusable) and 421 (larger than 1 MB). Hostile files (truncated,
//! absurd dimensions, decompression bombs) give errors, never a panic or an OOM: the
//! header's dimensions are checked before any pixel is decoded, and the decoder runs
//! under an allocation limit.

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

/// Decodes and checks a photo.
pub fn decode_photo(bytes: &[u8], rules: &PhotoRules) -> Result<Photo, IntakeError> {
    if bytes.len() >= rules.max_bytes {
        return Err(IntakeError::TooLarge { bytes: bytes.len(), limit: rules.max_bytes });
    }
    let undecodable = |e: image::ImageError| IntakeError::Undecodable(e.to_string());
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| IntakeError::Undecodable(e.to_string()))?;
    match reader.format() {
        Some(image::ImageFormat::Jpeg) if !has_jpeg_end(bytes) => {
            // The decoder would fill a truncated JPEG with grey; such a photo is unusable.
            return Err(IntakeError::Undecodable(
                "the JPEG is truncated (no end-of-image marker)".to_owned(),
            ));
        }
        Some(image::ImageFormat::Jpeg | image::ImageFormat::Png) => {}
        _ => return Err(IntakeError::Undecodable("only JPEG and PNG are accepted".to_owned())),
    }
    // A hard ceiling against absurd headers; the rules check below reports ordinary
    // oversize photos as `Resolution` with their dimensions.
    let mut limits = Limits::default();
    limits.max_image_width = Some(HARD_MAX_SIDE);
    limits.max_image_height = Some(HARD_MAX_SIDE);
    // Generous for a 1920×1080 RGBA16 frame plus decoder state; bombs stop here.
    limits.max_alloc = Some(64 << 20);
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

/// Whether a JPEG carries its end-of-image marker (`FF D9`) in its last 64 bytes (some
/// writers pad after it).
fn has_jpeg_end(bytes: &[u8]) -> bool {
    let tail = bytes.get(bytes.len().saturating_sub(64)..).unwrap_or(bytes);
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
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
