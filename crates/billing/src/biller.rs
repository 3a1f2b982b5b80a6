//! The biller: aggregates counted usage per account, natural day and solution; issues
//! each day's bills at the configured moment through a sans-I/O `poll(now)`; charges
//! them to the account's balance; and answers standing and statement questions.
//!
//! Invariants (tested):
//! - every line is rounded once to the fen, and Σ amounts + Σ remainders = Σ exact;
//! - an issued bill is never changed: usage for an issued day becomes an adjustment
//!   line, naming that day, on the next bill;
//! - re-running a day from the same inputs gives a byte-identical bill (bills are
//!   stamped with their scheduled issue instant, not the polling time);
//! - a failed operation changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shiren_catalog::{
    AccountId, BillingZone, CallCode, NoPrice, Pricing, Solution, WordHasher, date_of_day_number,
    day_number_of,
};
use shiren_meter::{Applied, DailyUsage, UsageEvent};

use crate::bill::{BillLine, DailyBill, LineKind, Statement};
use crate::money::{
    AmountProblem, MAX_BALANCE, MoneyOverflow, PriceError, Rounding, add_exact, check_amount, check_pricing,
    mul_exact, sum_exact, to_fen,
};
use crate::snapshot::{BillProblem, Snapshot, check_bill};
use crate::standing::{EntryKind, LedgerEntry, Opening, Standing, balance_at, standing_after};

/// Daily settlement applies from this day (2019-12-25 00:00:00 UTC+8).
pub const SETTLEMENT_START: NaiveDate = match NaiveDate::from_ymd_opt(2019, 12, 25) {
    Some(day) => day,
    None => NaiveDate::MIN,
};

/// How and when bills are made. Deserializing checks what [`BillingConfig::new`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct BillingConfig {
    zone: BillingZone,
    issue_time: NaiveTime,
    rounding: Rounding,
    first_day: NaiveDate,
}

/// A configuration was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Bills are issued between 10:00 and 12:00 of the next day.
    #[error("bills are issued between 10:00 and 12:00 of the next day, not at {0}")]
    IssueTime(NaiveTime),
    /// Daily settlement starts on 2019-12-25.
    #[error("daily settlement starts on 2019-12-25; {0} is earlier")]
    BeforeSettlement(NaiveDate),
    /// A zone offset of a day or more (only a hand-edited snapshot has one).
    #[error("the billing zone's offset is not within ±24 hours")]
    Zone,
}

/// The unchecked persisted form of [`BillingConfig`].
#[derive(Deserialize)]
struct RawConfig {
    zone: BillingZone,
    issue_time: NaiveTime,
    rounding: Rounding,
    first_day: NaiveDate,
}

impl TryFrom<RawConfig> for BillingConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<BillingConfig, ConfigError> {
        if BillingZone::new(raw.zone.offset().local_minus_utc()) != Some(raw.zone) {
            return Err(ConfigError::Zone);
        }
        BillingConfig::new(raw.zone, raw.issue_time, raw.rounding, raw.first_day)
    }
}

impl Default for BillingConfig {
    /// UTC+8, issued at 10:00 the next day, truncating to the fen, from 2019-12-25.
    fn default() -> BillingConfig {
        BillingConfig {
            zone: BillingZone::CHINA,
            issue_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN),
            rounding: Rounding::TowardZero,
            first_day: SETTLEMENT_START,
        }
    }
}

impl BillingConfig {
    /// A configuration; `issue_time` must lie in `[10:00, 12:00]` and `first_day` on or
    /// after 2019-12-25.
    pub fn new(
        zone: BillingZone,
        issue_time: NaiveTime,
        rounding: Rounding,
        first_day: NaiveDate,
    ) -> Result<BillingConfig, ConfigError> {
        let earliest = NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN);
        let latest = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN);
        if issue_time < earliest || issue_time > latest {
            return Err(ConfigError::IssueTime(issue_time));
        }
        if first_day < SETTLEMENT_START {
            return Err(ConfigError::BeforeSettlement(first_day));
        }
        Ok(BillingConfig { zone, issue_time, rounding, first_day })
    }

    /// The billing zone.
    pub fn zone(&self) -> BillingZone {
        self.zone
    }

    /// The rounding mode of bill lines.
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }

    /// The first day this configuration bills.
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// The instant the bill of `day` becomes issuable; [`DateTime::<Utc>::MAX_UTC`]
    /// for a day at the very end of the calendar whose bill can never be issued (see
    /// [`BillingConfig::checked_issue_instant`]).
    pub fn issue_instant(&self, day: NaiveDate) -> DateTime<Utc> {
        self.checked_issue_instant(day).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The instant the bill of `day` becomes issuable, or `None` when that instant is
    /// past the last one chrono can represent (the last days of year 262,142): such a
    /// day can never be billed.
    pub fn checked_issue_instant(&self, day: NaiveDate) -> Option<DateTime<Utc>> {
        let local = day.checked_add_days(Days::new(1))?.and_time(self.issue_time);
        let offset = TimeDelta::try_seconds(i64::from(self.zone.offset().local_minus_utc()))?;
        Some(local.checked_sub_signed(offset)?.and_utc())
    }

    /// Whether the bill of `day` can ever be issued.
    fn billable(&self, day: NaiveDate) -> bool {
        self.checked_issue_instant(day).is_some()
    }

    /// The last day whose bill can be issued.
    fn last_billable_day(&self) -> NaiveDate {
        // At most two days short of the calendar's end for offsets within ±24 hours.
        let mut day = NaiveDate::MAX;
        while !self.billable(day) {
            match day.pred_opt() {
                Some(before) => day = before,
                None => break,
            }
        }
        day
    }
}

