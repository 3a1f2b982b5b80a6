//! A seeded 90-day simulation — random accounts, packs, usage (some of it late),
//! top-ups and clock jumps, through the real meter and biller — checked every day
//! against a deliberately naive reference model that recomputes everything from the
//! raw history. Plus the reconciliation properties.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, reason = "tests")]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use shiren_billing::*;
use shiren_catalog::{AccountId, BillingZone, PackType, Pricing, Solution, SubCode};
use shiren_meter::{Meter, SequentialIds, UsageEvent};

/// xorshift64*: a tiny seeded generator, so the simulation is reproducible.
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

const SOLUTIONS: [Solution; 5] = [
    Solution::App,
    Solution::ServerSide,
    Solution::LivenessDetection,
    Solution::FaceComparison,
    Solution::AlipayH5,
];

fn zone() -> BillingZone {
    BillingZone::CHINA
}

fn start_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 20).unwrap()
}

/// One counted unit as the reference model remembers it.
#[derive(Clone, Debug)]
struct Raw {
    account: usize,
    solution: Solution,
    day: NaiveDate,
    covered: bool,
    arrived: DateTime<Utc>,
}

struct Outcome {
    bills: Vec<DailyBill>,
    biller_json: String,
}

fn price(pricing: &Pricing, s: Solution) -> Decimal {
    pricing.unit_price(s).unwrap()
}

/// The naive expected bill of `account` for `day`, recomputed from the whole raw
/// history: usage of `day` that arrived before the bill was due, plus every unit that
/// arrived at or after its own day's bill was due and before this bill was due, but
/// after the previous day's bill was due (the first bill due after its arrival).
fn expected_lines(
    raw: &[Raw],
    account: usize,
    day: NaiveDate,
    issue_of: impl Fn(NaiveDate) -> DateTime<Utc>,
    pricing: &Pricing,
) -> Vec<(LineKind, Solution, u64, u64, Decimal)> {
    let due = issue_of(day);
    let previous_due = issue_of(day.pred_opt().unwrap());
    let mut groups: BTreeMap<(u8, NaiveDate, Solution), (u64, u64)> = BTreeMap::new();
    for r in raw.iter().filter(|r| r.account == account) {
        let on_time = r.arrived < issue_of(r.day);
        let key = if r.day == day && on_time {
            (0, day, r.solution)
        } else if !on_time && previous_due <= r.arrived && r.arrived < due {
            (1, r.day, r.solution)
        } else {
            continue;
        };
        let g = groups.entry(key).or_default();
        g.0 += 1;
        g.1 += u64::from(r.covered);
    }
    groups
        .into_iter()
        .map(|((kind, d, s), (counted, covered))| {
            let chargeable = counted - covered;
            let amount = (Decimal::from(chargeable) * price(pricing, s))
                .round_dp_with_strategy(2, RoundingStrategy::ToZero);
            let kind = if kind == 0 { LineKind::Usage } else { LineKind::Adjustment { day: d } };
            (kind, s, counted, covered, amount)
        })
        .collect()
}

