//! Shared by the face integration tests: the fetched cache (a missing file is a loud
//! failure telling how to fetch it), the models, the photos.
#![allow(dead_code, reason = "each test file uses part of this")]

pub(crate) mod cover;
pub(crate) mod independent;

use std::path::PathBuf;

use shiren_face::{FaceModels, PhotoRules, Weights, decode_photo};

pub(crate) const FACE_PHOTOS: &[&str] = &[
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "biden.jpg",
    "obama_partial_face.jpg",
    "obama_partial_face2.jpg",
    "32bit.png",
];

pub(crate) fn cached(dir: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/face").join(dir).join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `bash scripts/fetch-models.sh` first", path.display()))
}

pub(crate) fn weights(model: &str) -> Weights {
    Weights::from_tfjs(
        &cached("models", &format!("{model}-weights_manifest.json")),
        &[&cached("models", &format!("{model}.bin"))],
    )
    .unwrap()
}

pub(crate) fn models() -> FaceModels {
    FaceModels::new(
        weights("tiny_face_detector_model"),
        weights("face_landmark_68_model"),
        weights("face_recognition_model"),
    )
    .unwrap()
}

/// A test photo, decoded with rules relaxed to accept the portraits' sizes.
pub(crate) fn photo(name: &str) -> image::RgbImage {
    let rules = PhotoRules { max_bytes: 4 << 20, min_size: (1, 1), max_size: (4000, 4000) };
    decode_photo(&cached("photos", name), &rules).unwrap().rgb
}

/// A 640×480 JPEG selfie (quality 90) made from `obama.jpg`: the top 4:3 part of the
/// portrait, resized.
pub(crate) fn selfie_640x480() -> Vec<u8> {
    let portrait = photo("obama.jpg");
    let top = image::imageops::crop_imm(&portrait, 0, 0, 910, 682).to_image();
    let small = image::imageops::resize(&top, 640, 480, image::imageops::FilterType::Triangle);
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90).encode_image(&small).unwrap();
    bytes
}
