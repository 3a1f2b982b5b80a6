//! Bills as plain data: lines, daily bills, monthly statements.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, Solution};

/// Whether a line bills its own day or corrects an earlier, already issued day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LineKind {
    /// Usage of the bill's own day.
    Usage,
    /// Usage of `day` that arrived after `day`'s bill was issued.
    Adjustment {
        /// The day the usage belongs to.
        day: NaiveDate,
    },
}

/// One line of a bill: one solution's usage of one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillLine {
    /// Usage or adjustment.
    pub kind: LineKind,
    /// The priced solution.
    pub solution: Solution,
    /// Units counted.
    pub counted: u64,
    /// Units covered by traffic packs.
    pub covered: u64,
    /// Units charged: counted − covered.
    pub chargeable: u64,
    /// CNY per unit (list price or the account's negotiated price).
    pub unit_price: Decimal,
    /// `chargeable × unit_price` at full precision.
    pub exact_amount: Decimal,
    /// The exact amount rounded once to the fen.
    pub amount: Decimal,
    /// `exact_amount − amount`, kept so totals reconcile exactly.
    pub remainder: Decimal,
}

/// The bill of one account for one natural day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyBill {
    /// The account billed.
    pub account: AccountId,
    /// The natural day billed (UTC+8).
    pub day: NaiveDate,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Usage lines first (by solution), then adjustment lines (by day, solution).
    pub lines: Vec<BillLine>,
    /// Σ line amounts.
    pub total: Decimal,
    /// Σ line remainders.
    pub remainder: Decimal,
}

/// A monthly statement: the daily bills of the statement's days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The account.
    pub account: AccountId,
    /// Statement year.
    pub year: i32,
    /// Statement month (1–12).
    pub month: u32,
    /// First day covered: the last day of the previous month.
    pub first_day: NaiveDate,
    /// Last day covered: the second-to-last day of the month.
    pub last_day: NaiveDate,
    /// The daily bills of those days (days without a bill are absent).
    pub days: Vec<DailyBill>,
    /// Σ daily totals.
    pub total: Decimal,
}