/// One counted unit of usage, as billing sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// The account.
    pub account: AccountId,
    /// The priced solution.
    pub solution: Solution,
    /// When the verification completed.
    pub time: DateTime<Utc>,
    /// Whether a traffic pack paid for it.
    pub covered: bool,
}

impl UsageRecord {
    /// The record for an event the meter applied: drawn from a pack → covered;
    /// overage → not covered; duplicates and non-counting events → none. The meter is
    /// the single place that makes usage exactly-once.
    pub fn from_applied(event: &UsageEvent, applied: &Applied) -> Option<UsageRecord> {
        let covered = match applied {
            Applied::Drawn { .. } => true,
            Applied::Overage => false,
            _ => return None,
        };
        Some(UsageRecord { account: event.account, solution: event.solution, time: event.time, covered })
    }
}

/// A billing operation was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BillingError {
    /// The account was never opened for billing.
    #[error("account `{0}` is not open for billing")]
    UnknownAccount(AccountId),
    /// The account is already open.
    #[error("account `{0}` is already open for billing")]
    AlreadyOpen(AccountId),
    /// The solution has no price for this account.
    #[error(transparent)]
    NoPrice(#[from] NoPrice),
    /// Usage of a day this biller never bills.
    #[error("usage of {day} cannot be billed: billing starts on {first_day}")]
    BeforeFirstDay {
        /// The usage's day.
        day: NaiveDate,
        /// The first billed day.
        first_day: NaiveDate,
    },
    /// A money amount that is not positive.
    #[error("amount {0} must be greater than zero")]
    NotPositive(Decimal),
    /// A top-up or refund above [`MAX_AMOUNT`](crate::MAX_AMOUNT).
    #[error("amount {0} is above the maximum single amount of 10000000000 CNY")]
    AmountTooLarge(Decimal),
    /// A top-up or refund that is not a whole number of fen.
    #[error("amount {0} is not a whole number of fen (at most two decimal places)")]
    SubFen(Decimal),
    /// A top-up or refund that would bring the balance above
    /// [`MAX_BALANCE`](crate::MAX_BALANCE).
    #[error("adding {amount} to the balance {balance} would exceed the maximum balance of 1000000000000 CNY")]
    BalanceTooLarge {
        /// The balance before.
        balance: Decimal,
        /// The refused amount.
        amount: Decimal,
    },
    /// A negotiated price outside the bounds.
    #[error(transparent)]
    Price(#[from] PriceError),
    /// An amount of the account (a bill line, a bill, the balance) would be too large
    /// to compute exactly; nothing changed. Lower the account's price or split its
    /// usage.
    #[error("amounts of account `{0}` would be too large to compute exactly")]
    Overflow(AccountId),
    /// Usage, or the bill it would go on, of a day whose bill can never be issued
    /// because its issue instant lies beyond the calendar chrono supports.
    #[error("the bill of {0} can never be issued: it falls after the last supported instant")]
    NotBillable(NaiveDate),
    /// A ledger entry older than the latest one.
    #[error("entry at {at} is older than the account's latest entry at {latest}")]
    OutOfOrder {
        /// The entry's time.
        at: DateTime<Utc>,
        /// The latest entry's time.
        latest: DateTime<Utc>,
    },
    /// Month outside 1–12.
    #[error("month {0} is not 1–12")]
    Month(u32),
    /// Bills and balances before `before` were handed over by [`Biller::archive`]:
    /// ask the store that keeps them.
    #[error("account `{account}`: bills of days before {before} are archived")]
    Archived {
        /// The account.
        account: AccountId,
        /// The first day the biller still answers for.
        before: NaiveDate,
    },
    /// Only issued days can be archived: `day` is not before the next day to bill.
    #[error("{day} is not an issued day: the next day to bill is {next_day}")]
    NotIssued {
        /// The requested day.
        day: NaiveDate,
        /// The next day to bill.
        next_day: NaiveDate,
    },
    /// An archived bill handed back (e.g. read from a database) is not one this
    /// biller archived: wrong account or day, or it does not add up.
    #[error("the archived bill of {day} is refused: {problem}")]
    ArchivedBill {
        /// The bill's day.
        day: NaiveDate,
        /// What is wrong.
        problem: BillProblem,
    },
}

/// What the caller should do next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BillingStep {
    /// These bills were issued (and charged); store and send them, then poll again.
    Issued {
        /// The day billed.
        day: NaiveDate,
        /// One bill per account that had something to bill, in account-opening order.
        bills: Vec<DailyBill>,
    },
    /// Nothing to do until `until`.
    Idle {
        /// When the next day's bills become issuable.
        until: DateTime<Utc>,
    },
    /// Every billable day is billed: the bill of `day` (the next day) could only be
    /// issued after the last instant chrono represents, so nothing will ever be due
    /// again. Stop polling.
    Ended {
        /// The first day that can never be billed.
        day: NaiveDate,
    },
}

