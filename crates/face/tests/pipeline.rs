//! Detection, landmarks, alignment, comparison and verdicts on the pinned public
//! photos, through the crate's public API.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use common::{FACE_PHOTOS, models, photo};
use shiren_catalog::SubCode;
use shiren_face::synthetic::{PrintParams, SyntheticAttack, SyntheticOcclusion};
use shiren_face::{FaceError, VerificationPolicy};

#[test]
fn one_face_in_each_face_photo_and_none_elsewhere() {
    let m = models();
    for name in FACE_PHOTOS {
        let found = m.detector.detect(&photo(name)).unwrap();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert!(found[0].score > 0.6, "{name}: {found:?}");
    }
    // Non-faces: flat grey, a gradient, deterministic noise, and the lower parts of
    // two portraits (suit, shirt, hands).
    let mut s = 0x9E37_79B9u32;
    let mut noise = move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s >> 24) as u8
    };
    let non_faces = [
        image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128])),
        image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x / 3) as u8, (y / 2) as u8, 90])),
        image::RgbImage::from_fn(640, 480, |_, _| image::Rgb([noise(), noise(), noise()])),
        image::imageops::crop_imm(&photo("obama3.jpg"), 0, 1300, 1434, 1000).to_image(),
        image::imageops::crop_imm(&photo("biden.jpg"), 0, 1100, 970, 1100).to_image(),
    ];
    for (i, image) in non_faces.iter().enumerate() {
        let found = m.detector.detect(image).unwrap();
        assert!(found.is_empty(), "non-face {i}: {found:?}");
        assert!(matches!(m.analyze_image(image), Err(FaceError::NoFace)));
    }
}

#[test]
fn landmarks_sit_on_the_face() {
    let m = models();
    for name in FACE_PHOTOS {
        let image = photo(name);
        let face = m.detector.detect(&image).unwrap()[0].bbox;
        let marks = m.landmarks.locate(&image, &face).unwrap();
        assert_eq!(marks.points.len(), 68);
        let (l, r, mouth) = (marks.left_eye(), marks.right_eye(), marks.mouth());
        assert!(l.x < r.x, "{name}: eyes in order");
        assert!(mouth.y > l.y.max(r.y), "{name}: mouth below the eyes");
        assert!(marks.roll_degrees().abs() < 20.0, "{name}: roll {}", marks.roll_degrees());
        let ied = marks.inter_eye_distance();
        assert!(ied > 0.25 * face.width && ied < 0.6 * face.width, "{name}: IED {ied} in box {face:?}");
    }
}

#[test]
fn aligned_chips_separate_genuine_from_impostor_pairs() {
    let m = models();
    let analyse = |name: &str| m.analyze_image(&photo(name)).unwrap();
    let obama: Vec<_> = ["obama.jpg", "obama2.jpg", "obama3.jpg"].map(analyse).into();
    let biden = analyse("biden.jpg");
    let genuine = [
        m.distance(&obama[0], &obama[1]),
        m.distance(&obama[0], &obama[2]),
        m.distance(&obama[1], &obama[2]),
    ];
    let impostor: Vec<f32> = obama.iter().map(|o| m.distance(o, &biden)).collect();
    println!("genuine {genuine:?} impostor {impostor:?}");
    let worst_genuine = genuine.iter().copied().fold(f32::MIN, f32::max);
    let best_impostor = impostor.iter().copied().fold(f32::MAX, f32::min);
    assert!(worst_genuine <= 0.6, "genuine {genuine:?}");
    assert!(best_impostor > 0.6, "impostor {impostor:?}");
    assert!(worst_genuine < best_impostor);
    // Partial faces and the RGBA copy still match.
    for name in ["obama_partial_face.jpg", "obama_partial_face2.jpg", "32bit.png"] {
        let d = m.distance(&analyse(name), &obama[0]);
        assert!(d <= 0.6, "{name}: {d}");
    }
    // Deterministic to 1e-4 between runs.
    assert!(m.distance(&analyse("obama.jpg"), &obama[0]) < 1e-4);
    assert_eq!(analyse("obama.jpg"), obama[0], "the whole analysis is deterministic");
}

