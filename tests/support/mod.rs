//! The demo world, shared by `examples/kyc_demo.rs`, the end-to-end stories and the
//! verify bench (each includes this file with `#[path]`): one main account with two
//! RAM users, two scenes, a free traffic pack, a funded balance and an identity
//! authority — all through the public facade. Edge code: it reads the fetched model
//! and photo cache, which is also all that `examples/face_score.rs` and the face bench
//! take from it.
#![allow(dead_code, clippy::disallowed_methods, reason = "shared edge code; each user needs part of it")]

pub(crate) mod postgres;

use std::path::PathBuf;

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use shiren::billing::{Biller, BillingConfig, Rounding};
use shiren::catalog::{
    AccountId, BillingZone, PACK_CATALOG, PackType, Pricing, ProductCode, ResidentId, Solution,
};
use shiren::face::{FaceModels, PhotoRules, Weights};
use shiren::meter::{Meter, SequentialIds as PackIds};
use shiren::ram::{Directory, PolicyType, Quotas, Target};
use shiren::records::{DigestKey, InMemoryRecords};
use shiren::scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneId, SceneRegistry};
use shiren::verify::{
    CounterIds, DirectoryPermissions, FaceScorer, FlowStore, InMemoryAuthority, InMemoryPhotos,
    InMemorySessions, InMemoryStore, InitRequest, Ledger, Plugins, Requester, Stores, Verifier,
    VerifierConfig,
};

/// Starts `n` ID_PRO sessions of the demo person in `scene` at 23:10 CST, order numbers
/// `{tag}{i}`; their certify IDs. A refusal is an error (set-up for tests and benches).
pub(crate) fn start_sessions<St: FlowStore>(
    v: &Verifier<St>,
    caller: &Requester,
    scene: u64,
    n: usize,
    tag: &str,
) -> anyhow::Result<Vec<String>> {
    (0..n)
        .map(|i| {
            let request = InitRequest {
                scene_id: Some(scene),
                outer_order_no: Some(format!("{tag}{i}")),
                product_code: Some("ID_PRO".into()),
                cert_name: Some(PERSON_NAME.into()),
                cert_no: Some(PERSON_ID.into()),
                ..InitRequest::default()
            };
            let r = v.init_face_verify(caller, &request, cst(23, 10));
            let started = r.result_object.with_context(|| format!("session {i} refused: {}", r.message))?;
            Ok(started.certify_id.to_string())
        })
        .collect()
}

/// The resident ID the authority knows, with its name.
pub(crate) const PERSON_ID: &str = "110101199003074477";
/// The registered name.
pub(crate) const PERSON_NAME: &str = "Barack Obama";

/// The demo's stores.
pub(crate) type DemoStores = Stores<InMemoryRegistry, InMemoryRecords, Ledger, InMemorySessions>;
/// The demo's verifier type.
pub(crate) type DemoVerifier =
    Verifier<InMemoryStore<InMemoryRegistry, InMemoryRecords, Ledger, InMemorySessions>>;

/// The demo world.
pub(crate) struct Demo {
    /// The verifier.
    pub(crate) verifier: DemoVerifier,
    /// The main account.
    pub(crate) account: AccountId,
    /// A RAM user with AliyunAntCloudAuthFullAccess and ReadOnlyAccess.
    pub(crate) service: Requester,
    /// A RAM user with only AliyunAntCloudAuthReadOnlyAccess.
    pub(crate) intern: Requester,
    /// The real-person scene (ID_PRO, APP).
    pub(crate) id_pro_scene: SceneId,
    /// The face-comparison scene (PV_FC).
    pub(crate) compare_scene: SceneId,
}

/// 2026-11-`day` `hour`:00 in UTC+8.
pub(crate) fn cst(day: u32, hour: u32) -> DateTime<Utc> {
    let date = NaiveDate::from_ymd_opt(2026, 11, day).unwrap_or_default();
    BillingZone::CHINA.at(date, NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default())
}

fn cache(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/face").join(dir)
}

fn read(path: PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(&path)
        .with_context(|| format!("{}: run `bash scripts/fetch-models.sh` first", path.display()))
}

/// The three face models from the fetched cache.
pub(crate) fn models() -> anyhow::Result<FaceModels> {
    let load = |model: &str| -> anyhow::Result<Weights> {
        let manifest = read(cache("models").join(format!("{model}-weights_manifest.json")))?;
        let blob = read(cache("models").join(format!("{model}.bin")))?;
        Ok(Weights::from_tfjs(&manifest, &[&blob])?)
    };
    Ok(FaceModels::new(
        load("tiny_face_detector_model")?,
        load("face_landmark_68_model")?,
        load("face_recognition_model")?,
    )?)
}

/// The bytes of a fetched test photo.
pub(crate) fn photo_bytes(name: &str) -> anyhow::Result<Vec<u8>> {
    read(cache("photos").join(name))
}

