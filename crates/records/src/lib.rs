#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod privacy;
mod query;
mod record;
mod stats;
mod store;

pub use crate::privacy::{DigestKey, IdDigest};
pub use crate::query::{Cursor, Identifier, InvalidCursor, MAX_PAGE, Page, Query};
pub use crate::record::{NewRecord, Personal, Record, Scores};
pub use crate::stats::{Counts, DayStats, MAX_RANGE_DAYS, RangeError, Statistics, StatsRange};
pub use crate::store::{
    DeleteMode, InMemoryRecords, RETENTION, RecordError, RecordStore, RecordsSnapshot, SnapshotError,
};
pub use shiren_catalog::QUOTE_LIMIT;
pub use shiren_catalog::mask_name;
