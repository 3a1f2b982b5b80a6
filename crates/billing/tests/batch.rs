//! `record_batch` is `record` applied to each record — same bills, same late
//! adjustments — except that it is all or nothing: when any record would be refused,
//! the batch is refused and the biller is unchanged.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use shiren_billing::{Biller, BillingConfig, BillingStep, Rounding, UsageRecord};
use shiren_catalog::{AccountId, BillingZone, Pricing, Solution};

fn biller() -> Biller {
    let config = BillingConfig::new(
        BillingZone::CHINA,
        NaiveTime::from_hms_opt(10, 30, 0).unwrap(),
        Rounding::TowardZero,
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    )
    .unwrap();
    let mut biller = Biller::new(config);
    for n in 0..3 {
        let account = AccountId::new(&format!("{}", 100 + n)).unwrap();
        // Account 102 has no price for the legacy edition (the list has none).
        let pricing = if n < 2 {
            Pricing::negotiated([(Solution::LegacyFinancial, Decimal::new(8, 1))])
        } else {
            Pricing::list()
        };
        biller.open_account(&account, pricing).unwrap();
    }
    // Bills up to Nov 3 issued, so usage of earlier days arrives late.
    while let BillingStep::Issued { .. } =
        biller.poll(Utc.with_ymd_and_hms(2026, 11, 4, 3, 0, 0).unwrap()).unwrap()
    {}
    biller
}

/// Valid records of accounts 100 and 101 (priced for every solution) from Nov 1 on.
fn record_strategy() -> impl Strategy<Value = UsageRecord> {
    (0u64..2, 0usize..9, 0i64..8 * 86_400, any::<bool>()).prop_map(|(account, solution, second, covered)| {
        UsageRecord {
            account: AccountId::new(&format!("{}", 100 + account)).unwrap(),
            solution: Solution::ALL[solution],
            time: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::seconds(second),
            covered,
        }
    })
}

/// A record `record` refuses: an unknown account, an unpriced solution, or a day
/// before the first billing day.
fn refused_strategy() -> impl Strategy<Value = UsageRecord> {
    let base = UsageRecord {
        account: AccountId::new("100").unwrap(),
        solution: Solution::App,
        time: Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        covered: false,
    };
    prop_oneof![
        Just(UsageRecord { account: AccountId::new("999").unwrap(), ..base.clone() }),
        Just(UsageRecord {
            account: AccountId::new("102").unwrap(),
            solution: Solution::LegacyFinancial,
            ..base.clone()
        }),
        Just(UsageRecord { time: Utc.with_ymd_and_hms(2026, 10, 31, 0, 0, 0).unwrap(), ..base }),
    ]
}

proptest! {
    #[test]
    fn batch_equals_one_by_one(
        mut records in proptest::collection::vec(record_strategy(), 0..60),
        refused in proptest::option::weighted(0.3, (refused_strategy(), any::<proptest::sample::Index>())),
        hour in 0i64..200,
    ) {
        if let Some((record, at)) = refused {
            let at = at.index(records.len() + 1);
            records.insert(at, record);
        }
        let now = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap() + Duration::hours(hour);
        let mut one_by_one = biller();
        let ok = records.iter().all(|r| one_by_one.clone().record(r, now).is_ok() && one_by_one.record(r, now).is_ok());
        let mut batched = biller();
        let before = batched.clone();
        let result = batched.record_batch(&records, now);
        prop_assert_eq!(result.is_ok(), ok);
        if ok {
            prop_assert_eq!(&batched, &one_by_one);
            // And the bills they issue are the same.
            let later = now + Duration::days(12);
            while let BillingStep::Issued { bills, .. } = batched.poll(later).unwrap() {
                let BillingStep::Issued { bills: expected, .. } = one_by_one.poll(later).unwrap() else { panic!() };
                prop_assert_eq!(bills, expected);
            }
        } else {
            prop_assert_eq!(&batched, &before, "a refused batch changes nothing");
        }
    }
}