/// One account's billing state.
// INVARIANT (checked again on restore, see `snapshot`): the pricing is within the
// bounds; `usage` days are strictly increasing, not yet billed and billable, and every
// counted solution is priced; `pending` adjustments wait for a bill not yet issued;
// `bills` are days already billed; the ledger is in time order, and its charges are
// exactly the bills with a positive total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Book {
    pub(crate) account: AccountId,
    pub(crate) pricing: Pricing,
    /// Derived from `pricing`: which solutions have a price (by `Solution::index`).
    #[serde(skip)]
    pub(crate) priced: [bool; 9],
    /// Usage of days not billed yet that arrived before their bill was due, in day
    /// order; a day's entry is removed when its bill is issued.
    pub(crate) usage: Vec<DayUsage>,
    /// Usage that arrived after its day's bill was due, waiting for the bill it goes
    /// on: (bill day, usage day, solution).
    pub(crate) pending: Vec<Adjustment>,
    pub(crate) bills: BTreeMap<NaiveDate, DailyBill>,
    /// In time order (charges of late polls are inserted at their instant); after an
    /// archive, only the entries from `opening.since` on.
    pub(crate) ledger: Vec<LedgerEntry>,
    /// What [`Biller::archive`] folded away: bills of days before `archived_before` and
    /// ledger entries before `opening.since` (its issue instant) have left the book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) archive: Option<Archive>,
    /// Derived from `ledger`: Σ |amount|. While it is exact, so is every balance.
    #[serde(skip)]
    pub(crate) magnitude: Decimal,
}

/// Where a book was cut by [`Biller::archive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Archive {
    /// Bills of days before this one have left the book.
    pub(crate) before: NaiveDate,
    /// The ledger before the issue instant of `before`.
    pub(crate) opening: Opening,
}

/// One unbilled day's usage, per solution (indexed by `Solution::index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DayUsage {
    pub(crate) day: NaiveDate,
    pub(crate) by_solution: [DailyUsage; 9],
}

/// Late usage waiting for the bill of `bill_day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Adjustment {
    pub(crate) bill_day: NaiveDate,
    pub(crate) usage_day: NaiveDate,
    pub(crate) solution: Solution,
    pub(crate) counted: u64,
    pub(crate) covered: u64,
}

/// Which solutions `pricing` can price.
pub(crate) fn priced_mask(pricing: &Pricing) -> [bool; 9] {
    Solution::ALL.map(|s| pricing.unit_price(s).is_ok())
}

/// The line of `usage` of `solution` at `unit_price`, computed exactly.
pub(crate) fn make_line(
    kind: LineKind,
    solution: Solution,
    usage: DailyUsage,
    unit_price: Decimal,
    rounding: Rounding,
) -> Result<BillLine, MoneyOverflow> {
    let chargeable = usage.overage();
    let exact_amount = mul_exact(Decimal::from(chargeable), unit_price)?;
    let (amount, remainder) = to_fen(exact_amount, rounding);
    Ok(BillLine {
        kind,
        solution,
        counted: usage.counted,
        covered: usage.covered,
        chargeable,
        unit_price,
        exact_amount,
        amount,
        remainder,
    })
}

/// A day's bill of one account, computed but not yet applied.
struct Prepared {
    bill: DailyBill,
    /// Σ |ledger amounts| after the charge.
    magnitude: Decimal,
}

impl Book {
    fn line(
        &self,
        kind: LineKind,
        solution: Solution,
        usage: DailyUsage,
        rounding: Rounding,
    ) -> Result<BillLine, BillingError> {
        // `record` and `set_pricing` refuse usage without a price, and a restore checks
        // it, so this lookup succeeds; if it ever did not, the poll is refused rather
        // than the usage dropped.
        let unit_price = self.pricing.unit_price(solution)?;
        make_line(kind, solution, usage, unit_price, rounding)
            .map_err(|_| BillingError::Overflow(self.account))
    }

    fn add_on_time(&mut self, day: NaiveDate, solution: Solution, covered: bool) {
        let at = match self.usage.last() {
            Some(last) if last.day == day => self.usage.len() - 1,
            _ => match self.usage.binary_search_by_key(&day, |d| d.day) {
                Ok(at) => at,
                Err(at) => {
                    self.usage.insert(at, DayUsage { day, by_solution: [DailyUsage::default(); 9] });
                    at
                }
            },
        };
        if let Some(slot) = self.usage.get_mut(at).and_then(|d| d.by_solution.get_mut(solution.index())) {
            // INVARIANT: counts grow by one per record from at most `MAX_UNITS` (10^15)
            // after a restore; u64 saturates only after 1.8 × 10^19 records.
            slot.counted = slot.counted.saturating_add(1);
            slot.covered = slot.covered.saturating_add(u64::from(covered));
        }
    }

    fn add_late(&mut self, bill_day: NaiveDate, usage_day: NaiveDate, solution: Solution, covered: bool) {
        let slot = self
            .pending
            .iter_mut()
            .find(|a| a.bill_day == bill_day && a.usage_day == usage_day && a.solution == solution);
        match slot {
            Some(a) => {
                // INVARIANT: as in `add_on_time`.
                a.counted = a.counted.saturating_add(1);
                a.covered = a.covered.saturating_add(u64::from(covered));
            }
            None => self.pending.push(Adjustment {
                bill_day,
                usage_day,
                solution,
                counted: 1,
                covered: u64::from(covered),
            }),
        }
    }

