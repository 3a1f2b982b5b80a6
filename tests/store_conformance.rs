//! One conformance suite for the flow's state, run against the in-memory store, SQLite
//! and PostgreSQL: the same scenarios through the same `Verifier`, the same figures
//! (records, metered units, bills, balance) at the end.
//!
//! PostgreSQL is real: `SHIREN_TEST_POSTGRES` names an admin URL (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `.ci/run` starts a server when none
//! answers); each test creates its own database and drops it. A server that cannot be
//! reached fails the test — never a silent skip.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests; the PostgreSQL admin URL comes from the environment"
)]

#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use shiren::billing::BillingStep;
use shiren::catalog::{AccountId, CallCode, OuterOrderNo, ProductCode, ResidentId, Solution};
use shiren::ram::{Directory, Quotas};
use shiren::records::{
    DigestKey, Identifier, Page, Query, RecordError, RecordStore as _, Statistics, StatsRange,
};
use shiren::scene::{NewScene, PhotoStorage, SceneId, SceneRegistry};
use shiren::verify::{
    FixedScorer, FlowStore, InMemorySessions, InMemoryStore, InitRequest, Plugins, SessionState,
    SessionStore, StoreError, Verifier, VerifierConfig,
};
use shiren_store::{SqlStore, StoreOptions};
use support::{DemoStores, PERSON_ID, PERSON_NAME, cst};

/// What every back end must agree on at the end of a scenario.
#[derive(Debug, PartialEq)]
struct Figures {
    sessions: usize,
    completed: usize,
    records: usize,
    metered: u64,
    billed_units: u64,
    billed_total: Decimal,
    balance: Decimal,
}

/// A back end under test: the flow's store plus what the suite reads back.
trait Backend: FlowStore + Sync {
    fn figures(&self, account: AccountId, bills_at: DateTime<Utc>) -> Figures;
    /// The console's record query.
    fn page(&self, account: AccountId, query: &Query, now: DateTime<Utc>) -> Result<Page, RecordError>;
    /// The console's statistics.
    fn stats(
        &self,
        account: AccountId,
        scene: SceneId,
        range: StatsRange,
        now: DateTime<Utc>,
    ) -> Result<Statistics, RecordError>;
    /// The 180-day retention purge.
    fn purge(&self, now: DateTime<Utc>) -> u64;
}

/// A SQL store's refusal as the record store's own.
fn record_error(e: StoreError) -> RecordError {
    match e {
        StoreError::Record(e) => e,
        other => panic!("the store failed: {other}"),
    }
}

type Memory = InMemoryStore<
    shiren::scene::InMemoryRegistry,
    shiren::records::InMemoryRecords,
    shiren::verify::Ledger,
    InMemorySessions,
>;

impl Backend for Memory {
    fn figures(&self, account: AccountId, bills_at: DateTime<Utc>) -> Figures {
        let mut stores = self.lock().unwrap();
        let sessions = stores.sessions.snapshot();
        let completed = sessions.iter().filter(|s| s.result().is_some()).count();
        let metered = stores.ledger.meter.usage().values().map(|u| u.counted).sum();
        let (mut billed_units, mut billed_total) = (0, Decimal::ZERO);
        while let BillingStep::Issued { bills, .. } = stores.ledger.biller.poll(bills_at).unwrap() {
            for bill in bills.iter().filter(|b| b.account == account) {
                billed_units += bill.lines.iter().map(|l| l.counted).sum::<u64>();
                billed_total += bill.total;
            }
        }
        Figures {
            sessions: sessions.len(),
            completed,
            records: stores.records.len(),
            metered,
            billed_units,
            billed_total,
            balance: stores.ledger.biller.balance(&account, bills_at).unwrap(),
        }
    }

    fn page(&self, account: AccountId, query: &Query, now: DateTime<Utc>) -> Result<Page, RecordError> {
        self.lock().unwrap().records.query(&account, query, now)
    }

    fn stats(
        &self,
        account: AccountId,
        scene: SceneId,
        range: StatsRange,
        now: DateTime<Utc>,
    ) -> Result<Statistics, RecordError> {
        self.lock().unwrap().records.statistics(&account, scene, range, now)
    }

