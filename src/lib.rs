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
/// The crate documentation's *Embedding the flow* runs one verification end to end with
/// this prelude alone (a doc test).
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