/// A test photo decoded without the service's size rules.
pub(crate) fn raw_photo(name: &str) -> anyhow::Result<image::RgbImage> {
    let rules = PhotoRules { max_bytes: 4 << 20, min_size: (1, 1), max_size: (8000, 8000) };
    Ok(shiren::face::decode_photo(&photo_bytes(name)?, &rules)?.rgb)
}

/// JPEG bytes (quality 90) of an image.
pub(crate) fn jpeg(image: &image::RgbImage) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90).encode_image(image)?;
    Ok(bytes)
}

/// A portrait as a phone selfie would arrive: its top 3:4 part, 480×640, JPEG.
pub(crate) fn selfie_image(name: &str) -> anyhow::Result<image::RgbImage> {
    let photo = raw_photo(name)?;
    let (w, h) = photo.dimensions();
    let top = image::imageops::crop_imm(&photo, 0, 0, w, h.min(w * 4 / 3)).to_image();
    Ok(image::imageops::resize(&top, 480, 640, image::imageops::FilterType::Triangle))
}

/// [`selfie_image`] as JPEG bytes.
pub(crate) fn selfie(name: &str) -> anyhow::Result<Vec<u8>> {
    jpeg(&selfie_image(name)?)
}

/// Builds the demo world around a face scorer.
pub(crate) fn demo(faces: Box<dyn FaceScorer + Send + Sync>, authority_photo: Bytes) -> anyhow::Result<Demo> {
    demo_of(AccountId::new("1234567890123456")?, faces, authority_photo)
}

/// The demo world for another main account (benches of many accounts).
pub(crate) fn demo_of(
    account: AccountId,
    faces: Box<dyn FaceScorer + Send + Sync>,
    authority_photo: Bytes,
) -> anyhow::Result<Demo> {
    let setup = cst(1, 9);
    let mut directory = Directory::new(account.as_str(), "acme-bank", Quotas::default())?;
    directory.create_user("kyc-service")?;
    directory.create_user("intern")?;
    for policy in ["AliyunAntCloudAuthFullAccess", "AliyunAntCloudAuthReadOnlyAccess"] {
        directory.attach_policy(Target::User("kyc-service"), PolicyType::System, policy)?;
    }
    directory.attach_policy(
        Target::User("intern"),
        PolicyType::System,
        "AliyunAntCloudAuthReadOnlyAccess",
    )?;

    let mut scenes = InMemoryRegistry::default();
    let mut scene = |name: &str, solution: Solution, product: ProductCode| {
        let new = NewScene {
            account,
            name: name.to_owned(),
            solution,
            product,
            storage: PhotoStorage::DEFAULT,
            mini_program: None,
        };
        scenes.create(new, setup).map(|s| s.id)
    };
    let id_pro_scene = scene("account-opening", Solution::App, ProductCode::IdPro)?;
    let compare_scene = scene("photo-check", Solution::FaceComparison, ProductCode::PvFc)?;
    scenes.authorize(&account, true);

    let config = BillingConfig::new(
        BillingZone::CHINA,
        NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
        Rounding::TowardZero,
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
    )?;
    let mut biller = Biller::new(config);
    biller.open_account(&account, Pricing::list())?;
    biller.top_up(&account, Decimal::from(50), setup)?;
    let mut meter = Meter::new(BillingZone::CHINA, PACK_CATALOG.to_vec());
    meter.purchase(&account, PackType::RealPerson, 100, Decimal::ZERO, setup, &mut PackIds::default())?;

    let mut authority = InMemoryAuthority::default();
    authority.register(&ResidentId::parse(PERSON_ID)?, PERSON_NAME, Some(authority_photo));
    let plugins = Plugins {
        permissions: Box::new(DirectoryPermissions::new(account, &directory)),
        identities: Box::new(authority),
        faces,
        photos: Box::new(InMemoryPhotos::default()),
        ids: Box::new(CounterIds::default()),
    };
    let records = InMemoryRecords::new(DigestKey::new([42; 32]), BillingZone::CHINA);
    let stores =
        Stores { sessions: InMemorySessions::default(), scenes, records, ledger: Ledger { meter, biller } };
    let verifier = Verifier::new(InMemoryStore::new(stores), plugins, VerifierConfig::default());
    Ok(Demo {
        verifier,
        account,
        service: Requester::ram_user(account, "kyc-service"),
        intern: Requester::ram_user(account, "intern"),
        id_pro_scene,
        compare_scene,
    })
}

impl Demo {
    /// The demo's stores, locked (to read records, issue bills, manage scenes).
    pub(crate) fn stores(&self) -> anyhow::Result<std::sync::MutexGuard<'_, DemoStores>> {
        Ok(self.verifier.store.lock()?)
    }
}

/// The demo's stores as one account's state for `shiren-store` (the demo holds one
/// account, so its meter, biller and scenes are that account's).
pub(crate) fn account_state(stores: DemoStores) -> shiren_store::AccountState {
    shiren_store::AccountState {
        meter: stores.ledger.meter,
        biller: stores.ledger.biller,
        scenes: stores.scenes,
    }
}
