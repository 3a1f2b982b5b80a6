//! The verification flow with a scripted face scorer (the photo bytes say what the
//! scorer answers), so every rule of the flow — check order, codes, exactly-once
//! completion, abandonment, identity outcomes, photo sources, deletion, snapshots — is
//! tested without models.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use shiren_billing::{Biller, BillingConfig, Rounding};
use shiren_catalog::{
    AccountId, BillingZone, CallCode, PACK_CATALOG, PackType, Pricing, ProductCode, ResidentId, Solution,
    SubCode,
};
use shiren_face::{MaterialInfo, Verdict, VerificationPolicy};
use shiren_meter::{Meter, SequentialIds as PackIds};
use shiren_ram::{Directory, PolicyType, Quotas, Target};
use shiren_records::{DeleteMode, DigestKey, InMemoryRecords, RecordStore};
use shiren_scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneId, SceneRegistry};
use shiren_verify::{
    CompareRequest, ContrastRequest, CounterIds, DeleteFailure, DirectoryPermissions, ExternalPhoto,
    FaceScorer, InMemoryAuthority, InMemoryPhotos, InMemorySessions, InMemoryStore, InitRequest, Ledger,
    LivenessRequest, PhotoRole, PhotoSources, Plugins, Refusal, Requester, SessionState, Stores, Verifier,
    VerifierConfig,
};

type TestStores = Stores<InMemoryRegistry, InMemoryRecords, Ledger, InMemorySessions>;

/// Answers from the selfie's bytes: `attack` → 205, `other` → 204 when compared,
/// `bad` → 419, `big` → 421; anything else passes. A reference `bad` is refused.
struct Scripted;

fn material(score: Option<f64>) -> MaterialInfo {
    MaterialInfo {
        quality_score: 90.0,
        verify_score: score,
        attack_model: "scripted".into(),
        ..MaterialInfo::default()
    }
}

impl FaceScorer for Scripted {
    fn check_photo(&self, photo: &[u8]) -> Result<(), Refusal> {
        match photo {
            b"bad" => Err(Refusal {
                role: PhotoRole::Reference,
                code: CallCode::ImageUnusable,
                message: "bad".into(),
            }),
            b"big" => Err(Refusal {
                role: PhotoRole::Reference,
                code: CallCode::ImageTooLarge,
                message: "big".into(),
            }),
            _ => Ok(()),
        }
    }

    fn score(
        &self,
        selfie: &[u8],
        reference: Option<&[u8]>,
        _: &VerificationPolicy,
    ) -> Result<Verdict, Refusal> {
        if let Err(mut r) = self.check_photo(selfie) {
            r.role = PhotoRole::Selfie;
            return Err(r);
        }
        if let Some(reference) = reference {
            self.check_photo(reference)?;
        }
        let (passed, sub_code, score) = match (selfie, reference) {
            (b"attack", _) => (false, SubCode::LIVENESS_RISK, Some(99.0)),
            (b"other", Some(_)) => (false, SubCode::FACE_MISMATCH, Some(30.0)),
            (_, r) => (true, SubCode::PASS, r.map(|_| 99.0)),
        };
        Ok(Verdict { passed, sub_code, material: material(score) })
    }
}

fn cst(d: u32, h: u32) -> DateTime<Utc> {
    BillingZone::CHINA
        .at(NaiveDate::from_ymd_opt(2026, 11, d).unwrap(), NaiveTime::from_hms_opt(h, 0, 0).unwrap())
}

const ALICE: &str = "110101199003074477";

struct World {
    v: Verifier<InMemoryStore<InMemoryRegistry, InMemoryRecords, Ledger, InMemorySessions>>,
    account: AccountId,
    admin: Requester,
    viewer: Requester,
    scenes: Vec<(ProductCode, SceneId)>,
}

