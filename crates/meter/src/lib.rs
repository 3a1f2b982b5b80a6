#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod event;
mod ids;
mod meter;
mod pack;
mod seen;

pub use crate::event::UsageEvent;
pub use crate::ids::{IdSource, InvalidPackId, PACK_ID_PREFIX, PackId, SequentialIds};
pub use crate::meter::{
    Alert, Applied, ApplyError, DailyUsage, Meter, PackError, PackTotals, PackView, PurchaseError,
    SnapshotError,
};
pub use crate::pack::{AlertSetting, Pack, PackStatus, RefundQuote, expiry_of};
pub use shiren_catalog::QUOTE_LIMIT;
