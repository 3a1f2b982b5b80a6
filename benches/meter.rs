//! Metering benches: apply one usage event with 8 valid packs and 1,000,000 remembered
//! keys, side by side with a bare `HashSet` insert per event measured in the same run.
//!
//! Each timed segment starts from a clone of the pre-filled state and applies at most
//! 500,000 fresh events, so the key table never resizes mid-measurement; clone time is
//! excluded. Both loops derive each new key from a counter in the loop; the meter reuses
//! one event and changes its certify ID, as a service building events would.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    reason = "benchmark harness: times segments with Instant"
)]

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use shiren::catalog::{AccountId, CertifyId, PackType, Solution, SubCode};
use shiren::meter::{Applied, Meter, SequentialIds, UsageEvent};

const PREFILL: u64 = 1_000_000;
const SEGMENT: u64 = 500_000;

fn key(n: u64) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    bytes[8..].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
    bytes
}

fn segments(iters: u64, mut run: impl FnMut(u64) -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(SEGMENT);
        total += run(n);
        left -= n;
    }
    total
}

fn apply(c: &mut Criterion) {
    let account = AccountId::new("1234567890").unwrap();
    let bought = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let time = Utc.with_ymd_and_hms(2026, 3, 1, 4, 0, 0).unwrap();
    let event = |n: u64| UsageEvent {
        certify_id: CertifyId::from_bytes(key(n)),
        account,
        solution: Solution::App,
        sub_code: Some(SubCode::PASS),
        time,
    };
    let mut base = Meter::default();
    let mut ids = SequentialIds::default();
    for i in 0..8 {
        base.purchase(
            &account,
            PackType::RealPerson,
            1_500_000,
            Decimal::from(1_050_000),
            bought + chrono::Duration::hours(i),
            &mut ids,
        )
        .unwrap();
    }
    for n in 0..PREFILL {
        base.apply(&event(n)).unwrap();
    }
    assert_eq!(base.seen_count(), PREFILL as usize);
    assert!(matches!(base.clone().apply(&event(PREFILL)).unwrap(), Applied::Drawn { .. }));

    let mut baseline: HashSet<u128> = HashSet::new();
    for n in 0..PREFILL {
        baseline.insert(u128::from_le_bytes(key(n)));
    }

    let mut group = c.benchmark_group("meter");
    group.throughput(Throughput::Elements(1));
    group.bench_function("apply_event_8_packs_1m_keys", |b| {
        b.iter_custom(|iters| {
            segments(iters, |n| {
                let mut meter = base.clone();
                let mut e = event(0);
                let start = Instant::now();
                for k in PREFILL..PREFILL + n {
                    e.certify_id = CertifyId::from_bytes(key(black_box(k)));
                    black_box(meter.apply(&e).is_ok());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("baseline_hashset_insert_1m_keys", |b| {
        b.iter_custom(|iters| {
            segments(iters, |n| {
                let mut set = baseline.clone();
                let start = Instant::now();
                for k in PREFILL..PREFILL + n {
                    black_box(set.insert(u128::from_le_bytes(key(black_box(k)))));
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
