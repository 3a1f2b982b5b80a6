//! `Biller::archive`: a biller that hands its old bills over and folds its old ledger
//! answers every question it still answers exactly as a twin that never archived —
//! balances, standings, bills, statements (with the archived bills handed back), and
//! every later operation — and its snapshot restores to the same state. Hostile
//! archived bills and archives are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, reason = "tests")]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use shiren_billing::*;
use shiren_catalog::{AccountId, BillingZone, Pricing, Solution};

/// xorshift64*: reproducible scenarios from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn account() -> AccountId {
    AccountId::new("1234567890").unwrap()
}

fn config() -> BillingConfig {
    BillingConfig::new(
        BillingZone::CHINA,
        NaiveTime::from_hms_opt(10, 30, 0).unwrap(),
        Rounding::TowardZero,
        NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
    )
    .unwrap()
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap()
}

fn biller() -> Biller {
    let mut b = Biller::new(config());
    b.open_account(&account(), Pricing::list()).unwrap();
    b
}

/// The twin that archives and what it handed over.
struct Archiving {
    biller: Biller,
    archived: BTreeMap<NaiveDate, DailyBill>,
}

/// Checks every answer the archiving twin still gives against the full one at `now`.
fn agree(full: &Biller, cut: &Archiving, now: DateTime<Utc>, rng: &mut Rng) {
    let a = account();
    let opening = cut.biller.opening(&a).unwrap();
    let since = opening.map_or(start(), |o| o.since);
    // Balances and standings at the opening, now, and random instants in between.
    let span = (now - since).num_seconds().max(0) as u64;
    for t in
        [since, now].into_iter().chain((0..4).map(|_| since + Duration::seconds(rng.below(span + 1) as i64)))
    {
        assert_eq!(cut.biller.balance(&a, t), full.balance(&a, t), "balance at {t}");
        assert_eq!(cut.biller.standing(&a, t), full.standing(&a, t), "standing at {t}");
    }
    assert_eq!(cut.biller.may_start_verification(&a, now), full.may_start_verification(&a, now));
    if let Some(o) = opening {
        let before = o.since - Duration::seconds(1);
        assert!(matches!(cut.biller.balance(&a, before), Err(BillingError::Archived { .. })));
        assert!(matches!(cut.biller.standing(&a, before), Err(BillingError::Archived { .. })));
    }
    // Every day's bill: from the biller, or handed over and checked back in.
    let mut day = config().first_day();
    while day < full.next_day() {
        let expected = full.bill(&a, day).unwrap().cloned();
        match cut.biller.bill(&a, day) {
            Ok(bill) => {
                assert_eq!(bill.cloned(), expected, "bill of {day}");
                assert!(!cut.archived.contains_key(&day));
            }
            Err(BillingError::Archived { .. }) => {
                assert_eq!(cut.archived.get(&day).cloned(), expected, "archived bill of {day}");
                if let Some(bill) = cut.archived.get(&day) {
                    cut.biller.check_archived(&a, bill).unwrap();
                }
            }
            Err(e) => panic!("bill of {day}: {e}"),
        }
        day = day.succ_opt().unwrap();
    }
    // Statements of every month so far, with the archived bills handed back.
    let handed: Vec<DailyBill> = cut.archived.values().cloned().collect();
    let mut month = (2021, 1);
    while NaiveDate::from_ymd_opt(month.0, month.1, 1).unwrap() <= full.next_day() {
        let expected = full.statement(&a, month.0, month.1).unwrap();
        assert_eq!(cut.biller.statement_with(&a, month.0, month.1, &handed).unwrap(), expected);
        let (first_day, _) = statement_days(month.0, month.1).unwrap();
        match cut.biller.statement(&a, month.0, month.1) {
            Ok(statement) => assert_eq!(statement, expected),
            Err(BillingError::Archived { before, .. }) => assert!(first_day < before),
            Err(e) => panic!("statement: {e}"),
        }
        month = if month.1 == 12 { (month.0 + 1, 1) } else { (month.0, month.1 + 1) };
    }
    // The archiving twin's snapshot restores to the same state.
    let json = serde_json::to_string(&cut.biller).unwrap();
    let restored: Biller = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&restored).unwrap(), json);
}

