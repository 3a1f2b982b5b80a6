//! Personal data never leaks (#20): every public type that holds a name, an ID number,
//! a user ID or a photo is built with known marker values, printed with `{:?}` and `{}`,
//! serialized with serde_json, and every error and refusal on the way is rendered; the
//! test fails if a marker appears unmasked anywhere it may not.
//!
//! Where a serialized form keeps a personal value on purpose, the test says so and
//! checks that it is exactly there and nowhere else:
//! - the requests serialize to their wire form (what the client sends the service);
//! - a *pending* session keeps the name, the full ID number, the user ID and the
//!   comparison photo (the identity authority and the record need them), and a passed
//!   session of a scene that stores images keeps its selfie;
//! - a record keeps the user ID in full (the customer's key to the person) until the
//!   record's personal data is deleted; its name and ID number are only masked.
//!
//! After `DeleteFaceVerifyResult`, nothing personal is left in the session, the record
//! or any snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use shiren::auth::{AccessKeySecret, AuthError, BoundedNonces, DirectoryKeys, SecretVault};
use shiren::billing::{Biller, BillingConfig, Rounding};
use shiren::catalog::{
    AccountId, BillingZone, CertNo, CertifyId, OuterOrderNo, PACK_CATALOG, PackType, PersonName, Photo,
    Pricing, ProductCode, ResidentId, Solution, SubCode, UserId,
};
use shiren::meter::{Meter, SequentialIds as PackIds, UsageEvent};
use shiren::ram::{Directory, PolicyType, Quotas, Target};
use shiren::records::{DigestKey, InMemoryRecords, NewRecord, RecordStore, Scores};
use shiren::scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneId, SceneRegistry};
use shiren::verify::{
    Answer, ApiResponse, CompareRequest, Completion, ContrastRequest, CounterIds, DirectoryPermissions,
    ExternalPhoto, FixedScorer, IdentityCheck, InMemoryAuthority, InMemoryPhotos, InMemorySessions,
    InMemoryStore, InitRequest, Ledger, LivenessRequest, Need, Pending, PhotoSources, Plugins, Requester,
    Session, SessionState, StoreError, Stores, Verifier, VerifierConfig,
};

/// A valid resident ID number (its check character is right) that nothing else holds.
const ID: &str = "320582198706110731";
/// A distinctive name.
const NAME: &str = "Markername Zhangsan";
/// A distinctive user ID.
const USER: &str = "uid-marker-77310";
/// A distinctive selfie.
const SELFIE: &[u8] = b"SELFIE-MARKER-c0ffee-selfie-bytes";
/// A distinctive comparison photo.
const REFERENCE: &[u8] = b"REFERENCE-MARKER-beef-reference-bytes";
/// A distinctive authority portrait.
const PORTRAIT: &[u8] = b"PORTRAIT-MARKER-f00d-authority-bytes";
/// A photo URL naming the person and carrying a signature.
const URL: &str = "https://photos.example.com/people/uid-marker-77310/face.jpg?Signature=SIGMARKER";

/// Every way a personal value could show: in full, in part (the birth date, the
/// name's tail), and photo bytes as text, as a JSON byte array and in Base64.
fn forbidden() -> Vec<(String, &'static str)> {
    let mut all = vec![
        (ID.to_owned(), "the ID number"),
        ("19870611".to_owned(), "the ID number's birth date"),
        ("arkername".to_owned(), "the name"),
        ("Zhangsan".to_owned(), "the name"),
        ("marker-77310".to_owned(), "the user ID"),
        ("SIGMARKER".to_owned(), "a URL's query"),
        ("face.jpg".to_owned(), "a URL's path"),
    ];
    for photo in [SELFIE, REFERENCE, PORTRAIT] {
        let text = String::from_utf8_lossy(photo.get(..14).unwrap_or(photo)).into_owned();
        let array = photo.iter().take(8).map(u8::to_string).collect::<Vec<_>>().join(",");
        all.push((text, "photo bytes"));
        all.push((array, "photo bytes as a JSON array"));
    }
    all
}

