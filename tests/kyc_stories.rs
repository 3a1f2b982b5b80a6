//! The demo's stories end to end through the facade with the real face models
//! (fetched by `scripts/fetch-models.sh`; a missing cache fails loudly): each story's
//! call code and sub code, then the records, meter and bill of the day agree.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[path = "support/mod.rs"]
mod support;

use bytes::Bytes;
use shiren::billing::BillingStep;
use shiren::catalog::{BillingZone, SubCode};
use shiren::face::PhotoRules;
use shiren::face::synthetic::{PrintParams, SyntheticAttack, SyntheticOcclusion};
use shiren::records::{RecordStore, StatsRange};
use shiren::verify::{CompareRequest, FaceModelScorer, InitRequest, PhotoSources};
use support::{PERSON_ID, PERSON_NAME, cst, jpeg, selfie, selfie_image};

#[test]
fn the_demo_stories() {
    let scorer = FaceModelScorer { models: support::models().unwrap(), rules: PhotoRules::default() };
    let demo = support::demo(Box::new(scorer), Bytes::from(selfie("obama.jpg").unwrap())).unwrap();
    let now = cst(23, 10);
    let scene = demo.id_pro_scene.get();
    let request = |order: &str, cert_no: &str| InitRequest {
        scene_id: Some(scene),
        outer_order_no: Some(order.to_owned()),
        product_code: Some("ID_PRO".to_owned()),
        cert_name: Some(PERSON_NAME.into()),
        cert_no: Some(cert_no.into()),
        ..InitRequest::default()
    };
    let analyst = support::models().unwrap();
    let genuine = selfie_image("obama2.jpg").unwrap();
    let marks = analyst.analyze_image(&genuine).unwrap().landmarks;
    let other = selfie_image("obama3.jpg").unwrap();
    let other_marks = analyst.analyze_image(&other).unwrap().landmarks;
    let print = PrintParams::TRAINING;
    let small = image::imageops::resize(&genuine, 300, 400, image::imageops::FilterType::Triangle);
    // (photo, expected call code of the completion, expected sub code)
    let stories: Vec<(&str, Vec<u8>, u16, Option<SubCode>)> = vec![
        ("genuine", selfie("obama2.jpg").unwrap(), 200, Some(SubCode::PASS)),
        ("impostor", selfie("biden.jpg").unwrap(), 200, Some(SubCode::FACE_MISMATCH)),
        (
            "print attack",
            jpeg(&SyntheticAttack::Print(print).apply(&genuine, &marks)).unwrap(),
            200,
            Some(SubCode::LIVENESS_RISK),
        ),
        (
            "masked",
            jpeg(&SyntheticOcclusion::Mask([150, 190, 220]).apply(&other, &other_marks)).unwrap(),
            200,
            Some(SubCode::BUSINESS_POLICY),
        ),
        ("too small", jpeg(&small).unwrap(), 419, None),
        ("not an image", b"GIF89a garbage".to_vec(), 419, None),
    ];
    for (i, (story, photo, code, sub)) in stories.into_iter().enumerate() {
        let started =
            demo.verifier.init_face_verify(&demo.service, &request(&format!("o{i}"), PERSON_ID), now);
        let id = started.result_object.unwrap().certify_id.to_string();
        let done = demo.verifier.complete_face_verify(&id, &photo, now);
        assert_eq!(done.code.code(), code, "{story}: {}", done.message);
        assert_eq!(done.result_object.as_ref().map(|r| r.sub_code), sub, "{story}: {:?}", done.result_object);
        let described = demo.verifier.describe_face_verify(&demo.intern, &id, now);
        assert_eq!(described.code.code(), if code == 200 { 200 } else { 424 }, "{story}");
    }
    let refused = demo.verifier.init_face_verify(&demo.service, &request("bad", "110101199003074478"), now);
    assert_eq!(refused.code.code(), 401);
    let denied = demo.verifier.init_face_verify(&demo.intern, &request("denied", PERSON_ID), now);
    assert_eq!(denied.code.code(), 411);
    let compare = CompareRequest {
        scene_id: Some(demo.compare_scene.get()),
        outer_order_no: Some("c1".into()),
        product_code: Some("PV_FC".into()),
        source: PhotoSources::bytes(selfie("obama.jpg").unwrap()),
        target: PhotoSources::bytes(selfie("obama3.jpg").unwrap()),
    };
    let compared = demo.verifier.compare_face_verify(&demo.service, &compare, now);
    assert!(compared.result_object.unwrap().passed);

    // Four ID_PRO verdicts (the refused photos are not completions) + one comparison.
    assert_eq!(demo.stores().unwrap().records.len(), 5);
    let day = BillingZone::CHINA.day_of(now);
    let usage = demo.stores().unwrap().ledger.meter.daily_usage(&demo.account, day);
    assert_eq!(usage.values().map(|u| u.counted).sum::<u64>(), 5);
    let mut issued = Vec::new();
    while let BillingStep::Issued { bills, .. } =
        demo.stores().unwrap().ledger.biller.poll(cst(24, 11)).unwrap()
    {
        issued.extend(bills);
    }
    let bill = issued.iter().find(|b| b.account == demo.account && b.day == day).unwrap();
    assert_eq!(bill.lines.iter().map(|l| l.counted).sum::<u64>(), 5);
    let stats = demo
        .stores()
        .unwrap()
        .records
        .statistics(&demo.account, demo.id_pro_scene, StatsRange::Last7Days, cst(24, 11))
        .unwrap();
    assert_eq!((stats.totals.passed, stats.totals.failed), (1, 3));
}