/// A random four-month life of one account, run on both twins.
fn run(seed: u64) {
    let mut rng = Rng(seed | 1);
    let a = account();
    let mut full = biller();
    let mut cut = Archiving { biller: biller(), archived: BTreeMap::new() };
    let mut now = start();
    let end = start() + Duration::days(125);
    let solutions = [Solution::ServerSide, Solution::LivenessDetection, Solution::FaceComparison];
    let mut archives = 0;
    while now < end {
        now += Duration::minutes(30 + rng.below(24 * 60) as i64);
        // Usage: on time, or late by up to three days (its bill already issued).
        for _ in 0..rng.below(6) {
            let window = if rng.below(5) == 0 { 3 * 24 * 60 } else { 60 };
            let time = now - Duration::minutes(rng.below(window) as i64);
            let time = time.max(start());
            let usage = UsageRecord {
                account: a,
                solution: solutions[rng.below(3) as usize],
                time,
                covered: rng.below(4) == 0,
            };
            assert_eq!(cut.biller.record(&usage, now), full.record(&usage, now));
        }
        // Top-ups and refunds, sometimes too late to pay before suspension.
        if rng.below(6) == 0 {
            let amount = Decimal::new(rng.below(3_000) as i64 + 1, 2);
            let (x, y) = if rng.below(4) == 0 {
                (cut.biller.refund(&a, amount, now), full.refund(&a, amount, now))
            } else {
                (cut.biller.top_up(&a, amount, now), full.top_up(&a, amount, now))
            };
            assert_eq!(x, y);
        }
        // Polls, sometimes skipped for days (late polls insert charges in the past).
        if rng.below(3) != 0 {
            loop {
                let x = cut.biller.poll(now).unwrap();
                assert_eq!(x, full.poll(now).unwrap());
                if !matches!(x, BillingStep::Issued { .. }) {
                    break;
                }
            }
        }
        // Archive: everything before a recent issued day.
        if rng.below(10) == 0 {
            let next = cut.biller.next_day();
            let before = next - Duration::days(1 + rng.below(40) as i64);
            match cut.biller.archive(&a, before) {
                Ok(bills) => {
                    for bill in bills {
                        assert!(bill.day < before);
                        assert!(cut.archived.insert(bill.day, bill).is_none(), "handed over twice");
                    }
                    archives += 1;
                }
                Err(e) => panic!("archive before {before} (next day {next}): {e}"),
            }
            let none = cut.biller.archive(&a, before).unwrap();
            assert!(none.is_empty(), "a second archive at the same cut hands over nothing");
        }
        agree(&full, &cut, now, &mut rng);
    }
    assert!(archives > 0);
    // The archiving twin's book holds only recent bills.
    let kept = (0..200)
        .filter_map(|d| config().first_day().checked_add_days(chrono::Days::new(d)))
        .filter(|&d| matches!(cut.biller.bill(&a, d), Ok(Some(_))))
        .count();
    assert!(kept < 125, "{kept} bills kept");
}

#[test]
fn a_fixed_scenario_agrees_with_the_twin_that_never_archived() {
    run(0x5eed);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn archiving_changes_no_answer(seed in any::<u64>()) {
        run(seed);
    }
}

/// A biller with ten days billed and a ledger across them, archived before day 6.
fn archived_biller() -> (Biller, Vec<DailyBill>) {
    let a = account();
    let mut b = biller();
    let first = config().first_day();
    for d in 0..10 {
        let day = first + Duration::days(d);
        let t = Utc.from_utc_datetime(&day.and_hms_opt(3, 0, 0).unwrap());
        let usage = UsageRecord { account: a, solution: Solution::ServerSide, time: t, covered: false };
        b.record(&usage, t).unwrap();
        b.top_up(&a, Decimal::ONE, t).unwrap();
    }
    let now = Utc.from_utc_datetime(&(first + Duration::days(11)).and_hms_opt(0, 0, 0).unwrap());
    while matches!(b.poll(now).unwrap(), BillingStep::Issued { .. }) {}
    let bills = b.archive(&a, first + Duration::days(6)).unwrap();
    assert_eq!(bills.len(), 6);
    (b, bills)
}