/// Fails if any marker shows in `text` (except those `allowed` says may).
#[track_caller]
fn assert_clean_except(what: &str, text: &str, allowed: &[&str]) {
    for (marker, kind) in forbidden() {
        if allowed.contains(&kind) {
            continue;
        }
        assert!(!text.contains(&marker), "{what} shows {kind} (`{marker}`):\n{text}");
    }
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    assert_clean_except(what, text, &[]);
}

/// `{:?}` and `{:#?}` of a value.
#[track_caller]
fn assert_debug_clean(what: &str, value: &impl std::fmt::Debug) {
    assert_clean(what, &format!("{value:?}"));
    assert_clean(what, &format!("{value:#?}"));
}

/// `{}` and `{:?}` of a value.
#[track_caller]
fn assert_printing_clean(what: &str, value: &(impl std::fmt::Debug + std::fmt::Display)) {
    assert_clean(what, &value.to_string());
    assert_debug_clean(what, value);
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap()
}

fn cst(d: u32, h: u32) -> DateTime<Utc> {
    BillingZone::CHINA
        .at(NaiveDate::from_ymd_opt(2026, 11, d).unwrap(), NaiveTime::from_hms_opt(h, 0, 0).unwrap())
}

type World = Verifier<InMemoryStore<InMemoryRegistry, InMemoryRecords, Ledger, InMemorySessions>>;

struct Scenes {
    /// ID_PRO under APP, storing images.
    storing: SceneId,
    /// ID_PRO under APP, storage setting off.
    not_storing: SceneId,
    /// PV_FV.
    pv_fv: SceneId,
    /// ID_MIN.
    id_min: SceneId,
    /// PV_FC.
    pv_fc: SceneId,
    /// LR_FR_MIN.
    lr_fr_min: SceneId,
}

fn account() -> AccountId {
    AccountId::new("1234567890123456").unwrap()
}

fn admin() -> Requester {
    Requester::ram_user(account(), "admin")
}

fn world() -> (World, Scenes) {
    let account = account();
    let mut directory = Directory::new(account.as_str(), "acme", Quotas::default()).unwrap();
    directory.create_user("admin").unwrap();
    directory
        .attach_policy(Target::User("admin"), PolicyType::System, "AliyunAntCloudAuthFullAccess")
        .unwrap();
    let mut registry = InMemoryRegistry::default();
    let mut scene = |name: &str, solution, product, store_image| {
        let storage = PhotoStorage { store_image, ..PhotoStorage::DEFAULT };
        let new = NewScene { account, name: name.into(), solution, product, storage, mini_program: None };
        registry.create(new, cst(1, 9)).unwrap().id
    };
    let scenes = Scenes {
        storing: scene("storing", Solution::App, ProductCode::IdPro, true),
        not_storing: scene("not-storing", Solution::App, ProductCode::IdPro, false),
        pv_fv: scene("pv-fv", Solution::LivenessFaceVerification, ProductCode::PvFv, true),
        id_min: scene("id-min", Solution::ServerSide, ProductCode::IdMin, true),
        pv_fc: scene("pv-fc", Solution::FaceComparison, ProductCode::PvFc, true),
        lr_fr_min: scene("lr-fr-min", Solution::LivenessDetection, ProductCode::LrFrMin, true),
    };
    registry.authorize(&account, true);
    let config = BillingConfig::new(
        BillingZone::CHINA,
        NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        Rounding::TowardZero,
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    )
    .unwrap();
    let mut biller = Biller::new(config);
    biller.open_account(&account, Pricing::list()).unwrap();
    biller.top_up(&account, Decimal::from(100), cst(1, 9)).unwrap();
    let mut meter = Meter::new(BillingZone::CHINA, PACK_CATALOG.to_vec());
    meter
        .purchase(&account, PackType::RealPerson, 100, Decimal::ZERO, cst(1, 9), &mut PackIds::default())
        .unwrap();
    let mut authority = InMemoryAuthority::default();
    authority.register(&ResidentId::parse(ID).unwrap(), NAME, Some(Bytes::from_static(PORTRAIT)));
    let mut photos = InMemoryPhotos::default();
    photos.insert(ExternalPhoto::Url(URL.into()), Bytes::from_static(REFERENCE));
    assert_debug_clean("InMemoryAuthority", &authority);
    assert_debug_clean("InMemoryPhotos", &photos);
    let plugins = Plugins {
        permissions: Box::new(DirectoryPermissions::new(account, &directory)),
        identities: Box::new(authority),
        faces: Box::new(FixedScorer),
        photos: Box::new(photos),
        ids: Box::new(CounterIds::default()),
    };
    let records = InMemoryRecords::new(DigestKey::new([9; 32]), BillingZone::CHINA);
    let stores = Stores {
        sessions: InMemorySessions::default(),
        scenes: registry,
        records,
        ledger: Ledger { meter, biller },
    };
    (Verifier::new(InMemoryStore::new(stores), plugins, VerifierConfig::default()), scenes)
}

