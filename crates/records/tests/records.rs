//! Records through the public API: every filter, pagination while records arrive,
//! retention, every statistic (incl. the empty range and the 180-day limit), privacy,
//! deletion, snapshots — and statistics against a naive recount.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use shiren_catalog::{
    AccountId, BillingZone, CertifyId, OuterOrderNo, PersonName, ProductCode, ResidentId, SubCode,
};
use shiren_records::*;
use shiren_scene::SceneId;

fn cst(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    BillingZone::CHINA.offset().with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn acct(n: u64) -> AccountId {
    AccountId::new(&n.to_string()).unwrap()
}

fn cid(n: u32) -> CertifyId {
    format!("{n:032x}").parse().unwrap()
}

/// A valid resident ID with check character, from 17 digits.
fn resident(first17: &str) -> ResidentId {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(weights).map(|(d, w)| u32::from(d - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    ResidentId::parse(&format!("{first17}{check}")).unwrap()
}

struct Spec {
    n: u32,
    account: u64,
    scene: u64,
    product: ProductCode,
    passed: bool,
    sub: u16,
    at: DateTime<Utc>,
    order: &'static str,
    id: Option<ResidentId>,
}

fn spec(n: u32, at: DateTime<Utc>) -> Spec {
    Spec {
        n,
        account: 1,
        scene: 10,
        product: ProductCode::IdPro,
        passed: true,
        sub: 200,
        at,
        order: "o1",
        id: None,
    }
}

fn insert(store: &mut InMemoryRecords, s: Spec) {
    store
        .insert(NewRecord {
            certify_id: cid(s.n),
            outer_order_no: OuterOrderNo::new(s.order).unwrap(),
            account: acct(s.account),
            scene_id: SceneId::new(s.scene),
            scene_name: "登录".into(),
            product: s.product,
            user_id: Some(format!("user{}", s.n).into()),
            name: "王小明".into(),
            id_number: s.id,
            passed: s.passed,
            sub_code: SubCode::new(s.sub),
            scores: Scores::default(),
            attack: Some(false),
            occlusion: Some(false),
            photos: vec![format!("verify/{}/{}.jpeg", s.account, s.n)],
            created_at: s.at,
            completed_at: s.at + Duration::seconds(30),
        })
        .unwrap();
}

fn store() -> InMemoryRecords {
    InMemoryRecords::new(DigestKey::new([9; 32]), BillingZone::CHINA)
}

fn ids(page: &Page) -> Vec<CertifyId> {
    page.records.iter().map(|r| r.certify_id).collect()
}

/// A small fixed data set: 8 records over two scenes, products, results and days.
fn fixture() -> InMemoryRecords {
    let mut s = store();
    let alice = resident("11010519900101123");
    insert(&mut s, Spec { id: Some(alice.clone()), order: "orderA", ..spec(1, cst(2026, 11, 1, 9)) });
    insert(&mut s, Spec { passed: false, sub: 204, ..spec(2, cst(2026, 11, 1, 10)) });
    insert(&mut s, Spec { scene: 11, product: ProductCode::PvFc, ..spec(3, cst(2026, 11, 2, 9)) });
    insert(
        &mut s,
        Spec { passed: false, sub: 205, id: Some(alice), order: "orderA", ..spec(4, cst(2026, 11, 3, 9)) },
    );
    insert(&mut s, Spec { product: ProductCode::PvFv, ..spec(5, cst(2026, 11, 4, 9)) });
    insert(&mut s, Spec { account: 2, ..spec(6, cst(2026, 11, 4, 10)) });
    insert(&mut s, Spec { passed: false, sub: 204, ..spec(7, cst(2026, 11, 5, 9)) });
    insert(&mut s, Spec { product: ProductCode::LrFr, ..spec(8, cst(2026, 11, 6, 9)) });
    s
}

fn now() -> DateTime<Utc> {
    cst(2026, 11, 7, 12)
}

macro_rules! filter_table {
    ($($name:ident: $query:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let page = fixture().query(&acct(1), &$query, now()).unwrap();
            let expected: Vec<CertifyId> = $expected.iter().map(|&n| cid(n)).collect();
            assert_eq!(ids(&page), expected);
        }
    )*};
}

filter_table! {
    all_newest_first: Query::default() => [8, 7, 5, 4, 3, 2, 1];
    by_scene: Query { scene: Some(SceneId::new(11)), ..Query::default() } => [3];
    by_product: Query { product: Some(ProductCode::IdPro), ..Query::default() } => [7, 4, 2, 1];
    by_result_failed: Query { passed: Some(false), ..Query::default() } => [7, 4, 2];
    by_sub_code: Query { sub_code: Some(SubCode::FACE_MISMATCH), ..Query::default() } => [7, 2];
    by_time_range: Query { from: Some(cst(2026, 11, 2, 0)), to: Some(cst(2026, 11, 5, 9)), ..Query::default() } => [5, 4, 3];
    by_certify_id: Query { identifier: Some(Identifier::CertifyId(cid(4))), ..Query::default() } => [4];
    certify_id_of_another_account: Query { identifier: Some(Identifier::CertifyId(cid(6))), ..Query::default() } => Vec::<u32>::new();
    by_outer_order_no: Query { identifier: Some(Identifier::OuterOrderNo(OuterOrderNo::new("orderA").unwrap())), ..Query::default() } => [4, 1];
    by_id_number: Query { identifier: Some(Identifier::IdNumber(resident("11010519900101123"))), ..Query::default() } => [4, 1];
    by_unknown_id_number: Query { identifier: Some(Identifier::IdNumber(resident("11010519900101124"))), ..Query::default() } => Vec::<u32>::new();
    identifier_and_filter: Query { identifier: Some(Identifier::OuterOrderNo(OuterOrderNo::new("orderA").unwrap())), passed: Some(true), ..Query::default() } => [1];
    empty_time_range: Query { from: Some(cst(2026, 11, 5, 0)), to: Some(cst(2026, 11, 5, 0)), ..Query::default() } => Vec::<u32>::new();
    reversed_time_range: Query { from: Some(cst(2026, 11, 6, 0)), to: Some(cst(2026, 11, 2, 0)), ..Query::default() } => Vec::<u32>::new();
}

#[test]
fn pagination_stays_correct_while_records_arrive() {
    let mut s = fixture();
    let first = s.query(&acct(1), &Query { limit: 3, ..Query::default() }, now()).unwrap();
    assert_eq!(ids(&first), vec![cid(8), cid(7), cid(5)]);
    // New records arrive, newer than everything (and one with an equal timestamp).
    insert(&mut s, spec(100, now()));
    insert(&mut s, spec(101, cst(2026, 11, 5, 9)));
    let second =
        s.query(&acct(1), &Query { limit: 3, after: first.next, ..Query::default() }, now()).unwrap();
    assert_eq!(ids(&second), vec![cid(4), cid(3), cid(2)]);
    let third =
        s.query(&acct(1), &Query { limit: 3, after: second.next, ..Query::default() }, now()).unwrap();
    assert_eq!(ids(&third), vec![cid(1)]);
    assert_eq!(third.next, None);
    // The cursor round-trips as text and rejects garbage.
    let cursor = first.next.unwrap();
    assert_eq!(cursor.to_string().parse::<Cursor>().unwrap(), cursor);
    for bad in ["", "x", "1.", ".00000000000000000000000000000001", "abc.00000000000000000000000000000001"] {
        assert!(bad.parse::<Cursor>().is_err(), "{bad}");
    }
    assert_eq!(
        s.query(&acct(1), &Query { limit: 101, ..Query::default() }, now()),
        Err(RecordError::Limit(101))
    );
}

#[test]
fn records_older_than_180_days_are_hidden_then_purged() {
    let mut s = fixture();
    let later = cst(2026, 11, 3, 9) + RETENTION;
    let visible = s.query(&acct(1), &Query::default(), later).unwrap();
    assert_eq!(ids(&visible), vec![cid(8), cid(7), cid(5), cid(4)]);
    assert_eq!(s.get(&acct(1), cid(3), later), Err(RecordError::NotFound(cid(3))));
    assert!(s.get(&acct(1), cid(4), later).is_ok());
    assert_eq!(s.purge(later), 3);
    assert_eq!(s.len(), 5);
    let stats = s
        .statistics(
            &acct(1),
            SceneId::new(10),
            StatsRange::Custom { from: day(2026, 11, 1), to: day(2026, 11, 7) },
            now(),
        )
        .unwrap();
    assert_eq!(stats.submissions, 4, "purged records leave the statistics");
}

#[test]
fn statistics_table() {
    let s = fixture();
    let stats = s.statistics(&acct(1), SceneId::new(10), StatsRange::Last7Days, now()).unwrap();
    assert_eq!((stats.from, stats.to), (day(2026, 11, 1), day(2026, 11, 7)));
    assert_eq!((stats.totals.passed, stats.totals.failed, stats.submissions), (3, 3, 6));
    assert_eq!(stats.pass_rate, Some(0.5));
    assert_eq!(stats.compare_count, 0, "the face comparison was in scene 11");
    assert_eq!(stats.daily.len(), 7);
    assert_eq!(stats.daily[0].1.real_person, Counts { passed: 1, failed: 1 });
    assert_eq!(stats.daily[1].1, DayStats::default(), "a day without records is zeros");
    assert_eq!(stats.daily[3].1.liveness_face_verification, Counts { passed: 1, failed: 0 });
    assert_eq!(stats.daily[5].1.liveness_detection, Counts { passed: 1, failed: 0 });
    let compare = s.statistics(&acct(1), SceneId::new(11), StatsRange::Last30Days, now()).unwrap();
    assert_eq!((compare.compare_count, compare.daily.len(), compare.from), (1, 30, day(2026, 10, 9)));
    // Empty range: no submissions, no pass rate, no division by zero.
    let empty = s.statistics(&acct(1), SceneId::new(99), StatsRange::Last7Days, now()).unwrap();
    assert_eq!((empty.submissions, empty.pass_rate), (0, None));
    // The 180-day limit, inclusive.
    let ok = StatsRange::Custom { from: day(2026, 5, 11), to: day(2026, 11, 6) };
    assert_eq!(s.statistics(&acct(1), SceneId::new(10), ok, now()).unwrap().daily.len(), 180);
    let long = StatsRange::Custom { from: day(2026, 5, 10), to: day(2026, 11, 6) };
    assert_eq!(
        s.statistics(&acct(1), SceneId::new(10), long, now()),
        Err(RecordError::Range(RangeError::TooLong {
            from: day(2026, 5, 10),
            to: day(2026, 11, 6),
            days: 181
        }))
    );
    let reversed = StatsRange::Custom { from: day(2026, 11, 6), to: day(2026, 11, 5) };
    assert!(matches!(
        s.statistics(&acct(1), SceneId::new(10), reversed, now()),
        Err(RecordError::Range(RangeError::Reversed { .. }))
    ));
}

#[test]
fn statistics_days_are_utc8() {
    let mut s = store();
    // 2026-11-01 23:30 CST and 2026-11-02 00:30 CST; the second is still Nov 1 in UTC.
    insert(&mut s, spec(1, cst(2026, 11, 1, 23) + Duration::minutes(30)));
    insert(&mut s, spec(2, cst(2026, 11, 2, 0) + Duration::minutes(30)));
    let stats = s
        .statistics(
            &acct(1),
            SceneId::new(10),
            StatsRange::Custom { from: day(2026, 11, 1), to: day(2026, 11, 2) },
            now(),
        )
        .unwrap();
    assert_eq!(stats.daily.iter().map(|(_, d)| d.total().passed).collect::<Vec<_>>(), vec![1, 1]);
}

#[test]
fn personal_data_never_prints_unmasked() {
    let s = fixture();
    let record = s.get(&acct(1), cid(1), now()).unwrap();
    let full = "110105199001011230";
    let number = resident("11010519900101123");
    assert!(number.expose().starts_with("11010519900101123"));
    let debug = format!("{record:?}");
    let json = serde_json::to_string(&record).unwrap();
    for shown in [&debug, &json] {
        assert!(!shown.contains(number.expose()), "{shown}");
        assert!(!shown.contains(&full[..17]), "{shown}");
    }
    assert!(debug.contains("110***********"), "{debug}");
    assert!(debug.contains("王**") && !debug.contains("王小明"), "{debug}");
    let snapshot = serde_json::to_string(&s.snapshot()).unwrap();
    assert!(!snapshot.contains(number.expose()));
}

#[test]
fn deletion_rules() {
    let mut s = fixture();
    let a = acct(1);
    assert_eq!(
        s.delete_personal(&a, cid(1), DeleteMode::AfterQuery, now()),
        Err(RecordError::NotYetRead(cid(1)))
    );
    s.mark_read(&a, cid(1), now()).unwrap();
    let before = s.statistics(&a, SceneId::new(10), StatsRange::Last7Days, now()).unwrap();
    s.delete_personal(&a, cid(1), DeleteMode::AfterQuery, now()).unwrap();
    assert_eq!(s.get(&a, cid(1), now()).unwrap().personal, None);
    assert_eq!(
        s.delete_personal(&a, cid(1), DeleteMode::Now, now()),
        Err(RecordError::AlreadyDeleted(cid(1)))
    );
    assert_eq!(s.statistics(&a, SceneId::new(10), StatsRange::Last7Days, now()).unwrap(), before);
    // The deleted record is no longer found by ID number; the other one still is.
    let q =
        Query { identifier: Some(Identifier::IdNumber(resident("11010519900101123"))), ..Query::default() };
    assert_eq!(ids(&s.query(&a, &q, now()).unwrap()), vec![cid(4)]);
    s.delete_personal(&a, cid(4), DeleteMode::Now, now()).unwrap();
    assert!(s.query(&a, &q, now()).unwrap().records.is_empty());
    assert_eq!(
        s.delete_personal(&acct(2), cid(2), DeleteMode::Now, now()),
        Err(RecordError::NotFound(cid(2)))
    );
}

#[test]
fn inserts_are_validated() {
    let mut s = fixture();
    let before = s.snapshot();
    let dup = NewRecord {
        certify_id: cid(1),
        outer_order_no: OuterOrderNo::new("x").unwrap(),
        account: acct(1),
        scene_id: SceneId::new(10),
        scene_name: String::new(),
        product: ProductCode::IdPro,
        user_id: None,
        name: PersonName::default(),
        id_number: None,
        passed: true,
        sub_code: SubCode::PASS,
        scores: Scores::default(),
        attack: None,
        occlusion: None,
        photos: vec![],
        created_at: now(),
        completed_at: now(),
    };
    assert_eq!(s.insert(dup.clone()), Err(RecordError::Duplicate(cid(1))));
    let backwards = NewRecord { certify_id: cid(999), completed_at: now() - Duration::seconds(1), ..dup };
    assert_eq!(s.insert(backwards), Err(RecordError::Times(cid(999))));
    assert_eq!(s.snapshot(), before);
}

#[test]
fn snapshot_restores_every_index() {
    let mut s = fixture();
    s.mark_read(&acct(1), cid(2), now()).unwrap();
    s.delete_personal(&acct(1), cid(2), DeleteMode::Now, now()).unwrap();
    let json = serde_json::to_string(&s.snapshot()).unwrap();
    let back =
        InMemoryRecords::restore(serde_json::from_str(&json).unwrap(), DigestKey::new([9; 32])).unwrap();
    assert_eq!(serde_json::to_string(&back.snapshot()).unwrap(), json);
    for q in [
        Query::default(),
        Query { identifier: Some(Identifier::IdNumber(resident("11010519900101123"))), ..Query::default() },
        Query {
            identifier: Some(Identifier::OuterOrderNo(OuterOrderNo::new("orderA").unwrap())),
            ..Query::default()
        },
    ] {
        assert_eq!(back.query(&acct(1), &q, now()).unwrap(), s.query(&acct(1), &q, now()).unwrap());
    }
    let range = StatsRange::Last30Days;
    assert_eq!(
        back.statistics(&acct(1), SceneId::new(10), range, now()),
        s.statistics(&acct(1), SceneId::new(10), range, now())
    );
}

proptest! {
    #[test]
    fn statistics_equal_a_naive_recount(
        rows in prop::collection::vec((0u64..2, 0u64..3, 0usize..4, any::<bool>(), 0i64..(40 * 24)), 0..80),
        deletions in prop::collection::vec(0u32..80, 0..10),
        from_back in 0u64..40, len in 1u64..40,
    ) {
        let products = [ProductCode::IdPro, ProductCode::PvFv, ProductCode::LrFr, ProductCode::PvFc];
        let base = cst(2026, 10, 1, 0);
        let mut s = store();
        for (n, &(account, scene, product, passed, hours)) in rows.iter().enumerate() {
            insert(&mut s, Spec {
                account: account + 1, scene, product: products[product], passed,
                sub: if passed { 200 } else { 204 }, at: base + Duration::hours(hours),
                ..spec(n as u32, base)
            });
        }
        let now = cst(2026, 11, 15, 12);
        for n in deletions {
            let _ = s.delete_personal(&acct(1), cid(n), DeleteMode::Now, now);
        }
        let to = day(2026, 11, 15) - Duration::days(from_back as i64);
        let from = to - Duration::days(len.min(179) as i64);
        for account in 1..=2u64 {
            for scene in 0..3u64 {
                let stats = s.statistics(&acct(account), SceneId::new(scene), StatsRange::Custom { from, to }, now).unwrap();
                let naive: Vec<&(u64, u64, usize, bool, i64)> = rows
                    .iter()
                    .filter(|r| r.0 + 1 == account && r.1 == scene)
                    .filter(|r| {
                        let d = BillingZone::CHINA.day_of(base + Duration::hours(r.4));
                        from <= d && d <= to
                    })
                    .collect();
                let passed = naive.iter().filter(|r| r.3).count() as u64;
                let failed = naive.len() as u64 - passed;
                prop_assert_eq!((stats.totals.passed, stats.totals.failed), (passed, failed));
                prop_assert_eq!(stats.compare_count, naive.iter().filter(|r| r.2 == 3).count() as u64);
                prop_assert_eq!(stats.pass_rate.is_none(), naive.is_empty());
                let series_total: u64 = stats.daily.iter().map(|(_, d)| d.total().submissions()).sum();
                prop_assert_eq!(series_total, naive.len() as u64);
            }
        }
    }

    #[test]
    fn paging_through_everything_returns_each_record_once(
        hours in prop::collection::vec(0i64..200, 0..60),
        limit in 1usize..7,
    ) {
        let mut s = store();
        for (n, h) in hours.iter().enumerate() {
            insert(&mut s, spec(n as u32, cst(2026, 11, 1, 0) + Duration::hours(*h)));
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = s.query(&acct(1), &Query { limit, after, ..Query::default() }, cst(2026, 11, 20, 0)).unwrap();
            prop_assert!(page.records.len() <= limit);
            seen.extend(page.records.iter().map(|r| (r.created_at, r.certify_id)));
            match page.next { Some(c) => after = Some(c), None => break }
        }
        let mut expected = seen.clone();
        expected.sort_by(|a, b| b.cmp(a));
        expected.dedup();
        prop_assert_eq!(&seen, &expected, "newest first, no repeats");
        prop_assert_eq!(seen.len(), hours.len());
    }
}
