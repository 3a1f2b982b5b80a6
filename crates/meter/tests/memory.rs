//! Memory per remembered idempotency key, measured with a counting allocator (heap bytes
//! still held after applying one million distinct events), not estimated.
#![allow(clippy::unwrap_used, reason = "tests")]

use chrono::{TimeZone, Utc};
use shiren_catalog::{AccountId, CertifyId, Solution, SubCode};
use shiren_meter::{Meter, UsageEvent};

#[test]
fn the_counter_sees_allocations() {
    let info = allocation_counter::measure(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(16));
    });
    assert!(info.count_total >= 1, "the allocation counter is not installed");
}

#[test]
fn one_million_keys_cost_at_most_48_bytes_each() {
    const KEYS: u32 = 1_000_000;
    let account = AccountId::new("1234567890").unwrap();
    let time = Utc.with_ymd_and_hms(2026, 3, 1, 4, 0, 0).unwrap();
    let mut meter = Meter::default();
    let info = allocation_counter::measure(|| {
        for k in 0..KEYS {
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&k.to_le_bytes());
            bytes[8..12].copy_from_slice(&k.wrapping_mul(2_654_435_761).to_le_bytes());
            let event = UsageEvent {
                certify_id: CertifyId::from_bytes(bytes),
                account,
                solution: Solution::ServerSide,
                sub_code: Some(SubCode::PASS),
                time,
            };
            meter.apply(&event).unwrap();
        }
    });
    assert_eq!(meter.seen_count(), KEYS as usize);
    let per_key = info.bytes_current as f64 / f64::from(KEYS);
    println!("heap bytes held per remembered key at {KEYS} keys: {per_key:.1}");
    assert!(per_key <= 48.0, "{per_key:.1} bytes per key");
}
