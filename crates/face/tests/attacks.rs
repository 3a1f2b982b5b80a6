//! Attack indicators and occlusion on synthetic attacks and occlusions made from the
//! bona fide photos, and the indicators on genuine photos that are merely dim,
//! low-contrast, grayscale or otherwise mildly degraded.
//!
//! Two synthetic attack sets, both held out from the indicator ranges (set on the bona
//! fide photos, their degraded versions and `PrintParams::TRAINING` /
//! `ScreenParams::TRAINING`):
//! - the library's generator (`shiren_face::synthetic`) with **held-out parameters**;
//! - a **second, independently written generator** (`common/independent.rs`: other
//!   recipes, other parameters) — the split the ranges never saw.
//!
//! The metrics printed are ISO/IEC 30107-3 metrics of the indicators against these
//! synthetic generators — what the indicators do to two synthetic recipes, a
//! regression guard, not a PAD evaluation: neither generator is a captured attack.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use common::independent::held_out as independent_attacks;
use common::{FACE_PHOTOS, models, photo, selfie_640x480};
use image::{Rgb, RgbImage};
use shiren_face::synthetic::{PrintParams, ScreenParams, SyntheticAttack, SyntheticOcclusion};
use shiren_face::{FaceError, FaceModels, PadMetrics, PhotoRules, decode_photo, pad_metrics};

fn map(image: &RgbImage, f: impl Fn([f32; 3]) -> [f32; 3]) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        Rgb(f(image.get_pixel(x, y).0.map(f32::from)).map(|v| v.round().clamp(0.0, 255.0) as u8))
    })
}

fn grey([r, g, b]: [f32; 3]) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