    fn purge(&self, now: DateTime<Utc>) -> u64 {
        self.lock().unwrap().records.purge(now) as u64
    }
}

impl Backend for SqlStore {
    fn figures(&self, account: AccountId, bills_at: DateTime<Utc>) -> Figures {
        let sessions = self.sessions().unwrap();
        let completed = sessions.iter().filter(|s| s.result().is_some()).count();
        let counts = self.counts().unwrap();
        let state = self.account(account).unwrap().unwrap();
        let metered = state.meter.usage().values().map(|u| u.counted).sum();
        let (mut billed_units, mut billed_total) = (0, Decimal::ZERO);
        for bill in self.poll_bills(bills_at).unwrap().iter().filter(|b| b.account == account) {
            billed_units += bill.lines.iter().map(|l| l.counted).sum::<u64>();
            billed_total += bill.total;
        }
        let state = self.account(account).unwrap().unwrap();
        Figures {
            sessions: sessions.len(),
            completed,
            records: usize::try_from(counts.records).unwrap(),
            metered,
            billed_units,
            billed_total,
            balance: state.biller.balance(&account, bills_at).unwrap(),
        }
    }

    fn page(&self, account: AccountId, query: &Query, now: DateTime<Utc>) -> Result<Page, RecordError> {
        self.query_records(account, query, now).map_err(record_error)
    }

    fn stats(
        &self,
        account: AccountId,
        scene: SceneId,
        range: StatsRange,
        now: DateTime<Utc>,
    ) -> Result<Statistics, RecordError> {
        self.statistics(account, scene, range, now).map_err(record_error)
    }

    fn purge(&self, now: DateTime<Utc>) -> u64 {
        self.purge_records(now).unwrap()
    }
}

/// The demo world's stores, plus a LegacyFinancial scene (no list price), and its
/// plug-ins.
fn world() -> (DemoStores, Plugins, AccountId, SceneId, SceneId) {
    let demo = support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap();
    let (account, scene) = (demo.account, demo.id_pro_scene);
    let (store, plugins) = demo.verifier.into_parts();
    let mut stores = store.into_inner().unwrap();
    let legacy = NewScene {
        account,
        name: "legacy".into(),
        solution: Solution::LegacyFinancial,
        product: ProductCode::IdPro,
        storage: PhotoStorage::DEFAULT,
        mini_program: None,
    };
    let legacy = stores.scenes.create(legacy, cst(1, 9)).unwrap().id;
    (stores, plugins, account, scene, legacy)
}

fn memory() -> (Verifier<Memory>, AccountId, SceneId, SceneId) {
    let (stores, plugins, account, scene, legacy) = world();
    (Verifier::new(InMemoryStore::new(stores), plugins, VerifierConfig::default()), account, scene, legacy)
}

fn sql(url: &str) -> (Verifier<SqlStore>, AccountId, SceneId, SceneId) {
    let (stores, plugins, account, scene, legacy) = world();
    assert_eq!(stores.sessions.count().unwrap(), 0);
    let options = StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 4 };
    let store = SqlStore::open(url, options).unwrap_or_else(|e| panic!("opening {url}: {e}"));
    store.create_account(account, support::account_state(stores)).unwrap();
    (Verifier::new(store, plugins, VerifierConfig::default()), account, scene, legacy)
}

static DATABASES: AtomicU64 = AtomicU64::new(0);

/// A fresh SQLite file.
fn sqlite_url() -> (String, tempdir::Dir) {
    let dir = tempdir::Dir::new();
    (format!("sqlite://{}/shiren.db", dir.0.display()), dir)
}

mod tempdir {
    /// A temporary directory removed on drop.
    pub(crate) struct Dir(pub(crate) std::path::PathBuf);

