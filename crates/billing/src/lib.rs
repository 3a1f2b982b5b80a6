#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod bill;
mod biller;
mod money;
mod standing;

pub use crate::bill::{BillLine, DailyBill, LineKind, Statement};
pub use crate::biller::{
    Biller, BillingConfig, BillingError, BillingStep, ConfigError, SETTLEMENT_START, UsageRecord,
    statement_days,
};
pub use crate::money::{Rounding, STORAGE_PRICE_PER_GB_MONTH, StorageEstimate, storage_estimate, to_fen};
pub use crate::standing::{EntryKind, GRACE, LedgerEntry, Standing, balance_at, standing_at};
