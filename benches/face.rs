//! Face benches (needs `bash scripts/fetch-models.sh`; a missing cache fails loudly):
//! the full pipeline on a 640×480 JPEG selfie (decode, detect, landmarks, occlusion,
//! quality, attack indicators, embedding) and each stage alone, plus decoding a
//! full-size portrait. The three networks run twice in the same run: the fast path
//! (`detect`, `locate`, `describe`) and the previous im2col + `ndarray` path kept as
//! the baseline (`*_reference`), e.g. `cargo bench --bench face -- network`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    reason = "benchmark harness"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shiren::face::{
    AttackIndicators, DescriptorNet, PadModel, PhotoRules, assess_quality, decode_photo, face_chip,
    measure_occlusion,
};

/// The top 4:3 part of `obama.jpg`, resized to 640×480 and encoded as JPEG (q 90).
fn selfie() -> Vec<u8> {
    let portrait = support::raw_photo("obama.jpg").unwrap();
    let top = image::imageops::crop_imm(&portrait, 0, 0, 910, 682).to_image();
    support::jpeg(&image::imageops::resize(&top, 640, 480, image::imageops::FilterType::Triangle)).unwrap()
}

fn face(c: &mut Criterion) {
    let models = support::models().unwrap();
    let selfie = selfie();
    let rules = PhotoRules::default();
    let photo = decode_photo(&selfie, &rules).unwrap();
    let image = &photo.rgb;
    let faces = models.detector.detect(image).unwrap();
    let marks = models.landmarks.locate(image, &faces[0].bbox).unwrap();
    let chip = face_chip(image, &marks);
    let occlusion = measure_occlusion(image, &marks);
    let portrait = support::photo_bytes("obama2.jpg").unwrap();
    let relaxed = PhotoRules { max_bytes: 4 << 20, min_size: (400, 400), max_size: (4000, 4000) };

    let mut group = c.benchmark_group("face");
    group.sample_size(10);
    group.bench_function("pipeline_640x480", |b| {
        b.iter(|| models.analyze(&decode_photo(black_box(&selfie), &rules).unwrap()).unwrap())
    });
    group.bench_function("decode_640x480", |b| b.iter(|| decode_photo(black_box(&selfie), &rules).unwrap()));
    group.bench_function("detect_416", |b| b.iter(|| models.detector.detect(black_box(image)).unwrap()));
    group.bench_function("landmarks_112", |b| {
        b.iter(|| models.landmarks.locate(black_box(image), &faces[0].bbox).unwrap())
    });
    // The networks, fast path against the previous implementation, in the same run.
    let descriptor = DescriptorNet::new(recognition_weights()).unwrap();
    group.bench_function("network_detect_416_fast", |b| {
        b.iter(|| models.detector.detect(black_box(image)).unwrap())
    });
    group.bench_function("network_detect_416_reference", |b| {
        b.iter(|| models.detector.detect_reference(black_box(image)).unwrap())
    });
    group.bench_function("network_landmarks_112_fast", |b| {
        b.iter(|| models.landmarks.locate(black_box(image), &faces[0].bbox).unwrap())
    });
    group.bench_function("network_landmarks_112_reference", |b| {
        b.iter(|| models.landmarks.locate_reference(black_box(image), &faces[0].bbox).unwrap())
    });
    group.bench_function("network_descriptor_150_fast", |b| {
        b.iter(|| descriptor.describe(black_box(&chip)).unwrap())
    });
    group.bench_function("network_descriptor_150_reference", |b| {
        b.iter(|| descriptor.describe_reference(black_box(&chip)).unwrap())
    });
    group.bench_function("network_all_three_fast", |b| {
        b.iter(|| {
            let found = models.detector.detect(black_box(image)).unwrap();
            let marks = models.landmarks.locate(image, &found[0].bbox).unwrap();
            descriptor.describe(&face_chip(image, &marks)).unwrap()
        })
    });
    group.bench_function("network_all_three_reference", |b| {
        b.iter(|| {
            let found = models.detector.detect_reference(black_box(image)).unwrap();
            let marks = models.landmarks.locate_reference(image, &found[0].bbox).unwrap();
            descriptor.describe_reference(&face_chip(image, &marks)).unwrap()
        })
    });
    group.bench_function("chip_150", |b| b.iter(|| face_chip(black_box(image), &marks)));
    group.bench_function("occlusion_and_quality", |b| {
        b.iter(|| {
            let occlusion = measure_occlusion(black_box(image), &marks);
            assess_quality(image, &chip, &marks, &faces, &occlusion)
        })
    });
    group.bench_function("quality_only", |b| {
        b.iter(|| assess_quality(black_box(image), &chip, &marks, &faces, &occlusion))
    });
    group.bench_function("attack_indicators", |b| {
        b.iter(|| AttackIndicators::default().assess(black_box(image), &marks))
    });
    group.bench_function("embedding_150x150", |b| {
        b.iter(|| models.embedder.embed(black_box(image), &marks).unwrap())
    });
    // One residual-block convolution of the descriptor (3×3, 64 → 64 channels, 38×38,
    // "same"), as the crate computes it (im2col + matrix multiply) and as the textbook
    // defines it (direct loops, written here as the reference), in the same run.
    let input =
        ndarray::Array3::from_shape_fn((38, 38, 64), |(y, x, c)| ((y * 31 + x * 7 + c) % 13) as f32 / 13.0);
    let filters = ndarray::Array4::from_shape_fn((3, 3, 64, 64), |(i, j, c, o)| {
        ((i + j * 3 + c + o) % 7) as f32 / 7.0 - 0.4
    });
    let fast = shiren::face::ops::conv2d(&input, filters.view(), None, 1, shiren::face::ops::Padding::Same);
    let slow = reference_conv_same(&input, &filters);
    assert!(fast.iter().zip(slow.iter()).all(|(a, b)| (a - b).abs() < 1e-3));
    group.bench_function("conv3x3_64ch_38x38_im2col_gemm", |b| {
        b.iter(|| {
            shiren::face::ops::conv2d(
                black_box(&input),
                filters.view(),
                None,
                1,
                shiren::face::ops::Padding::Same,
            )
        })
    });
    group.bench_function("conv3x3_64ch_38x38_reference_direct_loops", |b| {
        b.iter(|| reference_conv_same(black_box(&input), &filters))
    });
    group.bench_function("decode_jpeg_626x1200", |b| {
        b.iter(|| decode_photo(black_box(&portrait), &relaxed).unwrap())
    });
    group.finish();
}

/// The descriptor network's weights from the fetched cache.
fn recognition_weights() -> shiren::face::Weights {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/face/models");
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}; run `bash scripts/fetch-models.sh` first"))
    };
    shiren::face::Weights::from_tfjs(
        &read("face_recognition_model-weights_manifest.json"),
        &[&read("face_recognition_model.bin")],
    )
    .unwrap()
}

/// The textbook 3×3 stride-1 "same" convolution: for every output, every tap, every
/// input channel.
fn reference_conv_same(input: &ndarray::Array3<f32>, f: &ndarray::Array4<f32>) -> ndarray::Array3<f32> {
    let (h, w, cin) = input.dim();
    let (kh, kw, _, cout) = f.dim();
    ndarray::Array3::from_shape_fn((h, w, cout), |(y, x, o)| {
        let mut acc = 0.0;
        for i in 0..kh {
            for j in 0..kw {
                let (yy, xx) = ((y + i) as isize - 1, (x + j) as isize - 1);
                if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                    continue;
                }
                for c in 0..cin {
                    acc += input[[yy as usize, xx as usize, c]] * f[[i, j, c, o]];
                }
            }
        }
        acc
    })
}

criterion_group!(benches, face);
criterion_main!(benches);
