#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod account;
mod error;
mod exec;
mod schema;
mod store;

pub use crate::account::AccountState;
pub use crate::error::OpenError;
pub use crate::schema::SCHEMA_VERSION;
pub use crate::store::{Audit, Backend, RowCounts, SqlStore, StoreOptions};
