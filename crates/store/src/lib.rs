#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod account;
mod bills;
mod commit;
mod directory;
mod error;
mod exec;
mod held;
mod nonces;
mod params;
mod records;
mod schema;
mod sqlite_nonces;
mod sqlite_reads;
mod store;

pub use crate::account::AccountState;
pub use crate::bills::BILLS_KEPT_DAYS;
pub use crate::commit::Batches;
pub use crate::error::OpenError;
pub use crate::nonces::SqlNonces;
pub use crate::records::RECORDS_ZONE;
pub use crate::schema::SCHEMA_VERSION;
pub use crate::store::{Audit, Backend, RowCounts, SqlStore, StoreOptions};
