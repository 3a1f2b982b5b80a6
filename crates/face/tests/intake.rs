//! Photo intake: requirements, orientation, alpha, and hostile files.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::io::Cursor;

use image::{ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use proptest::prelude::*;
use shiren_face::{DECODE_MEMORY_LIMIT, IntakeError, PhotoRules, decode_photo};

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn png_rgba(width: u32, height: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, _| Rgba([0, 0, 0, if x < width / 2 { 0 } else { 255 }]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Inserts an EXIF APP1 segment with Orientation = `orientation` after the SOI marker.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD offset
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // count
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the value field
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn a_plain_photo_decodes() {
    let photo = decode_photo(&jpeg(640, 480), &PhotoRules::default()).unwrap();
    assert_eq!((photo.width(), photo.height(), photo.had_alpha), (640, 480, false));
}

#[test]
fn resolution_limits_in_either_orientation() {
    let rules = PhotoRules::default();
    for (w, h, ok) in [
        (640, 480, true),
        (480, 640, true),
        (1920, 1080, true),
        (1080, 1920, true),
        (639, 480, false),
        (640, 479, false),
        (1921, 1080, false),
        (1920, 1081, false),
        (1, 10_000, false),
    ] {
        let result = decode_photo(&jpeg(w, h), &rules);
        assert_eq!(result.is_ok(), ok, "{w}×{h}: {:?}", result.as_ref().err());
        if let Err(err) = result {
            assert_eq!(err.call_code().code(), 419);
        }
    }
}

#[test]
fn exif_orientation_is_applied() {
    let rotated = with_exif_orientation(&jpeg(800, 600), 6); // rotate 90° clockwise
    let photo = decode_photo(&rotated, &PhotoRules::default()).unwrap();
    assert_eq!((photo.width(), photo.height()), (600, 800));
    let upright = decode_photo(&with_exif_orientation(&jpeg(800, 600), 1), &PhotoRules::default()).unwrap();
    assert_eq!((upright.width(), upright.height()), (800, 600));
}

#[test]
fn rgba_is_flattened_onto_white() {
    let photo = decode_photo(&png_rgba(640, 480), &PhotoRules::default()).unwrap();
    assert!(photo.had_alpha);
    assert_eq!(photo.rgb.get_pixel(0, 0).0, [255, 255, 255], "transparent → white");
    assert_eq!(photo.rgb.get_pixel(639, 0).0, [0, 0, 0], "opaque black stays black");
}

#[test]
fn one_megabyte_or_more_is_421() {
    let mut big = jpeg(640, 480);
    big.resize(1 << 20, 0);
    let err = decode_photo(&big, &PhotoRules::default()).unwrap_err();
    assert_eq!(err, IntakeError::TooLarge { bytes: 1 << 20, limit: 1 << 20 });
    assert_eq!(err.call_code().code(), 421);
}

#[test]
fn hostile_files_are_typed_errors() {
    let rules = PhotoRules::default();
    let good = jpeg(640, 480);
    // Zero bytes, garbage, a truncated JPEG, another format.
    for bytes in [Vec::new(), b"GIF89a....".to_vec(), good[..good.len() / 2].to_vec(), good[..20].to_vec()] {
        let code = decode_photo(&bytes, &rules).err().map(|e| e.call_code().code());
        assert_eq!(code, Some(419), "{} bytes", bytes.len());
    }
    // A PNG header claiming 100000×100000 pixels: refused before any pixel is decoded.
    let mut bomb = png_rgba(640, 480);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(decode_photo(&bomb, &rules).is_err());
    // A 1×100000 strip.
    let mut strip = png_rgba(640, 480);
    strip[16..20].copy_from_slice(&1u32.to_be_bytes());
    strip[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(decode_photo(&strip, &rules).is_err());
}

/// A 640×480 JPEG with detail everywhere, so every MCU carries data.
fn detailed_jpeg() -> Vec<u8> {
    let img = RgbImage::from_fn(640, 480, |x, y| {
        Rgb([((x * 7 + y * 3) % 256) as u8, ((x * y) % 251) as u8, ((x ^ y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Where the first scan's entropy-coded data starts (after the SOS segment).
fn scan_data_start(jpeg: &[u8]) -> usize {
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    sos + 2 + usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]))
}

/// The first `len` bytes of `jpeg` with an end-of-image marker appended.
fn cut_with_end_marker(jpeg: &[u8], len: usize) -> Vec<u8> {
    let mut cut = jpeg[..len].to_vec();
    cut.extend_from_slice(&[0xFF, 0xD9]);
    cut
}

#[test]
fn a_truncated_jpeg_with_an_end_marker_appended_is_refused() {
    let rules = PhotoRules::default();
    let whole = detailed_jpeg();
    assert!(decode_photo(&whole, &rules).is_ok());
    let start = scan_data_start(&whole);
    for len in [start + 1, whole.len() / 2, whole.len() * 9 / 10, whole.len() - 40] {
        let err = decode_photo(&cut_with_end_marker(&whole, len), &rules).unwrap_err();
        assert_eq!(err, IntakeError::Truncated, "cut at {len} of {}", whole.len());
        assert_eq!(err.call_code().code(), 419);
    }
    // Without the marker.
    assert_eq!(decode_photo(&whole[..whole.len() / 2], &rules), Err(IntakeError::Truncated));
}

#[test]
fn whole_jpegs_with_trailing_bytes_are_accepted_unchanged() {
    let rules = PhotoRules::default();
    let whole = detailed_jpeg();
    let photo = decode_photo(&whole, &rules).unwrap();
    // Bytes after the end marker (some writers pad or append a second image).
    let mut padded = whole.clone();
    padded.extend_from_slice(&[0u8; 100]);
    padded.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xD9]);
    assert_eq!(decode_photo(&padded, &rules).unwrap(), photo);
}

/// A 640×480 PNG carrying a 60 MiB ICC profile of zeros, which compresses to about
/// 60 KiB: a decompression bomb in the iCCP chunk.
fn png_with_icc_bomb() -> Vec<u8> {
    let img = RgbImage::from_fn(640, 480, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 7]));
    let mut out = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
    encoder.set_icc_profile(vec![0u8; 60 << 20]).unwrap();
    encoder.write_image(img.as_raw(), 640, 480, image::ExtendedColorType::Rgb8).unwrap();
    out
}

#[test]
fn a_png_with_a_huge_icc_profile_decodes_within_the_memory_limit() {
    let png = png_with_icc_bomb();
    assert!(png.len() < 256 << 10, "{} bytes", png.len());
    let mut decoded = None;
    let info = allocation_counter::measure(|| {
        decoded = Some(decode_photo(&png, &PhotoRules::default()));
    });
    println!(
        "ICC bomb ({} bytes): peak heap {:.1} MiB",
        png.len(),
        info.bytes_max as f64 / f64::from(1 << 20)
    );
    let photo = decoded.unwrap().unwrap();
    assert_eq!((photo.width(), photo.height()), (640, 480));
    assert_eq!(photo.rgb.get_pixel(1, 2).0, [1, 2, 7], "the pixels are unchanged");
    // The 640×480 frame, its RGB copy and the PNG without the chunk: a few MiB.
    assert!(info.bytes_max < 16 << 20, "{info:?}");
    assert!(info.bytes_max < DECODE_MEMORY_LIMIT);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_cut_jpeg_is_refused_or_decodes_exactly_as_the_whole_one(at in 0.0f64..1.0, marker in any::<bool>()) {
        static WHOLE: std::sync::OnceLock<(Vec<u8>, shiren_face::Photo)> = std::sync::OnceLock::new();
        let (whole, photo) = WHOLE.get_or_init(|| {
            let whole = detailed_jpeg();
            let photo = decode_photo(&whole, &PhotoRules::default()).unwrap();
            (whole, photo)
        });
        let start = scan_data_start(whole);
        let len = start + ((whole.len() - 2 - start) as f64 * at) as usize;
        let cut = if marker { cut_with_end_marker(whole, len) } else { whole[..len].to_vec() };
        match decode_photo(&cut, &PhotoRules::default()) {
            Ok(decoded) => prop_assert!(&decoded == photo, "a cut at {} was accepted with other pixels", len),
            Err(err) => prop_assert_eq!(err.call_code().code(), 419),
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096), cut in 0usize..5000, flip in any::<u8>()) {
        let _ = decode_photo(&bytes, &PhotoRules::default());
        static GOOD: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let mut mutated = GOOD.get_or_init(|| jpeg(640, 480)).clone();
        let at = cut % mutated.len();
        mutated[at] ^= flip;
        let _ = decode_photo(&mutated, &PhotoRules::default());
        let _ = decode_photo(&mutated[..at], &PhotoRules::default());
    }
}
