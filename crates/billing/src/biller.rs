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

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Timelike, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shiren_catalog::{
    AccountId, BillingZone, CallCode, NoPrice, Pricing, Solution, WordHasher, date_of_day_number,
    day_number_of,
};
use shiren_meter::{Applied, DailyUsage, UsageEvent};

use crate::bill::{BillLine, DailyBill, LineKind, Statement};
use crate::money::{Rounding, to_fen};
use crate::standing::{EntryKind, LedgerEntry, Standing, balance_at, standing_at};

/// Daily settlement applies from this day (2019-12-25 00:00:00 UTC+8).
pub const SETTLEMENT_START: NaiveDate = match NaiveDate::from_ymd_opt(2019, 12, 25) {
    Some(day) => day,
    None => NaiveDate::MIN,
};

/// How and when bills are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The instant the bill of `day` becomes issuable.
    pub fn issue_instant(&self, day: NaiveDate) -> DateTime<Utc> {
        self.zone.at(day.checked_add_days(Days::new(1)).unwrap_or(day), self.issue_time)
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
}

/// One account's billing state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Book {
    account: AccountId,
    pricing: Pricing,
    /// Derived from `pricing`: which solutions have a price (by `Solution::index`).
    #[serde(skip)]
    priced: [bool; 9],
    /// Usage of days not billed yet that arrived before their bill was due, in day
    /// order; a day's entry is removed when its bill is issued.
    usage: Vec<DayUsage>,
    /// Usage that arrived after its day's bill was due, waiting for the bill it goes
    /// on: (bill day, usage day, solution).
    pending: Vec<Adjustment>,
    bills: BTreeMap<NaiveDate, DailyBill>,
    ledger: Vec<LedgerEntry>,
}

/// One unbilled day's usage, per solution (indexed by `Solution::index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct DayUsage {
    day: NaiveDate,
    by_solution: [DailyUsage; 9],
}

/// Late usage waiting for the bill of `bill_day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Adjustment {
    bill_day: NaiveDate,
    usage_day: NaiveDate,
    solution: Solution,
    counted: u64,
    covered: u64,
}

/// Which solutions `pricing` can price.
fn priced_mask(pricing: &Pricing) -> [bool; 9] {
    Solution::ALL.map(|s| pricing.unit_price(s).is_ok())
}

