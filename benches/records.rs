//! Record-store benches with 1,000,000 records: query by certify ID, statistics of one
//! scene over 30 days, and insert throughput.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs, reason = "benchmark harness")]

use std::hint::black_box;

use chrono::{Duration, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use shiren::catalog::{AccountId, BillingZone, CertifyId, OuterOrderNo, ProductCode, SubCode};
use shiren::records::{
    DigestKey, Identifier, InMemoryRecords, NewRecord, Query, RecordStore, Scores, StatsRange,
};
use shiren::scene::SceneId;

const RECORDS: u32 = 1_000_000;

fn record(n: u32) -> NewRecord {
    let start = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let account = AccountId::new(&(1_000 + n % 100).to_string()).unwrap();
    NewRecord {
        certify_id: CertifyId::from_bytes(
            u128::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835).to_le_bytes(),
        ),
        outer_order_no: OuterOrderNo::new(&format!("order{n}")).unwrap(),
        account,
        scene_id: SceneId::new(u64::from(n % 10)),
        scene_name: "登录".into(),
        product: [ProductCode::IdPro, ProductCode::PvFv, ProductCode::PvFc][(n % 3) as usize],
        user_id: None,
        name: "王小明".into(),
        id_number: None,
        passed: !n.is_multiple_of(4),
        sub_code: if n.is_multiple_of(4) { SubCode::FACE_MISMATCH } else { SubCode::PASS },
        scores: Scores::default(),
        attack: Some(false),
        occlusion: Some(false),
        photos: vec![],
        created_at: start + Duration::seconds(i64::from(n) * 15),
        completed_at: start + Duration::seconds(i64::from(n) * 15 + 10),
    }
}

fn records(c: &mut Criterion) {
    let mut store = InMemoryRecords::new(DigestKey::new([3; 32]), BillingZone::CHINA);
    for n in 0..RECORDS {
        store.insert(record(n)).unwrap();
    }
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let probe = record(777_777);
    let query = Query { identifier: Some(Identifier::CertifyId(probe.certify_id)), ..Query::default() };
    assert_eq!(store.query(&probe.account, &query, now).unwrap().records.len(), 1);
    let stats = store.statistics(&probe.account, probe.scene_id, StatsRange::Last30Days, now).unwrap();
    assert!(stats.submissions > 0);

    let mut group = c.benchmark_group("records");
    group.bench_function("query_by_certify_id_1m", |b| {
        b.iter(|| store.query(black_box(&probe.account), black_box(&query), now).unwrap())
    });
    group.bench_function("get_by_certify_id_1m", |b| {
        b.iter(|| store.get(black_box(&probe.account), black_box(probe.certify_id), now).unwrap())
    });
    group.bench_function("statistics_one_scene_30_days_1m", |b| {
        b.iter(|| {
            store.statistics(black_box(&probe.account), probe.scene_id, StatsRange::Last30Days, now).unwrap()
        })
    });
    group.bench_function("newest_page_of_20_1m", |b| {
        b.iter(|| store.query(black_box(&probe.account), &Query::default(), now).unwrap())
    });
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("insert_10k_into_1m", |b| {
        b.iter_batched(
            || ((RECORDS..RECORDS + 10_000).map(record).collect::<Vec<_>>(), store.clone()),
            |(batch, mut store)| {
                for r in batch {
                    store.insert(r).unwrap();
                }
                store
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
