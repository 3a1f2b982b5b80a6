//! Every number of SPEC.md §3 and §4: list prices, metering, pack types, photo storage,
//! pack prices and discounts.
#![allow(clippy::unwrap_used, reason = "tests")]

use rust_decimal::Decimal;
use shiren_catalog::*;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[test]
fn solution_price_table() {
    use MeteringBasis::{PassedVerifications as Passed, SuccessfulCalls as Calls};
    use PackType::*;
    let table = [
        (Solution::App, "1", Calls, RealPerson, true),
        (Solution::H5, "1", Calls, RealPerson, true),
        (Solution::ServerSide, "1", Calls, RealPerson, false),
        (Solution::AlipayMiniProgram, "1", Passed, RealPerson, false),
        (Solution::AlipayH5, "1", Passed, RealPerson, false),
        (Solution::LivenessFaceVerification, "0.182", Calls, LivenessFace, true),
        (Solution::LivenessDetection, "0.182", Calls, LivenessFace, true),
        (Solution::FaceComparison, "0.006", Calls, FaceVerify, false),
    ];
    assert_eq!(Solution::PRICED.len(), table.len());
    for (solution, price, metering, pack, photos) in table {
        let facts = solution.facts();
        assert_eq!(facts.list_price, Some(d(price)), "{solution}");
        assert_eq!(facts.metering, metering, "{solution}");
        assert_eq!(facts.pack_type, Some(pack), "{solution}");
        assert_eq!(facts.stores_photos, photos, "{solution}");
        assert_eq!(Pricing::list().unit_price(solution).unwrap(), d(price));
    }
    let legacy = Solution::LegacyFinancial.facts();
    assert_eq!((legacy.list_price, legacy.pack_type), (None, None));
    assert_eq!(
        Pricing::list().unit_price(Solution::LegacyFinancial),
        Err(NoPrice(Solution::LegacyFinancial))
    );
    let negotiated = Pricing::negotiated([(Solution::LegacyFinancial, d("0.8"))]);
    assert_eq!(negotiated.unit_price(Solution::LegacyFinancial).unwrap(), d("0.8"));
}

#[test]
fn metering_basis_counts() {
    assert!(MeteringBasis::SuccessfulCalls.counts(false));
    assert!(MeteringBasis::SuccessfulCalls.counts(true));
    assert!(MeteringBasis::PassedVerifications.counts(true));
    assert!(!MeteringBasis::PassedVerifications.counts(false));
}

#[test]
fn traffic_pack_table() {
    use PackType::*;
    // (type, units, price, discount as share of list value; None for the free pack)
    let table: [(PackType, u64, &str, Option<&str>); 14] = [
        (RealPerson, 100, "0", None),
        (RealPerson, 50_000, "50000", Some("1")),
        (RealPerson, 100_000, "90000", Some("0.9")),
        (RealPerson, 200_000, "160000", Some("0.8")),
        (RealPerson, 500_000, "350000", Some("0.7")),
        (RealPerson, 1_500_000, "1050000", Some("0.7")),
        (LivenessFace, 100, "0", None),
        (LivenessFace, 50_000, "9100", Some("1")),
        (LivenessFace, 100_000, "16380", Some("0.9")),
        (LivenessFace, 200_000, "29120", Some("0.8")),
        (LivenessFace, 500_000, "63700", Some("0.7")),
        (LivenessFace, 1_500_000, "191100", Some("0.7")),
        (FaceVerify, 1_000_000, "3600", Some("0.6")),
        (FaceVerify, 3_000_000, "8100", Some("0.45")),
    ];
    assert_eq!(PACK_CATALOG.len(), table.len());
    for (pack_type, units, price, discount) in table {
        let spec = pack_spec(pack_type, units).unwrap();
        assert_eq!(spec.price, d(price), "{pack_type} {units}");
        assert_eq!(spec.discount().map(|x| x.normalize()), discount.map(d), "{pack_type} {units}");
        assert_eq!(spec.first_purchase_only, units == 100, "{pack_type} {units}");
    }
    assert_eq!(pack_spec(FaceVerify, 100), Err(UnknownPack { pack_type: FaceVerify, units: 100 }));
    assert_eq!(pack_spec(RealPerson, 7).unwrap_err().to_string(), "no 实人认证流量包 of 7 units is sold");
}

#[test]
fn solutions_and_products_agree_on_tabs() {
    for solution in Solution::PRICED {
        assert!(!solution.products().is_empty());
    }
    assert_eq!(Solution::FaceComparison.facts().tab, SolutionTab::FaceComparison);
    assert_eq!(Solution::ServerSide.products(), &[ProductCode::IdMin]);
}

#[test]
fn account_ids_and_buckets() {
    let id = AccountId::new("1234567890").unwrap();
    assert_eq!(id.photo_bucket(), "cn-shanghai-aliyun-cloudauth-1234567890");
    assert!(AccountId::new("").is_err() && AccountId::new("12a").is_err());
    assert!(AccountId::new(&"1".repeat(21)).is_err());
    assert!(serde_json::from_str::<AccountId>("\"x\"").is_err());
}

#[test]
fn solution_indexes_match_all() {
    for (i, s) in Solution::ALL.iter().enumerate() {
        assert_eq!(s.index(), i);
    }
    assert_eq!(&Solution::ALL[..8], Solution::PRICED);
}