impl Book {
    fn line(
        &self,
        kind: LineKind,
        solution: Solution,
        usage: DailyUsage,
        rounding: Rounding,
    ) -> Option<BillLine> {
        // INVARIANT: `record` and `set_pricing` refuse usage without a price, so this
        // lookup succeeds for every recorded solution.
        let unit_price = self.pricing.unit_price(solution).ok()?;
        let chargeable = usage.overage();
        let exact_amount = Decimal::from(chargeable) * unit_price;
        let (amount, remainder) = to_fen(exact_amount, rounding);
        Some(BillLine {
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
            slot.counted += 1;
            slot.covered += u64::from(covered);
        }
    }

    fn add_late(&mut self, bill_day: NaiveDate, usage_day: NaiveDate, solution: Solution, covered: bool) {
        let slot = self
            .pending
            .iter_mut()
            .find(|a| a.bill_day == bill_day && a.usage_day == usage_day && a.solution == solution);
        match slot {
            Some(a) => {
                a.counted += 1;
                a.covered += u64::from(covered);
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

    fn issue(&mut self, day: NaiveDate, at: DateTime<Utc>, rounding: Rounding) -> Option<DailyBill> {
        let today = match self.usage.first() {
            Some(first) if first.day == day => Some(self.usage.remove(0)),
            _ => None,
        };
        let mut lines: Vec<BillLine> = today
            .iter()
            .flat_map(|d| Solution::ALL.iter().zip(d.by_solution))
            .filter(|(_, u)| u.counted > 0)
            .filter_map(|(&solution, usage)| self.line(LineKind::Usage, solution, usage, rounding))
            .collect();
        let (due, waiting): (Vec<Adjustment>, Vec<Adjustment>) =
            std::mem::take(&mut self.pending).into_iter().partition(|a| a.bill_day <= day);
        self.pending = waiting;
        let mut due = due;
        due.sort_by_key(|a| (a.usage_day, a.solution));
        for a in due {
            let usage = DailyUsage { counted: a.counted, covered: a.covered };
            lines.extend(self.line(LineKind::Adjustment { day: a.usage_day }, a.solution, usage, rounding));
        }
        if lines.is_empty() {
            return None;
        }
        let total = lines.iter().map(|l| l.amount).sum();
        let remainder = lines.iter().map(|l| l.remainder).sum();
        let bill = DailyBill { account: self.account, day, issued_at: at, lines, total, remainder };
        if total > Decimal::ZERO {
            self.ledger.push(LedgerEntry { at, kind: EntryKind::Charge { day }, amount: total });
        }
        self.bills.insert(day, bill.clone());
        Some(bill)
    }

    fn append(&mut self, entry: LedgerEntry) -> Result<Decimal, BillingError> {
        if entry.amount <= Decimal::ZERO {
            return Err(BillingError::NotPositive(entry.amount));
        }
        if let Some(latest) = self.ledger.last().map(|e| e.at)
            && entry.at < latest
        {
            return Err(BillingError::OutOfOrder { at: entry.at, latest });
        }
        self.ledger.push(entry);
        Ok(balance_at(&self.ledger, entry.at))
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

    /// Opens an account for billing with its pricing (list or negotiated).
    pub fn open_account(&mut self, account: &AccountId, pricing: Pricing) -> Result<(), BillingError> {
        if self.index.contains_key(account) {
            return Err(BillingError::AlreadyOpen(*account));
        }
        self.index.insert(*account, self.books.len());
        self.books.push(Book {
            account: *account,
            priced: priced_mask(&pricing),
            pricing,
            usage: Vec::new(),
            pending: Vec::new(),
            bills: BTreeMap::new(),
            ledger: Vec::new(),
        });
        Ok(())
    }

    /// Replaces an account's pricing for bills issued from now on. Refused if a
    /// solution the account has used would have no price.
    pub fn set_pricing(&mut self, account: &AccountId, pricing: Pricing) -> Result<(), BillingError> {
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
    /// day, and the account has a price for the solution. `record` fails exactly when
    /// this does, so a flow can check every store before it changes any.
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
    pub fn record(&mut self, usage: &UsageRecord, now: DateTime<Utc>) -> Result<(), BillingError> {
        self.check_usage(&usage.account, usage.solution, usage.time)?;
        let day = self.config.zone.day_of(usage.time);
        let next_day = self.next_day;
        let bill_day = self.bill_day_for(now);
        // Before its bill is due ⇔ the first bill due after `now` is this day's or later.
        let on_time = day >= bill_day && day >= next_day;
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
        // On time ⇔ its day's bill is not due yet (see `record`).
        let threshold = day_number_of(self.bill_day_for(now).max(self.next_day));
        // Check and resolve: (book index, day offset << 5 | solution << 1 | covered).
        let mut resolved: Vec<(u32, u32)> = Vec::with_capacity(usages.len());
        let mut last: Option<(AccountId, u32)> = None;
        for usage in usages {
            let (day, _) = zone.day_number_and_second(usage.time);
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
    /// there is nothing to do. Never sleeps and never reads a clock.
    pub fn poll(&mut self, now: DateTime<Utc>) -> BillingStep {
        let day = self.next_day;
        let due = self.config.issue_instant(day);
        if now < due {
            return BillingStep::Idle { until: due };
        }
        let rounding = self.config.rounding;
        let bills = self.books.iter_mut().filter_map(|book| book.issue(day, due, rounding)).collect();
        self.next_day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        BillingStep::Issued { day, bills }
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

    /// The balance at `at` (Σ entries up to then).
    pub fn balance(&self, account: &AccountId, at: DateTime<Utc>) -> Result<Decimal, BillingError> {
        Ok(balance_at(&self.book(account)?.ledger, at))
    }

    /// The ledger entries of the account, in time order.
    pub fn ledger(&self, account: &AccountId) -> Result<&[LedgerEntry], BillingError> {
        Ok(&self.book(account)?.ledger)
    }

    /// The account's standing at `at`.
    pub fn standing(&self, account: &AccountId, at: DateTime<Utc>) -> Result<Standing, BillingError> {
        Ok(standing_at(&self.book(account)?.ledger, at))
    }

    /// Whether a new verification may start: overdue or suspended accounts get call
    /// code 412; accounts not open for billing get 410 (service not activated).
    pub fn may_start_verification(&self, account: &AccountId, now: DateTime<Utc>) -> Result<(), CallCode> {
        match self.standing(account, now) {
            Ok(Standing::Active) => Ok(()),
            Ok(_) => Err(CallCode::InArrears),
            Err(_) => Err(CallCode::NotActivated),
        }
    }

    /// The issued bill of `day`, if any.
    pub fn bill(&self, account: &AccountId, day: NaiveDate) -> Result<Option<&DailyBill>, BillingError> {
        Ok(self.book(account)?.bills.get(&day))
    }

    /// The statement of `month` of `year`: the last day of the previous month through
    /// the second-to-last day of the month (January 2020 = 2019-12-31 … 2020-01-30).
    pub fn statement(&self, account: &AccountId, year: i32, month: u32) -> Result<Statement, BillingError> {
        let (first_day, last_day) = statement_days(year, month).ok_or(BillingError::Month(month))?;
        let book = self.book(account)?;
        let days: Vec<DailyBill> = book.bills.range(first_day..=last_day).map(|(_, b)| b.clone()).collect();
        let total = days.iter().map(|b| b.total).sum();
        Ok(Statement { account: *account, year, month, first_day, last_day, days, total })
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

/// The persisted form; the account index is rebuilt on load.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    config: BillingConfig,
    next_day: NaiveDate,
    books: Vec<Book>,
}

impl Serialize for Biller {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Snapshot { config: self.config, next_day: self.next_day, books: self.books.clone() }
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Biller {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let snapshot = Snapshot::deserialize(deserializer)?;
        let c = snapshot.config;
        let config =
            BillingConfig::new(c.zone, c.issue_time, c.rounding, c.first_day).map_err(D::Error::custom)?;
        let mut biller = Biller::new(config);
        biller.next_day = snapshot.next_day;
        for mut book in snapshot.books {
            book.priced = priced_mask(&book.pricing);
            let sorted = book.usage.windows(2).all(|w| matches!(w, [a, b] if a.day < b.day));
            let consistent = book.usage.iter().flat_map(|d| d.by_solution).all(|u| u.covered <= u.counted)
                && book.pending.iter().all(|a| a.covered <= a.counted);
            if !sorted || !consistent {
                return Err(D::Error::custom(format!("usage of account `{}` is inconsistent", book.account)));
            }
            if biller.index.insert(book.account, biller.books.len()).is_some() {
                return Err(D::Error::custom(format!("account `{}` appears twice", book.account)));
            }
            biller.books.push(book);
        }
        Ok(biller)
    }
}
