//! Hostile snapshots: every tampered or corrupted state that no operation could reach
//! is refused with a message naming what is wrong, and no restored meter can be made to
//! panic by ordinary calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use shiren_catalog::{AccountId, BillingZone, PackSpec, PackType, Solution, SubCode};
use shiren_meter::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn acct(n: u64) -> AccountId {
    AccountId::new(&n.to_string()).unwrap()
}

fn event(n: u128, account: u64, solution: Solution, time: DateTime<Utc>) -> UsageEvent {
    UsageEvent {
        certify_id: format!("{n:032x}").parse().unwrap(),
        account: acct(account),
        solution,
        sub_code: Some(SubCode::new(200)),
        time,
    }
}

fn small_meter() -> Meter {
    let spec = |pack_type, units: u64, price: &str| PackSpec {
        pack_type,
        units,
        price: price.parse().unwrap(),
        first_purchase_only: price == "0",
    };
    Meter::new(
        BillingZone::CHINA,
        vec![
            spec(PackType::RealPerson, 2, "0"),
            spec(PackType::RealPerson, 10, "9"),
            spec(PackType::FaceVerify, 5, "1"),
        ],
    )
}

/// A meter with a free pack, a paid pack with an alert, drawn units, overage and a
/// non-counting event.
fn good() -> Value {
    let mut meter = small_meter();
    let mut ids = SequentialIds::default();
    let a = acct(1);
    meter.purchase(&a, PackType::RealPerson, 2, Decimal::ZERO, t0(), &mut ids).unwrap();
    let paid = meter.purchase(&a, PackType::RealPerson, 10, "9".parse().unwrap(), t0(), &mut ids).unwrap();
    meter.set_alert(&a, &paid.id, "0.5".parse().unwrap()).unwrap();
    for n in 0..4 {
        meter.apply(&event(n, 1, Solution::App, t0() + Duration::hours(1))).unwrap();
    }
    meter.apply(&event(10, 2, Solution::ServerSide, t0())).unwrap();
    let mut abandoned = event(11, 1, Solution::App, t0());
    abandoned.sub_code = None;
    meter.apply(&abandoned).unwrap();
    let value = serde_json::to_value(&meter).unwrap();
    assert_eq!(serde_json::from_value::<Meter>(value.clone()).unwrap(), meter);
    value
}

fn refused(tamper: impl FnOnce(&mut Value), message: &str) {
    let mut v = good();
    tamper(&mut v);
    let err = serde_json::from_value::<Meter>(v).expect_err(message).to_string();
    assert!(err.contains(message), "{err:?} should say {message:?}");
}

fn account(v: &mut Value, n: u64) -> &mut Value {
    &mut v["accounts"][n.to_string()]
}

#[test]
fn packs_off_the_catalog_are_refused() {
    refused(|v| v["packs"][1]["spec"]["units"] = json!(11), "is not on the catalog");
    refused(|v| v["packs"][1]["spec"]["price"] = json!("8"), "is not on the catalog");
    refused(|v| v["packs"][1]["spec"]["first_purchase_only"] = json!(true), "is not on the catalog");
    refused(|v| v["catalog"] = json!([]), "is not on the catalog");
}

#[test]
fn paid_out_of_range_is_refused() {
    refused(|v| v["packs"][1]["paid"] = json!("9.01"), "amount paid 9.01 is not between 0 and the price 9");
    refused(|v| v["packs"][1]["paid"] = json!("-1"), "amount paid -1");
}

#[test]
fn impossible_packs_are_refused() {
    refused(|v| v["packs"][1]["remaining"] = json!(11), "more units remaining than it holds");
    refused(|v| v["packs"][1]["expiry"] = json!("2030-01-01T00:00:00Z"), "does not expire one year after");
    refused(
        |v| {
            let first = v["packs"][1].clone();
            v["packs"].as_array_mut().unwrap().push(first);
        },
        "appears twice",
    );
    // The free pack after a paid one of the same type.
    refused(|v| v["packs"].as_array_mut().unwrap().swap(0, 1), "is not its account's first purchase");
    refused(|v| v["zone"]["offset_seconds"] = json!(100_000), "billing zone");
}

#[test]
fn impossible_alerts_are_refused() {
    // Four units drawn, the free pack first (two), then two from the paid pack: 8 left,
    // threshold 5 units: armed, not fired.
    refused(|v| v["packs"][1]["alert"]["fired"] = json!(true), "alert setting");
    refused(|v| v["packs"][1]["alert"]["threshold_units"] = json!(9), "alert setting");
    refused(|v| v["packs"][1]["alert"]["threshold"] = json!("1.5"), "alert setting");
    refused(|v| v["packs"][1]["alert"]["threshold"] = json!("-0.5"), "alert setting");
}

