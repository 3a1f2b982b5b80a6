//! Ledger invariants on random operation sequences, checked against a deliberately
//! naive model: conservation, no overdraft, exactly-once application, duplicates and
//! prefix replays that change nothing, failed operations that leave no trace, refunds
//! that never exceed what was paid, alerts at most once — and a concurrency stress test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use shiren_catalog::{AccountId, BillingZone, CertifyId, PackSpec, PackType, Solution, SubCode};
use shiren_meter::*;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn acct(n: u8) -> AccountId {
    AccountId::new(&(100 + u64::from(n)).to_string()).unwrap()
}

const TYPES: [PackType; 3] = [PackType::RealPerson, PackType::LivenessFace, PackType::FaceVerify];
const SOLUTIONS: [Solution; 5] = [
    Solution::App,
    Solution::AlipayH5,
    Solution::LivenessDetection,
    Solution::FaceComparison,
    Solution::LegacyFinancial,
];
const SUBS: [Option<u16>; 5] = [Some(200), Some(204), Some(205), Some(207), None];

fn catalog() -> Vec<PackSpec> {
    TYPES
        .iter()
        .flat_map(|&t| {
            [(1u64, "0"), (3, "2.5"), (5, "4")].map(|(units, price)| PackSpec {
                pack_type: t,
                units,
                price: price.parse().unwrap(),
                first_purchase_only: price == "0",
            })
        })
        .collect()
}

#[derive(Clone, Debug)]
enum Op {
    Purchase { account: u8, pack_type: usize, units: u64, hour: i64 },
    Apply { key: u8, account: u8, solution: usize, sub: usize, hour: i64, late: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..2u8, 0..3usize, prop::sample::select(vec![1u64, 3, 5]), 0..9_000i64)
            .prop_map(|(account, pack_type, units, hour)| Op::Purchase { account, pack_type, units, hour }),
        4 => (0..24u8, 0..2u8, 0..5usize, 0..5usize, 0..9_000i64, prop_oneof![2 => Just(0i64), 1 => 0..9_000i64])
            .prop_map(|(key, account, solution, sub, hour, late)| Op::Apply { key, account, solution, sub, hour, late }),
    ]
}

fn usage_event(key: u8, account: u8, solution: usize, sub: usize, hour: i64) -> UsageEvent {
    UsageEvent {
        certify_id: format!("{key:032x}").parse().unwrap(),
        account: acct(account),
        solution: SOLUTIONS[solution],
        sub_code: SUBS[sub].map(SubCode::new),
        time: base() + Duration::hours(hour),
    }
}

/// The naive model: a list of packs and a map of seen events; every rule written out
/// the slow, obvious way.
struct ModelPack {
    id: PackId,
    account: AccountId,
    pack_type: PackType,
    effective: DateTime<Utc>,
    expiry: DateTime<Utc>,
    remaining: u64,
}

#[derive(Default)]
struct Model {
    packs: Vec<ModelPack>,
    seen: HashMap<CertifyId, UsageEvent>,
    bought: Vec<(AccountId, PackType)>,
}

impl Model {
    fn purchase(
        &mut self,
        id: PackId,
        account: AccountId,
        pack_type: PackType,
        units: u64,
        at: DateTime<Utc>,
    ) -> bool {
        let free = units == 1;
        if free && self.bought.contains(&(account, pack_type)) {
            return false;
        }
        self.bought.push((account, pack_type));
        let expiry = expiry_of(at, BillingZone::CHINA);
        self.packs.push(ModelPack { id, account, pack_type, effective: at, expiry, remaining: units });
        true
    }

    fn apply(&mut self, e: &UsageEvent, arrived: DateTime<Utc>) -> Result<Applied, ()> {
        if let Some(previous) = self.seen.get(&e.certify_id) {
            return if previous == e { Ok(Applied::Duplicate) } else { Err(()) };
        }
        self.seen.insert(e.certify_id, e.clone());
        let billable = matches!(e.sub_code.map(|s| s.code()), Some(200..=206));
        let passed = e.sub_code.map(|s| s.code()) == Some(200);
        let passed_only = matches!(e.solution, Solution::AlipayH5 | Solution::AlipayMiniProgram);
        if !billable || (passed_only && !passed) {
            return Ok(Applied::NotCounted);
        }
        let Some(pack_type) = e.solution.facts().pack_type else { return Ok(Applied::Overage) };
        let best = self
            .packs
            .iter_mut()
            .filter(|p| {
                p.account == e.account
                    && p.pack_type == pack_type
                    && p.effective <= e.time
                    && e.time < p.expiry
                    && arrived < p.expiry
                    && p.remaining > 0
            })
            .min_by_key(|p| (p.expiry, p.effective, p.id));
        match best {
            Some(p) => {
                p.remaining -= 1;
                Ok(Applied::Drawn { pack: p.id, alert: None })
            }
            None => Ok(Applied::Overage),
        }
    }
}