    /// The bill of `day` issued at `at`, changing nothing; `None` if there is nothing
    /// to bill. Refused if an amount cannot be computed exactly.
    fn prepare(
        &self,
        day: NaiveDate,
        at: DateTime<Utc>,
        rounding: Rounding,
    ) -> Result<Option<Prepared>, BillingError> {
        let mut lines = Vec::new();
        if let Some(today) = self.usage.first().filter(|d| d.day == day) {
            for (&solution, usage) in Solution::ALL.iter().zip(today.by_solution) {
                if usage.counted > 0 {
                    lines.push(self.line(LineKind::Usage, solution, usage, rounding)?);
                }
            }
        }
        let mut due: Vec<&Adjustment> = self.pending.iter().filter(|a| a.bill_day <= day).collect();
        due.sort_by_key(|a| (a.usage_day, a.solution));
        for a in due {
            let usage = DailyUsage { counted: a.counted, covered: a.covered };
            lines.push(self.line(LineKind::Adjustment { day: a.usage_day }, a.solution, usage, rounding)?);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        let overflow = |_| BillingError::Overflow(self.account);
        let total = sum_exact(lines.iter().map(|l| l.amount)).map_err(overflow)?;
        let remainder = sum_exact(lines.iter().map(|l| l.remainder)).map_err(overflow)?;
        let magnitude = if total > Decimal::ZERO {
            add_exact(self.magnitude, total).map_err(overflow)?
        } else {
            self.magnitude
        };
        let bill = DailyBill { account: self.account, day, issued_at: at, lines, total, remainder };
        Ok(Some(Prepared { bill, magnitude }))
    }

    /// Applies the bill of `day` computed by `prepare` (or, with `None`, only drops
    /// the day's empty state): the day's usage and due adjustments are consumed, the
    /// bill is filed and its charge inserted at its instant, keeping the ledger in
    /// time order.
    fn commit(&mut self, day: NaiveDate, prepared: Option<Prepared>) {
        if self.usage.first().is_some_and(|d| d.day == day) {
            self.usage.remove(0);
        }
        self.pending.retain(|a| a.bill_day > day);
        let Some(Prepared { bill, magnitude }) = prepared else { return };
        if bill.total > Decimal::ZERO {
            let at = bill.issued_at;
            let position = self.ledger.partition_point(|e| e.at <= at);
            self.ledger
                .insert(position, LedgerEntry { at, kind: EntryKind::Charge { day }, amount: bill.total });
            self.magnitude = magnitude;
        }
        self.bills.insert(day, bill);
    }

    /// The balance at `at`, which must not lie before the archive's opening.
    fn balance(&self, at: DateTime<Utc>) -> Result<Decimal, MoneyOverflow> {
        let opening = self.archive.map_or(Decimal::ZERO, |a| a.opening.balance);
        add_exact(opening, balance_at(&self.ledger, at)?)
    }

    /// Refuses an instant before the archive's opening: its balance has been folded.
    fn check_answerable(&self, at: DateTime<Utc>) -> Result<(), BillingError> {
        match self.archive {
            Some(a) if at < a.opening.since => {
                Err(BillingError::Archived { account: self.account, before: a.before })
            }
            _ => Ok(()),
        }
    }

    fn append(&mut self, entry: LedgerEntry) -> Result<Decimal, BillingError> {
        match check_amount(entry.amount) {
            Ok(()) => {}
            Err(AmountProblem::NotPositive) => return Err(BillingError::NotPositive(entry.amount)),
            Err(AmountProblem::TooLarge) => return Err(BillingError::AmountTooLarge(entry.amount)),
            Err(AmountProblem::SubFen) => return Err(BillingError::SubFen(entry.amount)),
        }
        if let Some(latest) = self.ledger.last().map(|e| e.at).or(self.archive.map(|a| a.opening.since))
            && entry.at < latest
        {
            return Err(BillingError::OutOfOrder { at: entry.at, latest });
        }
        let overflow = |_| BillingError::Overflow(self.account);
        // Every entry is at or before `entry.at`: this is the whole ledger's balance.
        let balance = self.balance(entry.at).map_err(overflow)?;
        let after = add_exact(balance, entry.amount).map_err(overflow)?;
        if after > MAX_BALANCE {
            return Err(BillingError::BalanceTooLarge { balance, amount: entry.amount });
        }
        let magnitude = add_exact(self.magnitude, entry.amount).map_err(overflow)?;
        self.ledger.push(entry);
        self.magnitude = magnitude;
        Ok(after)
    }
}

type FastState = BuildHasherDefault<WordHasher>;

/// Daily billing for many accounts. Mutation takes `&mut self`; share it behind the
/// caller's lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Biller {
    config: BillingConfig,
    /// The next day to bill.
    next_day: NaiveDate,
    /// Accounts in opening order (bills come out in this order).
    books: Vec<Book>,
    /// Derived: account → position in `books`.
    index: HashMap<AccountId, usize, FastState>,
}

impl Biller {
    /// A biller with no accounts; the first day billed is the config's first day.
    pub fn new(config: BillingConfig) -> Biller {
        Biller { config, next_day: config.first_day, books: Vec::new(), index: HashMap::default() }
    }

    /// The configuration.
    pub fn config(&self) -> &BillingConfig {
        &self.config
    }

    /// The next day whose bills `poll` will issue.
    pub fn next_day(&self) -> NaiveDate {
        self.next_day
    }

    fn book(&self, account: &AccountId) -> Result<&Book, BillingError> {
        self.index.get(account).and_then(|&i| self.books.get(i)).ok_or(BillingError::UnknownAccount(*account))
    }

    fn book_mut(&mut self, account: &AccountId) -> Result<&mut Book, BillingError> {
        self.index
            .get(account)
            .and_then(|&i| self.books.get_mut(i))
            .ok_or(BillingError::UnknownAccount(*account))
    }

