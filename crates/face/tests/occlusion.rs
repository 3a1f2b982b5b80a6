//! Skin-coloured covers — fingers whose texture is the same face's own forehead or
//! cheek (`common::cover`) — over the mouth or one eye are flagged as occlusion; the
//! clean photos, and their grayscale, dimmed and low-contrast versions, are not. The
//! shape cues' thresholds were set on these very photos and covers (all tilts), so
//! this is a calibration check, not a held-out measurement.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use common::cover::{Covered, hand_over};
use common::{FACE_PHOTOS, models, photo};
use image::{Rgb, RgbImage};
use shiren_face::synthetic::SyntheticOcclusion;
use shiren_face::{FaceError, measure_occlusion};

/// Where the fingers go and their tilt in degrees.
const COVERS: [(Covered, f32); 8] = [
    (Covered::Mouth, 20.0),
    (Covered::Mouth, -35.0),
    (Covered::Mouth, 5.0),
    (Covered::Mouth, -60.0),
    (Covered::LeftEye, 60.0),
    (Covered::LeftEye, 30.0),
    (Covered::RightEye, -50.0),
    (Covered::RightEye, -80.0),
];

fn grey(image: &RgbImage) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let [r, g, b] = image.get_pixel(x, y).0.map(f32::from);
        let v = (0.299 * r + 0.587 * g + 0.114 * b).round() as u8;
        Rgb([v, v, v])
    })
}

fn dim(image: &RgbImage) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        Rgb(image.get_pixel(x, y).0.map(|v| (f32::from(v) * 0.5).round() as u8))
    })
}

/// Contrast halved about mid-grey: what a flat camera profile (or a print) does.
fn flat(image: &RgbImage) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        Rgb(image.get_pixel(x, y).0.map(|v| (128.0 + (f32::from(v) - 128.0) * 0.5).round() as u8))
    })
}

#[test]
fn clean_photos_in_colour_grey_dim_and_flat_are_not_occluded() {
    let m = models();
    for name in FACE_PHOTOS {
        let image = photo(name);
        let versions = [
            ("colour", image.clone()),
            ("grayscale", grey(&image)),
            ("dimmed", dim(&image)),
            ("contrast 0.5", flat(&image)),
        ];
        for (label, version) in versions {
            let a = m.analyze_image(&version).unwrap();
            println!("{name} {label}: {:?}", a.occlusion);
            assert!(!a.occlusion.occluded(), "{name} {label}: called occluded: {:?}", a.occlusion);
        }
    }
}

#[test]
fn sunglasses_on_a_grayscale_photo_are_flagged() {
    let m = models();
    for name in FACE_PHOTOS {
        let image = photo(name);
        let marks = m.analyze_image(&image).unwrap().landmarks;
        let covered = grey(&SyntheticOcclusion::Sunglasses.apply(&image, &marks));
        let occ = measure_occlusion(&covered, &marks);
        assert!(occ.eyes > 0.9, "{name}: {occ:?}");
    }
}

#[test]
fn hands_over_the_mouth_or_an_eye_are_flagged() {
    let m = models();
    let (mut measured, mut flagged, mut refused) = (0, 0, 0);
    for name in FACE_PHOTOS {
        let image = photo(name);
        let marks = m.analyze_image(&image).unwrap().landmarks;
        {
            for (what, tilt) in COVERS {
                let covered = hand_over(&image, &marks, what, tilt);
                // The measure on the clean photo's landmarks: the region under the hand.
                let occ = measure_occlusion(&covered, &marks);
                let share = match what {
                    Covered::Mouth => occ.lower_face,
                    Covered::LeftEye | Covered::RightEye => occ.eyes,
                };
                println!("{name} {what:?} {tilt}°: covered share {share:.2}, {:?}", occ.cues);
                assert!(share > 0.5, "{name} {what:?} {tilt}°: not flagged: {occ:?}");
                // The whole pipeline, landmarks found on the covered photo.
                match m.analyze_image(&covered) {
                    Ok(a) => {
                        measured += 1;
                        flagged += usize::from(a.occlusion.occluded());
                        if !a.occlusion.occluded() {
                            println!("  pipeline missed it: {:?}", a.occlusion);
                        }
                    }
                    Err(FaceError::NoFace) => refused += 1,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }
    println!("pipeline: {flagged} of {measured} covered faces flagged ({refused} refused: no face)");
    assert!(measured >= 50, "{measured} measured");
    assert!(flagged * 100 >= measured * 95, "{flagged} of {measured}");
}