fn run(meter: &mut Meter, ids: &mut SequentialIds, op: &Op) {
    match *op {
        Op::Purchase { account, pack_type, units, hour } => {
            let price = if units == 1 { Decimal::ZERO } else { Decimal::ONE };
            let _ = meter.purchase(
                &acct(account),
                TYPES[pack_type],
                units,
                price,
                base() + Duration::hours(hour),
                ids,
            );
        }
        Op::Apply { key, account, solution, sub, hour, late } => {
            let e = usage_event(key, account, solution, sub, hour);
            let _ = meter.apply_arrived(&e, e.time + Duration::hours(late));
        }
    }
}

fn check_conservation(meter: &Meter) -> Result<(), TestCaseError> {
    for pack_type in TYPES {
        let drawn: u64 = meter
            .all_packs()
            .iter()
            .filter(|p| p.spec.pack_type == pack_type)
            .map(|p| p.spec.units - p.remaining)
            .sum();
        let mut counted = 0;
        let mut covered = 0;
        for ((_, _, solution), usage) in meter.usage() {
            if solution.facts().pack_type == Some(pack_type) {
                counted += usage.counted;
                covered += usage.covered;
            }
        }
        prop_assert_eq!(drawn, covered, "units drawn from packs = units covered");
        prop_assert!(covered <= counted);
    }
    for pack in meter.all_packs() {
        prop_assert!(pack.remaining <= pack.spec.units);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn meter_matches_naive_model(ops in prop::collection::vec(op(), 0..80)) {
        let mut meter = Meter::new(BillingZone::CHINA, catalog());
        let mut model = Model::default();
        let mut ids = SequentialIds::default();
        let mut counted_events = 0u64;
        for op in &ops {
            let before = meter.clone();
            match *op {
                Op::Purchase { account, pack_type, units, hour } => {
                    let at = base() + Duration::hours(hour);
                    let price = if units == 1 { Decimal::ZERO } else { Decimal::ONE };
                    let got = meter.purchase(&acct(account), TYPES[pack_type], units, price, at, &mut ids);
                    let expected = model.purchase(PackId::from_number(ids.next), acct(account), TYPES[pack_type], units, at);
                    prop_assert_eq!(got.is_ok(), expected);
                }
                Op::Apply { key, account, solution, sub, hour, late } => {
                    let e = usage_event(key, account, solution, sub, hour);
                    let arrived = e.time + Duration::hours(late);
                    let got = meter.apply_arrived(&e, arrived).map(|a| match a {
                        Applied::Drawn { pack, .. } => Applied::Drawn { pack, alert: None },
                        other => other,
                    });
                    let expected = model.apply(&e, arrived);
                    prop_assert_eq!(got.clone().ok(), expected.clone().ok());
                    prop_assert_eq!(got.is_err(), expected.is_err());
                    if matches!(expected, Ok(Applied::Drawn { .. } | Applied::Overage)) {
                        counted_events += 1;
                    }
                }
            }
            if meter.all_packs().len() == before.all_packs().len() && meter.seen_count() == before.seen_count() {
                prop_assert_eq!(&meter, &before, "an operation that failed or was a duplicate left a trace");
            }
        }
        for (pack, model_pack) in meter.all_packs().iter().zip(&model.packs) {
            prop_assert_eq!(&pack.id, &model_pack.id);
            prop_assert_eq!(pack.remaining, model_pack.remaining);
        }
        let total_counted: u64 = meter.usage().values().map(|u| u.counted).sum();
        prop_assert_eq!(total_counted, counted_events, "every counted event is counted exactly once");
        check_conservation(&meter)?;
        // Every reachable state passes the snapshot checks and restores to itself.
        let restored: Meter = serde_json::from_str(&serde_json::to_string(&meter).unwrap()).unwrap();
        prop_assert_eq!(&restored, &meter);
    }

    #[test]
    fn duplicates_and_prefix_replays_change_nothing(
        ops in prop::collection::vec(op(), 0..60),
        inserts in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..30),
        prefix in any::<prop::sample::Index>(),
    ) {
        let mut reference = Meter::new(BillingZone::CHINA, catalog());
        let mut ids = SequentialIds::default();
        for op in &ops { run(&mut reference, &mut ids, op); }

        // The same stream with earlier usage events repeated at random later points.
        let mut noisy: Vec<Op> = ops.clone();
        for (at, which) in &inserts {
            let applies: Vec<usize> = (0..noisy.len()).filter(|&i| matches!(noisy[i], Op::Apply { .. })).collect();
            if applies.is_empty() { break; }
            let source = applies[which.index(applies.len())];
            let position = source + 1 + at.index(noisy.len() - source);
            let copy = noisy[source].clone();
            noisy.insert(position.min(noisy.len()), copy);
        }
        let mut with_duplicates = Meter::new(BillingZone::CHINA, catalog());
        let mut ids = SequentialIds::default();
        for op in &noisy { run(&mut with_duplicates, &mut ids, op); }
        prop_assert_eq!(serde_json::to_string(&with_duplicates).unwrap(), serde_json::to_string(&reference).unwrap());

        // Replaying a prefix of the usage events after the whole stream changes nothing.
        let cut = if ops.is_empty() { 0 } else { prefix.index(ops.len()) };
        let mut replayed = reference.clone();
        for op in ops[..cut].iter().filter(|o| matches!(o, Op::Apply { .. })) {
            run(&mut replayed, &mut SequentialIds::default(), op);
        }
        prop_assert_eq!(&replayed, &reference);
    }

    #[test]
    fn refunds_never_exceed_what_was_paid(units_used in 0u64..6, paid_cents in 0i64..500, days in 0i64..400) {
        let mut meter = Meter::new(BillingZone::CHINA, catalog());
        let a = acct(0);
        let paid = Decimal::new(paid_cents.min(400), 2);
        let pack = meter.purchase(&a, PackType::LivenessFace, 5, paid, base(), &mut SequentialIds::default()).unwrap();
        for n in 0..units_used {
            let _ = meter.apply(&usage_event(n as u8, 0, 2, 0, 1));
        }
        match meter.refund_quote(&a, &pack.id, base() + Duration::days(days)).unwrap() {
            RefundQuote::Full { amount } | RefundQuote::Partial { amount, .. } => {
                prop_assert!(amount >= Decimal::ZERO && amount <= paid);
                prop_assert!(days <= 5);
            }
            RefundQuote::ManualReview => prop_assert!(days > 5 && days <= 180),
            RefundQuote::NotRefundable => prop_assert!(days > 180),
        }
    }

    #[test]
    fn alerts_fire_at_most_once(threshold_pct in 0u32..=100, uses in 0u64..8) {
        let mut meter = Meter::new(BillingZone::CHINA, catalog());
        let a = acct(0);
        let pack = meter.purchase(&a, PackType::RealPerson, 5, Decimal::ONE, base(), &mut SequentialIds::default()).unwrap();
        let threshold = Decimal::new(i64::from(threshold_pct), 2);
        let mut fired = u32::from(meter.set_alert(&a, &pack.id, threshold).unwrap().is_some());
        for n in 0..uses {
            if let Ok(Applied::Drawn { alert: Some(_), .. }) = meter.apply(&usage_event(n as u8, 0, 0, 0, 1)) {
                fired += 1;
            }
        }
        prop_assert!(fired <= 1);
        let share = meter.pack(&a, &pack.id).unwrap().remaining_share();
        prop_assert_eq!(fired == 1, share <= threshold, "fires exactly when the share is at or below");
    }
}