    /// Opens an account for billing with its pricing (list or negotiated). Negotiated
    /// prices must lie in `[0, MAX_UNIT_PRICE]` with at most `MAX_PRICE_DECIMALS`
    /// decimal places ([`check_pricing`](crate::check_pricing)); zero is a free contract.
    pub fn open_account(&mut self, account: &AccountId, pricing: Pricing) -> Result<(), BillingError> {
        if self.index.contains_key(account) {
            return Err(BillingError::AlreadyOpen(*account));
        }
        check_pricing(&pricing)?;
        self.index.insert(*account, self.books.len());
        self.books.push(Book {
            account: *account,
            priced: priced_mask(&pricing),
            pricing,
            usage: Vec::new(),
            pending: Vec::new(),
            bills: BTreeMap::new(),
            ledger: Vec::new(),
            archive: None,
            magnitude: Decimal::ZERO,
        });
        Ok(())
    }

    /// Replaces an account's pricing for bills issued from now on. Refused if a
    /// solution the account has used would have no price, or if a negotiated price is
    /// out of bounds (as in [`Biller::open_account`]).
    pub fn set_pricing(&mut self, account: &AccountId, pricing: Pricing) -> Result<(), BillingError> {
        check_pricing(&pricing)?;
        let book = self.book_mut(account)?;
        let used: BTreeSet<Solution> = book
            .usage
            .iter()
            .flat_map(|d| {
                Solution::ALL.iter().zip(d.by_solution).filter(|(_, u)| u.counted > 0).map(|(s, _)| *s)
            })
            .chain(book.pending.iter().map(|a| a.solution))
            .collect();
        for solution in used {
            pricing.unit_price(solution)?;
        }
        book.priced = priced_mask(&pricing);
        book.pricing = pricing;
        Ok(())
    }

    /// Whether [`Biller::record`] would accept usage of `solution` by `account` at
    /// `time`, changing nothing: the account is open, billing had started by `time`'s
    /// day, the account has a price for the solution, and the day's bill (or, once
    /// that is issued, the next one) can be issued before the calendar ends. `record`
    /// of usage arriving at `time` fails exactly when this does, so a flow can check
    /// every store before it changes any.
    pub fn check_usage(
        &self,
        account: &AccountId,
        solution: Solution,
        time: DateTime<Utc>,
    ) -> Result<(), BillingError> {
        let day = self.config.zone.day_of(time);
        if day < self.config.first_day {
            return Err(BillingError::BeforeFirstDay { day, first_day: self.config.first_day });
        }
        if !self.config.billable(day) {
            return Err(BillingError::NotBillable(day));
        }
        if !self.config.billable(self.next_day) {
            return Err(BillingError::NotBillable(self.next_day));
        }
        let book = self.book(account)?;
        if !book.priced.get(solution.index()).copied().unwrap_or(false) {
            return Err(NoPrice(solution).into());
        }
        Ok(())
    }

    /// Records one counted unit that arrived at `now`. Usage that arrives before its
    /// day's bill is due goes on that bill; usage that arrives later becomes an
    /// adjustment line, naming its day, on the first bill due after its arrival. Bills
    /// therefore depend only on these timestamps, never on when `poll` is called.
    /// Beyond [`Biller::check_usage`], an arrival `now` so late that its bill could
    /// never be issued (the calendar's last day) is refused with
    /// [`BillingError::NotBillable`].
    pub fn record(&mut self, usage: &UsageRecord, now: DateTime<Utc>) -> Result<(), BillingError> {
        self.check_usage(&usage.account, usage.solution, usage.time)?;
        let day = self.config.zone.day_of(usage.time);
        let next_day = self.next_day;
        let bill_day = self.bill_day_for(now);
        // Before its bill is due ⇔ the first bill due after `now` is this day's or later.
        let on_time = day >= bill_day && day >= next_day;
        if !on_time && !self.config.billable(bill_day.max(next_day)) {
            return Err(BillingError::NotBillable(bill_day.max(next_day)));
        }
        let book = self.book_mut(&usage.account)?;
        if on_time {
            book.add_on_time(day, usage.solution, usage.covered);
        } else {
            book.add_late(bill_day.max(next_day), day, usage.solution, usage.covered);
        }
        Ok(())
    }