impl World {
    fn stores(&self) -> std::sync::MutexGuard<'_, TestStores> {
        self.v.store.lock().unwrap()
    }

    fn session_count(&self) -> usize {
        use shiren_verify::SessionStore as _;
        self.stores().sessions.count().unwrap()
    }

    fn scene(&self, product: ProductCode) -> u64 {
        self.scenes.iter().find(|(p, _)| *p == product).unwrap().1.get()
    }
}

fn world() -> World {
    world_with(true)
}

fn world_with(funded: bool) -> World {
    let account = AccountId::new("1234567890123456").unwrap();
    let mut directory = Directory::new(account.as_str(), "acme", Quotas::default()).unwrap();
    directory.create_user("admin").unwrap();
    directory.create_user("viewer").unwrap();
    directory
        .attach_policy(Target::User("admin"), PolicyType::System, "AliyunAntCloudAuthFullAccess")
        .unwrap();
    directory
        .attach_policy(Target::User("viewer"), PolicyType::System, "AliyunAntCloudAuthReadOnlyAccess")
        .unwrap();
    let mut scenes = InMemoryRegistry::default();
    let mut ids = Vec::new();
    for (solution, product) in [
        (Solution::App, ProductCode::IdPro),
        (Solution::ServerSide, ProductCode::IdMin),
        (Solution::LivenessFaceVerification, ProductCode::PvFv),
        (Solution::FaceComparison, ProductCode::PvFc),
        (Solution::LivenessDetection, ProductCode::LrFrMin),
    ] {
        let scene = scenes
            .create(
                NewScene {
                    account,
                    name: format!("scene{}", ids.len() + 1),
                    solution,
                    product,
                    storage: PhotoStorage::DEFAULT,
                    mini_program: None,
                },
                cst(1, 9),
            )
            .unwrap();
        ids.push((product, scene.id));
    }
    scenes.authorize(&account, true);
    let config = BillingConfig::new(
        BillingZone::CHINA,
        NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        Rounding::TowardZero,
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    )
    .unwrap();
    let mut biller = Biller::new(config);
    biller.open_account(&account, Pricing::list()).unwrap();
    let mut meter = Meter::new(BillingZone::CHINA, PACK_CATALOG.to_vec());
    if funded {
        biller.top_up(&account, Decimal::from(100), cst(1, 9)).unwrap();
        meter
            .purchase(&account, PackType::RealPerson, 100, Decimal::ZERO, cst(1, 9), &mut PackIds::default())
            .unwrap();
    }
    let mut authority = InMemoryAuthority::default();
    authority.register(&ResidentId::parse(ALICE).unwrap(), "Alice", Some(Bytes::from_static(b"alice")));
    authority.register(&ResidentId::parse("110101199001011237").unwrap(), "NoPhoto", None);
    let mut photos = InMemoryPhotos::default();
    photos.insert(ExternalPhoto::Url("https://example.com/a.jpg".into()), Bytes::from_static(b"alice"));
    let plugins = Plugins {
        permissions: Box::new(DirectoryPermissions::new(account, &directory)),
        identities: Box::new(authority),
        faces: Box::new(Scripted),
        photos: Box::new(photos),
        ids: Box::new(CounterIds::default()),
    };
    let records = InMemoryRecords::new(DigestKey::new([7; 32]), BillingZone::CHINA);
    let stores =
        Stores { sessions: InMemorySessions::default(), scenes, records, ledger: Ledger { meter, biller } };
    let v = Verifier::new(InMemoryStore::new(stores), plugins, VerifierConfig::default());
    World {
        v,
        admin: Requester::ram_user(account, "admin"),
        viewer: Requester::ram_user(account, "viewer"),
        account,
        scenes: ids,
    }
}

fn id_pro(w: &World) -> InitRequest {
    InitRequest {
        scene_id: Some(w.scene(ProductCode::IdPro)),
        outer_order_no: Some("order1".into()),
        product_code: Some("ID_PRO".into()),
        cert_name: Some("Alice".into()),
        cert_no: Some(ALICE.into()),
        ..InitRequest::default()
    }
}

