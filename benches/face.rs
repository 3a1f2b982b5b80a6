//! Face benches: decode a photo, and compute one 150×150 descriptor with the dlib ResNet
//! (needs `bash scripts/fetch-models.sh`; a missing cache fails loudly).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::disallowed_methods,
    missing_docs,
    reason = "benchmark harness"
)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use shiren::face::{CHIP_SIZE, DescriptorNet, PhotoRules, Weights, decode_photo};

fn cached(dir: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/face").join(dir).join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `bash scripts/fetch-models.sh` first", path.display()))
}

fn face(c: &mut Criterion) {
    let weights = Weights::from_tfjs(
        &cached("models", "face_recognition_model-weights_manifest.json"),
        &[&cached("models", "face_recognition_model.bin")],
    )
    .unwrap();
    let net = DescriptorNet::new(weights).unwrap();
    let photo_bytes = cached("photos", "obama2.jpg");
    let relaxed = PhotoRules { max_bytes: 4 << 20, min_size: (400, 400), max_size: (4000, 4000) };
    let photo = decode_photo(&photo_bytes, &relaxed).unwrap();
    let chip = image::imageops::resize(
        &photo.rgb,
        CHIP_SIZE as u32,
        CHIP_SIZE as u32,
        image::imageops::FilterType::Triangle,
    )
    .into_raw();
    assert_eq!(net.describe(&chip).unwrap().len(), 128);
    let mut group = c.benchmark_group("face");
    group.sample_size(20);
    group.bench_function("decode_jpeg_626x1200", |b| {
        b.iter(|| decode_photo(black_box(&photo_bytes), &relaxed).unwrap())
    });
    group.bench_function("descriptor_150x150", |b| b.iter(|| net.describe(black_box(&chip)).unwrap()));
    group.finish();
}

criterion_group!(benches, face);
criterion_main!(benches);