fn init(scene: SceneId, order: &str) -> InitRequest {
    InitRequest {
        scene_id: Some(scene.get()),
        outer_order_no: Some(order.into()),
        product_code: Some("ID_PRO".into()),
        cert_type: Some("IDENTITY_CARD".into()),
        cert_name: Some(NAME.into()),
        cert_no: Some(ID.into()),
        user_id: Some(USER.into()),
        ..InitRequest::default()
    }
}

/// Every snapshot the world can give, as one text: sessions, records, and `Debug` of
/// the whole verifier.
fn snapshots(v: &World) -> (String, String, String) {
    let stores = v.store.lock().unwrap();
    let sessions = json(&stores.sessions.snapshot());
    let records = json(&stores.records.snapshot());
    drop(stores);
    (sessions, records, format!("{v:?}"))
}

#[test]
fn the_wrappers_mask_and_keep_the_value_for_persistence() {
    let id = ResidentId::parse(ID).unwrap();
    assert_printing_clean("ResidentId", &id);
    assert_printing_clean("PersonName", &PersonName::from(NAME));
    assert_printing_clean("UserId", &UserId::from(USER));
    assert_printing_clean("CertNo", &CertNo::from(ID));
    assert_printing_clean("CertNo (malformed)", &CertNo::from("32058219870611073"));
    assert_printing_clean("Photo", &Photo::from(SELFIE));
    // Serde is what persistence needs: the full value, round-tripping exactly.
    assert_eq!(json(&id), format!("\"{ID}\""));
    assert_eq!(serde_json::from_str::<ResidentId>(&json(&id)).unwrap(), id);
    let name = PersonName::from(NAME);
    assert_eq!(serde_json::from_str::<PersonName>(&json(&name)).unwrap(), name);
    let photo = Photo::from(SELFIE);
    assert_eq!(serde_json::from_str::<Photo>(&json(&photo)).unwrap(), photo);
}