#[test]
fn verdicts_for_the_demo_stories() {
    let m = models();
    let policy = VerificationPolicy::default();
    let reference = m.analyze_image(&photo("obama.jpg")).unwrap();
    let genuine = m.analyze_image(&photo("obama3.jpg")).unwrap();
    let verdict = policy.decide(&genuine, Some(m.distance(&genuine, &reference)));
    assert_eq!(verdict.sub_code, SubCode::PASS, "{verdict:?}");
    assert!(verdict.passed && verdict.material.verify_score.unwrap() >= 80.0);
    assert!(!verdict.material.verify_score_calibrated);

    let impostor = m.analyze_image(&photo("biden.jpg")).unwrap();
    let verdict = policy.decide(&impostor, Some(m.distance(&impostor, &reference)));
    assert_eq!(verdict.sub_code, SubCode::FACE_MISMATCH, "{verdict:?}");
    assert!(!verdict.passed);

    let print = PrintParams::TRAINING;
    let bona_fide = photo("obama3.jpg");
    let attacked = SyntheticAttack::Print(print).apply(&bona_fide, &genuine.landmarks);
    let analysis = m.analyze_image(&attacked).unwrap();
    let verdict = policy.decide(&analysis, Some(m.distance(&analysis, &reference)));
    assert_eq!(verdict.sub_code, SubCode::LIVENESS_RISK, "{verdict:?}");
    assert!(verdict.material.face_attack);

    let masked = SyntheticOcclusion::Mask([150, 190, 220]).apply(&bona_fide, &genuine.landmarks);
    let analysis = m.analyze_image(&masked).unwrap();
    let verdict = policy.decide(&analysis, Some(m.distance(&analysis, &reference)));
    assert_eq!(verdict.sub_code, SubCode::BUSINESS_POLICY, "{verdict:?}");
    assert!(verdict.material.face_occlusion && verdict.material.quality_occu);

    // Liveness-only: no verify score.
    let verdict = policy.decide(&genuine, None);
    assert_eq!((verdict.sub_code, verdict.material.verify_score), (SubCode::PASS, None));
    // The result is plain serde data with the cloud's field names.
    let json = serde_json::to_value(&verdict).unwrap();
    assert!(json["MaterialInfo"]["faceAttackScore"].is_number(), "{json}");
    assert_eq!(json["SubCode"], "200");
}

#[test]
fn hostile_shapes_are_refused_without_a_panic() {
    let m = models();
    for (w, h) in [(0, 0), (1, 1), (1, 5000), (5000, 1), (3, 3), (32, 32)] {
        let image = image::RgbImage::from_pixel(w, h, image::Rgb([200, 150, 120]));
        assert!(matches!(m.analyze_image(&image), Err(FaceError::NoFace)), "{w}×{h}");
    }
}

#[test]
fn photos_turned_without_an_exif_orientation_are_analysed_upright() {
    let m = models();
    let upright = photo("obama.jpg");
    let reference = m.analyze_image(&upright).unwrap();
    assert_eq!(reference.rotation, 0);
    // Turned clockwise by 90°, 180°, 270°: found after turning by the rest of a circle.
    let turned = [
        (image::imageops::rotate90(&upright), 270),
        (image::imageops::rotate180(&upright), 180),
        (image::imageops::rotate270(&upright), 90),
    ];
    for (image, want) in turned {
        let found = m.analyze_image(&image).unwrap();
        assert_eq!(found.rotation, want);
        let d = m.distance(&found, &reference);
        println!("turned back by {want}°: distance {d:.4}");
        assert!(d < 0.1, "{want}: {d}");
        assert!(m.distance_to(&found, &m.embed_image(&image).unwrap()) < 1e-6);
    }
}

#[test]
fn the_best_scoring_face_is_analysed_and_a_second_confident_face_is_reported() {
    let m = models();
    // Two portraits side by side, each 640 pixels high.
    let side = |name: &str| {
        let p = photo(name);
        let w = p.width() * 640 / p.height();
        image::imageops::resize(&p, w, 640, image::imageops::FilterType::Triangle)
    };
    let (left, right) = (side("obama.jpg"), side("biden.jpg"));
    let mut both = image::RgbImage::new(left.width() + right.width(), 640);
    image::imageops::replace(&mut both, &left, 0, 0);
    image::imageops::replace(&mut both, &right, i64::from(left.width()), 0);
    let found = m.detector.detect(&both).unwrap();
    println!("{found:?}");
    let a = m.analyze_image(&both).unwrap();
    assert_eq!(a.faces, 2, "{found:?}");
    let second = a.second_face.unwrap();
    assert!(a.face.score >= shiren_face::MIN_FACE_SCORE && a.face.score >= second.score);
    // The faces are on different portraits.
    assert!((a.face.bbox.x < left.width() as f32) != (second.bbox.x < left.width() as f32));
    assert_eq!(a.face.score, found.iter().map(|d| d.score).fold(0.0, f32::max));
    assert!(a.quality.get(shiren_face::Component::SingleFacePresent).unwrap().raw > 0.0);
    // One face: no second face.
    let one = m.analyze_image(&photo("obama.jpg")).unwrap();
    assert_eq!((one.faces, one.second_face), (1, None));
}
