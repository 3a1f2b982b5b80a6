//! The verification flow end to end: `init → complete → describe` for one ID_PRO
//! session, with a fixed-verdict scorer (everything but the face pipeline: RAM,
//! checks, identity lookup, session, record, meter, bill) and with the real face
//! pipeline on 480×640 selfies (needs `bash scripts/fetch-models.sh`).
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
use shiren::catalog::SubCode;
use shiren::face::{MaterialInfo, PhotoRules, Verdict, VerificationPolicy};
use shiren::verify::{FaceModelScorer, FaceScorer, InitRequest, Refusal};
use support::{Demo, PERSON_ID, PERSON_NAME, cst};

/// Passes every photo without looking at it.
struct Fixed;

impl FaceScorer for Fixed {
    fn check_photo(&self, _: &[u8]) -> Result<(), Refusal> {
        Ok(())
    }

    fn score(&self, _: &[u8], reference: Option<&[u8]>, _: &VerificationPolicy) -> Result<Verdict, Refusal> {
        Ok(Verdict {
            passed: true,
            sub_code: SubCode::PASS,
            material: MaterialInfo {
                face_attack: false,
                face_occlusion: false,
                face_attack_score: 1e-4,
                quality_score: 90.0,
                verify_score: reference.map(|_| 99.0),
                verify_score_calibrated: false,
                quality_blur: false,
                quality_illu: false,
                quality_occu: false,
                quality_background: false,
                quality_wear_hat: None,
                attack_model: "fixed".into(),
            },
        })
    }
}

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

/// One session; panics unless it passes.
fn session(demo: &mut Demo, req: &InitRequest, selfie: &[u8]) {
    let now = cst(23, 10);
    let init = demo.verifier.init_face_verify(&demo.service, req, now);
    let id = init.result_object.unwrap().certify_id.to_string();
    let done = demo.verifier.complete_face_verify(&id, selfie, now);
    assert!(done.result_object.is_some(), "{}", done.message);
    let described = demo.verifier.describe_face_verify(&demo.service, &id, now);
    assert!(black_box(described).result_object.unwrap().passed);
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("init_complete_describe_fixed_scorer", |b| {
        b.iter_custom(|iters| {
            // A fresh world per sample keeps memory flat across the run.
            let mut demo = support::demo(Box::new(Fixed), Bytes::from_static(b"authority")).unwrap();
            let req = request(&demo);
            let start = Instant::now();
            for _ in 0..iters {
                session(&mut demo, &req, b"selfie");
            }
            start.elapsed()
        })
    });
    let scorer = FaceModelScorer { models: support::models().unwrap(), rules: PhotoRules::default() };
    let authority = support::selfie("obama.jpg").unwrap();
    let mut demo = support::demo(Box::new(scorer), Bytes::from(authority)).unwrap();
    let req = request(&demo);
    let selfie = support::selfie("obama2.jpg").unwrap();
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("init_complete_describe_face_pipeline", |b| {
        b.iter(|| session(&mut demo, &req, &selfie))
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
