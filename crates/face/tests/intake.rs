//! Photo intake: requirements, orientation, alpha, and hostile files.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use proptest::prelude::*;
use shiren_face::{IntakeError, PhotoRules, decode_photo};

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

proptest! {
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
