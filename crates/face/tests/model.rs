//! The pinned dlib ResNet descriptor weights (fetched by `scripts/fetch-models.sh`) load
//! completely: 117 tensors, every byte of the 6,444,032-byte blob consumed, the shapes
//! the FaceRecognitionNet architecture needs, dequantised values as the manifest says.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use common::cached;
use shiren_face::Weights;

#[test]
fn the_recognition_model_loads_completely() {
    let manifest = cached("models", "face_recognition_model-weights_manifest.json");
    let blob = cached("models", "face_recognition_model.bin");
    assert_eq!(blob.len(), 6_444_032);
    let weights = Weights::from_tfjs(&manifest, &[&blob]).unwrap();
    assert_eq!(weights.len(), 117);
    // The stem, one residual block, a down-sampling block and the final projection.
    weights.get("conv32_down/conv/filters", &[7, 7, 3, 32]).unwrap();
    weights.get("conv32_down/conv/bias", &[32]).unwrap();
    weights.get("conv32_down/scale/weights", &[32]).unwrap();
    weights.get("conv256_down_out/conv2/scale/biases", &[256]).unwrap();
    weights.get("fc", &[256, 128]).unwrap();
    // The first filter value is byte 0 dequantised with the manifest's scale and min.
    let first = weights.get("conv32_down/conv/filters", &[7, 7, 3, 32]).unwrap()[[0, 0, 0, 0]];
    let expected = f32::from(blob[0]) * 0.000_526_064_96 + -0.071_018_77;
    assert!((first - expected).abs() < 1e-6, "{first} vs {expected}");
    for name in weights.names() {
        let values = weights.get(name, &shape_of(&weights, name)).unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "{name} has a non-finite value");
    }
}

fn shape_of(weights: &Weights, name: &str) -> Vec<usize> {
    // Ask with an impossible shape to learn the real one from the typed error.
    match weights.get(name, &[usize::MAX]) {
        Err(shiren_face::ModelError::Shape { actual, .. }) => actual,
        other => panic!("{name}: {other:?}"),
    }
}