    /// Records many counted units that arrived at `now` — the same bills as calling
    /// [`Biller::record`] for each, but all or nothing: every record is checked before
    /// any is applied, so an error changes nothing. Faster per record: the bill day is
    /// computed once, days stay integers until they reach a book, and consecutive
    /// records of one account share one lookup. Holds 8 bytes per record while it
    /// works; feed large streams in batches of, say, 100,000.
    pub fn record_batch(&mut self, usages: &[UsageRecord], now: DateTime<Utc>) -> Result<(), BillingError> {
        let zone = self.config.zone;
        let first = day_number_of(self.config.first_day);
        let last_billable = day_number_of(self.config.last_billable_day());
        // On time ⇔ its day's bill is not due yet (see `record`).
        let threshold = day_number_of(self.bill_day_for(now).max(self.next_day));
        let unbillable =
            |day: i64| BillingError::NotBillable(date_of_day_number(day).unwrap_or(NaiveDate::MAX));
        if day_number_of(self.next_day) > last_billable && !usages.is_empty() {
            return Err(BillingError::NotBillable(self.next_day));
        }
        // Check and resolve: (book index, day offset << 5 | solution << 1 | covered).
        let mut resolved: Vec<(u32, u32)> = Vec::with_capacity(usages.len());
        let mut last: Option<(AccountId, u32)> = None;
        for usage in usages {
            let (day, _) = zone.day_number_and_second(usage.time);
            if day >= first && (day > last_billable || (day < threshold && threshold > last_billable)) {
                return Err(unbillable(if day > last_billable { day } else { threshold }));
            }
            let offset = u32::try_from(day - first).ok().filter(|&o| o < 1 << 27).ok_or_else(|| {
                BillingError::BeforeFirstDay {
                    day: date_of_day_number(day).unwrap_or(self.config.first_day),
                    first_day: self.config.first_day,
                }
            })?;
            let book = match last {
                Some((account, book)) if account == usage.account => book,
                _ => {
                    let i = self
                        .index
                        .get(&usage.account)
                        .copied()
                        .ok_or(BillingError::UnknownAccount(usage.account))?;
                    let i = u32::try_from(i).map_err(|_| BillingError::UnknownAccount(usage.account))?;
                    last = Some((usage.account, i));
                    i
                }
            };
            let solution = usage.solution.index();
            let priced = self.books.get(book as usize).and_then(|b| b.priced.get(solution)).copied();
            if priced != Some(true) {
                return Err(NoPrice(usage.solution).into());
            }
            resolved.push((book, offset << 5 | (solution as u32) << 1 | u32::from(usage.covered)));
        }
        // Apply. Days become dates once per change of day, not once per record.
        let mut date_of = (i64::MIN, self.config.first_day);
        for (book, packed) in resolved {
            let day = first + i64::from(packed >> 5);
            if date_of.0 != day {
                date_of = (day, date_of_day_number(day).unwrap_or(self.config.first_day));
            }
            let solution = Solution::ALL.get(((packed >> 1) & 15) as usize).copied().unwrap_or(Solution::App);
            let covered = packed & 1 == 1;
            let Some(book) = self.books.get_mut(book as usize) else { continue };
            if day >= threshold {
                book.add_on_time(date_of.1, solution, covered);
            } else {
                let bill_day = date_of_day_number(threshold).unwrap_or(self.config.first_day);
                book.add_late(bill_day, date_of.1, solution, covered);
            }
        }
        Ok(())
    }

    /// The day whose bill is the first to fall due after `instant`: yesterday's while
    /// today's issue time has not come, otherwise today's.
    fn bill_day_for(&self, instant: DateTime<Utc>) -> NaiveDate {
        let (today, second) = self.config.zone.day_number_and_second(instant);
        let day = if second < self.config.issue_time.num_seconds_from_midnight() { today - 1 } else { today };
        date_of_day_number(day).unwrap_or(self.config.first_day)
    }

    /// Issues the next day's bills if their moment has come; otherwise says until when
    /// there is nothing to do, or that nothing will ever be due again
    /// ([`BillingStep::Ended`], at the end of chrono's calendar). Never sleeps and
    /// never reads a clock.
    ///
    /// Charges are stamped with the bill's scheduled instant and inserted into the
    /// ledger at that instant, even when `poll` runs later than that and top-ups
    /// arrived in between, so the ledger stays in time order.
    ///
    /// All or nothing: every account's bill is computed before any is applied. If one
    /// cannot be computed exactly ([`BillingError::Overflow`]), nothing changes — the
    /// day's usage stays unbilled — and every poll says so until the cause is fixed
    /// (for example with a lower price through [`Biller::set_pricing`]).
    pub fn poll(&mut self, now: DateTime<Utc>) -> Result<BillingStep, BillingError> {
        let day = self.next_day;
        let (Some(due), Some(next_day)) = (self.config.checked_issue_instant(day), day.succ_opt()) else {
            return Ok(BillingStep::Ended { day });
        };
        if now < due {
            return Ok(BillingStep::Idle { until: due });
        }
        let rounding = self.config.rounding;
        let prepared = self
            .books
            .iter()
            .map(|book| book.prepare(day, due, rounding))
            .collect::<Result<Vec<Option<Prepared>>, BillingError>>()?;
        let mut bills = Vec::new();
        for (book, prepared) in self.books.iter_mut().zip(prepared) {
            if let Some(p) = &prepared {
                bills.push(p.bill.clone());
            }
            book.commit(day, prepared);
        }
        self.next_day = next_day;
        Ok(BillingStep::Issued { day, bills })
    }

    /// Adds a top-up; returns the new balance.
    pub fn top_up(
        &mut self,
        account: &AccountId,
        amount: Decimal,
        at: DateTime<Utc>,
    ) -> Result<Decimal, BillingError> {
        self.book_mut(account)?.append(LedgerEntry { at, kind: EntryKind::TopUp, amount })
    }

    /// Credits a refund to the balance; returns the new balance.
    pub fn refund(
        &mut self,
        account: &AccountId,
        amount: Decimal,
        at: DateTime<Utc>,
    ) -> Result<Decimal, BillingError> {
        self.book_mut(account)?.append(LedgerEntry { at, kind: EntryKind::Refund, amount })
    }

    /// The balance at `at` (Σ entries up to then); [`BillingError::Archived`] before
    /// the archive's opening.
    pub fn balance(&self, account: &AccountId, at: DateTime<Utc>) -> Result<Decimal, BillingError> {
        let book = self.book(account)?;
        book.check_answerable(at)?;
        book.balance(at).map_err(|_| BillingError::Overflow(*account))
    }

    /// The ledger entries of the account, in time order (after an archive, those from
    /// the opening on; see [`Biller::opening`]).
    pub fn ledger(&self, account: &AccountId) -> Result<&[LedgerEntry], BillingError> {
        Ok(&self.book(account)?.ledger)
    }

