//! The account's balance ledger and its standing (active, overdue, suspended), both
//! derived from the entries — the balance is never stored twice.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How long an overdue account keeps its service before suspension.
pub const GRACE: Duration = Duration::hours(24);

/// What moved money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    /// Money paid in.
    TopUp,
    /// A daily bill charged.
    Charge {
        /// The bill's day.
        day: NaiveDate,
    },
    /// Money returned to the balance (e.g. a pack refund).
    Refund,
}

/// One ledger entry; `amount` is positive, `kind` says the direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What it was.
    pub kind: EntryKind,
    /// How much, CNY, ≥ 0.
    pub amount: Decimal,
}

impl LedgerEntry {
    /// The entry's effect on the balance.
    pub fn signed(&self) -> Decimal {
        match self.kind {
            EntryKind::TopUp | EntryKind::Refund => self.amount,
            EntryKind::Charge { .. } => -self.amount,
        }
    }
}

/// An account's standing at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Standing {
    /// Balance ≥ 0.
    Active,
    /// Balance < 0 since `since`; suspended 24 h later unless settled.
    Overdue {
        /// When the balance went negative.
        since: DateTime<Utc>,
    },
    /// Overdue for 24 h or more.
    Suspended {
        /// When the suspension began (overdue + 24 h).
        since: DateTime<Utc>,
    },
}

/// Balance after every entry up to and including `at`.
pub fn balance_at(entries: &[LedgerEntry], at: DateTime<Utc>) -> Decimal {
    entries.iter().filter(|e| e.at <= at).map(LedgerEntry::signed).sum()
}

/// Standing at `at`, replaying the entries (which are in time order).
pub fn standing_at(entries: &[LedgerEntry], at: DateTime<Utc>) -> Standing {
    let mut balance = Decimal::ZERO;
    let mut overdue_since = None;
    for e in entries.iter().take_while(|e| e.at <= at) {
        balance += e.signed();
        overdue_since = match (balance < Decimal::ZERO, overdue_since) {
            (true, None) => Some(e.at),
            (true, since) => since,
            (false, _) => None,
        };
    }
    match overdue_since {
        None => Standing::Active,
        Some(since) if at >= since + GRACE => Standing::Suspended { since: since + GRACE },
        Some(since) => Standing::Overdue { since },
    }
}