    impl Dir {
        pub(crate) fn new() -> Dir {
            let path = std::env::temp_dir().join(format!(
                "shiren-store-{}-{}",
                std::process::id(),
                super::DATABASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn request(scene: SceneId, order: &str) -> InitRequest {
    InitRequest {
        scene_id: Some(scene.get()),
        outer_order_no: Some(order.into()),
        product_code: Some("ID_PRO".into()),
        cert_name: Some(PERSON_NAME.into()),
        cert_no: Some(PERSON_ID.into()),
        ..InitRequest::default()
    }
}

/// The scenarios, on one back end; returns the figures at the end.
fn scenarios<St: Backend>(v: &Verifier<St>, account: AccountId, scene: SceneId, legacy: SceneId) -> Figures {
    let demo_caller = shiren::verify::Requester::ram_user(account, "kyc-service");
    let now = cst(23, 10);
    let start = |scene, order: &str, at| {
        let r = v.init_face_verify(&demo_caller, &request(scene, order), at);
        r.result_object.unwrap_or_else(|| panic!("{}", r.message)).certify_id.to_string()
    };

    // A session completes once; retries and Describe answer the stored result.
    let id = start(scene, "o1", now);
    assert_eq!(v.describe_face_verify(&demo_caller, &id, now).code, CallCode::NotCompleted);
    let done = v.complete_face_verify(&id, b"pass", now);
    assert!(done.result_object.as_ref().unwrap().passed, "{}", done.message);
    let again = v.complete_face_verify(&id, b"mismatch", now + Duration::hours(1));
    assert_eq!(again.result_object, done.result_object);
    assert_eq!(v.describe_face_verify(&demo_caller, &id, now).result_object, done.result_object);

    // Outcomes the meter counts differently (APP counts billable calls).
    for (i, photo) in [&b"mismatch"[..], b"attack", b"pass"].into_iter().enumerate() {
        let id = start(scene, &format!("v{i}"), now);
        assert!(v.complete_face_verify(&id, photo, now).is_success());
    }
    // A refused photo leaves the session pending; the person retries.
    let id = start(scene, "r1", now);
    assert_eq!(v.complete_face_verify(&id, b"unusable", now).code, CallCode::ImageUnusable);
    assert!(v.complete_face_verify(&id, b"pass", now).is_success());

    // Billing cannot take it: nothing written, the same answer on retry.
    let id = start(legacy, "l1", now);
    let refused = v.complete_face_verify(&id, b"pass", now);
    assert_eq!(refused.code, CallCode::SystemError, "{}", refused.message);
    assert!(refused.message.contains("no list price"), "{}", refused.message);
    let retry = v.complete_face_verify(&id, b"pass", now + Duration::seconds(1));
    assert_eq!(retry.message, refused.message);

    // Two commits of one session: the second answers the stored result.
    let id = start(scene, "c1", now);
    let (mut a, mut b) = (
        v.begin_complete(&id, Bytes::from_static(b"pass"), now),
        v.begin_complete(&id, Bytes::from_static(b"attack"), now),
    );
    v.plugins().fulfil(&mut a);
    v.plugins().fulfil(&mut b);
    let first = v.commit(a, now);
    assert_eq!(v.commit(b, now).result_object, first.result_object);

    // Expiry while scored: abandoned, never billed; the sweep abandons the rest.
    let id = start(scene, "e1", now);
    let mut late = v.begin_complete(&id, Bytes::from_static(b"pass"), now + Duration::minutes(29));
    v.plugins().fulfil(&mut late);
    assert_eq!(v.commit(late, now + Duration::minutes(31)).code, CallCode::InvalidCertifyId);
    let session = v.session(id.parse().unwrap()).unwrap().unwrap();
    assert_eq!(session.state, SessionState::Abandoned);
    start(scene, "e2", now);
    assert_eq!(v.expire_sessions(now + Duration::hours(1)).unwrap(), 2, "the legacy one and e2");

    // Deletion erases the personal data of the session and its record.
    let id = start(scene, "d1", now);
    v.complete_face_verify(&id, b"pass", now);
    assert!(
        v.delete_face_verify_result(&demo_caller, &id, shiren::records::DeleteMode::Now, now).is_success()
    );
    let session = v.session(id.parse().unwrap()).unwrap().unwrap();
    assert!(session.name.is_none() && session.id_number.is_none() && session.selfie.is_none());

    // Concurrent completions of different sessions from two threads.
    let ids: Vec<String> = (0..20).map(|i| start(scene, &format!("t{i}"), now)).collect();
    std::thread::scope(|s| {
        for half in ids.chunks(10) {
            s.spawn(move || {
                for id in half {
                    assert!(v.complete_face_verify(id, b"pass", now).is_success());
                }
            });
        }
    });

    // Sessions forgotten after retention; their records and bills stay.
    assert_eq!(v.forget_sessions_before(cst(1, 0)).unwrap(), 0);
    v.store.figures(account, cst(24, 11))
}

fn expected_figures() -> Figures {
    let (v, account, scene, legacy) = memory();
    scenarios(&v, account, scene, legacy)
}

/// What the console reads after the scenarios: pages of many queries (each followed
/// through its cursors), statistics of several ranges, then the retention purge.
#[derive(Debug, PartialEq)]
struct Console {
    pages: Vec<Result<Page, RecordError>>,
    stats: Vec<Result<Statistics, RecordError>>,
    purged: u64,
    after_purge: Result<Page, RecordError>,
}

fn console<St: Backend>(v: &Verifier<St>, account: AccountId, scene: SceneId, legacy: SceneId) -> Console {
    let now = cst(24, 11);
    let store = &v.store;
    let first = store.page(account, &Query::default(), now).unwrap();
    let sample = first.records.first().unwrap().clone();
    let queries = vec![
        Query::default(),
        Query { limit: 7, ..Query::default() },
        Query { limit: 1, passed: Some(true), ..Query::default() },
        Query { passed: Some(false), ..Query::default() },
        Query { scene: Some(scene), limit: 5, ..Query::default() },
        Query { scene: Some(legacy), ..Query::default() },
        Query { product: Some(ProductCode::IdPro), limit: 9, ..Query::default() },
        Query { product: Some(ProductCode::PvFc), ..Query::default() },
        Query { sub_code: Some(sample.sub_code), limit: 4, ..Query::default() },
        Query { from: Some(cst(23, 10)), to: Some(cst(23, 10) + Duration::minutes(30)), ..Query::default() },
        Query { to: Some(cst(23, 10)), ..Query::default() },
        Query { identifier: Some(Identifier::CertifyId(sample.certify_id)), ..Query::default() },
        Query {
            identifier: Some(Identifier::OuterOrderNo(OuterOrderNo::new("o1").unwrap())),
            ..Query::default()
        },
        // Records whose personal data was erased are not found by ID number.
        Query {
            identifier: Some(Identifier::IdNumber(ResidentId::parse(PERSON_ID).unwrap())),
            limit: 6,
            ..Query::default()
        },
        Query { limit: 101, ..Query::default() },
    ];
    let mut pages = Vec::new();
    for mut query in queries {
        // Follow the cursor to the last page.
        for _ in 0..100 {
            let page = store.page(account, &query, now);
            let next = page.as_ref().ok().and_then(|p| p.next);
            pages.push(page);
            match next {
                Some(cursor) => query.after = Some(cursor),
                None => break,
            }
        }
    }
    // Another account sees nothing.
    pages.push(store.page(AccountId::new("999").unwrap(), &Query::default(), now));
    let today = shiren::catalog::BillingZone::CHINA.day_of(now);
    let stats = [
        (scene, StatsRange::Last7Days, now),
        (scene, StatsRange::Last30Days, now),
        (legacy, StatsRange::Last7Days, now),
        (scene, StatsRange::Custom { from: today - Duration::days(2), to: today }, now),
        (scene, StatsRange::Custom { from: today, to: today - Duration::days(1) }, now),
        (scene, StatsRange::Custom { from: today - Duration::days(200), to: today }, now),
        // Half a year on: the days before the retention are zeros.
        (scene, StatsRange::Last7Days, now + Duration::days(179)),
        (scene, StatsRange::Last30Days, now + Duration::days(200)),
    ]
    .into_iter()
    .map(|(scene, range, at)| store.stats(account, scene, range, at))
    .collect();
    let later = now + Duration::days(181);
    let purged = store.purge(later);
    let after_purge = store.page(account, &Query::default(), now);
    Console { pages, stats, purged, after_purge }
}

fn expected_console() -> Console {
    let (v, account, scene, legacy) = memory();
    scenarios(&v, account, scene, legacy);
    console(&v, account, scene, legacy)
}

#[test]
fn in_memory_figures_are_the_reference() {
    let figures = expected_figures();
    // 1 + 3 + 1 + 1 + 1 + 20 completions (the legacy, expired and e2 sessions are not).
    assert_eq!(figures.completed, 27);
    assert_eq!(figures.records, 27);
    assert_eq!(figures.billed_units, figures.metered);
}

#[test]
fn sqlite_matches_in_memory() {
    let (url, _dir) = sqlite_url();
    let (v, account, scene, legacy) = sql(&url);
    assert_eq!(scenarios(&v, account, scene, legacy), expected_figures());
    let reference = expected_console();
    assert_eq!(reference.purged, 27, "every record is past its retention");
    assert!(reference.pages.len() > 20 && reference.stats.iter().filter(|s| s.is_ok()).count() == 6);
    let counts_before_purge = v.store.counts().unwrap();
    assert_eq!(console(&v, account, scene, legacy), reference);
    // Reopened: everything is still there; the purge took the records, and the
    // usage keys (the exactly-once set) outlive them.
    let counts = v.store.counts().unwrap();
    assert_eq!(counts_before_purge.records, counts_before_purge.usage_events);
    assert_eq!((counts.records, counts.usage_events), (0, counts_before_purge.usage_events));
    drop(v);
    let reopened =
        SqlStore::open(&url, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 1 })
            .unwrap();
    assert_eq!(reopened.counts().unwrap(), counts);
}

#[test]
fn postgres_matches_in_memory() {
    let db = support::postgres::Database::create("shiren_t");
    let (v, account, scene, legacy) = sql(&db.url);
    assert_eq!(scenarios(&v, account, scene, legacy), expected_figures());
    let counts = v.store.counts().unwrap();
    assert_eq!(counts.records, counts.usage_events);
    assert_eq!(console(&v, account, scene, legacy), expected_console());
}

/// The request path's reads keep their PostgreSQL connections between queries. When the
/// server ends them (a restart, an idle timeout), a read on one fails as unavailable —
/// refused, never a wrong answer or a panic — the broken connection is dropped, and the
/// reads after it succeed on fresh ones.
#[test]
fn postgres_reads_recover_when_the_server_drops_their_connections() {
    let db = support::postgres::Database::create("shiren_held");
    let (v, account, scene, _) = sql(&db.url);
    let caller = shiren::verify::Requester::ram_user(account, "kyc-service");
    let id =
        v.init_face_verify(&caller, &request(scene, "h1"), cst(23, 10)).result_object.unwrap().certify_id;
    for _ in 0..3 {
        assert_eq!(v.store.session(id).unwrap().unwrap().certify_id, id);
    }
    db.disconnect_all();
    let mut failed = 0;
    while let Err(e) = v.store.session(id) {
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        failed += 1;
        assert!(failed <= 4, "more failures than connections (4): a broken one was kept");
    }
    for _ in 0..10 {
        assert_eq!(v.store.session(id).unwrap().unwrap().certify_id, id);
        assert!(v.store.account(account).unwrap().is_some());
    }
    println!("reads failed after the disconnect: {failed}");
}

#[test]
fn tampered_rows_are_typed_errors() {
    let (url, _dir) = sqlite_url();
    let (v, account, scene, _) = sql(&url);
    let caller = shiren::verify::Requester::ram_user(account, "kyc-service");
    let id =
        v.init_face_verify(&caller, &request(scene, "x1"), cst(23, 10)).result_object.unwrap().certify_id;
    let done =
        v.init_face_verify(&caller, &request(scene, "x2"), cst(23, 10)).result_object.unwrap().certify_id;
    assert!(v.complete_face_verify(&done.to_string(), b"pass", cst(23, 10)).is_success());
    let directory = Directory::new(account.as_str(), "acme-bank", Quotas::default()).unwrap();
    assert!(v.store.create_directory(account, &directory).unwrap());
    assert!(!v.store.create_directory(account, &directory).unwrap(), "one directory per account");
    drop(v);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let tamper = |statement: String| {
        runtime.block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
            sqlx::query(&statement).execute(&pool).await.unwrap();
            pool.close().await;
        })
    };
    let open = || {
        SqlStore::open(&url, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 1 })
            .unwrap()
    };
    // A session whose key column disagrees with its document.
    tamper(format!("UPDATE sessions SET account = '999' WHERE certify_id = '{id}'"));
    assert!(matches!(open().session(id), Err(StoreError::Corrupt(_))));
    // An account document that is not one (or a meter with more units left than sold).
    tamper(format!("UPDATE accounts SET state = '{{\"meter\":1}}' WHERE account = '{account}'"));
    assert!(matches!(open().account(account), Err(StoreError::Corrupt(_))));
    // A record whose filter column disagrees with its document is never returned.
    let query = Query { passed: Some(false), ..Query::default() };
    assert_eq!(open().query_records(account, &query, cst(24, 0)).unwrap().records.len(), 0);
    tamper(format!("UPDATE records SET passed = 0 WHERE certify_id = '{done}'"));
    assert!(matches!(open().query_records(account, &query, cst(24, 0)), Err(StoreError::Corrupt(_))));
    // Another account's directory under this account's key.
    tamper(format!(
        "UPDATE directories SET directory = REPLACE(directory, '{account}', '999') WHERE account = '{account}'"
    ));
    assert!(matches!(open().directory(account), Err(StoreError::Corrupt(_))));
    tamper(format!("UPDATE directories SET directory = '{{\"users\":[]}}' WHERE account = '{account}'"));
    assert!(matches!(open().directory(account), Err(StoreError::Corrupt(_))));
    // A newer schema is refused on open.
    tamper("INSERT INTO shiren_schema (version, description) VALUES (99, 'from the future')".to_owned());
    let refused =
        SqlStore::open(&url, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 1 });
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("newer than"), "{message}");
}