#[test]
fn broken_conservation_is_refused() {
    refused(
        |v| v["packs"][1]["remaining"] = json!(9),
        "3 units were drawn from its 实人认证流量包 packs, but usage covers 4",
    );
    refused(|v| account(v, 1)["usage"][0]["covered"] = json!(3), "usage covers 3");
    refused(|v| account(v, 1)["usage"][0]["covered"] = json!(5), "covers more units than it counts");
    refused(
        |v| account(v, 2)["usage"][0]["covered"] = json!(1),
        "0 units were drawn from its 实人认证流量包 packs, but usage covers 1",
    );
    refused(
        |v| {
            account(v, 2)["usage"][0]["counted"] = json!(2);
            account(v, 2)["usage"][0]["covered"] = json!(1);
        },
        "but usage covers 1",
    );
    refused(
        |v| {
            let first = v["seen"][0].clone();
            v["seen"].as_array_mut().unwrap().push(first);
        },
        "appears twice",
    );
    refused(
        |v| {
            let first = account(v, 1)["usage"][0].clone();
            account(v, 1)["usage"].as_array_mut().unwrap().push(first);
        },
        "appears twice",
    );
}

#[test]
fn counters_at_the_edge_saturate_instead_of_panicking() {
    // Counted units are not tied to remembered keys (a store may forget keys it
    // deduplicates itself), so a count may be anything; the next event must not overflow.
    let mut v = good();
    account(&mut v, 2)["usage"][0]["counted"] = json!(u64::MAX);
    v["seen"].as_array_mut().unwrap().truncate(4);
    let mut meter: Meter = serde_json::from_value(v).unwrap();
    let again = event(12, 2, Solution::ServerSide, t0());
    assert_eq!(meter.apply(&again).unwrap(), Applied::Overage);
    let day = BillingZone::CHINA.day_of(t0());
    assert_eq!(meter.daily_usage(&acct(2), day)[&Solution::ServerSide].counted, u64::MAX);
}

#[test]
fn account_bookkeeping_must_match_the_packs() {
    refused(|v| account(v, 1)["purchased"] = json!([]), "purchased pack types that differ");
    refused(|v| account(v, 1)["purchased"] = json!(["RealPerson", "FaceVerify"]), "purchased pack types");
    refused(|v| account(v, 2)["purchased"] = json!(["FaceVerify"]), "purchased pack types");
    refused(|v| v["accounts"]["3"] = json!({"purchased": [], "usage": []}), "neither packs nor usage");
}

#[test]
fn error_messages_quote_hostile_ids_briefly() {
    let mut v = good();
    v["packs"][0]["id"] = json!(format!("cloudauthflowbag-\n{}", "9".repeat(1 << 20)));
    let err = serde_json::from_value::<Meter>(v).unwrap_err().to_string();
    assert!(err.len() < 300, "{} bytes", err.len());
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("cloudauthflowbag-\\n999") && err.contains('…'), "{err}");
    let bad = "x".repeat(1 << 20).parse::<PackId>().unwrap_err();
    assert!(bad.0.chars().count() <= QUOTE_LIMIT + 1);
}

/// Draws a tampering: a JSON path to a number in the snapshot and a new value.
fn tampering() -> impl Strategy<Value = (usize, u64)> {
    (0usize..64, prop_oneof![Just(0u64), Just(1), Just(2), Just(u64::MAX), any::<u64>()])
}

/// Every number in the snapshot, as a pointer.
fn number_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Number(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                number_pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(fields) => {
            for (k, item) in fields {
                number_pointers(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

proptest! {
    /// A snapshot with any one number changed either is refused or restores to a meter
    /// whose ordinary calls do not panic and that snapshots back to the same state.
    #[test]
    fn tampered_numbers_never_load_a_broken_meter((which, value) in tampering()) {
        let mut v = good();
        let mut pointers = Vec::new();
        number_pointers(&v, String::new(), &mut pointers);
        let pointer = &pointers[which % pointers.len()];
        *v.pointer_mut(pointer).unwrap() = json!(value);
        if let Ok(mut meter) = serde_json::from_value::<Meter>(v) {
            let a = acct(1);
            let now = t0() + Duration::days(2);
            for pack in meter.all_packs().to_vec() {
                let _ = meter.refund_quote(&pack.account, &pack.id, now);
                let _ = meter.set_alert(&pack.account, &pack.id, "0.9".parse().unwrap());
            }
            let _ = meter.totals(&a, PackType::RealPerson, now);
            let _ = meter.packs(&a, now);
            for n in 100..110 {
                meter.apply(&event(n, 1, Solution::App, now)).unwrap();
                meter.apply(&event(n + 100, 2, Solution::ServerSide, now)).unwrap();
            }
            let again: Meter = serde_json::from_str(&serde_json::to_string(&meter).unwrap()).unwrap();
            prop_assert_eq!(again, meter);
        }
    }
}