#[test]
fn a_tampered_or_foreign_archived_bill_is_refused() {
    let a = account();
    let (b, bills) = archived_biller();
    let mut padded = bills[2].clone();
    padded.total += Decimal::new(1, 2);
    assert!(matches!(
        b.check_archived(&a, &padded),
        Err(BillingError::ArchivedBill { problem: BillProblem::Total, .. })
    ));
    let mut line = bills[2].clone();
    line.lines[0].counted += 1;
    assert!(matches!(
        b.check_archived(&a, &line),
        Err(BillingError::ArchivedBill { problem: BillProblem::Line(0), .. })
    ));
    // A bill the biller still holds is not an archived one.
    let held = b.bill(&a, config().first_day() + Duration::days(7)).unwrap().unwrap().clone();
    assert!(matches!(b.check_archived(&a, &held), Err(BillingError::ArchivedBill { .. })));
    // Another account's bill.
    let mut foreign = bills[0].clone();
    foreign.account = AccountId::new("999").unwrap();
    assert!(b.check_archived(&a, &foreign).is_err());
    // A statement given a tampered or duplicated archived bill is refused.
    let (year, month) = (2021, 1);
    assert!(b.statement_with(&a, year, month, &[padded]).is_err());
    let twice = [bills[1].clone(), bills[1].clone()];
    assert!(b.statement_with(&a, year, month, &twice).is_err());
    assert!(matches!(b.statement(&a, year, month), Err(BillingError::Archived { .. })));
}

#[test]
fn archiving_an_unissued_day_is_refused_and_changes_nothing() {
    let a = account();
    let (mut b, _) = archived_biller();
    let json = serde_json::to_string(&b).unwrap();
    let next = b.next_day();
    assert_eq!(b.archive(&a, next), Err(BillingError::NotIssued { day: next, next_day: next }));
    assert!(matches!(
        b.archive(&AccountId::new("999").unwrap(), next - Duration::days(1)),
        Err(BillingError::UnknownAccount(_))
    ));
    assert_eq!(serde_json::to_string(&b).unwrap(), json);
    // A ledger entry dated before the opening is out of order.
    let opening = b.opening(&a).unwrap().unwrap();
    assert!(matches!(
        b.top_up(&a, Decimal::ONE, opening.since - Duration::seconds(1)),
        Err(BillingError::OutOfOrder { .. })
    ));
}

#[test]
fn a_tampered_archive_in_a_snapshot_is_refused() {
    let (b, _) = archived_biller();
    let json: serde_json::Value = serde_json::to_value(&b).unwrap();
    let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = json.clone();
        edit(&mut v["books"][0]);
        let err = serde_json::from_value::<Biller>(v).expect_err("tampered archive accepted");
        assert!(err.to_string().contains("archive"), "{err}");
    };
    // A cut that is not an issue instant, a sub-fen or impossible opening, an overdue
    // start on a positive balance, a bill from before the cut.
    refused(&|book| book["archive"]["opening"]["since"] = "2021-01-03T00:00:00Z".into());
    refused(&|book| book["archive"]["opening"]["balance"] = "0.001".into());
    refused(&|book| book["archive"]["opening"]["balance"] = "1000000000001".into());
    refused(&|book| book["archive"]["opening"]["overdue_since"] = "2021-01-01T00:00:00Z".into());
    refused(&|book| book["archive"]["before"] = "2021-01-01".into());
    refused(&|book| book["archive"]["before"] = "2021-01-08".into());
    refused(&|book| book["archive"]["before"] = "2021-02-01".into());
    // Restored untouched, it is accepted and equal.
    let restored: Biller = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&restored).unwrap(), json);
}
