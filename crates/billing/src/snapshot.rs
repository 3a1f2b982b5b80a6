//! The biller's persisted form and its restore, which re-checks every invariant the
//! operations keep: a snapshot no sequence of operations could have produced — a
//! negative ledger amount, a next day before the first, unbilled usage of a billed day,
//! a bill that does not add up — is refused with a [`SnapshotError`] saying what is
//! wrong, instead of being trusted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, Solution};
use shiren_meter::DailyUsage;

use crate::bill::{DailyBill, LineKind};
use crate::biller::{Biller, BillingConfig, Book, make_line, priced_mask};
use crate::money::{
    MAX_BALANCE, MAX_UNITS, PriceError, add_exact, check_amount, check_pricing, check_unit_price, sum_exact,
};
use crate::standing::EntryKind;

/// The persisted form; the account index and derived fields are rebuilt on load.
#[derive(Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub(crate) config: BillingConfig,
    pub(crate) next_day: NaiveDate,
    pub(crate) books: Vec<Book>,
}

/// A biller snapshot was refused: it holds a state no sequence of operations reaches.
/// (The configuration is checked as [`BillingConfig::new`] checks it.)
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The next day to bill lies before the first billed day.
    #[error("the next day to bill, {next_day}, is before the first billed day {first_day}")]
    NextDayBeforeFirstDay {
        /// The snapshot's next day.
        next_day: NaiveDate,
        /// The configuration's first day.
        first_day: NaiveDate,
    },
    /// The day before the next day could never have been billed.
    #[error("the next day to bill, {0}, follows a day whose bill can never be issued")]
    NextDayPastCalendar(NaiveDate),
    /// Two books for one account.
    #[error("account `{0}` appears twice")]
    DuplicateAccount(AccountId),
    /// One account's book is inconsistent.
    #[error("account `{account}`: {problem}")]
    Book {
        /// The account.
        account: AccountId,
        /// What is wrong.
        problem: BookProblem,
    },
}

/// What is wrong with one account's book in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BookProblem {
    /// A negotiated price out of bounds.
    #[error(transparent)]
    Price(#[from] PriceError),
    /// Unbilled usage days are not strictly increasing.
    #[error("unbilled usage of {0} is out of day order or repeated")]
    UsageOrder(NaiveDate),
    /// Unbilled usage of a day already billed, or of a day that can never be billed.
    #[error("unbilled usage of {day} cannot be billed: the next day to bill is {next_day}")]
    UsageDay {
        /// The usage's day.
        day: NaiveDate,
        /// The snapshot's next day.
        next_day: NaiveDate,
    },
    /// Impossible unit counts: none counted, more covered than counted, or more than
    /// [`MAX_UNITS`](crate::MAX_UNITS).
    #[error("usage of {day} of `{solution}` counts {counted} units with {covered} covered")]
    Counts {
        /// The usage's day.
        day: NaiveDate,
        /// The solution.
        solution: Solution,
        /// Units counted.
        counted: u64,
        /// Units covered by packs.
        covered: u64,
    },
    /// Usage of a solution the pricing cannot price.
    #[error("usage of {day} of `{solution}` has no price")]
    Unpriced {
        /// The usage's day.
        day: NaiveDate,
        /// The solution.
        solution: Solution,
    },
    /// Late usage waiting for a bill already issued, or for a bill of a day not after
    /// its own, or listed twice.
    #[error("late usage of {usage_day} of `{solution}` cannot wait for the bill of {bill_day}")]
    Adjustment {
        /// The usage's day.
        usage_day: NaiveDate,
        /// The bill it waits for.
        bill_day: NaiveDate,
        /// The solution.
        solution: Solution,
    },
    /// An issued bill that does not add up or does not belong where it is.
    #[error("the bill filed under {day}: {problem}")]
    Bill {
        /// The day it is filed under.
        day: NaiveDate,
        /// What is wrong.
        problem: BillProblem,
    },
    /// A ledger entry that is not in time order.
    #[error("the ledger entry at {0} is older than the entry before it")]
    LedgerOrder(DateTime<Utc>),
    /// A top-up or refund that is not positive, above the maximum single amount, or not
    /// whole fen.
    #[error("the ledger entry at {at} has an impossible amount {amount}")]
    Amount {
        /// The entry's instant.
        at: DateTime<Utc>,
        /// The amount.
        amount: Decimal,
    },
    /// A charge that no issued bill explains, or a bill whose charge is missing.
    #[error("the charge for {day} does not match its bill")]
    Charge {
        /// The charged day.
        day: NaiveDate,
    },
    /// A top-up or refund left the balance above the maximum balance.
    #[error("the balance after the entry at {0} is above the maximum balance")]
    Balance(DateTime<Utc>),
    /// The ledger's amounts are too large to compute exactly.
    #[error("the ledger's amounts are too large to compute exactly")]
    Overflow,
    /// The archive's cut is not an issued day's instant, its opening balance or
    /// overdue start is impossible, or a bill or ledger entry lies before the cut.
    #[error("the archive before {0} is inconsistent")]
    Archive(NaiveDate),
}