fn code<T>(r: &shiren_verify::ApiResponse<T>) -> u16 {
    r.code.code()
}

#[test]
fn init_checks_in_the_documented_order() {
    let w = world();
    let now = cst(23, 10);
    let ok = id_pro(&w);
    assert_eq!(code(&w.v.init_face_verify(&w.viewer, &ok, now)), 411, "read-only user");
    assert_eq!(code(&w.v.init_face_verify(&Requester::ram_user(w.account, "ghost"), &ok, now)), 411);
    let other_account = Requester::main_account(AccountId::new("999").unwrap());
    assert_eq!(code(&w.v.init_face_verify(&other_account, &ok, now)), 411, "not this directory's account");
    // 411 comes before parameter checks.
    assert_eq!(code(&w.v.init_face_verify(&w.viewer, &InitRequest::default(), now)), 411);
    let cases: Vec<(InitRequest, u16)> = vec![
        (InitRequest { scene_id: None, ..ok.clone() }, 400),
        (InitRequest { cert_no: None, ..ok.clone() }, 400),
        (InitRequest { product_code: Some("ID_MAX".into()), ..ok.clone() }, 401),
        (InitRequest { product_code: Some("ID_MIN".into()), ..ok.clone() }, 401), // wrong API
        (InitRequest { outer_order_no: Some("order-1".into()), ..ok.clone() }, 401),
        (InitRequest { cert_no: Some("110101199003074478".into()), ..ok.clone() }, 401), // check char
        (InitRequest { cert_type: Some("PASSPORT".into()), ..ok.clone() }, 401),
        (InitRequest { model: Some("BLINK_TWICE".into()), ..ok.clone() }, 401),
        (InitRequest { user_id: Some("u".repeat(101).into()), ..ok.clone() }, 401),
        (InitRequest { cert_no: Some("110101201601011230".into()), ..ok.clone() }, 405), // age 10
        (InitRequest { scene_id: Some(424_242), ..ok.clone() }, 404),
        (InitRequest { scene_id: Some(w.scene(ProductCode::PvFv)), ..ok.clone() }, 401), // product mismatch
        (
            InitRequest {
                face_contrast: PhotoSources {
                    picture: Some(Bytes::from_static(b"x").into()),
                    url: Some("u".into()),
                    ..PhotoSources::default()
                },
                ..ok.clone()
            },
            420,
        ),
    ];
    for (req, want) in cases {
        let r = w.v.init_face_verify(&w.admin, &req, now);
        assert_eq!(code(&r), want, "{req:?}: {}", r.message);
        assert!(!r.message.is_empty());
    }
    assert_eq!(w.session_count(), 0, "refused starts leave no session");
    let r = w.v.init_face_verify(&w.admin, &ok, now);
    assert_eq!(code(&r), 200, "{}", r.message);

    // 410: the account revokes its authorization.
    w.stores().scenes.revoke_authorization(&w.account);
    assert_eq!(code(&w.v.init_face_verify(&w.admin, &ok, now)), 410);
    w.stores().scenes.authorize(&w.account, true);
    // PV_FV: the comparison photo is required, checked (419/421), fetched (422).
    let pv_scene = w.scene(ProductCode::PvFv);
    let pv = |sources: PhotoSources| InitRequest {
        scene_id: Some(pv_scene),
        outer_order_no: Some("o2".into()),
        product_code: Some("PV_FV".into()),
        face_contrast: sources,
        ..InitRequest::default()
    };
    assert_eq!(code(&w.v.init_face_verify(&w.admin, &pv(PhotoSources::default()), now)), 400);
    assert_eq!(code(&w.v.init_face_verify(&w.admin, &pv(PhotoSources::bytes(&b"bad"[..])), now)), 419);
    assert_eq!(code(&w.v.init_face_verify(&w.admin, &pv(PhotoSources::bytes(&b"big"[..])), now)), 421);
    let missing =
        PhotoSources { url: Some("https://example.com/missing.jpg".into()), ..PhotoSources::default() };
    assert_eq!(code(&w.v.init_face_verify(&w.admin, &pv(missing), now)), 422);
    let known = PhotoSources { url: Some("https://example.com/a.jpg".into()), ..PhotoSources::default() };
    assert_eq!(code(&w.v.init_face_verify(&w.admin, &pv(known), now)), 200);
}

