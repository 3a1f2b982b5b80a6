//! The networks' outputs against values pinned from the previous implementation
//! (im2col + `ndarray`, which agrees with face-api 1.7.15's networks to 1.5e-5; see
//! `data/pinned_outputs.json`), and the fast path against that implementation, still
//! callable as `describe_reference`, on every pinned photo.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use common::{cached, models, photo, weights};
use image::imageops::{FilterType, crop_imm, resize};
use shiren_face::{CHIP_SIZE, DescriptorNet, PhotoRules, decode_photo, face_chip};

fn pinned() -> serde_json::Value {
    serde_json::from_str(include_str!("data/pinned_outputs.json")).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The hand-framed chip of `obama.jpg` (the framing of `tests/descriptor.rs`).
fn obama_chip() -> Vec<u8> {
    let rules = PhotoRules { max_bytes: 4 << 20, min_size: (400, 400), max_size: (4000, 4000) };
    let photo = decode_photo(&cached("photos", "obama.jpg"), &rules).unwrap();
    let face = crop_imm(&photo.rgb, 489 - 140, 285 - 140, 280, 280).to_image();
    resize(&face, CHIP_SIZE as u32, CHIP_SIZE as u32, FilterType::Triangle).into_raw()
}

#[test]
fn the_descriptor_agrees_with_the_pinned_vector() {
    let net = DescriptorNet::new(weights("face_recognition_model")).unwrap();
    let want = floats(&pinned()["descriptor_obama_chip"]);
    let chip = obama_chip();
    let fast = net.describe(&chip).unwrap().to_vec();
    let reference = net.describe_reference(&chip).unwrap().to_vec();
    let (d_fast, d_ref) = (max_abs_diff(&fast, &want), max_abs_diff(&reference, &want));
    println!("max |fast − pinned| {d_fast:e}, max |reference − pinned| {d_ref:e}");
    assert!(d_fast <= 1e-4, "fast path drifted: {d_fast}");
    assert!(d_ref <= 1e-4, "reference path drifted: {d_ref}");
    // A different chip gives a different descriptor: the comparison can fail.
    let mut other = chip.clone();
    other.reverse();
    assert!(max_abs_diff(&net.describe(&other).unwrap().to_vec(), &want) > 1e-2);
}

#[test]
fn detections_and_landmarks_agree_with_the_pinned_values() {
    let m = models();
    let pinned = pinned();
    for name in ["obama.jpg", "biden.jpg"] {
        let image = photo(name);
        let found = m.detector.detect(&image).unwrap();
        assert_eq!(found.len(), 1, "{name}");
        let b = found[0].bbox;
        let want_box = floats(&pinned[name]["box"]);
        let got_box = [b.x, b.y, b.width, b.height];
        assert!(max_abs_diff(&got_box, &want_box) < 1e-2, "{name}: {got_box:?} vs {want_box:?}");
        let want_score = pinned[name]["score"].as_f64().unwrap() as f32;
        assert!((found[0].score - want_score).abs() < 1e-4, "{name}: score {}", found[0].score);
        let marks = m.landmarks.locate(&image, &b).unwrap();
        let got: Vec<f32> = marks.points.iter().flat_map(|p| [p.x, p.y]).collect();
        let want: Vec<f32> = pinned[name]["landmarks"].as_array().unwrap().iter().flat_map(floats).collect();
        let d = max_abs_diff(&got, &want);
        println!("{name}: landmarks within {d:e} px of the pinned ones");
        assert!(d < 1e-2, "{name}: landmarks moved by {d} px");
    }
}

#[test]
fn the_fast_descriptor_agrees_with_the_reference_path_on_every_photo() {
    let m = models();
    let net = DescriptorNet::new(weights("face_recognition_model")).unwrap();
    for name in common::FACE_PHOTOS {
        let image = photo(name);
        let face = m.detector.detect(&image).unwrap()[0].bbox;
        let chip = face_chip(&image, &m.landmarks.locate(&image, &face).unwrap());
        let fast = net.describe(&chip).unwrap().to_vec();
        let reference = net.describe_reference(&chip).unwrap().to_vec();
        let d = max_abs_diff(&fast, &reference);
        println!("{name}: max |fast − reference| {d:e}");
        assert!(d <= 1e-4, "{name}: {d}");
    }
}

#[test]
fn the_embedding_only_path_equals_the_full_analysis() {
    let m = models();
    for name in ["obama.jpg", "biden.jpg"] {
        let image = photo(name);
        let full = m.analyze_image(&image).unwrap();
        let embedding = m.embed_image(&image).unwrap();
        assert_eq!(embedding, full.embedding, "{name}");
        assert_eq!(m.distance_to(&full, &embedding), 0.0);
    }
    let blank = image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
    assert!(matches!(m.embed_image(&blank), Err(shiren_face::FaceError::NoFace)));
}
