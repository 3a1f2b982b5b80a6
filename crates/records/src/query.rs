//! Record queries: filters, one optional identifier, newest-first order, and a cursor
//! that stays correct while new records arrive.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{CertifyId, OuterOrderNo, ProductCode, ResidentId, SubCode};
use shiren_scene::SceneId;

use crate::record::Record;
use shiren_catalog::{Quoted, quote_prefix};

/// Largest page.
pub const MAX_PAGE: usize = 100;

/// One identifier to look a record up by (at most one per query).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identifier {
    /// The client's outer order number.
    OuterOrderNo(OuterOrderNo),
    /// The certify ID.
    CertifyId(CertifyId),
    /// The person's ID number (matched through its keyed digest).
    IdNumber(ResidentId),
}

/// A record query. Every filter is optional; results are newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this scene.
    pub scene: Option<SceneId>,
    /// Only this product.
    pub product: Option<ProductCode>,
    /// Only passed (`T`) or failed (`F`) records.
    pub passed: Option<bool>,
    /// Only this sub code.
    pub sub_code: Option<SubCode>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// One identifier.
    pub identifier: Option<Identifier>,
    /// Continue after this cursor (from the previous page).
    pub after: Option<Cursor>,
    /// Page size, 1–100 (0 means 20).
    pub limit: usize,
}

impl Query {
    pub(crate) fn matches(&self, r: &Record) -> bool {
        self.scene.is_none_or(|s| r.scene_id == s)
            && self.product.is_none_or(|p| r.product == p)
            && self.passed.is_none_or(|p| r.passed == p)
            && self.sub_code.is_none_or(|c| r.sub_code == c)
            && self.from.is_none_or(|f| r.created_at >= f)
            && self.to.is_none_or(|t| r.created_at < t)
            && self.after.is_none_or(|c| c.is_before(r))
    }
}

/// A position in the newest-first order: (created, certify ID) of the last record
/// returned. The next page holds records strictly older in that order, so records that
/// arrive meanwhile (newer) never shift or repeat a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    created_at: DateTime<Utc>,
    certify_id: CertifyId,
}

impl Cursor {
    pub(crate) fn of(r: &Record) -> Cursor {
        Cursor { created_at: r.created_at, certify_id: r.certify_id }
    }

    /// Whether `r` comes after this cursor in newest-first order.
    pub(crate) fn is_before(&self, r: &Record) -> bool {
        (r.created_at, r.certify_id) < (self.created_at, self.certify_id)
    }

    pub(crate) fn key(&self) -> (DateTime<Utc>, CertifyId) {
        (self.created_at, self.certify_id)
    }
}

/// A malformed cursor. Holds the start of the rejected text (at most
/// [`QUOTE_LIMIT`](crate::QUOTE_LIMIT) characters and one more to mark the cut); the
/// message quotes it escaped, so hostile input cannot bloat it or forge log lines.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not a cursor returned by a previous page", Quoted(.0))]
pub struct InvalidCursor(pub String);

impl fmt::Display for Cursor {
    /// `<nanoseconds since 1970>.<certify ID>`: opaque to callers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.created_at.timestamp_nanos_opt().unwrap_or(i64::MAX);
        write!(f, "{nanos}.{}", self.certify_id)
    }
}

impl FromStr for Cursor {
    type Err = InvalidCursor;
    fn from_str(text: &str) -> Result<Cursor, InvalidCursor> {
        let err = || InvalidCursor(quote_prefix(text));
        let (nanos, id) = text.split_once('.').ok_or_else(err)?;
        let nanos: i64 = nanos.parse().map_err(|_| err())?;
        Ok(Cursor {
            created_at: DateTime::from_timestamp_nanos(nanos),
            certify_id: id.parse().map_err(|_| err())?,
        })
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Records, newest first.
    pub records: Vec<Record>,
    /// Pass as `Query::after` for the next page; `None` on the last page.
    pub next: Option<Cursor>,
}