#[test]
fn overdue_accounts_get_412_until_they_top_up() {
    let w = world_with(false);
    let day = cst(22, 15);
    let id = w.v.init_face_verify(&w.admin, &id_pro(&w), day).result_object.unwrap().certify_id;
    assert_eq!(code(&w.v.complete_face_verify(&id.to_string(), b"alice", day)), 200);
    // Bills up to the 22nd are issued on the 23rd at 10:00; nothing pays the 1 CNY.
    while let shiren_billing::BillingStep::Issued { .. } = w.stores().ledger.biller.poll(cst(23, 11)).unwrap()
    {
    }
    let after = cst(23, 11);
    let r = w.v.init_face_verify(&w.admin, &id_pro(&w), after);
    assert_eq!(code(&r), 412, "{}", r.message);
    w.stores().ledger.biller.top_up(&w.account, Decimal::from(10), after).unwrap();
    assert_eq!(code(&w.v.init_face_verify(&w.admin, &id_pro(&w), after)), 200);
}

#[test]
fn completion_is_exactly_once_and_describe_follows_it() {
    let mut w = world();
    let now = cst(23, 10);
    let started = w.v.init_face_verify(&w.admin, &id_pro(&w), now);
    let id = started.result_object.unwrap().certify_id.to_string();
    let describe = |w: &mut World| w.v.describe_face_verify(&w.viewer.clone(), &id, now);
    assert_eq!(code(&describe(&mut w)), 424, "not completed yet");
    assert_eq!(code(&w.v.describe_face_verify(&w.admin, "00000000000000000000000000000000", now)), 406);
    assert_eq!(code(&w.v.describe_face_verify(&w.admin, "nonsense", now)), 406);
    // A refused selfie leaves the session pending.
    assert_eq!(code(&w.v.complete_face_verify(&id, b"bad", now)), 419);
    assert_eq!(code(&describe(&mut w)), 424);
    let first = w.v.complete_face_verify(&id, b"alice", now + Duration::minutes(1));
    assert_eq!(code(&first), 200);
    let result = first.result_object.clone().unwrap();
    assert!(result.passed && result.sub_code == SubCode::PASS);
    // Retries (even with another photo) return the same result and change nothing.
    for photo in [&b"alice"[..], b"attack", b"bad"] {
        let again = w.v.complete_face_verify(&id, photo, now + Duration::minutes(2));
        assert_eq!(again.result_object.as_ref(), Some(&result));
    }
    let described = describe(&mut w);
    assert_eq!(described.result_object.as_ref(), Some(&result));
    let day = BillingZone::CHINA.day_of(now);
    let usage = w.stores().ledger.meter.daily_usage(&w.account, day);
    assert_eq!(usage.values().map(|u| u.counted).sum::<u64>(), 1);
    assert_eq!(w.stores().records.len(), 1);
    // Another account cannot see it.
    let stranger = Requester::main_account(AccountId::new("999").unwrap());
    assert_eq!(code(&w.v.describe_face_verify(&stranger, &id, now)), 411);
}