    /// What the account's ledger held before its last archive, if it was archived.
    pub fn opening(&self, account: &AccountId) -> Result<Option<Opening>, BillingError> {
        Ok(self.book(account)?.archive.map(|a| a.opening))
    }

    /// The account's standing at `at`; [`BillingError::Archived`] before the archive's
    /// opening.
    pub fn standing(&self, account: &AccountId, at: DateTime<Utc>) -> Result<Standing, BillingError> {
        let book = self.book(account)?;
        book.check_answerable(at)?;
        let opening = book.archive.as_ref().map(|a| &a.opening);
        standing_after(opening, &book.ledger, at).map_err(|_| BillingError::Overflow(*account))
    }

    /// Whether a new verification may start: overdue or suspended accounts get call
    /// code 412; accounts not open for billing get 410 (service not activated); a
    /// standing that cannot be computed gets 500 (never a pass).
    pub fn may_start_verification(&self, account: &AccountId, now: DateTime<Utc>) -> Result<(), CallCode> {
        match self.standing(account, now) {
            Ok(Standing::Active) => Ok(()),
            Ok(_) => Err(CallCode::InArrears),
            Err(BillingError::UnknownAccount(_)) => Err(CallCode::NotActivated),
            Err(_) => Err(CallCode::SystemError),
        }
    }

    /// The issued bill of `day`, if any; [`BillingError::Archived`] if bills of that
    /// day have been handed over by [`Biller::archive`].
    pub fn bill(&self, account: &AccountId, day: NaiveDate) -> Result<Option<&DailyBill>, BillingError> {
        let book = self.book(account)?;
        match book.archive {
            Some(a) if day < a.before => Err(BillingError::Archived { account: *account, before: a.before }),
            _ => Ok(book.bills.get(&day)),
        }
    }

    /// The issued bills of `first` through `last`, in day order (at most one a day);
    /// [`BillingError::Archived`] if `first` lies before the archive's cut.
    pub fn bills(
        &self,
        account: &AccountId,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<&DailyBill>, BillingError> {
        let book = self.book(account)?;
        match book.archive {
            Some(a) if first < a.before => {
                Err(BillingError::Archived { account: *account, before: a.before })
            }
            _ if last < first => Ok(Vec::new()),
            _ => Ok(book.bills.range(first..=last).map(|(_, b)| b).collect()),
        }
    }

    /// Hands the account's issued bills of days before `before` over to the caller,
    /// who keeps them (a database table, an archive), and folds the ledger entries
    /// before the issue instant of `before` into the book's [`Opening`]. Balances,
    /// standings and bills from then on are answered exactly as before; earlier ones
    /// are refused with [`BillingError::Archived`], and so are ledger entries dated
    /// before the opening. This keeps a book's size bounded by the days it still
    /// answers for, however long the account lives.
    ///
    /// `before` must be an issued day (before the next day to bill), so the cut lies
    /// in the past of every poll that could follow; a `before` at or before the
    /// previous archive's hands over nothing. Returns the bills in day order. A failed
    /// archive changes nothing.
    pub fn archive(
        &mut self,
        account: &AccountId,
        before: NaiveDate,
    ) -> Result<Vec<DailyBill>, BillingError> {
        if before >= self.next_day {
            return Err(BillingError::NotIssued { day: before, next_day: self.next_day });
        }
        let since = self.config.checked_issue_instant(before).ok_or(BillingError::NotBillable(before))?;
        let first_day = self.config.first_day;
        let book = self.book_mut(account)?;
        if book.archive.is_some_and(|a| before <= a.before) || before <= first_day {
            return Ok(Vec::new());
        }
        let cut = book.ledger.partition_point(|e| e.at < since);
        let (folded, kept) = book.ledger.split_at(cut);
        let overflow = |_| BillingError::Overflow(*account);
        let opening =
            Opening::fold(book.archive.as_ref().map(|a| &a.opening), folded, since).map_err(overflow)?;
        let magnitude = sum_exact(kept.iter().map(|e| e.amount))
            .and_then(|m| add_exact(m, opening.balance.abs()))
            .map_err(overflow)?;
        // Applied: nothing below can fail.
        book.ledger.drain(..cut);
        book.magnitude = magnitude;
        book.archive = Some(Archive { before, opening });
        let kept_bills = book.bills.split_off(&before);
        let archived = std::mem::replace(&mut book.bills, kept_bills);
        Ok(archived.into_values().collect())
    }

    /// The statement of `month` of `year`: the last day of the previous month through
    /// the second-to-last day of the month (January 2020 = 2019-12-31 … 2020-01-30).
    /// [`BillingError::Archived`] if some of its days were archived: use
    /// [`Biller::statement_with`].
    pub fn statement(&self, account: &AccountId, year: i32, month: u32) -> Result<Statement, BillingError> {
        let (first_day, _) = statement_days(year, month).ok_or(BillingError::Month(month))?;
        match self.book(account)?.archive {
            Some(a) if first_day < a.before => {
                Err(BillingError::Archived { account: *account, before: a.before })
            }
            _ => self.statement_with(account, year, month, &[]),
        }
    }

    /// The statement of `month` of `year` from the bills the biller still holds and
    /// `archived`: every bill of the month's archived days that the caller kept (each
    /// checked with [`Biller::check_archived`]; any order; bills of other days are
    /// ignored).
    pub fn statement_with(
        &self,
        account: &AccountId,
        year: i32,
        month: u32,
        archived: &[DailyBill],
    ) -> Result<Statement, BillingError> {
        let (first_day, last_day) = statement_days(year, month).ok_or(BillingError::Month(month))?;
        let book = self.book(account)?;
        let mut days = BTreeMap::new();
        for bill in archived {
            self.check_archived(account, bill)?;
            if (first_day..=last_day).contains(&bill.day) && days.insert(bill.day, bill.clone()).is_some() {
                return Err(BillingError::ArchivedBill { day: bill.day, problem: BillProblem::Identity });
            }
        }
        days.extend(book.bills.range(first_day..=last_day).map(|(&d, b)| (d, b.clone())));
        let days: Vec<DailyBill> = days.into_values().collect();
        let total = sum_exact(days.iter().map(|b| b.total)).map_err(|_| BillingError::Overflow(*account))?;
        Ok(Statement { account: *account, year, month, first_day, last_day, days, total })
    }

    /// Checks a bill handed back after [`Biller::archive`] (read from a database, say)
    /// as a snapshot restore checks an issued bill: of this account, of an archived
    /// day, stamped with its issue instant, every line and total adding up.
    pub fn check_archived(&self, account: &AccountId, bill: &DailyBill) -> Result<(), BillingError> {
        let book = self.book(account)?;
        let archived = book.archive.is_some_and(|a| bill.day < a.before);
        let identity = if archived { Ok(()) } else { Err(BillProblem::Identity) };
        identity
            .and_then(|()| check_bill(bill.day, bill, *account, &self.config, self.next_day))
            .map_err(|problem| BillingError::ArchivedBill { day: bill.day, problem })
    }
}

/// First and last day of the statement of `year`-`month`.
pub fn statement_days(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first_of_month = NaiveDate::from_ymd_opt(year, month, 1)?;
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let first_day = first_of_month.pred_opt()?;
    let last_day = first_of_next.pred_opt()?.pred_opt()?;
    Some((first_day, last_day))
}

impl Serialize for Biller {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Snapshot { config: self.config, next_day: self.next_day, books: self.books.clone() }
            .serialize(serializer)
    }
}