/// What is wrong with one issued bill in a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BillProblem {
    /// Its day, account or issue instant is not the one it is filed under or would
    /// have been stamped with, or its day has not been billed yet.
    #[error("its day, account or issue instant is wrong")]
    Identity,
    /// No lines (an empty day gets no bill).
    #[error("it has no lines")]
    Empty,
    /// A line's counts, price, exact amount, rounding or remainder do not add up.
    #[error("line {0} does not add up")]
    Line(usize),
    /// The total or remainder is not the sum of the lines'.
    #[error("its total or remainder is not the sum of its lines")]
    Total,
}

impl Snapshot {
    /// Checks every invariant and builds the biller.
    pub(crate) fn restore(self) -> Result<Biller, SnapshotError> {
        let Snapshot { config, next_day, books } = self;
        let first_day = config.first_day();
        if next_day < first_day {
            return Err(SnapshotError::NextDayBeforeFirstDay { next_day, first_day });
        }
        if next_day > first_day && !next_day.pred_opt().is_some_and(|d| Biller::billable(&config, d)) {
            return Err(SnapshotError::NextDayPastCalendar(next_day));
        }
        let mut seen = BTreeSet::new();
        let mut checked = Vec::with_capacity(books.len());
        for mut book in books {
            if !seen.insert(book.account) {
                return Err(SnapshotError::DuplicateAccount(book.account));
            }
            let account = book.account;
            check_book(&mut book, &config, next_day)
                .map_err(|problem| SnapshotError::Book { account, problem })?;
            checked.push(book);
        }
        Ok(Biller::from_parts(config, next_day, checked))
    }
}