#[test]
fn abandoned_sessions_are_never_billed() {
    let w = world();
    let now = cst(23, 10);
    let id = w.v.init_face_verify(&w.admin, &id_pro(&w), now).result_object.unwrap().certify_id;
    assert_eq!(w.v.expire_sessions(now + Duration::minutes(29)).unwrap(), 0);
    assert_eq!(w.v.expire_sessions(now + Duration::minutes(31)).unwrap(), 1);
    assert_eq!(w.v.session(id).unwrap().unwrap().state, SessionState::Abandoned);
    assert_eq!(code(&w.v.complete_face_verify(&id.to_string(), b"alice", now + Duration::minutes(32))), 406);
    assert_eq!(code(&w.v.describe_face_verify(&w.admin, &id.to_string(), now)), 424);
    // Expiry on completion, without a sweep.
    let late = w.v.init_face_verify(&w.admin, &id_pro(&w), now).result_object.unwrap().certify_id;
    assert_eq!(code(&w.v.complete_face_verify(&late.to_string(), b"alice", now + Duration::hours(1))), 406);
    assert!(w.stores().records.is_empty());
    assert!(w.stores().ledger.meter.usage().is_empty());
    // Ended sessions are forgotten after retention; pending ones stay.
    let pending =
        w.v.init_face_verify(&w.admin, &id_pro(&w), now + Duration::days(200)).result_object.unwrap();
    assert_eq!(w.v.forget_sessions_before(now + Duration::days(180)).unwrap(), 2);
    assert_eq!(w.session_count(), 1);
    assert!(w.v.session(pending.certify_id).unwrap().is_some());
    assert_eq!(code(&w.v.describe_face_verify(&w.admin, &id.to_string(), now)), 406);
}

#[test]
fn identity_outcomes_are_recorded_and_billable() {
    let w = world();
    let now = cst(23, 10);
    let cases = [
        ("Bob", ALICE, SubCode::NAME_ID_MISMATCH),
        ("Carol", "110101198001011232", SubCode::IDENTITY_NOT_FOUND),
        ("NoPhoto", "110101199001011237", SubCode::AUTHORITY_PHOTO_UNUSABLE),
        ("Alice", ALICE, SubCode::PASS),
    ];
    for (name, number, want) in cases {
        let req = InitRequest { cert_name: Some(name.into()), cert_no: Some(number.into()), ..id_pro(&w) };
        let r = w.v.init_face_verify(&w.admin, &req, now);
        assert_eq!(code(&r), 200, "{number}: {}", r.message);
        let id = r.result_object.unwrap().certify_id;
        let done = w.v.complete_face_verify(&id.to_string(), b"alice", now).result_object.unwrap();
        assert_eq!(done.sub_code, want, "{name}");
        assert_eq!(done.material_info.is_some(), want == SubCode::PASS);
    }
    assert_eq!(w.stores().records.len(), 4);
    let counted: u64 = w
        .stores()
        .ledger
        .meter
        .daily_usage(&w.account, BillingZone::CHINA.day_of(now))
        .values()
        .map(|u| u.counted)
        .sum();
    assert_eq!(counted, 4, "201–203 are billable");
}

