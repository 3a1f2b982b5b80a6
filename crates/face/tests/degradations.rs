//! Degrading a bona fide photo moves the matching quality component the right way
//! (property tests over random degradation strengths: a stronger degradation never
//! scores better, up to a small tolerance), and leaves unrelated components roughly
//! where they were.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use std::sync::OnceLock;

use image::{Rgb, RgbImage};
use proptest::prelude::*;
use shiren_face::{Component, FaceAnalysis, FaceModels};

fn models() -> &'static FaceModels {
    static MODELS: OnceLock<FaceModels> = OnceLock::new();
    MODELS.get_or_init(common::models)
}

fn original() -> &'static RgbImage {
    static PHOTO: OnceLock<RgbImage> = OnceLock::new();
    PHOTO.get_or_init(|| common::photo("obama.jpg"))
}

fn analyse(image: &RgbImage) -> FaceAnalysis {
    models().analyze_image(image).unwrap()
}

fn raw(a: &FaceAnalysis, c: Component) -> f64 {
    a.quality.get(c).unwrap().raw
}

fn map(image: &RgbImage, f: impl Fn([f32; 3]) -> [f32; 3]) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        Rgb(f(image.get_pixel(x, y).0.map(f32::from)).map(|v| v.round().clamp(0.0, 255.0) as u8))
    })
}

fn jpeg(image: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(image).unwrap();
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

/// Rotates about the centre by `degrees` (bilinear, black outside).
fn rotate(image: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let (sin, cos) = degrees.to_radians().sin_cos();
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let (dx, dy) = (x as f32 - w / 2.0, y as f32 - h / 2.0);
        let (sx, sy) = (dx * cos + dy * sin + w / 2.0, -dx * sin + dy * cos + h / 2.0);
        if sx < 0.0 || sy < 0.0 || sx >= w - 1.0 || sy >= h - 1.0 {
            return Rgb([0, 0, 0]);
        }
        *image.get_pixel(sx as u32, sy as u32)
    })
}

/// The components a degradation must not move much: yaw within 6°, inter-eye
/// distance within 8 %.
fn others_unchanged(base: &FaceAnalysis, degraded: &FaceAnalysis) -> Result<(), TestCaseError> {
    let yaw = (raw(base, Component::HeadPoseYaw) - raw(degraded, Component::HeadPoseYaw)).abs();
    prop_assert!(yaw < 6.0, "yaw moved by {yaw}");
    let (a, b) = (raw(base, Component::InterEyeDistance), raw(degraded, Component::InterEyeDistance));
    prop_assert!((a - b).abs() < 0.08 * a, "IED {a} → {b}");
    Ok(())
}

