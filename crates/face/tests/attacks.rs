//! Attack indicators and occlusion on synthetic attacks and occlusions made from the
//! bona fide photos with **held-out** generator parameters (the indicator ranges were
//! set with other parameters, those in `pipeline.rs`). The metrics printed here are
//! ISO/IEC 30107-3 metrics of the indicators against this synthetic generator — a
//! regression guard, not a PAD certification.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use common::{FACE_PHOTOS, models, photo};
use shiren_face::synthetic::{PrintParams, ScreenParams, SyntheticAttack, SyntheticOcclusion};
use shiren_face::{FaceError, pad_metrics};

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
    println!("synthetic held-out attacks ({} scored, {no_face} without a detected face):", attacks.len());
    println!("{}", serde_json::to_string_pretty(&metrics).unwrap());
    assert_eq!(metrics.bpcer.errors, 0);
    for (species, rate) in &metrics.apcer_per_species {
        assert!(rate.samples >= 5, "{species}: too few scored samples: {rate:?}");
    }
    // Measured when the ranges were frozen (before these parameters were first run):
    // screen replays are caught, the milder held-out print (contrast 0.78, saturation
    // 0.8) mostly is not at the default threshold, although the scores still rank every
    // attack above every bona fide photo (EER 0). Guards against regressions:
    assert!(metrics.apcer_per_species["ScreenReplay"].rate <= 0.2, "{metrics:?}");
    assert!(metrics.apcer_max <= 0.6, "{metrics:?}");
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