#[test]
fn synchronous_products_and_photo_sources() {
    let w = world();
    let now = cst(23, 10);
    let contrast = ContrastRequest {
        scene_id: Some(w.scene(ProductCode::IdMin)),
        outer_order_no: Some("c1".into()),
        product_code: Some("ID_MIN".into()),
        cert_name: Some("Alice".into()),
        cert_no: Some(ALICE.into()),
        face_contrast: PhotoSources::bytes(&b"alice"[..]),
        ..ContrastRequest::default()
    };
    let r = w.v.contrast_face_verify(&w.admin, &contrast, now);
    assert_eq!(code(&r), 200, "{}", r.message);
    let passed_id = r.result_object.unwrap().certify_id;
    // A selfie the scorer refuses: 419, no session, nothing billed.
    let refused = ContrastRequest { face_contrast: PhotoSources::bytes(&b"bad"[..]), ..contrast.clone() };
    let before = w.session_count();
    assert_eq!(code(&w.v.contrast_face_verify(&w.admin, &refused, now)), 419);
    assert_eq!(w.session_count(), before);

    let fc_scene = w.scene(ProductCode::PvFc);
    let compare = |source: PhotoSources, target: PhotoSources| CompareRequest {
        scene_id: Some(fc_scene),
        outer_order_no: Some("p1".into()),
        product_code: Some("PV_FC".into()),
        source,
        target,
    };
    let mismatch = w.v.compare_face_verify(
        &w.admin,
        &compare(PhotoSources::bytes(&b"other"[..]), PhotoSources::bytes(&b"alice"[..])),
        now,
    );
    assert_eq!(mismatch.result_object.unwrap().sub_code, SubCode::FACE_MISMATCH);
    // A passed session's photo, by certify ID — kept only where the scene stores
    // images: not the server-side ID_MIN scene's (423), but a passed ID_PRO session's
    // of an APP scene.
    let by_id = PhotoSources { certify_id: Some(passed_id.to_string()), ..PhotoSources::default() };
    let r = w.v.compare_face_verify(&w.admin, &compare(PhotoSources::bytes(&b"alice"[..]), by_id), now);
    assert_eq!(code(&r), 423, "{}", r.message);
    assert!(w.v.session(passed_id).unwrap().unwrap().selfie.is_none());
    let app = w.v.init_face_verify(&w.admin, &id_pro(&w), now).result_object.unwrap().certify_id;
    assert_eq!(code(&w.v.complete_face_verify(&app.to_string(), b"alice", now)), 200);
    let by_id = PhotoSources { certify_id: Some(app.to_string()), ..PhotoSources::default() };
    let r = w.v.compare_face_verify(&w.admin, &compare(PhotoSources::bytes(&b"alice"[..]), by_id), now);
    assert_eq!(code(&r), 200, "{}", r.message);
    // A certify ID that did not pass: 423.
    let failed = w.v.init_face_verify(&w.admin, &id_pro(&w), now).result_object.unwrap().certify_id;
    let pending = PhotoSources { certify_id: Some(failed.to_string()), ..PhotoSources::default() };
    assert_eq!(
        code(&w.v.compare_face_verify(&w.admin, &compare(PhotoSources::bytes(&b"alice"[..]), pending), now)),
        423
    );
    assert_eq!(
        code(&w.v.compare_face_verify(
            &w.admin,
            &compare(PhotoSources::default(), PhotoSources::bytes(&b"a"[..])),
            now
        )),
        400
    );

    let liveness = LivenessRequest {
        scene_id: Some(w.scene(ProductCode::LrFrMin)),
        outer_order_no: Some("l1".into()),
        product_code: Some("LR_FR_MIN".into()),
        face_contrast: PhotoSources::bytes(&b"attack"[..]),
        ..LivenessRequest::default()
    };
    let r = w.v.liveness_face_verify(&w.admin, &liveness, now).result_object.unwrap();
    assert_eq!((r.passed, r.sub_code), (false, SubCode::LIVENESS_RISK));
    assert_eq!(code(&w.v.liveness_face_verify(&w.viewer, &liveness, now)), 411);
}