fn ordered(a: f64, b: f64) -> (f64, f64) {
    (a.min(b), a.max(b))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    #[test]
    fn blur_lowers_sharpness(a in 0.0f64..4.0, b in 0.0f64..4.0) {
        let (weak, strong) = ordered(a, b);
        prop_assume!(strong - weak > 0.5);
        let blur = |s: f64| if s < 0.05 { original().clone() } else { image::imageops::blur(original(), s as f32) };
        let (x, y) = (analyse(&blur(weak)), analyse(&blur(strong)));
        prop_assert!(raw(&y, Component::Sharpness) < raw(&x, Component::Sharpness) + 1.0);
        others_unchanged(&x, &y)?;
    }

    #[test]
    fn darkening_lowers_luminance(a in 0.35f64..1.0, b in 0.35f64..1.0) {
        let (dark, light) = ordered(a, b);
        prop_assume!(light - dark > 0.05);
        let scale = |k: f64| map(original(), |p| p.map(|v| v * k as f32));
        let (x, y) = (analyse(&scale(light)), analyse(&scale(dark)));
        prop_assert!(raw(&y, Component::LuminanceMean) < raw(&x, Component::LuminanceMean));
        prop_assert!(raw(&y, Component::UnderExposurePrevention) >= raw(&x, Component::UnderExposurePrevention));
        others_unchanged(&x, &y)?;
    }

    #[test]
    fn brightening_over_exposes(a in 0.0f64..120.0, b in 0.0f64..120.0) {
        let (low, high) = ordered(a, b);
        prop_assume!(high - low > 10.0);
        let lift = |k: f64| map(original(), |p| p.map(|v| v * 1.3 + k as f32));
        let (x, y) = (analyse(&lift(low)), analyse(&lift(high)));
        prop_assert!(raw(&y, Component::OverExposurePrevention) >= raw(&x, Component::OverExposurePrevention));
        prop_assert!(raw(&y, Component::LuminanceMean) > raw(&x, Component::LuminanceMean));
    }

    #[test]
    fn jpeg_quality_drives_compression(a in 3u8..95, b in 3u8..95) {
        let (low, high) = (a.min(b), a.max(b));
        prop_assume!(high - low >= 15);
        let (x, y) = (analyse(&jpeg(original(), high)), analyse(&jpeg(original(), low)));
        prop_assert!(raw(&y, Component::CompressionArtifacts) <= raw(&x, Component::CompressionArtifacts) + 0.02);
        others_unchanged(&x, &y)?;
    }

    #[test]
    fn colour_cast_leaves_natural_colour(a in 0.0f64..80.0, b in 0.0f64..80.0) {
        let (weak, strong) = ordered(a, b);
        prop_assume!(strong - weak > 20.0);
        let cast = |k: f64| map(original(), |[r, g, bl]| [r + k as f32, g, bl - k as f32 * 0.5]);
        let (x, y) = (analyse(&cast(weak)), analyse(&cast(strong)));
        prop_assert!(raw(&y, Component::NaturalColour) >= raw(&x, Component::NaturalColour));
        others_unchanged(&x, &y)?;
    }

    #[test]
    fn rotation_shows_as_roll(a in -25.0f64..25.0) {
        let rotated = analyse(&rotate(original(), a as f32));
        let base = raw(&analyse(original()), Component::HeadPoseRoll);
        let roll = raw(&rotated, Component::HeadPoseRoll);
        // Image y points down: rotating the picture by +a degrees tilts the eye line by +a.
        prop_assert!((roll - base - a).abs() < 4.0, "rotated {a}: roll {base} → {roll}");
    }

    #[test]
    fn downscaling_shrinks_inter_eye_distance(a in 0.4f64..1.0, b in 0.4f64..1.0) {
        let (small, large) = ordered(a, b);
        prop_assume!(large - small > 0.1);
        let scale = |k: f64| {
            let (w, h) = original().dimensions();
            image::imageops::resize(original(), (f64::from(w) * k) as u32, (f64::from(h) * k) as u32,
                image::imageops::FilterType::Triangle)
        };
        let (x, y) = (analyse(&scale(large)), analyse(&scale(small)));
        prop_assert!(raw(&y, Component::InterEyeDistance) < raw(&x, Component::InterEyeDistance));
        let ratio = raw(&y, Component::InterEyeDistance) / raw(&x, Component::InterEyeDistance);
        prop_assert!((ratio - small / large).abs() < 0.1, "ratio {ratio} vs {}", small / large);
    }
}

/// The extremes really move each component (so the properties above are not
/// satisfied by components stuck at one value).
#[test]
fn strong_degradations_move_their_components() {
    let base = analyse(original());
    let check = |image: RgbImage, c: Component, lower: bool| {
        let (before, after) = (raw(&base, c), raw(&analyse(&image), c));
        assert!(if lower { after < before } else { after > before }, "{c:?}: {before} → {after}");
        let scalar = |a: &FaceAnalysis| a.quality.get(c).unwrap().scalar;
        println!("{c:?}: raw {before:.3} → {after:.3}; scalar {:?}", scalar(&analyse(&image)));
    };
    check(image::imageops::blur(original(), 4.0), Component::Sharpness, true);
    check(map(original(), |p| p.map(|v| v * 0.35)), Component::LuminanceMean, true);
    check(map(original(), |p| p.map(|v| v * 1.3 + 120.0)), Component::OverExposurePrevention, false);
    check(jpeg(original(), 4), Component::CompressionArtifacts, true);
    check(map(original(), |[r, g, b]| [r + 80.0, g, b - 40.0]), Component::NaturalColour, false);
    let blurred = analyse(&image::imageops::blur(original(), 4.0));
    assert!(blurred.quality.blur, "a heavy blur raises qualityBlur");
    let dark = analyse(&map(original(), |p| p.map(|v| v * 0.3)));
    assert!(dark.quality.illumination, "a dark photo raises qualityIllu");
    assert!(!base.quality.blur);
}