/// Restoring checks every invariant the operations keep (see [`SnapshotError`]); a
/// snapshot no sequence of operations could have produced is refused.
///
/// [`SnapshotError`]: crate::SnapshotError
impl<'de> Deserialize<'de> for Biller {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        Snapshot::deserialize(deserializer)?.restore().map_err(D::Error::custom)
    }
}

impl Biller {
    /// Builds a biller from checked parts (used by the snapshot restore).
    pub(crate) fn from_parts(config: BillingConfig, next_day: NaiveDate, books: Vec<Book>) -> Biller {
        let index = books.iter().enumerate().map(|(i, b)| (b.account, i)).collect();
        Biller { config, next_day, books, index }
    }

    /// Whether the bill of `day` can ever be issued under `config`.
    pub(crate) fn billable(config: &BillingConfig, day: NaiveDate) -> bool {
        config.billable(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A price no operation accepts any more (the bounds refuse it), planted directly
    /// to reach the overflow path: the poll is refused, nothing changes, the usage
    /// stays unbilled, and once the price is fixed the same usage is billed.
    #[test]
    fn an_overflowing_bill_refuses_the_poll_and_keeps_the_usage() {
        let first = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let config = BillingConfig::new(
            BillingZone::CHINA,
            NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            Rounding::TowardZero,
            first,
        )
        .unwrap();
        let mut biller = Biller::new(config);
        let (a, b) = (AccountId::new("1").unwrap(), AccountId::new("2").unwrap());
        biller.open_account(&a, Pricing::list()).unwrap();
        biller.open_account(&b, Pricing::list()).unwrap();
        let t = Utc.with_ymd_and_hms(2020, 1, 1, 1, 0, 0).unwrap();
        for account in [a, b] {
            for _ in 0..2 {
                let usage = UsageRecord { account, solution: Solution::App, time: t, covered: false };
                biller.record(&usage, t).unwrap();
            }
        }
        biller.books[1].pricing = Pricing::negotiated([(Solution::App, Decimal::MAX)]);
        let before = biller.clone();
        let later = t + chrono::Duration::days(3);
        assert_eq!(biller.poll(later), Err(BillingError::Overflow(b)));
        assert_eq!(biller.poll(later), Err(BillingError::Overflow(b)), "every poll says so");
        assert_eq!(biller, before, "nothing changed, not even the other account's bill");
        biller.set_pricing(&b, Pricing::negotiated([(Solution::App, Decimal::new(3, 0))])).unwrap();
        let Ok(BillingStep::Issued { bills, .. }) = biller.poll(later) else { panic!("due") };
        let totals: Vec<Decimal> = bills.iter().map(|bill| bill.total).collect();
        assert_eq!(totals, vec![Decimal::new(2, 0), Decimal::new(6, 0)]);
    }

    /// The account's magnitude (Σ |amounts|) is what keeps balances exact; a ledger
    /// whose magnitude cannot grow refuses the top-up and changes nothing.
    #[test]
    fn a_top_up_beyond_exact_range_is_refused() {
        let mut biller = Biller::new(BillingConfig::default());
        let a = AccountId::new("1").unwrap();
        biller.open_account(&a, Pricing::list()).unwrap();
        biller.books[0].magnitude = Decimal::MAX;
        let before = biller.clone();
        let t = Utc.with_ymd_and_hms(2020, 1, 1, 1, 0, 0).unwrap();
        assert_eq!(biller.top_up(&a, Decimal::ONE, t), Err(BillingError::Overflow(a)));
        assert_eq!(biller, before);
    }
}
