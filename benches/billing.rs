//! Billing benches: issue one day's bills for 100,000 accounts with every solution used
//! (9 lines each: the 8 priced solutions and the legacy edition at a negotiated price),
//! and aggregate 10,000,000 raw usage records into daily per-solution counts.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "benchmark harness"
)]

use std::hint::black_box;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use shiren::billing::{Biller, BillingConfig, BillingStep, UsageRecord};
use shiren::catalog::{AccountId, Pricing, Solution};

const ACCOUNTS: usize = 100_000;
const SOLUTIONS: [Solution; 9] = Solution::ALL;

fn biller_with_accounts(accounts: usize) -> (Biller, Vec<UsageRecord>) {
    let mut biller = Biller::new(BillingConfig::default());
    let pricing = Pricing::negotiated([(Solution::LegacyFinancial, Decimal::new(8, 1))]);
    let time = Utc.with_ymd_and_hms(2020, 1, 1, 4, 0, 0).unwrap();
    let records: Vec<UsageRecord> = (0..accounts)
        .map(|i| {
            let account = AccountId::new(&(10_000_000 + i).to_string()).unwrap();
            biller.open_account(&account, pricing.clone()).unwrap();
            UsageRecord { account, solution: Solution::App, time, covered: false }
        })
        .collect();
    (biller, records)
}

fn issue_day(c: &mut Criterion) {
    let (mut biller, mut records) = biller_with_accounts(ACCOUNTS);
    // Bring the biller up to 2020-01-01, then record three units per solution per account.
    while let BillingStep::Issued { .. } =
        biller.poll(Utc.with_ymd_and_hms(2020, 1, 1, 2, 0, 0).unwrap()).unwrap()
    {}
    assert_eq!(biller.next_day(), NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
    let arrived = Utc.with_ymd_and_hms(2020, 1, 1, 5, 0, 0).unwrap();
    for record in &mut records {
        for (k, solution) in SOLUTIONS.iter().enumerate() {
            record.solution = *solution;
            for n in 0..3 {
                record.covered = (k + n) % 4 == 0;
                biller.record(record, arrived).unwrap();
            }
        }
    }
    let due = Utc.with_ymd_and_hms(2020, 1, 2, 2, 0, 0).unwrap();
    let BillingStep::Issued { bills, .. } = biller.clone().poll(due).unwrap() else { panic!("due") };
    assert_eq!(bills.len(), ACCOUNTS);
    assert!(bills.iter().all(|b| b.lines.len() == SOLUTIONS.len()));

    let mut group = c.benchmark_group("billing");
    group.sample_size(10);
    group.throughput(Throughput::Elements((ACCOUNTS * SOLUTIONS.len()) as u64));
    group.bench_function("issue_day_100k_accounts_9_lines", |b| {
        b.iter_batched(|| biller.clone(), |mut biller| biller.poll(black_box(due)), BatchSize::PerIteration)
    });
    group.finish();
}

/// 10,000,000 records spread over `accounts` accounts in a scattered order: with
/// 100,000 accounts the state does not fit in cache (every record misses); with 1,000 it
/// does, which shows the compute-bound rate.
fn aggregate(c: &mut Criterion) {
    const EVENTS: u64 = 10_000_000;
    let start = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
    let mut group = c.benchmark_group("billing");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS));
    for accounts in [ACCOUNTS, 1_000] {
        let (mut biller, mut records) = biller_with_accounts(accounts);
        while let BillingStep::Issued { .. } =
            biller.poll(Utc.with_ymd_and_hms(2020, 1, 1, 2, 0, 0).unwrap()).unwrap()
        {}
        group.bench_function(format!("aggregate_10m_usage_records_{accounts}_accounts"), |b| {
            b.iter_batched(
                || biller.clone(),
                |mut biller| {
                    for n in 0..EVENTS {
                        let record = &mut records[(n as usize * 7_919) % accounts];
                        record.solution = SOLUTIONS[(n % 9) as usize];
                        record.time = start + Duration::seconds((n % 86_000) as i64);
                        record.covered = n % 3 == 0;
                        biller.record(black_box(record), record.time).unwrap();
                    }
                    biller
                },
                BatchSize::PerIteration,
            )
        });
        // The same stream through `record_batch`, 100,000 records a call (the batch
        // is built once; each of the 100 calls of a sample replays it).
        const BATCH: usize = 100_000;
        let batch: Vec<UsageRecord> = (0..BATCH as u64)
            .map(|n| {
                let mut record = records[(n as usize * 7_919) % accounts].clone();
                record.solution = SOLUTIONS[(n % 9) as usize];
                record.time = start + Duration::seconds((n % 86_000) as i64);
                record.covered = n % 3 == 0;
                record
            })
            .collect();
        let arrival = start + Duration::seconds(86_000);
        // Baseline for the same run: only finding each record's account in a hash map
        // of the open accounts (the lookup every aggregation needs), same access order.
        let index: std::collections::HashMap<AccountId, usize> =
            records.iter().enumerate().map(|(i, r)| (r.account, i)).collect();
        group.bench_function(format!("baseline_10m_account_lookups_{accounts}_accounts"), |b| {
            b.iter(|| {
                let mut sum = 0usize;
                for _ in 0..EVENTS as usize / BATCH {
                    for record in &batch {
                        sum = sum.wrapping_add(index.get(black_box(&record.account)).copied().unwrap_or(0));
                    }
                }
                sum
            })
        });
        group.bench_function(format!("aggregate_10m_usage_records_batched_{accounts}_accounts"), |b| {
            b.iter_batched(
                || biller.clone(),
                |mut biller| {
                    for _ in 0..EVENTS as usize / BATCH {
                        biller.record_batch(black_box(&batch), arrival).unwrap();
                    }
                    biller
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, issue_day, aggregate);
criterion_main!(benches);