fn jpeg(image: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(image).unwrap();
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

/// Mild degradations of a genuine photo: what a poor camera, a dim room or a
/// grayscale export does. None of them is an attack.
fn degraded(image: &RgbImage) -> Vec<(&'static str, RgbImage)> {
    vec![
        ("dim ×0.6", map(image, |p| p.map(|v| v * 0.6))),
        ("dim ×0.45", map(image, |p| p.map(|v| v * 0.45))),
        ("low contrast 0.6", map(image, |p| p.map(|v| 128.0 + (v - 128.0) * 0.6))),
        ("low contrast 0.45", map(image, |p| p.map(|v| 128.0 + (v - 128.0) * 0.45))),
        ("grayscale", map(image, |p| [grey(p); 3])),
        ("grayscale, dim ×0.7", map(image, |p| [grey(p) * 0.7; 3])),
        ("gamma 1.5", map(image, |p| p.map(|v| 255.0 * (v / 255.0).powf(1.5)))),
        ("saturation ×0.5", map(image, |p| p.map(|v| grey(p) + (v - grey(p)) * 0.5))),
        ("bright ×1.2", map(image, |p| p.map(|v| v * 1.2))),
        ("JPEG 60", jpeg(image, 60)),
        ("JPEG 80", jpeg(image, 80)),
    ]
}

/// The bona fide set: every test photo, the 640×480 selfie, and their mild
/// degradations, as (label, attack score). The clean photos come first.
/// (label, attack score) of each photo scored.
type Scored = Vec<(String, f64)>;

fn bona_fide(m: &FaceModels) -> (Scored, Scored) {
    let rules = PhotoRules::default();
    let selfie = decode_photo(&selfie_640x480(), &rules).unwrap().rgb;
    let mut clean = Vec::new();
    let mut worse = Vec::new();
    let photos =
        FACE_PHOTOS.iter().map(|&n| (n.to_owned(), photo(n))).chain([("selfie 640×480".to_owned(), selfie)]);
    for (name, image) in photos {
        clean.push((name.clone(), m.analyze_image(&image).unwrap().attack.score));
        for (label, version) in degraded(&image) {
            // A degradation that loses the face is refused as unusable (419), not as an
            // attack; none of these does.
            let a = m.analyze_image(&version).unwrap();
            worse.push((format!("{name}, {label}"), a.attack.score));
        }
    }
    (clean, worse)
}

fn table(title: &str, metrics: &PadMetrics, no_face: usize) {
    println!("{title} (threshold {}):", metrics.threshold);
    println!("  | attack species | APCER | 95 % upper |");
    for (species, r) in &metrics.apcer_per_species {
        println!("  | {species} | {}/{} = {:.3} | {:.3} |", r.errors, r.samples, r.rate, r.upper95);
    }
    let b = &metrics.bpcer;
    println!("  BPCER {}/{} = {:.3} (95 % upper {:.3})", b.errors, b.samples, b.rate, b.upper95);
    println!(
        "  APCER (max) {:.3}, ACER {:.3}, EER {:.3}, BPCER@APCER5% {:.3}, APCER@BPCER1% {:.3}; {no_face} attacks lost their face (refused as 419, not scored)",
        metrics.apcer_max, metrics.acer, metrics.eer, metrics.bpcer_at_apcer_5, metrics.apcer_at_bpcer_1
    );
}

/// Genuine photos that are merely dim, low-contrast, grayscale, desaturated,
/// gamma-shifted, bright or re-compressed are not attacks. Before #17 the indicators
/// refused 39 of 63 such photos (contrast and colourfulness measured exposure); the
/// goal is a bona fide refusal rate of at most 5 %.
#[test]
fn mildly_degraded_genuine_photos_are_not_attacks() {
    let m = models();
    let (clean, worse) = bona_fide(&m);
    for (label, score) in clean.iter().chain(&worse) {
        if *score >= 0.5 {
            println!("refused: {label}: {score:.4}");
        }
    }
    let refused = worse.iter().filter(|(_, s)| *s >= 0.5).count();
    let rate = shiren_face::Rate::new(refused, worse.len());
    println!(
        "degraded genuine: BPCER {refused}/{} = {:.3} (95 % upper {:.3})",
        worse.len(),
        rate.rate,
        rate.upper95
    );
    assert!(clean.iter().all(|(_, s)| *s < 0.5), "{clean:?}");
    assert!(rate.rate <= 0.05, "{rate:?}");
}

/// The second, independently written generator: the split the ranges never saw.
/// Before #17 (contrast and colourfulness scored, one moiré window) the indicators
/// missed every print (14/14) and cut-out (14/14) of this split and 2 of 14 screen
/// replays, and refused 39 of 63 mildly degraded genuine photos.
#[test]
fn independent_generator_held_out_split() {
    let m = models();
    let (clean, worse) = bona_fide(&m);
    let scores: Vec<f64> = clean.iter().chain(&worse).map(|(_, s)| *s).collect();
    let mut attacks = Vec::new();
    let mut no_face = 0;
    for name in FACE_PHOTOS {
        let image = photo(name);
        let marks = m.analyze_image(&image).unwrap().landmarks;
        for attack in independent_attacks() {
            match m.analyze_image(&attack.apply(&image, &marks)) {
                Ok(a) => attacks.push((attack.species().to_owned(), a.attack.score)),
                Err(FaceError::NoFace) => no_face += 1,
                Err(e) => panic!("{e}"),
            }
        }
    }
    let metrics = pad_metrics(&scores, &attacks, 0.5);
    table("independent generator (held out), bona fide = clean + mildly degraded", &metrics, no_face);
    for (species, rate) in &metrics.apcer_per_species {
        assert!(rate.samples >= 10, "{species}: too few scored samples: {rate:?}");
    }
    assert!(metrics.bpcer.rate <= 0.05, "{metrics:?}");
    // No worse than before on what was caught: screen replays (12 of 14 before).
    assert!(metrics.apcer_per_species["ScreenReplay"].errors <= 2, "{metrics:?}");
    // Regression guards at the level measured when the ranges were frozen (2 of 14
    // prints and 2 of 14 cut-outs missed; before #17 all 14 of each).
    assert!(metrics.apcer_per_species["Print"].errors <= 3, "{metrics:?}");
    assert!(metrics.apcer_per_species["CutOut"].errors <= 3, "{metrics:?}");
}

fn held_out_attacks() -> Vec<SyntheticAttack> {
    let p1 = PrintParams {
        contrast: 0.78,
        saturation: 0.8,
        halftone_period: 5.1,
        halftone_angle: 40.0,
        halftone_depth: 0.12,
        grain: 4.0,
        seed: 99,
        defocus: 0.8,
        recapture_quality: 85,
    };
    let p2 = PrintParams {
        contrast: 0.62,
        saturation: 0.6,
        halftone_period: 3.6,
        halftone_angle: 75.0,
        halftone_depth: 0.2,
        grain: 8.0,
        seed: 12345,
        defocus: 0.0,
        recapture_quality: 70,
    };
    let s1 = ScreenParams {
        pitch: 2.7,
        depth: 0.18,
        gamma: 0.9,
        white: [0.92, 0.97, 1.1],
        glare: 0.2,
        glare_at: (0.7, 0.3),
        bezel: 0.04,
    };
    let s2 = ScreenParams {
        pitch: 4.6,
        depth: 0.3,
        gamma: 1.25,
        white: [1.0, 1.0, 1.05],
        glare: 0.5,
        glare_at: (0.2, 0.8),
        bezel: 0.0,
    };
    vec![
        SyntheticAttack::Print(p1),
        SyntheticAttack::Print(p2),
        SyntheticAttack::Screen(s1),
        SyntheticAttack::Screen(s2),
        SyntheticAttack::CutOut(p1, [200, 200, 190]),
        SyntheticAttack::CutOut(p2, [30, 40, 80]),
    ]
}

#[test]
fn indicators_separate_bona_fide_from_held_out_synthetic_attacks() {
    let m = models();
    let mut bona_fide = Vec::new();
    let mut attacks = Vec::new();
    let mut no_face = 0;
    for name in FACE_PHOTOS {
        let image = photo(name);
        let analysis = m.analyze_image(&image).unwrap();
        assert!(!analysis.attack.attack, "{name}: bona fide called an attack: {:?}", analysis.attack);
        assert!(!analysis.attack.evaluated_pad);
        bona_fide.push(analysis.attack.score);
        for attack in held_out_attacks() {
            let attacked = attack.apply(&image, &analysis.landmarks);
            match m.analyze_image(&attacked) {
                Ok(a) => attacks.push((format!("{:?}", attack.species()), a.attack.score)),
                // The detector misses the face: the photo is refused as unusable (419),
                // so the attack is not accepted either; counted apart.
                Err(FaceError::NoFace) => no_face += 1,
                Err(e) => panic!("{e}"),
            }
        }
    }
    let metrics = pad_metrics(&bona_fide, &attacks, 0.5);
    table("library generator, held-out parameters, bona fide = the clean photos", &metrics, no_face);
    assert_eq!(metrics.bpcer.errors, 0);
    for (species, rate) in &metrics.apcer_per_species {
        assert!(rate.samples >= 5, "{species}: too few scored samples: {rate:?}");
    }
    // Before #17 (ranges frozen before these parameters were first run): screen
    // replays 0/14 missed, prints 5/14, cut-outs 7/14. No worse on any species:
    assert_eq!(metrics.apcer_per_species["ScreenReplay"].errors, 0, "{metrics:?}");
    assert!(metrics.apcer_per_species["Print"].errors <= 5, "{metrics:?}");
    assert!(metrics.apcer_per_species["CutOut"].errors <= 7, "{metrics:?}");
    assert!(metrics.eer <= 0.1, "{metrics:?}");
}

#[test]
fn synthetic_occlusions_raise_the_flag() {
    let m = models();
    let mut flagged = 0;
    let mut measured = 0;
    for name in FACE_PHOTOS {
        let image = photo(name);
        let analysis = m.analyze_image(&image).unwrap();
        assert!(
            !analysis.occlusion.occluded(),
            "{name}: bona fide called occluded: {:?}",
            analysis.occlusion
        );
        for occlusion in [
            SyntheticOcclusion::Mask([150, 190, 220]),
            SyntheticOcclusion::Mask([30, 30, 35]),
            SyntheticOcclusion::Sunglasses,
        ] {
            let covered = occlusion.apply(&image, &analysis.landmarks);
            // The measure itself, on the bona fide geometry:
            let occ = shiren_face::measure_occlusion(&covered, &analysis.landmarks);
            match occlusion {
                SyntheticOcclusion::Mask(_) => {
                    assert!(occ.lower_face > 0.9 && occ.eyes < 0.5, "{name}: {occ:?}")
                }
                SyntheticOcclusion::Sunglasses => assert!(occ.eyes > 0.9, "{name}: {occ:?}"),
            }
            // And through the whole pipeline (landmarks found on the covered photo),
            // where the detector still finds the face.
            if let Ok(a) = m.analyze_image(&covered) {
                measured += 1;
                flagged += usize::from(a.occlusion.occluded());
            }
        }
    }
    println!("pipeline: {flagged} of {measured} detected occluded faces flagged");
    assert!(measured >= 10 && flagged * 10 >= measured * 8, "{flagged} of {measured}");
}

/// A portrait as a phone sends it: the top 3:4 part, 480×640, JPEG 90 (as the
/// service's own tests send selfies).
fn phone_selfie(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let top = image::imageops::crop_imm(image, 0, 0, w, h.min(w * 4 / 3)).to_image();
    jpeg(&image::imageops::resize(&top, 480, 640, image::imageops::FilterType::Triangle), 90)
}

/// At phone size the faces are small (inter-eye distance 50–90 pixels) and JPEG's
/// 8-pixel grid is periodic too: genuine selfies are not attacks, and attacks made
/// at that size and sent as JPEG are caught — the training print (the service's KYC
/// story) and the independent generator's screen replays.
#[test]
fn phone_sized_selfies() {
    let m = models();
    let mut missed = Vec::new();
    for name in FACE_PHOTOS {
        let selfie = phone_selfie(&photo(name));
        let a = m.analyze_image(&selfie).unwrap();
        println!("{name} selfie: {:.4} {:?}", a.attack.score, a.attack.indicators);
        assert!(!a.attack.attack, "{name}: genuine selfie called an attack: {:?}", a.attack);
        let mut attacks: Vec<(String, RgbImage)> = vec![(
            "training print".into(),
            SyntheticAttack::Print(PrintParams::TRAINING).apply(&selfie, &a.landmarks),
        )];
        for attack in independent_attacks() {
            attacks.push((format!("independent {}", attack.species()), attack.apply(&selfie, &a.landmarks)));
        }
        for (label, attacked) in attacks {
            match m.analyze_image(&jpeg(&attacked, 90)) {
                Ok(x) => {
                    println!("  {label}: {:.4} {:?}", x.attack.score, x.attack.indicators);
                    if !x.attack.attack {
                        missed.push(format!("{name} {label}"));
                    }
                }
                Err(FaceError::NoFace) => println!("  {label}: no face (419)"),
                Err(e) => panic!("{e}"),
            }
        }
    }
    println!("missed: {missed:?}");
    assert!(!missed.iter().any(|s| s.ends_with("training print")), "{missed:?}");
}