#[test]
fn requests_are_masked_when_printed_and_keep_their_wire_form() {
    let (_, scenes) = world();
    let with_url = PhotoSources { url: Some(URL.into()), ..PhotoSources::default() };
    let pv_fv = InitRequest {
        product_code: Some("PV_FV".into()),
        face_contrast: PhotoSources::bytes(REFERENCE),
        ..init(scenes.pv_fv, "r1")
    };
    let contrast = ContrastRequest {
        scene_id: Some(scenes.id_min.get()),
        outer_order_no: Some("r2".into()),
        product_code: Some("ID_MIN".into()),
        cert_type: None,
        cert_name: Some(NAME.into()),
        cert_no: Some(ID.into()),
        user_id: Some(USER.into()),
        face_contrast: PhotoSources::bytes(SELFIE),
    };
    let compare = CompareRequest {
        scene_id: Some(scenes.pv_fc.get()),
        outer_order_no: Some("r3".into()),
        product_code: Some("PV_FC".into()),
        source: PhotoSources::bytes(SELFIE),
        target: with_url.clone(),
    };
    let liveness = LivenessRequest {
        scene_id: Some(scenes.lr_fr_min.get()),
        outer_order_no: Some("r4".into()),
        product_code: Some("LR_FR_MIN".into()),
        user_id: Some(USER.into()),
        face_contrast: PhotoSources {
            oss_object: Some(("bucket".into(), "people/uid-marker-77310/face.jpg".into())),
            ..PhotoSources::default()
        },
    };
    assert_debug_clean("InitRequest", &pv_fv);
    assert_debug_clean("ContrastRequest", &contrast);
    assert_debug_clean("CompareRequest", &compare);
    assert_debug_clean("LivenessRequest", &liveness);
    assert_debug_clean("PhotoSources", &with_url);
    assert_debug_clean("ExternalPhoto", &ExternalPhoto::Url(URL.into()));
    assert_debug_clean("ExternalPhoto", &ExternalPhoto::Object("b".into(), "uid-marker-77310".into()));
    assert!(format!("{with_url:?}").contains("https://photos.example.com/…"), "{with_url:?}");
    // The wire form: the full values, with the cloud's names, round-tripping exactly.
    let wire = json(&contrast);
    assert!(wire.contains(&format!("\"CertNo\":\"{ID}\"")) && wire.contains(NAME), "{wire}");
    assert_eq!(serde_json::from_str::<ContrastRequest>(&wire).unwrap(), contrast);
    assert_eq!(serde_json::from_str::<InitRequest>(&json(&pv_fv)).unwrap(), pv_fv);
}

#[test]
fn refusals_and_store_errors_never_quote_personal_data() {
    let (v, scenes) = world();
    let now = cst(23, 10);
    let bad_check = "320582198706110732";
    let long_name = format!("{NAME}{}", "x".repeat(80));
    let long_user = format!("{USER}{}", "y".repeat(100));
    let cases = [
        InitRequest { cert_no: Some(bad_check.into()), ..init(scenes.storing, "e1") },
        InitRequest { cert_no: Some(format!("{ID}0").into()), ..init(scenes.storing, "e2") },
        InitRequest { cert_no: Some("32058219871311073X".into()), ..init(scenes.storing, "e3") },
        InitRequest { cert_name: Some(long_name.into()), ..init(scenes.storing, "e4") },
        InitRequest { user_id: Some(long_user.into()), ..init(scenes.storing, "e5") },
        InitRequest { cert_type: Some(NAME.into()), ..init(scenes.storing, "e6") },
        InitRequest { product_code: Some("PV_FC".into()), ..init(scenes.storing, "e7") },
    ];
    for request in &cases {
        let response = v.init_face_verify(&admin(), request, now);
        assert!(!response.is_success(), "{request:?}");
        assert_clean_except("a refusal", &response.message, &["the ID number's birth date"]);
        assert!(!response.message.contains(bad_check) && !response.message.contains(ID));
        assert_clean("a refusal", &json(&response));
        assert_debug_clean("a refusal", &response);
    }
    // A completed session: the store's refusal to complete it again names it only.
    let id = v.init_face_verify(&admin(), &init(scenes.storing, "e8"), now).result_object.unwrap().certify_id;
    assert!(v.complete_face_verify(&id.to_string(), SELFIE, now).is_success());
    let pending = v.store.lock().unwrap().sessions.snapshot();
    let session = pending.into_iter().find(|s| s.certify_id == id).unwrap();
    let error = StoreError::NotPending(Box::new(session));
    assert_printing_clean("StoreError", &error);
}

/// Runs a pending operation need by need, checking `Debug` of the pending operation,
/// each need and each answer.
fn fulfil_checked<T: std::fmt::Debug>(v: &World, pending: &mut Pending<T>) {
    loop {
        assert_debug_clean("Pending", pending);
        let Some(need) = pending.need() else { break };
        assert_debug_clean("Need", &need);
        let plugins = v.plugins();
        let answer = match need {
            Need::Photo(photo) => Answer::Photo(plugins.photos.fetch(photo)),
            Need::CheckPhoto(photo) => Answer::PhotoChecked(plugins.faces.check_photo(photo.expose())),
            Need::Identity { name, id } => {
                let check = plugins.identities.check(name, id);
                assert_debug_clean("IdentityCheck", &check);
                Answer::Identity(check)
            }
            Need::Score { selfie, reference, policy } => {
                Answer::Scored(plugins.faces.score(selfie.expose(), reference.map(Photo::expose), policy))
            }
        };
        assert_debug_clean("Answer", &answer);
        pending.supply(answer).unwrap();
    }
}

