#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod bill;
mod biller;
mod money;
mod snapshot;
mod standing;

pub use crate::bill::{BillLine, DailyBill, LineKind, Statement};
pub use crate::biller::{
    Biller, BillingConfig, BillingError, BillingStep, ConfigError, SETTLEMENT_START, UsageRecord,
    statement_days,
};
pub use crate::money::{
    MAX_AMOUNT, MAX_BALANCE, MAX_PRICE_DECIMALS, MAX_UNIT_PRICE, MAX_UNITS, MoneyOverflow, PriceError,
    Rounding, STORAGE_PRICE_PER_GB_MONTH, StorageError, StorageEstimate, check_pricing, check_unit_price,
    storage_estimate, to_fen,
};
pub use crate::snapshot::{BillProblem, BookProblem, SnapshotError};
pub use crate::standing::{EntryKind, GRACE, LedgerEntry, Opening, Standing, balance_at, standing_at};
