//! The account's balance ledger and its standing (active, overdue, suspended), both
//! derived from the entries — the balance is never stored twice.

use std::borrow::Cow;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{MoneyOverflow, add_exact, sum_exact};

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

/// Balance after every entry up to and including `at`, in any order; refused if the
/// sum cannot be computed exactly.
pub fn balance_at(entries: &[LedgerEntry], at: DateTime<Utc>) -> Result<Decimal, MoneyOverflow> {
    sum_exact(entries.iter().filter(|e| e.at <= at).map(LedgerEntry::signed))
}

/// What an account's ledger held before `since`, folded into one state when its old
/// bills were archived (see [`Biller::archive`](crate::Biller::archive)): balances and
/// standings from `since` on are exactly those of the full ledger; earlier ones are
/// no longer answerable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Opening {
    /// Entries before this instant are folded here.
    pub since: DateTime<Utc>,
    /// The balance after every folded entry: a whole number of fen.
    pub balance: Decimal,
    /// When the balance went negative without a break, if it is negative at `since`.
    pub overdue_since: Option<DateTime<Utc>>,
}

impl Opening {
    /// The empty ledger's state.
    pub(crate) const EMPTY: (Decimal, Option<DateTime<Utc>>) = (Decimal::ZERO, None);

    /// Folds `entries` (all before `since`, in time order) after `start`.
    pub(crate) fn fold(
        start: Option<&Opening>,
        entries: &[LedgerEntry],
        since: DateTime<Utc>,
    ) -> Result<Opening, MoneyOverflow> {
        let (balance, overdue_since) = replay(start, entries, |e| e.at < since)?;
        Ok(Opening { since, balance, overdue_since })
    }
}

/// Standing at `at`, replaying the entries in time order (the slice may be in any
/// order). Entries of one instant count together: the balance at an instant is the
/// balance after all of them, so the answer never depends on the order in which
/// entries of the same instant were appended. The account is overdue from the earliest
/// instant since which the balance has been negative without a break.
pub fn standing_at(entries: &[LedgerEntry], at: DateTime<Utc>) -> Result<Standing, MoneyOverflow> {
    standing_after(None, entries, at)
}

/// [`standing_at`] of the entries after `opening` (all at or after its `since`, and
/// `at` too).
pub(crate) fn standing_after(
    opening: Option<&Opening>,
    entries: &[LedgerEntry],
    at: DateTime<Utc>,
) -> Result<Standing, MoneyOverflow> {
    let (_, overdue_since) = replay(opening, entries, |e| e.at <= at)?;
    Ok(match overdue_since {
        None => Standing::Active,
        Some(since) => match since.checked_add_signed(GRACE) {
            Some(suspended) if at >= suspended => Standing::Suspended { since: suspended },
            _ => Standing::Overdue { since },
        },
    })
}

/// Balance and overdue start after `opening` and the entries, in time order, while
/// `include` holds.
fn replay(
    opening: Option<&Opening>,
    entries: &[LedgerEntry],
    include: impl Fn(&LedgerEntry) -> bool,
) -> Result<(Decimal, Option<DateTime<Utc>>), MoneyOverflow> {
    let sorted: Cow<'_, [LedgerEntry]> = if entries.is_sorted_by_key(|e| e.at) {
        Cow::Borrowed(entries)
    } else {
        let mut owned = entries.to_vec();
        owned.sort_by_key(|e| e.at);
        Cow::Owned(owned)
    };
    let (mut balance, mut overdue_since) = opening.map_or(Opening::EMPTY, |o| (o.balance, o.overdue_since));
    let mut replay = sorted.iter().take_while(|e| include(e)).peekable();
    while let Some(e) = replay.next() {
        balance = add_exact(balance, e.signed())?;
        if replay.peek().is_some_and(|next| next.at == e.at) {
            continue;
        }
        overdue_since = match (balance < Decimal::ZERO, overdue_since) {
            (true, None) => Some(e.at),
            (true, since) => since,
            (false, _) => None,
        };
    }
    Ok((balance, overdue_since))
}