/// Checks one book and fills in its derived fields.
fn check_book(book: &mut Book, config: &BillingConfig, next_day: NaiveDate) -> Result<(), BookProblem> {
    check_pricing(&book.pricing)?;
    book.priced = priced_mask(&book.pricing);
    let priced = |solution: Solution| book.priced.get(solution.index()).copied().unwrap_or(false);
    let counts_ok = |u: DailyUsage| u.counted >= 1 && u.covered <= u.counted && u.counted <= MAX_UNITS;

    // Unbilled usage: strictly increasing days, none billed yet, all billable.
    let mut previous: Option<NaiveDate> = None;
    for d in &book.usage {
        if previous.is_some_and(|p| p >= d.day) {
            return Err(BookProblem::UsageOrder(d.day));
        }
        previous = Some(d.day);
        if d.day < next_day || !Biller::billable(config, d.day) {
            return Err(BookProblem::UsageDay { day: d.day, next_day });
        }
        if d.by_solution.iter().all(|u| u.counted == 0 && u.covered == 0) {
            return Err(BookProblem::UsageDay { day: d.day, next_day });
        }
        for (&solution, &u) in Solution::ALL.iter().zip(&d.by_solution) {
            if u.counted == 0 && u.covered == 0 {
                continue;
            }
            if !counts_ok(u) {
                return Err(BookProblem::Counts {
                    day: d.day,
                    solution,
                    counted: u.counted,
                    covered: u.covered,
                });
            }
            if !priced(solution) {
                return Err(BookProblem::Unpriced { day: d.day, solution });
            }
        }
    }

    // Late usage: waits for a bill not issued yet, of a later day than its own, once.
    let mut keys = BTreeSet::new();
    for a in &book.pending {
        let problem =
            BookProblem::Adjustment { usage_day: a.usage_day, bill_day: a.bill_day, solution: a.solution };
        if a.bill_day < next_day
            || a.usage_day >= a.bill_day
            || a.usage_day < config.first_day()
            || !Biller::billable(config, a.bill_day)
            || !keys.insert((a.bill_day, a.usage_day, a.solution))
        {
            return Err(problem);
        }
        let u = DailyUsage { counted: a.counted, covered: a.covered };
        if !counts_ok(u) {
            return Err(BookProblem::Counts {
                day: a.usage_day,
                solution: a.solution,
                counted: a.counted,
                covered: a.covered,
            });
        }
        if !priced(a.solution) {
            return Err(BookProblem::Unpriced { day: a.usage_day, solution: a.solution });
        }
    }

    // The archive: cut at an issued day's instant, a whole-fen opening within bounds
    // whose overdue start (before the cut) exists exactly when it is negative; nothing
    // left in the book from before the cut.
    if let Some(a) = book.archive {
        let o = a.opening;
        let sound = a.before > config.first_day()
            && a.before < next_day
            && config.checked_issue_instant(a.before) == Some(o.since)
            && o.balance.round_dp(2) == o.balance
            && o.balance <= MAX_BALANCE
            && o.overdue_since.is_some() == (o.balance < Decimal::ZERO)
            && o.overdue_since.is_none_or(|t| t < o.since)
            && book.bills.keys().next().is_none_or(|&d| d >= a.before)
            && book.ledger.first().is_none_or(|e| e.at >= o.since);
        if !sound {
            return Err(BookProblem::Archive(a.before));
        }
    }

    // Issued bills: of billed days, stamped as `poll` stamps them, adding up.
    for (&day, bill) in &book.bills {
        check_bill(day, bill, book.account, config, next_day)
            .map_err(|problem| BookProblem::Bill { day, problem })?;
    }

    // The ledger: in time order, positive whole-fen credits within bounds, charges that
    // are exactly the bills with a positive total, balances within bounds.
    let mut charged: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    let mut balance = book.archive.map_or(Decimal::ZERO, |a| a.opening.balance);
    let mut magnitude = balance.abs();
    let mut latest: Option<DateTime<Utc>> = None;
    for e in &book.ledger {
        if latest.is_some_and(|l| e.at < l) {
            return Err(BookProblem::LedgerOrder(e.at));
        }
        latest = Some(e.at);
        match e.kind {
            EntryKind::TopUp | EntryKind::Refund => {
                if check_amount(e.amount).is_err() {
                    return Err(BookProblem::Amount { at: e.at, amount: e.amount });
                }
            }
            EntryKind::Charge { day } => {
                let matches = book
                    .bills
                    .get(&day)
                    .is_some_and(|b| b.total > Decimal::ZERO && b.total == e.amount && b.issued_at == e.at);
                let count = charged.entry(day).or_insert(0);
                *count += 1;
                if !matches || *count > 1 {
                    return Err(BookProblem::Charge { day });
                }
            }
        }
        balance = add_exact(balance, e.signed()).map_err(|_| BookProblem::Overflow)?;
        magnitude = add_exact(magnitude, e.amount).map_err(|_| BookProblem::Overflow)?;
        if !matches!(e.kind, EntryKind::Charge { .. }) && balance > MAX_BALANCE {
            return Err(BookProblem::Balance(e.at));
        }
    }
    if let Some((&day, _)) =
        book.bills.iter().find(|(day, b)| b.total > Decimal::ZERO && !charged.contains_key(day))
    {
        return Err(BookProblem::Charge { day });
    }
    book.magnitude = magnitude;
    Ok(())
}

/// Checks one issued bill filed under `day`.
pub(crate) fn check_bill(
    day: NaiveDate,
    bill: &DailyBill,
    account: AccountId,
    config: &BillingConfig,
    next_day: NaiveDate,
) -> Result<(), BillProblem> {
    if bill.day != day
        || bill.account != account
        || day < config.first_day()
        || day >= next_day
        || config.checked_issue_instant(day) != Some(bill.issued_at)
    {
        return Err(BillProblem::Identity);
    }
    if bill.lines.is_empty() {
        return Err(BillProblem::Empty);
    }
    for (i, line) in bill.lines.iter().enumerate() {
        let usage = DailyUsage { counted: line.counted, covered: line.covered };
        let kind_ok = match line.kind {
            LineKind::Usage => true,
            LineKind::Adjustment { day: of } => of < day && of >= config.first_day(),
        };
        let sound = kind_ok
            && line.counted >= 1
            && line.covered <= line.counted
            && check_unit_price(line.solution, line.unit_price).is_ok()
            && make_line(line.kind, line.solution, usage, line.unit_price, config.rounding()).as_ref()
                == Ok(line);
        if !sound {
            return Err(BillProblem::Line(i));
        }
    }
    let total = sum_exact(bill.lines.iter().map(|l| l.amount)).map_err(|_| BillProblem::Total)?;
    let remainder = sum_exact(bill.lines.iter().map(|l| l.remainder)).map_err(|_| BillProblem::Total)?;
    if total != bill.total || remainder != bill.remainder {
        return Err(BillProblem::Total);
    }
    Ok(())
}