#[test]
fn delete_removes_personal_data_only() {
    let w = world();
    let now = cst(23, 10);
    let id = w.v.init_face_verify(&w.admin, &id_pro(&w), now).result_object.unwrap().certify_id;
    assert_eq!(
        code(&w.v.delete_face_verify_result(&w.admin, &id.to_string(), DeleteMode::Now, now)),
        424,
        "not completed"
    );
    w.v.complete_face_verify(&id.to_string(), b"alice", now);
    assert_eq!(code(&w.v.delete_face_verify_result(&w.viewer, &id.to_string(), DeleteMode::Now, now)), 411);
    // Not read yet: DeleteAfterQuery=Y deletes nothing.
    let r = w.v.delete_face_verify_result(&w.admin, &id.to_string(), DeleteMode::AfterQuery, now);
    assert_eq!(code(&r), 200, "{}", r.message);
    let result = r.result_object.unwrap();
    assert!(!result.deleted);
    assert_eq!(result.fail_reason, Some(DeleteFailure::NeedQueryVerifyResult));
    assert!(w.stores().records.get(&w.account, id, now).unwrap().personal.is_some());
    assert_eq!(code(&w.v.describe_face_verify(&w.admin, &id.to_string(), now)), 200);
    let r = w.v.delete_face_verify_result(&w.admin, &id.to_string(), DeleteMode::AfterQuery, now);
    assert_eq!(code(&r), 200, "{}", r.message);
    assert!(r.result_object.unwrap().deleted);
    let record = w.stores().records.get(&w.account, id, now).unwrap();
    assert!(record.personal.is_none() && record.passed);
    let session = w.v.session(id).unwrap().unwrap();
    assert!(session.selfie.is_none() && session.name.is_none() && session.id_number.is_none());
    // Deleting twice deletes nothing and says so.
    let again = w.v.delete_face_verify_result(&w.admin, &id.to_string(), DeleteMode::Now, now);
    assert_eq!(code(&again), 200);
    let again = again.result_object.unwrap();
    assert!(!again.deleted);
    assert_eq!(again.fail_reason, Some(DeleteFailure::NotDeleteRepeatedly));
}

#[test]
fn responses_have_the_cloud_shape_and_snapshots_round_trip() {
    let w = world();
    let now = cst(23, 10);
    let id = w.v.init_face_verify(&w.admin, &id_pro(&w), now).result_object.unwrap().certify_id;
    let done = w.v.complete_face_verify(&id.to_string(), b"alice", now);
    let json = serde_json::to_value(&done).unwrap();
    assert_eq!(json["Code"], "200");
    assert!(json["RequestId"].as_str().unwrap().len() == 36);
    assert_eq!(json["ResultObject"]["Passed"], "T");
    assert_eq!(json["ResultObject"]["SubCode"], "200");
    assert_eq!(json["ResultObject"]["CertifyId"], id.to_string());
    assert!(json["ResultObject"]["MaterialInfo"]["verifyScore"].is_number());
    let refused = serde_json::to_value(w.v.describe_face_verify(&w.viewer, "x", now)).unwrap();
    assert_eq!(refused["Code"], "406");
    assert!(refused.get("ResultObject").is_none());

    let snapshot = w.stores().sessions.snapshot();
    let text = serde_json::to_string(&snapshot).unwrap();
    let back: Vec<shiren_verify::Session> = serde_json::from_str(&text).unwrap();
    assert_eq!(snapshot, back);
    let restored = InMemorySessions::restore(back.clone(), 10).unwrap();
    assert_eq!(restored.snapshot(), snapshot);
    // A snapshot is input: duplicates and more than the limit are refused.
    let doubled = [back.clone(), back.clone()].concat();
    assert!(matches!(InMemorySessions::restore(doubled, 10), Err(shiren_verify::SessionError::Duplicate(_))));
    assert!(matches!(InMemorySessions::restore(back, 0), Err(shiren_verify::SessionError::Full(0))));
}

