//! The descriptor network on the pinned public photos: every genuine pair (Obama × 3)
//! is closer than every impostor pair (Biden vs each), genuine ≤ 0.6 and impostor > 0.6
//! (dlib's rule), and descriptors are deterministic. There is no detector yet, so the
//! face boxes are hand-annotated fixtures (square, forehead to below the chin, in
//! upright pixel coordinates).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use common::{cached, weights};
use image::imageops::{FilterType, crop_imm, resize};
use shiren_face::{CHIP_SIZE, DescriptorNet, PhotoRules, decode_photo, distance};

/// (photo, centre x, centre y, side) — annotated by hand with one framing rule, close
/// to dlib's aligned chips: a square from the eyebrows to just below the chin, ear to
/// ear, centred on the face.
const FACES: &[(&str, u32, u32, u32)] = &[
    ("obama.jpg", 489, 285, 280),
    ("obama2.jpg", 328, 430, 330),
    ("obama3.jpg", 747, 450, 290),
    ("biden.jpg", 570, 380, 330),
];

fn chip(name: &str, cx: u32, cy: u32, side: u32) -> Vec<u8> {
    let rules = PhotoRules { max_bytes: 4 << 20, min_size: (400, 400), max_size: (4000, 4000) };
    let photo = decode_photo(&cached("photos", name), &rules).unwrap();
    let face = crop_imm(&photo.rgb, cx - side / 2, cy - side / 2, side, side).to_image();
    resize(&face, CHIP_SIZE as u32, CHIP_SIZE as u32, FilterType::Triangle).into_raw()
}

#[test]
fn genuine_pairs_are_closer_than_impostor_pairs() {
    let net = DescriptorNet::new(weights("face_recognition_model")).unwrap();
    let descriptors: Vec<_> =
        FACES.iter().map(|&(n, x, y, s)| net.describe(&chip(n, x, y, s)).unwrap()).collect();
    for d in &descriptors {
        assert_eq!(d.len(), 128);
        assert!(d.iter().all(|v| v.is_finite()));
    }
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    for i in 0..4 {
        for j in i + 1..4 {
            let d = distance(&descriptors[i], &descriptors[j]);
            println!("{} vs {}: {d:.3}", FACES[i].0, FACES[j].0);
            if j == 3 { impostor.push(d) } else { genuine.push(d) }
        }
    }
    let worst_genuine = genuine.iter().copied().fold(f32::MIN, f32::max);
    let best_impostor = impostor.iter().copied().fold(f32::MAX, f32::min);
    assert!(worst_genuine <= 0.6, "genuine distances {genuine:?}");
    assert!(best_impostor > 0.6, "impostor distances {impostor:?}");
    assert!(worst_genuine < best_impostor);
    // Deterministic: the same chip gives the same descriptor to 1e-4.
    let again = net.describe(&chip(FACES[0].0, FACES[0].1, FACES[0].2, FACES[0].3)).unwrap();
    assert!(distance(&again, &descriptors[0]) < 1e-4);
    // A chip of the wrong size is a typed error.
    assert!(net.describe(&[0; 10]).is_err());
}
