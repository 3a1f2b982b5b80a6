#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod account;
mod codes;
mod hash;
mod pack;
mod personal;
mod product;
mod quote;
mod resident_id;
mod session;
mod solution;
mod zone;

pub use crate::account::{AccountId, InvalidAccountId};
pub use crate::codes::{CallCode, SubCode};
pub use crate::hash::WordHasher;
pub use crate::pack::{PACK_CATALOG, PackSpec, PackType, UnknownPack, pack_spec};
pub use crate::personal::{
    CertNo, MASK_CHARS, MaskedIdNumber, MaskedName, PersonName, Photo, UserId, mask_name,
};
pub use crate::product::{
    Api, LivenessModel, ProductCode, SolutionTab, UnknownLivenessModel, UnknownProductCode,
    UnknownSolutionTab,
};
pub use crate::quote::{QUOTE_LIMIT, Quoted, quote, quote_prefix};
pub use crate::resident_id::{ResidentId, ResidentIdError};
pub use crate::session::{CertifyId, InvalidCertifyId, InvalidOuterOrderNo, OuterOrderNo};
pub use crate::solution::{MeteringBasis, NoPrice, Pricing, Solution, SolutionFacts};
pub use crate::zone::{BillingZone, date_of_day_number, day_number_of};