#[test]
fn sessions_keep_personal_data_only_while_pending_and_photos_only_as_the_scene_allows() {
    let (v, scenes) = world();
    let now = cst(23, 10);
    let mut init_pending = v.begin_init(&admin(), &init(scenes.storing, "s1"), now);
    fulfil_checked(&v, &mut init_pending);
    let stored = v.commit_init(init_pending, now).result_object.unwrap().certify_id;
    let id_not_storing =
        v.init_face_verify(&admin(), &init(scenes.not_storing, "s2"), now).result_object.unwrap().certify_id;
    let pv_fv = InitRequest {
        product_code: Some("PV_FV".into()),
        face_contrast: PhotoSources { url: Some(URL.into()), ..PhotoSources::default() },
        ..init(scenes.pv_fv, "s3")
    };
    let mut pv_pending = v.begin_init(&admin(), &pv_fv, now);
    fulfil_checked(&v, &mut pv_pending);
    let id_pv_fv = v.commit_init(pv_pending, now).result_object.unwrap().certify_id;

    // Pending: the name, the full ID number, the user ID and the comparison photo are
    // kept — in the serialized form too, which round-trips exactly — but never printed.
    for id in [stored, id_not_storing, id_pv_fv] {
        let session = v.session(id).unwrap().unwrap();
        assert_eq!(session.state, SessionState::Pending);
        assert!(session.user_id.is_some());
        let identity = session.product.checks_identity();
        assert_eq!(session.name.is_some() && session.id_number.is_some(), identity, "{:?}", session.product);
        assert_debug_clean("a pending Session", &session);
        let text = json(&session);
        assert!(text.contains(USER) && (!identity || (text.contains(ID) && text.contains(NAME))), "{text}");
        assert_eq!(serde_json::from_str::<Session>(&text).unwrap(), session);
    }
    assert!(v.session(id_pv_fv).unwrap().unwrap().reference.is_some());
    let (_, _, verifier) = snapshots(&v);
    assert_clean("Debug of the Verifier", &verifier);

    // Completion, need by need.
    for id in [stored, id_not_storing, id_pv_fv] {
        let mut pending = v.begin_complete(&id.to_string(), Photo::from(SELFIE.to_vec()), now);
        fulfil_checked(&v, &mut pending);
        let done = v.commit(pending, now);
        assert!(done.is_success() && done.result_object.as_ref().unwrap().passed, "{}", done.message);
    }
    // Completed: nothing personal is left in the sessions but the selfies of the passed
    // sessions of scenes storing images (ID_PRO under APP with storage on, PV_FV); the
    // comparison photo is gone; the records hold the name and the ID number only
    // masked (and the user ID).
    let array = |photo: &[u8]| photo.iter().take(8).map(u8::to_string).collect::<Vec<_>>().join(",");
    for id in [stored, id_pv_fv] {
        let kept = v.session(id).unwrap().unwrap();
        assert_eq!(kept.selfie.as_ref().map(Photo::expose), Some(SELFIE));
        assert!(kept.name.is_none() && kept.id_number.is_none() && kept.user_id.is_none());
        assert_eq!(kept.reference, None);
        assert_clean_except("a completed Session", &json(&kept), &["photo bytes as a JSON array"]);
    }
    let not_kept = v.session(id_not_storing).unwrap().unwrap();
    assert_eq!(not_kept.selfie, None, "the scene's storage setting is off");
    assert_clean("a completed Session", &json(&not_kept));
    let (sessions, records, verifier) = snapshots(&v);
    assert_clean_except("the sessions snapshot", &sessions, &["photo bytes as a JSON array"]);
    assert_eq!(sessions.matches(&array(SELFIE)).count(), 2);
    assert!(!sessions.contains(&array(REFERENCE)) && !sessions.contains(&array(PORTRAIT)));
    assert_clean_except("the records snapshot", &records, &["the user ID"]);
    assert!(records.contains("320***********0731") && records.contains("\"name\":\"M******************\""));
    assert_clean("Debug of the Verifier", &verifier);
    let restored: Vec<Session> = serde_json::from_str(&sessions).unwrap();
    assert_eq!(restored, v.store.lock().unwrap().sessions.snapshot(), "what is kept round-trips exactly");

    // DeleteFaceVerifyResult: nothing personal anywhere.
    for id in [stored, id_not_storing, id_pv_fv] {
        let deleted =
            v.delete_face_verify_result(&admin(), &id.to_string(), shiren::records::DeleteMode::Now, now);
        assert!(deleted.is_success(), "{}", deleted.message);
    }
    let (sessions, records, verifier) = snapshots(&v);
    assert_clean("the sessions snapshot after deletion", &sessions);
    assert_clean("the records snapshot after deletion", &records);
    assert!(!records.contains("320***********0731") && !records.contains(USER));
    assert_clean("Debug of the Verifier after deletion", &verifier);
    assert!(v.session(stored).unwrap().unwrap().selfie.is_none());
}