fn simulate(seed: u64) -> Outcome {
    let mut rng = Rng(seed | 1);
    let accounts: Vec<AccountId> = (0..5).map(|i| AccountId::new(&(1000 + i).to_string()).unwrap()).collect();
    let pricings: Vec<Pricing> = (0..5)
        .map(|i| {
            if i == 3 {
                Pricing::negotiated([(Solution::ServerSide, "0.55".parse().unwrap())])
            } else {
                Pricing::list()
            }
        })
        .collect();
    let config = BillingConfig::new(
        zone(),
        chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap() + Duration::minutes(rng.below(121) as i64),
        Rounding::TowardZero,
        start_day(),
    )
    .unwrap();
    let mut biller = Biller::new(config);
    let mut meter = Meter::default();
    let mut ids = SequentialIds::default();
    for (a, p) in accounts.iter().zip(&pricings) {
        biller.open_account(a, p.clone()).unwrap();
    }
    let mut raw: Vec<Raw> = Vec::new();
    let mut issued: Vec<DailyBill> = Vec::new();
    let mut ledger_sum: Vec<Decimal> = vec![Decimal::ZERO; accounts.len()];
    let mut next_key: u128 = 1;
    let mut now = zone().start_of(start_day());
    let end = zone().start_of(start_day() + Duration::days(90));

    // A few packs: the free 100-unit packs, and sometimes a paid one.
    for (i, a) in accounts.iter().enumerate() {
        if rng.below(2) == 0 {
            meter.purchase(a, PackType::RealPerson, 100, Decimal::ZERO, now, &mut ids).unwrap();
        }
        if i == 2 {
            meter
                .purchase(a, PackType::LivenessFace, 50_000, "9100".parse().unwrap(), now, &mut ids)
                .unwrap();
        }
    }

    while now < end {
        // Clock jump: between 10 minutes and 40 hours.
        now += Duration::minutes(10 + rng.below(40 * 60) as i64);
        // Usage: some events now, some late (up to 3 days back), some duplicates.
        for _ in 0..rng.below(12) {
            let a = rng.below(accounts.len() as u64) as usize;
            let solution = SOLUTIONS[rng.below(SOLUTIONS.len() as u64) as usize];
            let back =
                if rng.below(5) == 0 { Duration::hours(rng.below(72) as i64) } else { Duration::zero() };
            let time = (now - back).max(zone().start_of(start_day()));
            let sub = [Some(200), Some(204), Some(205), Some(207), None][rng.below(5) as usize];
            let key = if rng.below(8) == 0 && next_key > 2 { next_key - 1 } else { next_key };
            let event = UsageEvent {
                certify_id: format!("{key:032x}").parse().unwrap(),
                account: accounts[a],
                solution,
                sub_code: sub.map(SubCode::new),
                time,
            };
            next_key = key + 1;
            let Ok(applied) = meter.apply(&event) else { continue };
            if let Some(record) = UsageRecord::from_applied(&event, &applied) {
                biller.record(&record, now).unwrap();
                raw.push(Raw {
                    account: a,
                    solution,
                    day: zone().day_of(time),
                    covered: record.covered,
                    arrived: now,
                });
            }
        }
        // Top-ups, sometimes.
        if rng.below(4) == 0 {
            let a = rng.below(accounts.len() as u64) as usize;
            let amount = Decimal::new(rng.below(2_000) as i64 + 1, 2);
            biller.top_up(&accounts[a], amount, now).unwrap();
            ledger_sum[a] += amount;
        }
        // Issue whatever is due, and check every bill against the naive model.
        while let BillingStep::Issued { day, bills } = biller.poll(now).unwrap() {
            let at = biller.config().issue_instant(day);
            for (i, a) in accounts.iter().enumerate() {
                let expected =
                    expected_lines(&raw, i, day, |d| biller.config().issue_instant(d), &pricings[i]);
                let got: Vec<(LineKind, Solution, u64, u64, Decimal)> = bills
                    .iter()
                    .filter(|b| &b.account == a)
                    .flat_map(|b| {
                        b.lines.iter().map(|l| (l.kind, l.solution, l.counted, l.covered, l.amount))
                    })
                    .collect();
                assert_eq!(got, expected, "seed {seed}, account {a}, day {day}");
                if let Some(bill) = bills.iter().find(|b| &b.account == a) {
                    assert_eq!(bill.issued_at, at);
                    ledger_sum[i] -= bill.total;
                }
            }
            issued.extend(bills);
        }
        // Balances and standings, checked against the naive running sums.
        for (i, a) in accounts.iter().enumerate() {
            assert_eq!(biller.balance(a, now).unwrap(), ledger_sum[i], "seed {seed}");
            let negative = ledger_sum[i] < Decimal::ZERO;
            assert_eq!(biller.may_start_verification(a, now).is_err(), negative, "seed {seed}");
        }
    }
    // Issued bills never changed afterwards.
    for bill in &issued {
        assert_eq!(biller.bill(&bill.account, bill.day).unwrap(), Some(bill), "seed {seed}");
    }
    // Every statement equals the sum of its daily bills.
    for a in &accounts {
        for (year, month) in [(2020, 2), (2020, 3), (2020, 4)] {
            let s = biller.statement(a, year, month).unwrap();
            let expected: Decimal = issued
                .iter()
                .filter(|b| &b.account == a && b.day >= s.first_day && b.day <= s.last_day)
                .map(|b| b.total)
                .sum();
            assert_eq!(s.total, expected, "seed {seed}");
        }
    }
    Outcome { bills: issued, biller_json: serde_json::to_string(&biller).unwrap() }
}

#[test]
fn ninety_days_agree_with_the_naive_model() {
    for seed in [1, 2, 3, 42, 20_191_225] {
        let outcome = simulate(seed);
        assert!(outcome.bills.len() > 50, "seed {seed}: the simulation must actually bill");
    }
}

#[test]
fn same_inputs_give_byte_identical_bills() {
    let a = simulate(7);
    let b = simulate(7);
    assert_eq!(serde_json::to_string(&a.bills).unwrap(), serde_json::to_string(&b.bills).unwrap());
    assert_eq!(a.biller_json, b.biller_json);
}

proptest! {
    #[test]
    fn amounts_plus_remainders_equal_units_times_price(
        usage in prop::collection::vec((0usize..5, 0u64..5_000, 0u64..100, any::<bool>()), 1..20),
        half_up in any::<bool>(),
        price_milli in 1i64..5_000,
    ) {
        let rounding = if half_up { Rounding::HalfUp } else { Rounding::TowardZero };
        let config = BillingConfig::new(zone(), chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap(), rounding, start_day()).unwrap();
        let mut biller = Biller::new(config);
        let account = AccountId::new("1").unwrap();
        let custom = Decimal::new(price_milli, 3);
        let pricing = Pricing::negotiated([(Solution::ServerSide, custom)]);
        biller.open_account(&account, pricing.clone()).unwrap();
        let t = zone().start_of(start_day()) + Duration::hours(3);
        for &(s, n, _, covered) in &usage {
            for _ in 0..n.min(50) {
                biller.record(&UsageRecord { account, solution: SOLUTIONS[s], time: t, covered }, t).unwrap();
            }
        }
        let BillingStep::Issued { bills, .. } = biller.poll(t + Duration::days(2)).unwrap() else { panic!("due") };
        let bill = &bills[0];
        let exact: Decimal = bill.lines.iter().map(|l| Decimal::from(l.chargeable) * pricing.unit_price(l.solution).unwrap()).sum();
        prop_assert_eq!(bill.total + bill.remainder, exact);
        for line in &bill.lines {
            prop_assert_eq!(line.amount + line.remainder, line.exact_amount);
            prop_assert!(line.amount.scale() <= 2);
            prop_assert!(line.remainder.abs() < Decimal::new(1, 2));
            prop_assert_eq!(line.chargeable, line.counted - line.covered);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn simulated_state_snapshots_round_trip_exactly(seed in 1u64..1_000) {
        // Whatever state a simulation ends in, its snapshot restores byte-identically.
        let outcome = simulate(seed);
        let restored: Biller = serde_json::from_str(&outcome.biller_json).unwrap();
        prop_assert_eq!(serde_json::to_string(&restored).unwrap(), outcome.biller_json);
    }
}
