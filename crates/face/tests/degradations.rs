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

/// A horizontal motion streak: each pixel the mean of `length` pixels along its row
/// (edges clamped), by running sums.
fn streak(image: &RgbImage, length: u32) -> RgbImage {
    if length <= 1 {
        return image.clone();
    }
    let (w, h) = image.dimensions();
    let mut out = RgbImage::new(w, h);
    let half = i64::from(length / 2);
    for y in 0..h {
        let at = |x: i64| image.get_pixel(x.clamp(0, i64::from(w) - 1) as u32, y).0.map(u32::from);
        let mut sum = [0u32; 3];
        for x in -half..i64::from(length) - half {
            let p = at(x);
            sum = [sum[0] + p[0], sum[1] + p[1], sum[2] + p[2]];
        }
        for x in 0..w {
            out.put_pixel(x, y, Rgb(sum.map(|s| ((s + length / 2) / length) as u8)));
            let (add, drop) = (at(i64::from(x) + i64::from(length) - half), at(i64::from(x) - half));
            sum = [0, 1, 2].map(|c| sum[c] + add[c] - drop[c]);
        }
    }
    out
}

/// Gain `k` on every channel, clipped at 255: over-exposure.
fn gain(image: &RgbImage, k: f32) -> RgbImage {
    map(image, |p| p.map(|v| v * k))
}

/// Motion blur, 0 to 35 pixels, on every test photo: the sharpness raw value falls
/// at every step, `qualityBlur` once raised stays raised, and a 35-pixel streak raises
/// it; the undegraded photos are not flagged.
#[test]
fn motion_blur_lowers_sharpness_step_by_step() {
    const LENGTHS: [u32; 8] = [1, 5, 10, 15, 20, 25, 30, 35];
    for name in common::FACE_PHOTOS {
        let photo = common::photo(name);
        let mut row = Vec::new();
        for length in LENGTHS {
            let a = analyse(&streak(&photo, length));
            row.push((length, raw(&a, Component::Sharpness), a.quality.blur));
        }
        println!(
            "{name}: {}",
            row.iter()
                .map(|(l, s, b)| format!("{l}px {s:.1}{}", if *b { " BLUR" } else { "" }))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(!row[0].2, "{name}: the undegraded photo raises qualityBlur: {row:?}");
        for pair in row.windows(2) {
            let ((l0, s0, b0), (l1, s1, b1)) = (pair[0], pair[1]);
            assert!(s1 < s0, "{name}: sharpness did not fall from {l0} to {l1} px: {row:?}");
            assert!(b1 || !b0, "{name}: qualityBlur dropped from {l0} to {l1} px: {row:?}");
        }
        assert!(row[row.len() - 1].2, "{name}: a 35-pixel streak does not raise qualityBlur: {row:?}");
    }
}

/// Over-exposure, gain 1 to 3.4 with clipping, on every test photo: the clipped share
/// (`OverExposurePrevention`'s raw value) never falls; once it passes
/// `OVER_EXPOSED_SHARE`, `qualityIllu` is raised and stays raised at every stronger
/// gain; the strongest gain raises it; the luminance scalar only falls once the face
/// is brighter than mid-grey; the undegraded photos are below the over-exposure line.
/// A gain at which the detector loses the face refuses the photo as unusable (419),
/// which is as strong a verdict as the flag: every stronger gain must then be refused
/// or flagged too.
/// (clipped share, luminance mean, its scalar, qualityIllu) at one gain.
type Exposure = (f64, f64, f64, bool);

#[test]
fn over_exposure_raises_illumination_step_by_step() {
    const GAINS: [f32; 9] = [1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.4, 2.9, 3.4];
    let line = shiren_face::OVER_EXPOSED_SHARE;
    for name in common::FACE_PHOTOS {
        let photo = common::photo(name);
        let mut row: Vec<(f32, Option<Exposure>)> = Vec::new();
        for k in GAINS {
            match models().analyze_image(&gain(&photo, k)) {
                Ok(a) => {
                    let mean = a.quality.get(Component::LuminanceMean).unwrap();
                    let clipped = raw(&a, Component::OverExposurePrevention);
                    row.push((k, Some((clipped, mean.raw, mean.scalar.unwrap(), a.quality.illumination))));
                }
                Err(shiren_face::FaceError::NoFace) => row.push((k, None)),
                Err(e) => panic!("{e}"),
            }
        }
        let shown: Vec<String> = row
            .iter()
            .map(|(k, m)| match m {
                Some((o, _, l, i)) => format!("×{k} clipped {o:.3} lum {l}{}", if *i { " ILLU" } else { "" }),
                None => format!("×{k} no face (419)"),
            })
            .collect();
        println!("{name}: {}", shown.join(", "));
        let Some((first, ..)) = row[0].1 else { panic!("{name}: no face undegraded") };
        assert!(first <= line, "{name}: undegraded photo over-exposed: {shown:?}");
        for pair in row.windows(2) {
            let ((k0, m0), (k1, m1)) = (pair[0], pair[1]);
            match (m0, m1) {
                (Some((o0, mean0, l0, _)), Some((o1, _, l1, i1))) => {
                    assert!(o1 >= o0, "{name}: clipped share fell from ×{k0} to ×{k1}: {shown:?}");
                    if mean0 > 0.5 {
                        assert!(l1 <= l0, "{name}: luminance scalar rose from ×{k0} to ×{k1}: {shown:?}");
                    }
                    if o0 > line {
                        assert!(i1, "{name}: qualityIllu dropped from ×{k0} to ×{k1}: {shown:?}");
                    }
                }
                (None, Some((_, _, _, i1))) => assert!(i1, "{name}: face back at ×{k1} unflagged: {shown:?}"),
                (Some((_, _, _, i0)), None) => {
                    assert!(i0, "{name}: face lost at ×{k1} before any flag: {shown:?}")
                }
                (None, None) => {}
            }
        }
        for (k, m) in &row {
            if let Some((o, _, _, i)) = m {
                assert!(*o <= line || *i, "{name}: ×{k} clips {o:.3} without qualityIllu");
            }
        }
        let flagged = |m: &Option<Exposure>| m.is_none_or(|(_, _, _, i)| i);
        assert!(flagged(&row[row.len() - 1].1), "{name}: ×3.4 neither flagged nor refused: {shown:?}");
    }
}
