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
use shiren::catalog::{AccountId, CallCode, ProductCode, Solution};
use shiren::records::DigestKey;
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
    assert!(v.delete_face_verify_result(&demo_caller, &id, now).is_success());
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
    // Reopened: everything is still there, and the usage keys match the records.
    let counts = v.store.counts().unwrap();
    drop(v);
    let reopened =
        SqlStore::open(&url, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 1 })
            .unwrap();
    assert_eq!(reopened.counts().unwrap(), counts);
    assert_eq!(counts.records, counts.usage_events);
}

#[test]
fn postgres_matches_in_memory() {
    let db = support::postgres::Database::create("shiren_t");
    let (v, account, scene, legacy) = sql(&db.url);
    assert_eq!(scenarios(&v, account, scene, legacy), expected_figures());
    let counts = v.store.counts().unwrap();
    assert_eq!(counts.records, counts.usage_events);
}

#[test]
fn tampered_rows_are_typed_errors() {
    let (url, _dir) = sqlite_url();
    let (v, account, scene, _) = sql(&url);
    let caller = shiren::verify::Requester::ram_user(account, "kyc-service");
    let id =
        v.init_face_verify(&caller, &request(scene, "x1"), cst(23, 10)).result_object.unwrap().certify_id;
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
    // A newer schema is refused on open.
    tamper("INSERT INTO shiren_schema (version, description) VALUES (99, 'from the future')".to_owned());
    let refused =
        SqlStore::open(&url, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 1 });
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("newer than"), "{message}");
}
