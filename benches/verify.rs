//! The verification flow end to end: `init → complete → describe` for one ID_PRO
//! session.
//!
//! - `fixed_scorer/one_call` and `fixed_scorer/staged`: with [`FixedScorer`], i.e.
//!   everything but the face pipeline (RAM, checks, identity lookup, session, record,
//!   meter, bill), through the one-call methods and through the stages by hand — the
//!   staged API's own cost is the difference.
//! - `face_completions/workers/1` and `/2`: completions scored by the real face
//!   pipeline on 480×640 selfies, on one and on two threads sharing one verifier (needs
//!   `bash scripts/fetch-models.sh`). The ratio is how far the flow scales with cores.
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
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shiren::face::PhotoRules;
use shiren::verify::{FaceModelScorer, FixedScorer, InitRequest};
use support::{Demo, PERSON_ID, PERSON_NAME, cst};

fn request(demo: &Demo) -> InitRequest {
    InitRequest {
        scene_id: Some(demo.id_pro_scene.get()),
        outer_order_no: Some("order1".into()),
        product_code: Some("ID_PRO".into()),
        cert_name: Some(PERSON_NAME.into()),
        cert_no: Some(PERSON_ID.into()),
        ..InitRequest::default()
    }
}

/// Starts a session; returns its certify ID.
fn start(demo: &Demo, req: &InitRequest) -> String {
    let init = demo.verifier.init_face_verify(&demo.service, req, cst(23, 10));
    init.result_object.unwrap().certify_id.to_string()
}

/// One session through the one-call methods; panics unless it passes.
fn one_call(demo: &Demo, req: &InitRequest, selfie: &Bytes) {
    let now = cst(23, 10);
    let id = start(demo, req);
    let done = demo.verifier.complete_face_verify(&id, selfie, now);
    assert!(done.result_object.is_some(), "{}", done.message);
    let described = demo.verifier.describe_face_verify(&demo.service, &id, now);
    assert!(black_box(described).result_object.unwrap().passed);
}

/// One session, its completion through the stages by hand.
fn staged(demo: &Demo, req: &InitRequest, selfie: &Bytes) {
    let now = cst(23, 10);
    let id = start(demo, req);
    let mut pending = demo.verifier.begin_complete(&id, selfie.clone(), now);
    demo.verifier.plugins().fulfil(&mut pending);
    let done = demo.verifier.commit(pending, now);
    assert!(done.result_object.is_some(), "{}", done.message);
    let described = demo.verifier.describe_face_verify(&demo.service, &id, now);
    assert!(black_box(described).result_object.unwrap().passed);
}

fn fixed_scorer(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify/fixed_scorer");
    group.throughput(Throughput::Elements(1));
    let selfie = Bytes::from_static(b"selfie");
    for (name, session) in [("one_call", one_call as fn(&Demo, &InitRequest, &Bytes)), ("staged", staged)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                // A fresh world per sample keeps memory flat across the run.
                let demo = support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap();
                let req = request(&demo);
                let start = Instant::now();
                for _ in 0..iters {
                    session(&demo, &req, &selfie);
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

fn face_completions(c: &mut Criterion) {
    let scorer = FaceModelScorer { models: support::models().unwrap(), rules: PhotoRules::default() };
    let authority = support::selfie("obama.jpg").unwrap();
    let demo = support::demo(Box::new(scorer), Bytes::from(authority)).unwrap();
    let req = request(&demo);
    let selfie = Bytes::from(support::selfie("obama2.jpg").unwrap());
    let mut group = c.benchmark_group("verify/face_completions");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    for workers in [1u64, 2] {
        // Each iteration is `workers` sessions, one per thread, at the same time.
        group.throughput(Throughput::Elements(workers));
        group.bench_function(format!("workers/{workers}"), |b| {
            b.iter_custom(|iters| {
                let ids: Vec<Vec<String>> =
                    (0..workers).map(|_| (0..iters).map(|_| start(&demo, &req)).collect()).collect();
                let start = Instant::now();
                std::thread::scope(|s| {
                    for mine in &ids {
                        let (demo, selfie) = (&demo, &selfie);
                        s.spawn(move || {
                            for id in mine {
                                let mut pending =
                                    demo.verifier.begin_complete(id, selfie.clone(), cst(23, 10));
                                demo.verifier.plugins().fulfil(&mut pending);
                                let done = demo.verifier.commit(pending, cst(23, 10));
                                assert!(black_box(done).result_object.unwrap().passed);
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    group.finish();
}

/// What the reference photo of a comparison costs: the full analysis the flow used to
/// run on it, and the embedding alone that `FaceModelScorer` now runs (same run).
fn reference_photo(c: &mut Criterion) {
    let models = support::models().unwrap();
    let bytes = support::selfie("obama.jpg").unwrap();
    let photo = shiren::face::decode_photo(&bytes, &PhotoRules::default()).unwrap();
    let mut group = c.benchmark_group("verify/reference_photo");
    group.sample_size(10);
    group.bench_function("analyze", |b| b.iter(|| black_box(models.analyze(black_box(&photo)).unwrap())));
    group.bench_function("embed", |b| b.iter(|| black_box(models.embed(black_box(&photo)).unwrap())));
    group.finish();
}

criterion_group!(benches, fixed_scorer, face_completions, reference_photo);
criterion_main!(benches);
