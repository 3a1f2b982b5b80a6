//! Every metering rule as a table or story test: purchases, counting, idempotency,
//! draw order, validity windows, overage by day, alerts, refunds, queries, snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use shiren_catalog::{AccountId, BillingZone, CertifyId, PackSpec, PackType, Solution, SubCode};
use shiren_meter::*;

fn cst(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    BillingZone::CHINA.offset().with_ymd_and_hms(y, m, d, h, mi, s).unwrap().with_timezone(&Utc)
}

fn acct(n: u64) -> AccountId {
    AccountId::new(&n.to_string()).unwrap()
}

fn cid(n: u128) -> CertifyId {
    format!("{n:032x}").parse().unwrap()
}

fn event(
    n: u128,
    account: &AccountId,
    solution: Solution,
    sub: Option<u16>,
    time: DateTime<Utc>,
) -> UsageEvent {
    UsageEvent { certify_id: cid(n), account: *account, solution, sub_code: sub.map(SubCode::new), time }
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A meter selling small packs, so tests can use them up.
fn small_meter() -> Meter {
    let spec = |pack_type, units: u64, price: &str| PackSpec {
        pack_type,
        units,
        price: d(price),
        first_purchase_only: price == "0",
    };
    Meter::new(
        BillingZone::CHINA,
        vec![
            spec(PackType::RealPerson, 2, "0"),
            spec(PackType::RealPerson, 3, "3"),
            spec(PackType::RealPerson, 10, "9"),
            spec(PackType::LivenessFace, 4, "0.7"),
            spec(PackType::FaceVerify, 5, "0.03"),
        ],
    )
}

#[test]
fn observed_pack_dates_and_status() {
    let mut meter = Meter::default();
    let a = acct(1);
    let bought = cst(2020, 4, 1, 18, 20, 56);
    let pack = meter
        .purchase(&a, PackType::RealPerson, 50_000, d("50000"), bought, &mut SequentialIds::default())
        .unwrap();
    assert_eq!(pack.effective, bought);
    assert_eq!(pack.expiry, cst(2021, 4, 2, 0, 0, 0));
    assert_eq!(pack.status(bought), PackStatus::Valid);
    assert_eq!(pack.status(cst(2021, 4, 1, 23, 59, 59)), PackStatus::Valid);
    assert_eq!(pack.status(cst(2021, 4, 2, 0, 0, 0)), PackStatus::Expired);
}

#[test]
fn purchase_rules() {
    let mut meter = Meter::default();
    let mut ids = SequentialIds::default();
    let a = acct(1);
    let now = cst(2026, 1, 1, 0, 0, 0);
    assert_eq!(
        meter.purchase(&a, PackType::FaceVerify, 100, Decimal::ZERO, now, &mut ids),
        Err(PurchaseError::NotInCatalog { pack_type: PackType::FaceVerify, units: 100 })
    );
    assert_eq!(
        meter.purchase(&a, PackType::RealPerson, 50_000, d("50000.01"), now, &mut ids),
        Err(PurchaseError::PaidOutOfRange { paid: d("50000.01"), price: d("50000") })
    );
    assert!(matches!(
        meter.purchase(&a, PackType::RealPerson, 50_000, d("-1"), now, &mut ids),
        Err(PurchaseError::PaidOutOfRange { .. })
    ));
    // The free pack is fine as the first purchase of its type …
    meter.purchase(&a, PackType::LivenessFace, 100, Decimal::ZERO, now, &mut ids).unwrap();
    // … but not twice, and not after a paid pack of the same type.
    assert_eq!(
        meter.purchase(&a, PackType::LivenessFace, 100, Decimal::ZERO, now, &mut ids),
        Err(PurchaseError::FreePackNotFirst(PackType::LivenessFace))
    );
    meter.purchase(&a, PackType::RealPerson, 50_000, d("45000"), now, &mut ids).unwrap();
    let before = meter.clone();
    assert_eq!(
        meter.purchase(&a, PackType::RealPerson, 100, Decimal::ZERO, now, &mut ids),
        Err(PurchaseError::FreePackNotFirst(PackType::RealPerson))
    );
    assert_eq!(meter, before, "a refused purchase changes nothing");
    // Another account still gets its own free pack.
    meter.purchase(&acct(2), PackType::RealPerson, 100, Decimal::ZERO, now, &mut ids).unwrap();
}

#[test]
fn repeating_id_source_is_refused() {
    struct Stuck;
    impl IdSource for Stuck {
        fn next_pack_number(&mut self) -> u128 {
            7
        }
    }
    let mut meter = Meter::default();
    let now = cst(2026, 1, 1, 0, 0, 0);
    meter.purchase(&acct(1), PackType::RealPerson, 50_000, d("1"), now, &mut Stuck).unwrap();
    assert!(matches!(
        meter.purchase(&acct(1), PackType::RealPerson, 50_000, d("1"), now, &mut Stuck),
        Err(PurchaseError::DuplicatePackId(_))
    ));
}

#[test]
fn what_counts() {
    let mut meter = small_meter();
    let a = acct(1);
    let t = cst(2026, 3, 1, 12, 0, 0);
    let cases: &[(Solution, Option<u16>, bool)] = &[
        (Solution::App, Some(200), true),
        (Solution::App, Some(204), true),
        (Solution::App, Some(206), true),
        (Solution::App, Some(207), false),
        (Solution::App, Some(210), false),
        (Solution::App, Some(299), false),
        (Solution::App, None, false),
        (Solution::AlipayMiniProgram, Some(200), true),
        (Solution::AlipayMiniProgram, Some(204), false),
        (Solution::AlipayH5, Some(205), false),
        (Solution::FaceComparison, Some(204), true),
        (Solution::LegacyFinancial, Some(200), true),
    ];
    for (i, &(solution, sub, counts)) in cases.iter().enumerate() {
        let e = event(i as u128, &a, solution, sub, t);
        assert_eq!(e.counts(), counts, "{solution:?} {sub:?}");
        let applied = meter.apply(&e).unwrap();
        assert_eq!(applied == Applied::NotCounted, !counts, "{solution:?} {sub:?}");
    }
    let counted: u64 = meter
        .daily_usage(&a, chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())
        .values()
        .map(|u| u.counted)
        .sum();
    assert_eq!(counted, cases.iter().filter(|c| c.2).count() as u64);
}

#[test]
fn idempotency_duplicates_and_conflicts() {
    let mut meter = small_meter();
    let a = acct(1);
    let t = cst(2026, 3, 1, 12, 0, 0);
    meter.purchase(&a, PackType::RealPerson, 2, Decimal::ZERO, t, &mut SequentialIds::default()).unwrap();
    let e = event(1, &a, Solution::App, Some(200), t);
    assert!(matches!(meter.apply(&e).unwrap(), Applied::Drawn { .. }));
    assert_eq!(meter.apply(&e).unwrap(), Applied::Duplicate);
    let before = meter.clone();
    let mut changed = e.clone();
    changed.sub_code = Some(SubCode::FACE_MISMATCH);
    assert_eq!(meter.apply(&changed), Err(ApplyError::Conflict(e.certify_id)));
    changed.sub_code = e.sub_code;
    changed.time += Duration::nanoseconds(1);
    assert_eq!(meter.apply(&changed), Err(ApplyError::Conflict(e.certify_id)));
    assert_eq!(meter, before, "a conflict changes nothing");
    // A non-counting event is remembered too.
    let abandoned = event(2, &a, Solution::App, None, t);
    assert_eq!(meter.apply(&abandoned).unwrap(), Applied::NotCounted);
    assert_eq!(meter.apply(&abandoned).unwrap(), Applied::Duplicate);
    assert!(meter.apply(&event(2, &a, Solution::App, Some(200), t)).is_err());
    assert_eq!(meter.seen_count(), 2);
}

#[test]
fn draws_earliest_expiry_then_purchase_time_then_id() {
    let mut meter = small_meter();
    let a = acct(1);
    let mut ids = SequentialIds { next: 100 };
    // Bought later in the day but expiring at the same midnight as the morning pack.
    let morning =
        meter.purchase(&a, PackType::RealPerson, 3, d("3"), cst(2026, 1, 1, 9, 0, 0), &mut ids).unwrap();
    let evening =
        meter.purchase(&a, PackType::RealPerson, 3, d("3"), cst(2026, 1, 1, 21, 0, 0), &mut ids).unwrap();
    let earlier =
        meter.purchase(&a, PackType::RealPerson, 10, d("9"), cst(2025, 12, 1, 9, 0, 0), &mut ids).unwrap();
    assert_eq!(morning.expiry, evening.expiry);
    let t = cst(2026, 2, 1, 0, 0, 0);
    let mut drawn = Vec::new();
    for n in 0..16 {
        match meter.apply(&event(n, &a, Solution::H5, Some(200), t)).unwrap() {
            Applied::Drawn { pack, .. } => drawn.push(pack),
            other => panic!("{other:?}"),
        }
    }
    let expected: Vec<PackId> = std::iter::repeat_n(earlier.id, 10)
        .chain(std::iter::repeat_n(morning.id, 3))
        .chain(std::iter::repeat_n(evening.id, 3))
        .collect();
    assert_eq!(drawn, expected);
    assert_eq!(meter.apply(&event(99, &a, Solution::H5, Some(200), t)).unwrap(), Applied::Overage);
}

#[test]
fn tie_on_expiry_and_purchase_time_goes_by_pack_id() {
    let mut meter = small_meter();
    let a = acct(1);
    let t = cst(2026, 1, 1, 9, 0, 0);
    let high =
        meter.purchase(&a, PackType::RealPerson, 3, d("3"), t, &mut SequentialIds { next: 50 }).unwrap();
    let low =
        meter.purchase(&a, PackType::RealPerson, 3, d("3"), t, &mut SequentialIds { next: 10 }).unwrap();
    match meter.apply(&event(1, &a, Solution::App, Some(200), t)).unwrap() {
        Applied::Drawn { pack, .. } => assert_eq!(pack, low.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(meter.pack(&a, &high.id).unwrap().remaining, 3);
}

#[test]
fn validity_window_and_forfeiture() {
    let mut meter = small_meter();
    let a = acct(1);
    let bought = cst(2026, 1, 10, 15, 30, 0);
    let pack =
        meter.purchase(&a, PackType::RealPerson, 10, d("9"), bought, &mut SequentialIds::default()).unwrap();
    let before = bought - Duration::seconds(1);
    assert_eq!(meter.apply(&event(1, &a, Solution::App, Some(200), before)).unwrap(), Applied::Overage);
    assert!(matches!(
        meter.apply(&event(2, &a, Solution::App, Some(200), bought)).unwrap(),
        Applied::Drawn { .. }
    ));
    let last = pack.expiry - Duration::nanoseconds(1);
    assert!(matches!(
        meter.apply(&event(3, &a, Solution::App, Some(200), last)).unwrap(),
        Applied::Drawn { .. }
    ));
    assert_eq!(meter.apply(&event(4, &a, Solution::App, Some(200), pack.expiry)).unwrap(), Applied::Overage);
    let p = meter.pack(&a, &pack.id).unwrap();
    assert_eq!((p.remaining, p.status(pack.expiry)), (8, PackStatus::Expired), "the remainder is forfeited");
}

#[test]
fn usage_arriving_after_expiry_is_overage() {
    let mut meter = small_meter();
    let a = acct(1);
    let bought = cst(2026, 1, 10, 15, 30, 0);
    let pack =
        meter.purchase(&a, PackType::RealPerson, 10, d("9"), bought, &mut SequentialIds::default()).unwrap();
    let inside = pack.expiry - Duration::hours(1);
    // Happened while the pack was valid, delivered after it expired: the remainder was
    // forfeited at expiry, so nothing is drawn.
    let late = event(1, &a, Solution::App, Some(200), inside);
    assert_eq!(meter.apply_arrived(&late, pack.expiry).unwrap(), Applied::Overage);
    assert_eq!(meter.pack(&a, &pack.id).unwrap().remaining, 10);
    let day = BillingZone::CHINA.day_of(inside);
    assert_eq!(meter.daily_usage(&a, day)[&Solution::App], DailyUsage { counted: 1, covered: 0 });
    // The late repeat is a duplicate, whenever it arrives.
    assert_eq!(meter.apply_arrived(&late, pack.expiry - Duration::hours(2)).unwrap(), Applied::Duplicate);
    // Delivered just before expiry: drawn. An arrival earlier than the event time (a
    // skewed clock) changes nothing; `apply` is arrival = event time.
    let on_time = event(2, &a, Solution::App, Some(200), inside);
    let last = pack.expiry - Duration::nanoseconds(1);
    assert!(matches!(meter.apply_arrived(&on_time, last).unwrap(), Applied::Drawn { .. }));
    let skewed = event(3, &a, Solution::App, Some(200), inside);
    assert!(matches!(meter.apply_arrived(&skewed, bought).unwrap(), Applied::Drawn { .. }));
    assert!(matches!(
        meter.apply(&event(4, &a, Solution::App, Some(200), last)).unwrap(),
        Applied::Drawn { .. }
    ));
    assert_eq!(meter.pack(&a, &pack.id).unwrap().remaining, 7);
    assert_eq!(meter.check(&event(5, &a, Solution::App, Some(200), inside)), Ok(()));
}

#[test]
fn overage_by_solution_and_natural_day_in_utc8() {
    let mut meter = small_meter();
    let a = acct(1);
    // 2026-03-01 23:59:59 CST and 2026-03-02 00:00:00 CST; and a UTC-midnight event (08:00 CST).
    meter.apply(&event(1, &a, Solution::App, Some(200), cst(2026, 3, 1, 23, 59, 59))).unwrap();
    meter.apply(&event(2, &a, Solution::App, Some(204), cst(2026, 3, 2, 0, 0, 0))).unwrap();
    meter
        .apply(&event(
            3,
            &a,
            Solution::FaceComparison,
            Some(200),
            Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(),
        ))
        .unwrap();
    let day1 = meter.daily_usage(&a, chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
    let day2 = meter.daily_usage(&a, chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    assert_eq!(day1.get(&Solution::App), Some(&DailyUsage { counted: 1, covered: 0 }));
    assert_eq!(day2.get(&Solution::App), Some(&DailyUsage { counted: 1, covered: 0 }));
    assert_eq!(day2.get(&Solution::FaceComparison).unwrap().overage(), 1);
    assert!(meter.daily_usage(&acct(2), chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()).is_empty());
}

#[test]
fn alerts_fire_once_per_crossing() {
    let mut meter = small_meter();
    let a = acct(1);
    let t = cst(2026, 1, 1, 0, 0, 0);
    let pack =
        meter.purchase(&a, PackType::RealPerson, 10, d("9"), t, &mut SequentialIds::default()).unwrap();
    assert_eq!(meter.set_alert(&a, &pack.id, d("1.5")), Err(PackError::Threshold(d("1.5"))));
    assert_eq!(meter.set_alert(&a, &pack.id, d("0.7")).unwrap(), None);
    let mut alerts = Vec::new();
    for n in 0..10 {
        if let Applied::Drawn { alert: Some(alert), .. } =
            meter.apply(&event(n, &a, Solution::App, Some(200), t)).unwrap()
        {
            alerts.push((n, alert.remaining));
        }
    }
    assert_eq!(alerts, vec![(2, 7)], "fires when remaining share falls to 0.7, and only then");
    // Setting a threshold the pack is already below fires at once.
    let fired = meter.set_alert(&a, &pack.id, d("0.5")).unwrap().unwrap();
    assert_eq!((fired.remaining, fired.total, fired.threshold), (0, 10, d("0.5")));
    assert_eq!(meter.set_alert(&acct(2), &pack.id, d("0.5")), Err(PackError::NotFound(pack.id)));
}

#[test]
fn refund_quotes() {
    let mut meter = small_meter();
    let a = acct(1);
    let bought = cst(2026, 1, 1, 10, 0, 0);
    let pack = meter
        .purchase(&a, PackType::LivenessFace, 4, d("0.5"), bought, &mut SequentialIds::default())
        .unwrap();
    let quote = |meter: &Meter, at| meter.refund_quote(&a, &pack.id, at).unwrap();
    let five_days = bought + Duration::days(5);
    assert_eq!(quote(&meter, five_days), RefundQuote::Full { amount: d("0.5") });
    meter.apply(&event(1, &a, Solution::LivenessDetection, Some(200), bought)).unwrap();
    // 0.5 − 1 × 0.182 = 0.318 → truncated to the fen: 0.31.
    assert_eq!(quote(&meter, five_days), RefundQuote::Partial { amount: d("0.31"), used: 1 });
    meter.apply(&event(2, &a, Solution::LivenessDetection, Some(200), bought)).unwrap();
    meter.apply(&event(3, &a, Solution::LivenessDetection, Some(200), bought)).unwrap();
    assert_eq!(
        quote(&meter, five_days),
        RefundQuote::Partial { amount: d("0"), used: 3 },
        "never below zero"
    );
    assert_eq!(quote(&meter, five_days + Duration::nanoseconds(1)), RefundQuote::ManualReview);
    assert_eq!(quote(&meter, bought + Duration::days(180)), RefundQuote::ManualReview);
    assert_eq!(
        quote(&meter, bought + Duration::days(180) + Duration::seconds(1)),
        RefundQuote::NotRefundable
    );
    let unused = meter
        .purchase(&acct(9), PackType::RealPerson, 10, d("9"), bought, &mut SequentialIds { next: 77 })
        .unwrap();
    assert_eq!(
        meter.refund_quote(&acct(9), &unused.id, bought + Duration::days(200)).unwrap(),
        RefundQuote::NotRefundable
    );
}

#[test]
fn console_queries() {
    let mut meter = Meter::default();
    let mut ids = SequentialIds::default();
    let a = acct(1);
    let t = cst(2025, 6, 1, 0, 0, 0);
    meter.purchase(&a, PackType::RealPerson, 100, Decimal::ZERO, t, &mut ids).unwrap();
    let big = meter
        .purchase(&a, PackType::RealPerson, 100_000, d("90000"), t + Duration::days(1), &mut ids)
        .unwrap();
    for n in 0..150u128 {
        meter.apply(&event(n, &a, Solution::App, Some(200), t + Duration::days(2))).unwrap();
    }
    let list = meter.packs(&a, t + Duration::days(3));
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].status, list[0].remaining, list[0].name.as_str()),
        (PackStatus::UsedUp, 0, "实人认证流量包")
    );
    assert_eq!((list[1].id, list[1].remaining), (big.id, 99_950));
    let totals = meter.totals(&a, PackType::RealPerson, t + Duration::days(3));
    assert_eq!((totals.total, totals.used, totals.current), (100_100, 150, 99_950));
    assert_eq!(totals.current_share, Some(d("99950") / d("100100")));
    let none = meter.totals(&a, PackType::FaceVerify, t);
    assert_eq!((none.total, none.current_share), (0, None));
    // After the free pack expires it leaves the totals.
    let later = meter.totals(&a, PackType::RealPerson, cst(2026, 6, 1, 12, 0, 0));
    assert_eq!((later.total, later.current), (100_000, 99_950));
}

#[test]
fn snapshot_round_trip_is_byte_identical() {
    let mut meter = small_meter();
    let mut ids = SequentialIds::default();
    let a = acct(1);
    let t = cst(2026, 1, 1, 0, 0, 0);
    let pack = meter.purchase(&a, PackType::RealPerson, 10, d("9"), t, &mut ids).unwrap();
    meter.set_alert(&a, &pack.id, d("0.5")).unwrap();
    for n in 0..7 {
        meter.apply(&event(n, &a, Solution::App, Some(200), t)).unwrap();
    }
    meter.apply(&event(100, &acct(2), Solution::FaceComparison, None, t)).unwrap();
    let json = serde_json::to_string(&meter).unwrap();
    let mut back: Meter = serde_json::from_str(&json).unwrap();
    assert_eq!(back, meter);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    // The restored meter keeps drawing in order and still knows every key.
    assert_eq!(back.apply(&event(3, &a, Solution::App, Some(200), t)).unwrap(), Applied::Duplicate);
    assert!(matches!(back.apply(&event(8, &a, Solution::App, Some(200), t)).unwrap(), Applied::Drawn { .. }));
}

#[test]
fn corrupt_snapshots_are_rejected() {
    let mut meter = small_meter();
    let a = acct(1);
    let t = cst(2026, 1, 1, 0, 0, 0);
    meter.purchase(&a, PackType::RealPerson, 10, d("9"), t, &mut SequentialIds::default()).unwrap();
    meter.apply(&event(1, &a, Solution::App, Some(200), t)).unwrap();
    let good = serde_json::to_value(&meter).unwrap();
    let mut v = good.clone();
    v["packs"][0]["remaining"] = serde_json::json!(11);
    assert!(serde_json::from_value::<Meter>(v).is_err());
    let mut v = good.clone();
    let first = v["packs"][0].clone();
    v["packs"].as_array_mut().unwrap().push(first);
    assert!(serde_json::from_value::<Meter>(v).is_err());
    let mut v = good.clone();
    let first = v["seen"][0].clone();
    v["seen"].as_array_mut().unwrap().push(first);
    assert!(serde_json::from_value::<Meter>(v).is_err());
    let mut v = good;
    v["packs"][0]["id"] = serde_json::json!("cloudauthflowbag-1");
    assert!(serde_json::from_value::<Meter>(v).is_err());
}

#[test]
fn check_predicts_apply_and_changes_nothing() {
    let mut meter = Meter::default();
    let a = acct(1);
    let t = cst(2026, 11, 23, 10, 0, 0);
    let first = event(1, &a, Solution::App, Some(200), t);
    assert_eq!(meter.check(&first), Ok(()));
    assert_eq!(meter.usage().len(), 0, "check marks nothing");
    meter.apply(&first).unwrap();
    let usage = meter.usage();
    // The same event again is a duplicate (fine); other content under the ID is not.
    assert_eq!(meter.check(&first), Ok(()));
    let conflicting = event(1, &a, Solution::App, Some(200), t + Duration::seconds(1));
    assert_eq!(meter.check(&conflicting), Err(ApplyError::Conflict(cid(1))));
    assert_eq!(meter.apply(&conflicting), Err(ApplyError::Conflict(cid(1))));
    assert_eq!(meter.usage(), usage);
}