#[test]
fn concurrent_appliers_never_overdraw_or_double_count() {
    let meter = Arc::new(Mutex::new(Meter::new(BillingZone::CHINA, catalog())));
    let a = acct(0);
    {
        let mut m = meter.lock().unwrap();
        let mut ids = SequentialIds::default();
        for _ in 0..100 {
            m.purchase(&a, PackType::RealPerson, 5, Decimal::ONE, base(), &mut ids).unwrap();
        }
    }
    // Eight threads; each applies keys 0..1500 shifted by its number × 500, so ranges
    // overlap and many events arrive more than once.
    let threads: Vec<_> = (0..8u128)
        .map(|t| {
            let meter = Arc::clone(&meter);
            std::thread::spawn(move || {
                for k in (t * 500)..(t * 500 + 1_500) {
                    let e = UsageEvent {
                        certify_id: format!("{k:032x}").parse().unwrap(),
                        account: a,
                        solution: Solution::App,
                        sub_code: Some(SubCode::PASS),
                        time: base() + Duration::hours(1),
                    };
                    meter.lock().unwrap().apply(&e).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let meter = meter.lock().unwrap();
    let unique = 7 * 500 + 1_500;
    assert_eq!(meter.seen_count(), unique);
    let usage: Vec<DailyUsage> = meter.usage().into_values().collect();
    let counted: u64 = usage.iter().map(|u| u.counted).sum();
    let covered: u64 = usage.iter().map(|u| u.covered).sum();
    assert_eq!(counted, unique as u64);
    assert_eq!(covered, 500, "exactly the 100 × 5 units bought");
    assert!(meter.all_packs().iter().all(|p| p.remaining == 0));
}
