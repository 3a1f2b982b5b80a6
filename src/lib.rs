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
