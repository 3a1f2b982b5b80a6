#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use shiren_auth as auth;
pub use shiren_billing as billing;
pub use shiren_catalog as catalog;
/// Face photo intake, the networks and the verdict (feature `face`, on by default; feature
/// `face-eval` adds the evaluation-only modules).
#[cfg(feature = "face")]
pub use shiren_face as face;
pub use shiren_meter as meter;
pub use shiren_ram as ram;
pub use shiren_records as records;
pub use shiren_scene as scene;
pub use shiren_verify as verify;

// The third-party crates whose types appear in the public API (photos as `Bytes`, times as
// `chrono`, money as `Decimal`), so an embedder uses the versions shiren was built with.
pub use bytes;
pub use chrono;
pub use rust_decimal;

/// The names one verification needs end to end: set up an account, its RAM user, a scene
/// and a balance, wire the [`Verifier`](crate::verify::Verifier) to in-memory stores, start
/// a session and complete it.
///
/// Traits are included so their methods resolve (`SceneRegistry::create`,
/// `FaceScorer::score`, `IdentitySource::check`). Everything else stays in the crate
/// modules (`shiren::ram`, `shiren::billing`, …).
///
/// ```
/// use shiren::prelude::*;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let zone = BillingZone::CHINA;
/// let day = NaiveDate::from_ymd_opt(2026, 11, 23).ok_or("date")?;
/// let ten = NaiveTime::from_hms_opt(10, 0, 0).ok_or("time")?;
/// let now = zone.at(day, ten);
///
/// // The account, its RAM user `app` with full access, a scene, a balance.
/// let account = AccountId::new("1234567890")?;
/// let mut directory = Directory::new(account.as_str(), "acme", Quotas::default())?;
/// directory.create_user("app")?;
/// directory.attach_policy(Target::User("app"), PolicyType::System, "AliyunAntCloudAuthFullAccess")?;
/// let mut scenes = InMemoryRegistry::default();
/// let scene = scenes.create(
///     NewScene {
///         account,
///         name: "login".into(),
///         solution: Solution::App,
///         product: ProductCode::IdPro,
///         storage: PhotoStorage::DEFAULT,
///         mini_program: None,
///     },
///     now,
/// )?;
/// scenes.authorize(&account, true);
/// let first_of_month = NaiveDate::from_ymd_opt(2026, 11, 1).ok_or("date")?;
/// let mut biller = Biller::new(BillingConfig::new(zone, ten, Rounding::TowardZero, first_of_month)?);
/// biller.open_account(&account, Pricing::list())?;
/// biller.top_up(&account, Decimal::from(10), now)?;
/// let mut authority = InMemoryAuthority::default();
/// authority.register(&ResidentId::parse("110101199003074477")?, "Alice", Some(Bytes::from_static(b"portrait")));
///
/// // The verifier: plugins (a real service scores with `FaceModelScorer`) and stores.
/// let plugins = Plugins {
///     permissions: Box::new(DirectoryPermissions::new(account, &directory)),
///     ids: Box::new(CounterIds::default()),
///     identities: Box::new(authority),
///     faces: Box::new(FixedScorer),
///     photos: Box::new(InMemoryPhotos::default()),
/// };
/// let store = InMemoryStore::new(Stores {
///     sessions: InMemorySessions::default(),
///     scenes,
///     records: InMemoryRecords::new(DigestKey::new([7; 32]), zone),
///     ledger: Ledger { meter: Meter::default(), biller },
/// });
/// let verifier = Verifier::new(store, plugins, VerifierConfig::default());
///
/// // One verification: start, the person's photo, the result.
/// let app = Requester::ram_user(account, "app");
/// let request = InitRequest {
///     scene_id: Some(scene.id.get()),
///     outer_order_no: Some("order42".into()),
///     product_code: Some("ID_PRO".into()),
///     cert_name: Some("Alice".into()),
///     cert_no: Some("110101199003074477".into()),
///     ..InitRequest::default()
/// };
/// let started = verifier.init_face_verify(&app, &request, now);
/// let certify_id = started.result_object.ok_or(started.message)?.certify_id.to_string();
/// assert_eq!(verifier.describe_face_verify(&app, &certify_id, now).code, CallCode::NotCompleted);
/// let done = verifier.complete_face_verify(&certify_id, b"selfie", now);
/// assert!(done.result_object.ok_or(done.message)?.passed);
/// let result = verifier.describe_face_verify(&app, &certify_id, now);
/// assert_eq!(result.result_object.ok_or(result.message)?.sub_code, SubCode::PASS);
/// # Ok(())
/// # }
/// ```
pub mod prelude {
    pub use bytes::Bytes;
    pub use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
    pub use rust_decimal::Decimal;
    pub use shiren_billing::{Biller, BillingConfig, Rounding};
    pub use shiren_catalog::{
        AccountId, BillingZone, CallCode, Photo, Pricing, ProductCode, ResidentId, Solution, SubCode,
    };
    #[cfg(feature = "face")]
    pub use shiren_face::{FaceModels, PhotoRules};
    pub use shiren_meter::Meter;
    pub use shiren_ram::{Directory, PolicyType, Quotas, Target};
    pub use shiren_records::{DigestKey, InMemoryRecords};
    pub use shiren_scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneRegistry};
    #[cfg(feature = "face")]
    pub use shiren_verify::FaceModelScorer;
    pub use shiren_verify::{
        Answer, ApiResponse, CounterIds, DirectoryPermissions, FaceScorer, FixedScorer, IdentitySource,
        InMemoryAuthority, InMemoryPhotos, InMemorySessions, InMemoryStore, InitRequest, Ledger,
        MaterialInfo, Need, Plugins, Refusal, Requester, Stores, Verdict, VerificationPolicy, Verifier,
        VerifierConfig, VerifyResult,
    };
}