/// A database written by schema 1 (before the records' filter columns): opening it
/// migrates it, filling the columns from each record's body, and the console finds the
/// old records as it finds new ones.
#[test]
fn an_old_database_is_migrated_and_its_records_found() {
    let (url, _dir) = sqlite_url();
    let (v, account, scene, _) = sql(&url);
    let caller = shiren::verify::Requester::ram_user(account, "kyc-service");
    let id =
        v.init_face_verify(&caller, &request(scene, "old1"), cst(23, 10)).result_object.unwrap().certify_id;
    assert!(v.complete_face_verify(&id.to_string(), b"pass", cst(23, 10)).is_success());
    let record = v.store.record(id).unwrap().unwrap();
    let now = cst(24, 11);
    let query = Query {
        identifier: Some(Identifier::OuterOrderNo(OuterOrderNo::new("old1").unwrap())),
        ..Query::default()
    };
    let expected_page = v.store.query_records(account, &query, now).unwrap();
    let expected_stats = v.store.statistics(account, scene, StatsRange::Last7Days, now).unwrap();
    assert_eq!(expected_page.records, vec![record.clone()]);
    assert_eq!(expected_stats.totals.passed, 1);
    drop(v);

    // Schema 1, by hand, holding that record as schema 1 wrote it.
    let (old, _old_dir) = sqlite_url();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool =
            sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&format!("{old}?mode=rwc")).await.unwrap();
        for statement in [
            "CREATE TABLE shiren_schema (version BIGINT PRIMARY KEY, description TEXT NOT NULL)",
            "INSERT INTO shiren_schema (version, description) VALUES (1, 'accounts, sessions, records, usage events')",
            "CREATE TABLE accounts (account TEXT PRIMARY KEY, state TEXT NOT NULL, revision BIGINT NOT NULL)",
            "CREATE TABLE sessions (certify_id TEXT PRIMARY KEY, account TEXT NOT NULL, state TEXT NOT NULL, \
             created_at BIGINT NOT NULL, body TEXT NOT NULL)",
            "CREATE INDEX sessions_by_state ON sessions (state, created_at)",
            "CREATE TABLE records (certify_id TEXT PRIMARY KEY, account TEXT NOT NULL, \
             completed_at BIGINT NOT NULL, body TEXT NOT NULL)",
            "CREATE INDEX records_by_account ON records (account, completed_at)",
            "CREATE TABLE usage_events (certify_id TEXT PRIMARY KEY, account TEXT NOT NULL, event TEXT NOT NULL)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO records (certify_id, account, completed_at, body) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(account.as_str().to_owned())
            .bind(record.completed_at.timestamp_micros())
            .bind(serde_json::to_string(&record).unwrap())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let migrated =
        SqlStore::open(&old, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 1 })
            .unwrap();
    assert_eq!(migrated.query_records(account, &query, now).unwrap(), expected_page);
    let by_number = Query {
        identifier: Some(Identifier::IdNumber(ResidentId::parse(PERSON_ID).unwrap())),
        ..Query::default()
    };
    assert_eq!(migrated.query_records(account, &by_number, now).unwrap(), expected_page);
    assert_eq!(migrated.statistics(account, scene, StatsRange::Last7Days, now).unwrap(), expected_stats);
}

