//! The whole service in one run: `cargo run --release --example kyc_demo`.
//!
//! Sets up a bank's account (two RAM users, two scenes, a free traffic pack, a balance,
//! an identity authority holding one person), runs the verification stories — genuine,
//! impostor, synthetic print attack, masked face, too small a photo, malformed ID
//! number, unauthorized user, a two-photo comparison — prints every response as the
//! API would return it, then issues the daily bills and prints the statement and the
//! 7-day statistics. The person's photos are completed on two worker threads through
//! the staged API (begin → fulfil the needs → commit), sharing one verifier. Needs the
//! pinned models: `bash scripts/fetch-models.sh`.
#![allow(clippy::disallowed_methods, reason = "an example is edge code: it reads the model cache")]

#[path = "../tests/support/mod.rs"]
mod support;

use anyhow::Context as _;
use bytes::Bytes;
use serde::Serialize;
use shiren::billing::BillingStep;
use shiren::face::synthetic::{PrintParams, SyntheticAttack, SyntheticOcclusion};
use shiren::face::{FaceModels, PhotoRules};
use shiren::records::{RecordStore, StatsRange};
use shiren::verify::{ApiResponse, CompareRequest, FaceModelScorer, InitRequest, PhotoSources, VerifyResult};
use support::{PERSON_ID, PERSON_NAME, cst, jpeg, models, raw_photo, selfie, selfie_image};

fn main() {
    if let Err(err) = try_main() {
        eprintln!("kyc_demo: {err:#}");
        std::process::exit(1);
    }
}

fn show<T: Serialize>(story: &str, response: &T) -> anyhow::Result<()> {
    println!("\n## {story}\n{}", serde_json::to_string_pretty(response)?);
    Ok(())
}

fn try_main() -> anyhow::Result<()> {
    let scorer = FaceModelScorer { models: models()?, rules: PhotoRules::default() };
    let authority_photo = jpeg(&selfie_image("obama.jpg")?)?;
    let demo = support::demo(Box::new(scorer), Bytes::from(authority_photo))?;
    let now = cst(23, 10);
    let (service, intern) = (demo.service.clone(), demo.intern.clone());
    let scene = demo.id_pro_scene.get();
    let request = |order: &str, cert_no: &str| InitRequest {
        scene_id: Some(scene),
        outer_order_no: Some(order.to_owned()),
        product_code: Some("ID_PRO".to_owned()),
        model: Some("MOVE_ACTION".to_owned()),
        cert_type: Some("IDENTITY_CARD".to_owned()),
        cert_name: Some(PERSON_NAME.into()),
        cert_no: Some(cert_no.into()),
        ..InitRequest::default()
    };

    // Synthetic attack and occlusion material, made from the genuine selfie's landmarks.
    let analyst: FaceModels = models()?;
    let genuine = selfie_image("obama2.jpg")?;
    let marks = analyst.analyze_image(&genuine).context("the genuine selfie has a face")?.landmarks;
    let other = selfie_image("obama3.jpg")?;
    let other_marks = analyst.analyze_image(&other).context("the second selfie has a face")?.landmarks;
    let print = PrintParams::TRAINING;
    let stories: Vec<(&str, Vec<u8>)> = vec![
        ("genuine: the registered person", selfie("obama2.jpg")?),
        ("impostor: someone else with the same ID number", selfie("biden.jpg")?),
        (
            "synthetic print attack (labelled synthetic)",
            jpeg(&SyntheticAttack::Print(print).apply(&genuine, &marks))?,
        ),
        (
            "masked face (synthetic occlusion)",
            jpeg(&SyntheticOcclusion::Mask([150, 190, 220]).apply(&other, &other_marks))?,
        ),
        (
            "too small a photo (320×240)",
            jpeg(&image::imageops::resize(
                &raw_photo("obama.jpg")?,
                320,
                240,
                image::imageops::FilterType::Triangle,
            ))?,
        ),
    ];
    // Start every session here; then two workers complete them, each running the
    // face pipeline on its own core while the other one's bookkeeping is locked.
    let mut started_sessions = Vec::new();
    for (i, (story, photo)) in stories.into_iter().enumerate() {
        let started =
            demo.verifier.init_face_verify(&service, &request(&format!("order{i}"), PERSON_ID), now);
        match &started.result_object {
            Some(init) => started_sessions.push((story, init.certify_id.to_string(), photo)),
            None => show(story, &started)?,
        }
    }
    let verifier = &demo.verifier;
    let completed: Vec<ApiResponse<VerifyResult>> = std::thread::scope(|s| {
        let workers: Vec<_> = [0, 1]
            .map(|worker| {
                let mine: Vec<_> = started_sessions.iter().enumerate().skip(worker).step_by(2).collect();
                s.spawn(move || {
                    mine.into_iter()
                        .map(|(i, (_, id, photo))| {
                            let mut pending = verifier.begin_complete(id, photo.clone(), now);
                            verifier.plugins().fulfil(&mut pending); // the face pipeline, unlocked
                            (i, verifier.commit(pending, now))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .into_iter()
            .collect();
        let mut done: Vec<(usize, ApiResponse<VerifyResult>)> =
            workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect();
        done.sort_by_key(|(i, _)| *i); // back in the order the sessions started
        done.into_iter().map(|(_, response)| response).collect()
    });
    anyhow::ensure!(completed.len() == started_sessions.len(), "a worker thread failed");
    for ((story, id, _), completed) in started_sessions.iter().zip(&completed) {
        if !completed.is_success() {
            show(&format!("{story} — the client's submission"), completed)?;
            continue;
        }
        let described: ApiResponse<VerifyResult> = demo.verifier.describe_face_verify(&service, id, now);
        show(&format!("{story} — DescribeFaceVerify"), &described)?;
    }
    show(
        "malformed ID number (check character wrong)",
        &demo.verifier.init_face_verify(&service, &request("order8", "110101199003074478"), now),
    )?;
    show(
        "unauthorized user (ReadOnly only) calling InitFaceVerify",
        &demo.verifier.init_face_verify(&intern, &request("order9", PERSON_ID), now),
    )?;
    let compare = CompareRequest {
        scene_id: Some(demo.compare_scene.get()),
        outer_order_no: Some("compare1".to_owned()),
        product_code: Some("PV_FC".to_owned()),
        source: PhotoSources::bytes(selfie("obama.jpg")?),
        target: PhotoSources::bytes(selfie("obama3.jpg")?),
    };
    show(
        "two photos of the same person (CompareFaceVerify)",
        &demo.verifier.compare_face_verify(&service, &compare, now),
    )?;

    // The next morning the daily bills are issued.
    println!("\n## daily bills");
    let mut stores = demo.stores()?;
    while let BillingStep::Issued { day, bills } = stores.ledger.biller.poll(cst(24, 11))? {
        for bill in bills.iter().filter(|b| b.account == demo.account) {
            println!("{day}: {}", serde_json::to_string(bill)?);
        }
    }
    let statement = stores.ledger.biller.statement(&demo.account, 2026, 11)?;
    println!("\n## statement 2026-11\n{}", serde_json::to_string_pretty(&statement)?);
    println!("balance: {} CNY", stores.ledger.biller.balance(&demo.account, cst(24, 11))?);
    for scene in [demo.id_pro_scene, demo.compare_scene] {
        let stats = stores.records.statistics(&demo.account, scene, StatsRange::Last7Days, cst(24, 11))?;
        println!("\n## 7-day statistics, scene {scene}\n{}", serde_json::to_string_pretty(&stats)?);
    }
    Ok(())
}