#[test]
fn signed_requests_authenticate_to_the_ram_user_then_ram_decides() {
    use shiren_auth::{AccessKeySecret, BoundedNonces, DirectoryKeys, SecretVault, signed_rpc_query};
    use shiren_verify::{RequestContext, Signer, authenticate_rpc};

    let account = AccountId::new("1234567890123456").unwrap();
    let mut directory = Directory::new(account.as_str(), "acme", Quotas::default()).unwrap();
    directory.create_user("viewer").unwrap();
    directory.create_access_key("viewer", "LTAIviewer", cst(1, 9)).unwrap();
    let mut vault = SecretVault::default();
    vault.insert("LTAIviewer", AccessKeySecret::new("viewer-secret".into()));
    let keys = DirectoryKeys { directory: &directory, vault: &vault };
    let mut nonces = BoundedNonces::new(1_000);
    let now = cst(23, 10);
    let params = [
        ("AccessKeyId", "LTAIviewer"),
        ("Action", "InitFaceVerify"),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "n-1"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2026-11-23T02:00:00Z"),
        ("Version", "2019-03-07"),
    ];
    let query = signed_rpc_query("POST", &params, &AccessKeySecret::new("viewer-secret".into()));
    let context =
        RequestContext { source_ip: Some("10.1.2.3".parse().unwrap()), secure_transport: Some(true) };
    let caller = authenticate_rpc(account, "POST", &query, &keys, &mut nonces, context, now).unwrap();
    assert_eq!(caller.signer, Signer::RamUser("viewer".into()));
    assert_eq!(caller.signed_action.as_deref(), Some("antcloudauth:InitFaceVerify"));
    assert_eq!(caller.context, context);
    // The same request again is a replay: an authentication error, not a 411.
    let replay = authenticate_rpc(account, "POST", &query, &keys, &mut nonces, context, now).unwrap_err();
    assert_eq!(replay.code(), "SignatureNonceUsed");
    // A wrong secret never reaches RAM.
    let forged = signed_rpc_query("POST", &params, &AccessKeySecret::new("guess".into()));
    let err = authenticate_rpc(account, "POST", &forged, &keys, &mut BoundedNonces::new(10), context, now)
        .unwrap_err();
    assert_eq!(err.code(), "SignatureDoesNotMatch");
    // The authenticated viewer has no policy: RAM denies InitFaceVerify with 411.
    let w = world();
    let r = w.v.init_face_verify(&caller, &id_pro(&w), now);
    assert_eq!(code(&r), 411);
    // A request signed for InitFaceVerify cannot be used for another operation, even
    // by a user allowed everything.
    let admin = Requester { signed_action: caller.signed_action.clone(), ..w.admin.clone() };
    let r = w.v.describe_face_verify(&admin, "00000000000000000000000000000000", now);
    assert_eq!(code(&r), 411);
    assert!(r.message.contains("signed for `antcloudauth:InitFaceVerify`"), "{}", r.message);
    assert_eq!(code(&w.v.init_face_verify(&admin, &id_pro(&w), now)), 200, "its own operation is fine");
}

#[test]
fn request_context_reaches_ram_conditions() {
    use shiren_verify::{Permissions, RequestContext};

    let account = AccountId::new("1234567890123456").unwrap();
    let mut directory = Directory::new(account.as_str(), "acme", Quotas::default()).unwrap();
    directory.create_user("office").unwrap();
    let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"antcloudauth:*","Resource":"*",
        "Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"},"Bool":{"acs:SecureTransport":"true"},
        "DateLessThan":{"acs:CurrentTime":"2026-12-01T00:00:00Z"}}}]}"#;
    directory.create_policy("office-only", policy).unwrap();
    directory.attach_policy(Target::User("office"), PolicyType::Custom, "office-only").unwrap();
    let permissions = DirectoryPermissions::new(account, &directory);
    let office = |ip: &str, secure: Option<bool>| {
        Requester::ram_user(account, "office")
            .with_context(RequestContext { source_ip: Some(ip.parse().unwrap()), secure_transport: secure })
    };
    let init = shiren_verify::actions::INIT;
    assert!(permissions.allows(&office("10.9.8.7", Some(true)), init, cst(23, 10)));
    assert!(
        !permissions.allows(&office("192.168.1.1", Some(true)), init, cst(23, 10)),
        "outside the network"
    );
    assert!(!permissions.allows(&office("10.9.8.7", Some(false)), init, cst(23, 10)), "plain HTTP");
    assert!(
        !permissions.allows(&office("10.9.8.7", None), init, cst(23, 10)),
        "transport unknown: fail closed"
    );
    assert!(!permissions.allows(&Requester::ram_user(account, "office"), init, cst(23, 10)), "no context");
    let december = BillingZone::CHINA
        .at(NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), NaiveTime::from_hms_opt(10, 0, 0).unwrap());
    assert!(!permissions.allows(&office("10.9.8.7", Some(true)), init, december), "after the policy's end");
}