#[test]
fn abandoned_and_synchronous_sessions_keep_nothing_personal() {
    let (v, scenes) = world();
    let now = cst(23, 10);
    let abandoned =
        v.init_face_verify(&admin(), &init(scenes.storing, "a1"), now).result_object.unwrap().certify_id;
    assert_eq!(v.expire_sessions(now + chrono::Duration::hours(1)).unwrap(), 1);
    let session = v.session(abandoned).unwrap().unwrap();
    assert_eq!(session.state, SessionState::Abandoned);
    assert!(session.name.is_none() && session.id_number.is_none() && session.user_id.is_none());
    // A session marked abandoned by hand (as a database store does) serializes clean.
    let by_hand = v.init_face_verify(&admin(), &init(scenes.storing, "a2"), now).result_object.unwrap();
    let mut session = v.session(by_hand.certify_id).unwrap().unwrap();
    session.state = SessionState::Abandoned;
    assert_clean("an abandoned Session", &json(&session));
    // ContrastFaceVerify (ID_MIN): a server-side scene stores no images.
    let contrast = ContrastRequest {
        scene_id: Some(scenes.id_min.get()),
        outer_order_no: Some("a3".into()),
        product_code: Some("ID_MIN".into()),
        cert_type: None,
        cert_name: Some(NAME.into()),
        cert_no: Some(ID.into()),
        user_id: Some(USER.into()),
        face_contrast: PhotoSources::bytes(SELFIE),
    };
    let mut pending = v.begin_contrast(&admin(), &contrast, now);
    fulfil_checked(&v, &mut pending);
    let done: ApiResponse<_> = v.commit(pending, now);
    assert!(done.is_success(), "{}", done.message);
    let id = done.result_object.unwrap().certify_id;
    assert_clean("a completed ID_MIN session", &json(&v.session(id).unwrap().unwrap()));
}