/// The RAM directory: stored, changed atomically through `shiren_ram`'s API, the same
/// for every store on the database; a refused change writes nothing.
fn directory_round_trip(a: &SqlStore, b: &SqlStore) {
    use shiren::ram::{AccessKeyStatus, DirectoryError, PolicyType, Target};
    let account = AccountId::new("7000000000000001").unwrap();
    let mut directory = Directory::new(account.as_str(), "acme-bank", Quotas::default()).unwrap();
    directory.create_user("kyc-service").unwrap();
    directory
        .attach_policy(Target::User("kyc-service"), PolicyType::System, "AliyunAntCloudAuthFullAccess")
        .unwrap();
    directory.create_access_key("kyc-service", "LTAI5tKycService01", cst(1, 9)).unwrap();
    assert!(b.directory(account).unwrap().is_none());
    assert!(a.create_directory(account, &directory).unwrap());
    assert_eq!(b.directory(account).unwrap().as_ref(), Some(&directory));
    // Only the account's own directory is stored under it.
    let other = Directory::new("7000000000000002", "other-bank", Quotas::default()).unwrap();
    assert!(matches!(a.create_directory(account, &other), Err(StoreError::Inconsistent(_))));
    // A change through the domain API, seen by the other store.
    let changed = b
        .update_directory(account, |d| {
            d.set_access_key_status("LTAI5tKycService01", AccessKeyStatus::Inactive)
        })
        .unwrap();
    assert_eq!(changed, Some(Ok(())));
    let stored = a.directory(account).unwrap().unwrap();
    assert_eq!(stored.access_key("LTAI5tKycService01").unwrap().1.status, AccessKeyStatus::Inactive);
    // A refused change leaves it as it was.
    let refused = a.update_directory(account, |d| {
        d.create_user("intern")?;
        d.create_user("kyc-service").map(|_| ())
    });
    assert!(matches!(refused, Ok(Some(Err(DirectoryError::AlreadyExists { .. })))));
    assert_eq!(b.directory(account).unwrap().unwrap(), stored);
    assert!(b.directory(account).unwrap().unwrap().user("intern").is_none());
    // No directory, no change.
    let stranger = AccountId::new("7000000000000009").unwrap();
    assert_eq!(a.update_directory(stranger, |_| Ok::<(), DirectoryError>(())).unwrap(), None);
}

#[test]
fn sqlite_keeps_the_ram_directory() {
    let (url, _dir) = sqlite_url();
    let store =
        SqlStore::open(&url, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 1 })
            .unwrap();
    directory_round_trip(&store, &store);
}

#[test]
fn postgres_keeps_the_ram_directory_for_every_process() {
    let db = support::postgres::Database::create("shiren_t");
    let open = || {
        SqlStore::open(&db.url, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 2 })
            .unwrap()
    };
    directory_round_trip(&open(), &open());
}
