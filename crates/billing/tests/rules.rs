//! Billing rules as table and story tests: day boundaries in UTC+8, issuance timing,
//! rounding, negotiated prices, late usage, settlement and suspension, statements.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, reason = "tests")]

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;
use shiren_billing::*;
use shiren_catalog::{AccountId, BillingZone, CallCode, Pricing, Solution};

fn cst(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    BillingZone::CHINA.offset().with_ymd_and_hms(y, m, d, h, mi, s).unwrap().with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn acct() -> AccountId {
    AccountId::new("1234567890").unwrap()
}

fn biller_from(first: NaiveDate, rounding: Rounding) -> Biller {
    let config =
        BillingConfig::new(BillingZone::CHINA, NaiveTime::from_hms_opt(10, 0, 0).unwrap(), rounding, first)
            .unwrap();
    let mut biller = Biller::new(config);
    biller.open_account(&acct(), Pricing::list()).unwrap();
    biller
}

/// Records usage that arrives as it happens.
fn record(biller: &mut Biller, solution: Solution, time: DateTime<Utc>, covered: bool, times: u32) {
    record_at(biller, solution, time, covered, times, time);
}

/// Records usage of `time` that arrives at `arrived`.
fn record_at(
    biller: &mut Biller,
    solution: Solution,
    time: DateTime<Utc>,
    covered: bool,
    times: u32,
    arrived: DateTime<Utc>,
) {
    for _ in 0..times {
        biller.record(&UsageRecord { account: acct(), solution, time, covered }, arrived).unwrap();
    }
}

/// Polls until idle, returning every issued bill of the account.
fn drain(biller: &mut Biller, now: DateTime<Utc>) -> Vec<DailyBill> {
    let mut out = Vec::new();
    while let BillingStep::Issued { bills, .. } = biller.poll(now).unwrap() {
        out.extend(bills);
    }
    out
}

#[test]
fn configuration_limits() {
    let zone = BillingZone::CHINA;
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    assert!(BillingConfig::new(zone, t(10, 0), Rounding::TowardZero, SETTLEMENT_START).is_ok());
    assert!(BillingConfig::new(zone, t(12, 0), Rounding::TowardZero, SETTLEMENT_START).is_ok());
    assert_eq!(
        BillingConfig::new(zone, t(9, 59), Rounding::TowardZero, SETTLEMENT_START),
        Err(ConfigError::IssueTime(t(9, 59)))
    );
    assert!(BillingConfig::new(zone, t(12, 1), Rounding::TowardZero, SETTLEMENT_START).is_err());
    assert_eq!(
        BillingConfig::new(zone, t(10, 0), Rounding::TowardZero, day(2019, 12, 24)),
        Err(ConfigError::BeforeSettlement(day(2019, 12, 24)))
    );
    assert_eq!(SETTLEMENT_START, day(2019, 12, 25));
}

#[test]
fn usage_before_settlement_start_is_refused() {
    let mut biller = Biller::new(BillingConfig::default());
    biller.open_account(&acct(), Pricing::list()).unwrap();
    let before = biller.clone();
    let t = cst(2019, 12, 24, 23, 59, 59);
    let err = biller
        .record(&UsageRecord { account: acct(), solution: Solution::App, time: t, covered: false }, t)
        .unwrap_err();
    assert_eq!(err, BillingError::BeforeFirstDay { day: day(2019, 12, 24), first_day: day(2019, 12, 25) });
    assert_eq!(biller, before);
    let t = cst(2019, 12, 25, 0, 0, 0);
    biller
        .record(&UsageRecord { account: acct(), solution: Solution::App, time: t, covered: false }, t)
        .unwrap();
}

#[test]
fn day_boundaries_in_utc8() {
    let mut biller = biller_from(day(2020, 1, 1), Rounding::TowardZero);
    // 23:59:59.999 CST on Jan 1 belongs to Jan 1; 00:00 CST Jan 2 to Jan 2.
    record(&mut biller, Solution::App, cst(2020, 1, 1, 23, 59, 59) + Duration::milliseconds(999), false, 1);
    record(&mut biller, Solution::App, cst(2020, 1, 2, 0, 0, 0), false, 2);
    // UTC midnight of Jan 2 is 08:00 in Shanghai: Jan 2.
    record(&mut biller, Solution::App, Utc.with_ymd_and_hms(2020, 1, 2, 0, 0, 0).unwrap(), false, 4);
    let bills = drain(&mut biller, cst(2020, 1, 3, 12, 0, 0));
    let counted: Vec<(NaiveDate, u64)> = bills.iter().map(|b| (b.day, b.lines[0].counted)).collect();
    assert_eq!(counted, vec![(day(2020, 1, 1), 1), (day(2020, 1, 2), 6)]);
}

#[test]
fn issuance_waits_for_the_configured_moment() {
    let config = BillingConfig::new(
        BillingZone::CHINA,
        NaiveTime::from_hms_opt(11, 30, 0).unwrap(),
        Rounding::TowardZero,
        day(2020, 1, 1),
    )
    .unwrap();
    let mut biller = Biller::new(config);
    biller.open_account(&acct(), Pricing::list()).unwrap();
    record(&mut biller, Solution::App, cst(2020, 1, 1, 12, 0, 0), false, 1);
    let due = cst(2020, 1, 2, 11, 30, 0);
    assert_eq!(biller.poll(due - Duration::nanoseconds(1)).unwrap(), BillingStep::Idle { until: due });
    // Usage of Jan 1 that arrives just before the bill is due is on Jan 1's bill …
    record_at(
        &mut biller,
        Solution::App,
        cst(2020, 1, 1, 23, 0, 0),
        false,
        1,
        due - Duration::nanoseconds(1),
    );
    // … usage arriving at the due moment is not, even though nobody has polled yet.
    record_at(&mut biller, Solution::App, cst(2020, 1, 1, 23, 30, 0), false, 1, due);
    let BillingStep::Issued { day: d, bills } = biller.poll(due + Duration::hours(5)).unwrap() else {
        panic!("due")
    };
    assert_eq!(
        (d, bills[0].lines.len(), bills[0].lines[0].counted, bills[0].issued_at),
        (day(2020, 1, 1), 1, 2, due)
    );
    assert_eq!(biller.poll(due).unwrap(), BillingStep::Idle { until: cst(2020, 1, 3, 11, 30, 0) });
    let BillingStep::Issued { bills, .. } = biller.poll(cst(2020, 1, 3, 11, 30, 0)).unwrap() else {
        panic!("due")
    };
    assert_eq!(bills[0].lines[0].kind, LineKind::Adjustment { day: day(2020, 1, 1) });
}

#[test]
fn lines_price_round_once_and_keep_the_remainder() {
    let mut biller = biller_from(day(2020, 1, 1), Rounding::TowardZero);
    let t = cst(2020, 1, 1, 9, 0, 0);
    record(&mut biller, Solution::LivenessDetection, t, false, 7); // 7 × 0.182 = 1.274
    record(&mut biller, Solution::LivenessDetection, t, true, 3); // covered by packs
    record(&mut biller, Solution::FaceComparison, t, false, 1); // 0.006 → 0.00
    record(&mut biller, Solution::App, t, true, 5); // all covered
    let bill = drain(&mut biller, cst(2020, 1, 2, 10, 0, 0)).remove(0);
    let by = |s| bill.lines.iter().find(|l| l.solution == s).unwrap().clone();
    let l = by(Solution::LivenessDetection);
    assert_eq!((l.counted, l.covered, l.chargeable), (10, 3, 7));
    assert_eq!(
        (l.unit_price, l.exact_amount, l.amount, l.remainder),
        (dec("0.182"), dec("1.274"), dec("1.27"), dec("0.004"))
    );
    let f = by(Solution::FaceComparison);
    assert_eq!((f.amount, f.remainder), (dec("0"), dec("0.006")));
    let a = by(Solution::App);
    assert_eq!((a.chargeable, a.amount), (0, dec("0")));
    assert_eq!(bill.total, dec("1.27"));
    assert_eq!(bill.remainder, dec("0.010"));

    let mut half_up = biller_from(day(2020, 1, 1), Rounding::HalfUp);
    record(&mut half_up, Solution::LivenessDetection, t, false, 7);
    let bill = drain(&mut half_up, cst(2020, 1, 2, 10, 0, 0)).remove(0);
    assert_eq!((bill.lines[0].amount, bill.lines[0].remainder), (dec("1.27"), dec("0.004")));
    record(&mut half_up, Solution::FaceComparison, cst(2020, 1, 2, 9, 0, 0), false, 1);
    let bill = drain(&mut half_up, cst(2020, 1, 3, 10, 0, 0)).remove(0);
    assert_eq!((bill.lines[0].amount, bill.lines[0].remainder), (dec("0.01"), dec("-0.004")));
}

#[test]
fn negotiated_prices_replace_list_prices() {
    let mut biller = biller_from(day(2020, 1, 1), Rounding::TowardZero);
    let other = AccountId::new("42").unwrap();
    biller.open_account(&other, Pricing::negotiated([(Solution::ServerSide, dec("0.65"))])).unwrap();
    let t = cst(2020, 1, 1, 9, 0, 0);
    record(&mut biller, Solution::ServerSide, t, false, 10);
    for _ in 0..10 {
        biller
            .record(
                &UsageRecord { account: other, solution: Solution::ServerSide, time: t, covered: false },
                t,
            )
            .unwrap();
    }
    let bills = drain(&mut biller, cst(2020, 1, 2, 10, 0, 0));
    assert_eq!(bills.iter().map(|b| b.total).collect::<Vec<_>>(), vec![dec("10"), dec("6.50")]);
}

#[test]
fn missing_price_is_refused_at_record_time() {
    let mut biller = biller_from(day(2020, 1, 1), Rounding::TowardZero);
    let before = biller.clone();
    let legacy = UsageRecord {
        account: acct(),
        solution: Solution::LegacyFinancial,
        time: cst(2020, 1, 1, 9, 0, 0),
        covered: false,
    };
    let at = legacy.time;
    assert!(matches!(biller.record(&legacy, at), Err(BillingError::NoPrice(_))));
    assert_eq!(biller, before);
    biller.set_pricing(&acct(), Pricing::negotiated([(Solution::LegacyFinancial, dec("0.8"))])).unwrap();
    biller.record(&legacy, at).unwrap();
    assert!(matches!(biller.set_pricing(&acct(), Pricing::list()), Err(BillingError::NoPrice(_))));
}

#[test]
fn late_usage_becomes_an_adjustment_and_never_changes_an_issued_bill() {
    let mut biller = biller_from(day(2020, 1, 1), Rounding::TowardZero);
    record(&mut biller, Solution::App, cst(2020, 1, 1, 9, 0, 0), false, 2);
    let first = drain(&mut biller, cst(2020, 1, 2, 10, 0, 0));
    let issued = biller.bill(&acct(), day(2020, 1, 1)).unwrap().unwrap().clone();
    assert_eq!(first[0], issued);
    // Usage of Jan 1 arrives after its bill.
    record_at(&mut biller, Solution::App, cst(2020, 1, 1, 22, 0, 0), false, 3, cst(2020, 1, 2, 10, 30, 0));
    record(&mut biller, Solution::App, cst(2020, 1, 2, 9, 0, 0), true, 1);
    assert_eq!(biller.bill(&acct(), day(2020, 1, 1)).unwrap().unwrap(), &issued, "issued bills never change");
    let next = drain(&mut biller, cst(2020, 1, 3, 10, 0, 0)).remove(0);
    assert_eq!(next.day, day(2020, 1, 2));
    let kinds: Vec<(LineKind, u64)> = next.lines.iter().map(|l| (l.kind, l.chargeable)).collect();
    assert_eq!(kinds, vec![(LineKind::Usage, 0), (LineKind::Adjustment { day: day(2020, 1, 1) }, 3)]);
    assert_eq!(next.total, dec("3"));
    // Nothing is billed twice.
    record_at(&mut biller, Solution::App, cst(2020, 1, 1, 23, 0, 0), false, 1, cst(2020, 1, 3, 11, 0, 0));
    let third = drain(&mut biller, cst(2020, 1, 4, 10, 0, 0)).remove(0);
    assert_eq!(third.lines.len(), 1);
    assert_eq!(
        (third.lines[0].kind, third.lines[0].chargeable),
        (LineKind::Adjustment { day: day(2020, 1, 1) }, 1)
    );
}

#[test]
fn overdue_then_suspended_exactly_24_hours_later_and_back_to_active() {
    let mut biller = biller_from(day(2020, 1, 1), Rounding::TowardZero);
    let a = acct();
    biller.top_up(&a, dec("1.50"), cst(2020, 1, 1, 0, 0, 0)).unwrap();
    record(&mut biller, Solution::App, cst(2020, 1, 1, 9, 0, 0), false, 2);
    let due = cst(2020, 1, 2, 10, 0, 0);
    assert_eq!(biller.may_start_verification(&a, due - Duration::seconds(1)), Ok(()));
    drain(&mut biller, due);
    assert_eq!(biller.balance(&a, due).unwrap(), dec("-0.50"));
    assert_eq!(biller.standing(&a, due).unwrap(), Standing::Overdue { since: due });
    assert_eq!(biller.may_start_verification(&a, due), Err(CallCode::InArrears));
    let day_later = due + GRACE;
    assert_eq!(
        biller.standing(&a, day_later - Duration::nanoseconds(1)).unwrap(),
        Standing::Overdue { since: due }
    );
    assert_eq!(biller.standing(&a, day_later).unwrap(), Standing::Suspended { since: day_later });
    assert_eq!(biller.may_start_verification(&a, day_later), Err(CallCode::InArrears));
    // A top-up that does not clear the debt changes nothing; one that does, restores.
    biller.top_up(&a, dec("0.49"), day_later + Duration::hours(1)).unwrap();
    assert!(matches!(
        biller.standing(&a, day_later + Duration::hours(1)).unwrap(),
        Standing::Suspended { .. }
    ));
    biller.top_up(&a, dec("0.01"), day_later + Duration::hours(2)).unwrap();
    assert_eq!(biller.standing(&a, day_later + Duration::hours(2)).unwrap(), Standing::Active);
    assert_eq!(biller.may_start_verification(&a, day_later + Duration::hours(2)), Ok(()));
    // The past is still answered from the ledger.
    assert!(matches!(biller.standing(&a, day_later).unwrap(), Standing::Suspended { .. }));
    assert_eq!(
        biller.may_start_verification(&AccountId::new("9").unwrap(), due),
        Err(CallCode::NotActivated)
    );
}

#[test]
fn ledger_entries_are_positive_and_in_order() {
    let mut biller = biller_from(day(2020, 1, 1), Rounding::TowardZero);
    let a = acct();
    let t = cst(2020, 1, 5, 0, 0, 0);
    assert_eq!(biller.top_up(&a, dec("0"), t), Err(BillingError::NotPositive(dec("0"))));
    assert_eq!(biller.refund(&a, dec("-1"), t), Err(BillingError::NotPositive(dec("-1"))));
    biller.top_up(&a, dec("10"), t).unwrap();
    assert_eq!(
        biller.top_up(&a, dec("1"), t - Duration::seconds(1)),
        Err(BillingError::OutOfOrder { at: t - Duration::seconds(1), latest: t })
    );
    assert_eq!(biller.refund(&a, dec("2.5"), t).unwrap(), dec("12.5"));
    let ledger = biller.ledger(&a).unwrap();
    assert_eq!(ledger.iter().map(LedgerEntry::signed).sum::<Decimal>(), biller.balance(&a, t).unwrap());
}

#[test]
fn statement_windows() {
    let cases = [
        (2020, 1, day(2019, 12, 31), day(2020, 1, 30)),
        (2020, 2, day(2020, 1, 31), day(2020, 2, 28)), // leap year: Feb 29 rolls into March
        (2020, 3, day(2020, 2, 29), day(2020, 3, 30)),
        (2021, 3, day(2021, 2, 28), day(2021, 3, 30)),
        (2019, 12, day(2019, 11, 30), day(2019, 12, 30)),
        (2020, 12, day(2020, 11, 30), day(2020, 12, 30)),
        (2021, 1, day(2020, 12, 31), day(2021, 1, 30)),
    ];
    for (year, month, first, last) in cases {
        assert_eq!(statement_days(year, month), Some((first, last)), "{year}-{month}");
    }
    assert_eq!(statement_days(2020, 13), None);
    assert_eq!(statement_days(2020, 0), None);
}

#[test]
fn december_to_january_statement_sums_its_daily_bills() {
    let mut biller = biller_from(SETTLEMENT_START, Rounding::TowardZero);
    // One App unit per day from 2019-12-25 through 2020-02-05.
    let mut t = cst(2019, 12, 25, 12, 0, 0);
    while t < cst(2020, 2, 6, 0, 0, 0) {
        record(&mut biller, Solution::App, t, false, 1);
        t += Duration::days(1);
    }
    drain(&mut biller, cst(2020, 2, 7, 10, 0, 0));
    let december = biller.statement(&acct(), 2019, 12).unwrap();
    assert_eq!(december.days.len(), 6, "12-25 … 12-30");
    assert_eq!(december.total, dec("6"));
    let january = biller.statement(&acct(), 2020, 1).unwrap();
    assert_eq!((january.first_day, january.last_day), (day(2019, 12, 31), day(2020, 1, 30)));
    assert_eq!(january.days.len(), 31);
    assert_eq!(january.total, january.days.iter().map(|b| b.total).sum::<Decimal>());
    assert_eq!(january.total, dec("31"));
    assert_eq!(biller.statement(&acct(), 2020, 13), Err(BillingError::Month(13)));
}

#[test]
fn snapshot_round_trip_is_byte_identical() {
    let mut biller = biller_from(day(2020, 1, 1), Rounding::HalfUp);
    record(&mut biller, Solution::LivenessDetection, cst(2020, 1, 1, 9, 0, 0), false, 3);
    biller.top_up(&acct(), dec("100"), cst(2020, 1, 1, 9, 0, 0)).unwrap();
    drain(&mut biller, cst(2020, 1, 2, 10, 0, 0));
    record(&mut biller, Solution::LivenessDetection, cst(2020, 1, 1, 9, 0, 0), false, 1);
    let json = serde_json::to_string(&biller).unwrap();
    let back: Biller = serde_json::from_str(&json).unwrap();
    assert_eq!(back, biller);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["config"]["issue_time"] = serde_json::json!("09:00:00");
    assert!(serde_json::from_value::<Biller>(v).is_err(), "a snapshot cannot smuggle in a bad config");
}

#[test]
fn check_usage_refuses_exactly_what_record_refuses() {
    let first = day(2026, 11, 20);
    let mut biller = biller_from(first, Rounding::TowardZero);
    let stranger = AccountId::new("999999").unwrap();
    let on = cst(2026, 11, 23, 9, 0, 0);
    let before = cst(2026, 11, 19, 23, 59, 59);
    let cases = [
        (acct(), Solution::App, on, Ok(())),
        (
            acct(),
            Solution::App,
            before,
            Err(BillingError::BeforeFirstDay { day: day(2026, 11, 19), first_day: first }),
        ),
        (
            acct(),
            Solution::LegacyFinancial,
            on,
            Err(BillingError::NoPrice(shiren_catalog::NoPrice(Solution::LegacyFinancial))),
        ),
        (stranger, Solution::App, on, Err(BillingError::UnknownAccount(stranger))),
    ];
    for (account, solution, time, expected) in cases {
        assert_eq!(biller.check_usage(&account, solution, time), expected, "{solution:?} at {time}");
        let usage = UsageRecord { account, solution, time, covered: false };
        let before_bills = biller.clone();
        assert_eq!(biller.record(&usage, time), expected);
        if expected.is_err() {
            assert_eq!(biller, before_bills, "a refusal changes nothing");
        }
    }
}