#[test]
fn records_and_completions_mask_what_they_print() {
    let now = cst(23, 10);
    let new = NewRecord {
        certify_id: CertifyId::from_bytes([1; 16]),
        outer_order_no: OuterOrderNo::new("order").unwrap(),
        account: account(),
        scene_id: SceneId::new(1),
        scene_name: "scene".into(),
        product: ProductCode::IdPro,
        user_id: Some(USER.into()),
        name: NAME.into(),
        id_number: Some(ResidentId::parse(ID).unwrap()),
        passed: true,
        sub_code: SubCode::PASS,
        scores: Scores::default(),
        attack: None,
        occlusion: None,
        photos: Vec::new(),
        created_at: now,
        completed_at: now,
    };
    assert_debug_clean("NewRecord", &new);
    let mut records = InMemoryRecords::new(DigestKey::new([3; 32]), BillingZone::CHINA);
    records.insert(new.clone()).unwrap();
    let record = records.get(&account(), new.certify_id, now).unwrap();
    assert_debug_clean("Record", &record);
    assert_clean_except("a Record", &json(&record), &["the user ID"]);
    assert_debug_clean("InMemoryRecords", &records);
    assert_printing_clean("RecordError", &records.insert(new.clone()).unwrap_err());
    let session = Session {
        certify_id: new.certify_id,
        account: account(),
        scene_id: SceneId::new(1),
        scene_name: "scene".into(),
        solution: Solution::App,
        product: ProductCode::IdPro,
        outer_order_no: new.outer_order_no,
        user_id: Some(USER.into()),
        name: Some(NAME.into()),
        id_number: Some(ResidentId::parse(ID).unwrap()),
        reference: Some(Photo::from(REFERENCE)),
        selfie: Some(Photo::from(SELFIE)),
        stores_photos: true,
        created_at: now,
        state: SessionState::Pending,
    };
    let usage = UsageEvent {
        certify_id: new.certify_id,
        account: account(),
        solution: Solution::App,
        sub_code: None,
        time: now,
    };
    let completion = Completion { session, new_session: false, record: new, usage };
    assert_debug_clean("Completion", &completion);
    let check = IdentityCheck::Match { photo: Photo::from(PORTRAIT) };
    assert_debug_clean("IdentityCheck", &check);
}

#[test]
fn a_signature_mismatch_masks_personal_parameters_and_never_prints_the_string_to_sign() {
    let account = account();
    let mut directory = Directory::new(account.as_str(), "acme", Quotas::default()).unwrap();
    directory.create_user("svc").unwrap();
    directory.create_access_key("svc", "LTAIsvc", cst(1, 9)).unwrap();
    let mut vault = SecretVault::default();
    vault.insert("LTAIsvc", AccessKeySecret::new("right".into()));
    let keys = DirectoryKeys { directory: &directory, vault: &vault };
    // The selfie in Base64, as the wire carries it.
    let picture = "U0VMRklFLU1BUktFUi1jMGZmZWUtc2VsZmllLWJ5dGVz";
    let params = [
        ("AccessKeyId", "LTAIsvc"),
        ("Action", "InitFaceVerify"),
        ("CertName", NAME),
        ("CertNo", ID),
        ("FaceContrastPicture", picture),
        ("FaceContrastPictureUrl", URL),
        ("Format", "JSON"),
        ("Ip", "203.0.113.77"),
        ("Mobile", "13912345678"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "n-1"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2026-11-23T02:00:00Z"),
        ("UserId", USER),
        ("Version", "2019-03-07"),
    ];
    let signed = shiren::auth::sign_rpc("POST", &params, &AccessKeySecret::new("right".into()));
    assert_debug_clean("RpcSignature", &signed);
    let query = shiren::auth::signed_rpc_query("POST", &params, &AccessKeySecret::new("wrong".into()));
    let err =
        shiren::auth::verify_rpc("POST", &query, &keys, &mut BoundedNonces::new(4), cst(23, 10)).unwrap_err();
    assert!(matches!(err, AuthError::SignatureDoesNotMatch { .. }), "{err:?}");
    assert_printing_clean("AuthError", &err);
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("CertName") && !shown.contains("13912345678"), "{shown}");
    }
    let string_to_sign = err.string_to_sign().unwrap();
    assert_clean("the returned string-to-sign", string_to_sign);
    assert!(!string_to_sign.contains(picture) && !string_to_sign.contains("13912345678"));
    assert!(!string_to_sign.contains("203.0.113.77"));
    for name in
        ["CertName", "CertNo", "FaceContrastPicture", "FaceContrastPictureUrl", "Ip", "Mobile", "UserId"]
    {
        assert!(
            string_to_sign.contains(&format!("%26{name}%3D%252A%252A%252A%26")),
            "{name}: {string_to_sign}"
        );
    }
    assert!(string_to_sign.starts_with("POST&%2F&AccessKeyId%3DLTAIsvc%26Action%3DInitFaceVerify%26"));
}
