//! Archived bills in the store: over four months of daily polls, the account document
//! keeps only recent bills and the `bills` table the rest, and every bill, range and
//! statement the store answers is the one a biller that never archived gives. Two
//! processes polling one PostgreSQL archive each bill once; a tampered row is a typed
//! error. SQLite and real PostgreSQL (never a silent skip: see `support::postgres`).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests; the PostgreSQL admin URL comes from the environment"
)]

#[path = "support/mod.rs"]
mod support;

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use shiren::billing::{Biller, BillingStep, UsageRecord};
use shiren::catalog::{AccountId, Solution};
use shiren::records::DigestKey;
use shiren::verify::{FixedScorer, StoreError};
use shiren_store::{BILLS_KEPT_DAYS, SqlStore, StoreOptions};

/// A temporary directory removed on drop.
struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sqlite() -> (String, Dir) {
    let path = std::env::temp_dir().join(format!("shiren-bills-{}", std::process::id()));
    std::fs::create_dir_all(&path).unwrap();
    (format!("sqlite://{}/shiren.db", path.display()), Dir(path))
}

fn open(url: &str) -> SqlStore {
    let options = StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 4 };
    SqlStore::open(url, options).unwrap_or_else(|e| panic!("opening {url}: {e}"))
}

/// The demo account in `store`; returns the account and a twin of its biller that
/// never archives.
fn world(store: &SqlStore) -> (AccountId, Biller) {
    let demo = support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap();
    let account = demo.account;
    let (stores, _) = demo.verifier.into_parts();
    let stores = stores.into_inner().unwrap();
    let twin = stores.ledger.biller.clone();
    store.create_account(account, support::account_state(stores)).unwrap();
    (account, twin)
}

fn day(d: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + Duration::days(d as i64)
}

/// 11:00 UTC+8 of `day(d)`, after its predecessor's bill is due.
fn late_morning(d: u64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day(d).and_hms_opt(3, 0, 0).unwrap())
}

/// 120 days: usage every day, a top-up every tenth, polls by `pollers` (the stores in
/// turn, so several processes share the work), the twin fed the same.
fn run(pollers: &[&SqlStore], account: AccountId, twin: &mut Biller) -> DateTime<Utc> {
    let store = pollers[0];
    let mut now = late_morning(0);
    for d in 0..120 {
        now = late_morning(d);
        for i in 0..(d % 4) + 1 {
            let solution = [Solution::ServerSide, Solution::LivenessDetection][(i % 2) as usize];
            let usage = UsageRecord { account, solution, time: now, covered: false };
            let queued = usage.clone();
            store.update_account(account, move |s| s.biller.record(&queued, now)).unwrap().unwrap();
            twin.record(&usage, now).unwrap();
        }
        if d % 10 == 0 {
            store
                .update_account(account, move |s| s.biller.top_up(&account, Decimal::from(3), now))
                .unwrap()
                .unwrap();
            twin.top_up(&account, Decimal::from(3), now).unwrap();
        }
        // Every poller polls; exactly one issues each bill.
        let mut issued = Vec::new();
        for p in pollers {
            issued.extend(p.poll_bills(now).unwrap());
        }
        let mut expected = Vec::new();
        while let BillingStep::Issued { bills, .. } = twin.poll(now).unwrap() {
            expected.extend(bills);
        }
        assert_eq!(issued, expected, "day {d}");
    }
    now
}

/// Everything the store answers about bills equals the twin's answers.
fn agree(store: &SqlStore, account: AccountId, twin: &Biller, now: DateTime<Utc>) {
    for d in 0..125 {
        let expected = twin.bill(&account, day(d)).unwrap().cloned();
        assert_eq!(store.bill(account, day(d)).unwrap(), expected, "bill of {}", day(d));
    }
    let all: Vec<_> = twin.bills(&account, day(0), day(130)).unwrap().into_iter().cloned().collect();
    assert_eq!(store.bills(account, day(0), day(130)).unwrap(), all);
    assert_eq!(store.bills(account, day(40), day(100)).unwrap(), all[40..=100.min(all.len() - 1)].to_vec());
    for (year, month) in [(2026, 11), (2026, 12), (2027, 1), (2027, 2), (2027, 3)] {
        assert_eq!(
            store.statement(account, year, month).unwrap(),
            twin.statement(&account, year, month).unwrap()
        );
    }
    let state = store.account(account).unwrap().unwrap();
    assert_eq!(state.biller.balance(&account, now).unwrap(), twin.balance(&account, now).unwrap());
    assert_eq!(state.biller.standing(&account, now).unwrap(), twin.standing(&account, now).unwrap());
    // The document holds only the recent bills.
    let held = state.biller.bills(
        &account,
        state.biller.next_day() - Duration::days(BILLS_KEPT_DAYS as i64),
        day(130),
    );
    assert_eq!(held.unwrap().len() as u64, BILLS_KEPT_DAYS);
    assert!(matches!(
        state.biller.bill(&account, day(10)),
        Err(shiren::billing::BillingError::Archived { .. })
    ));
}

async fn execute(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(sql).execute(&mut conn).await.unwrap();
}

fn tamper(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(execute(url, sql));
}

/// A row changed behind the store's back is refused with `Corrupt`, never believed.
fn tampered_rows_are_refused(url: &str, store: &SqlStore, account: AccountId) {
    let d = day(20).to_string();
    let before = store.bill(account, day(20)).unwrap().unwrap();
    // The total column alone.
    tamper(url, &format!("UPDATE bills SET total = '0.01' WHERE day = '{d}'"));
    assert!(matches!(store.bill(account, day(20)), Err(StoreError::Corrupt(_))));
    assert!(matches!(store.statement(account, 2026, 11), Err(StoreError::Corrupt(_))));
    // Body and column agreeing, the bill padded by a fen: its lines no longer add up.
    let padded = before.total + Decimal::new(1, 2);
    let body =
        serde_json::to_string(&shiren::billing::DailyBill { total: padded, ..before.clone() }).unwrap();
    let body = body.replace('\'', "''");
    tamper(url, &format!("UPDATE bills SET total = '{padded}', bill = '{body}' WHERE day = '{d}'"));
    assert!(matches!(store.bill(account, day(20)), Err(StoreError::Corrupt(_))));
    // Another day's bill filed under this day.
    let other = store.bill(account, day(19)).unwrap().unwrap();
    let body = serde_json::to_string(&other).unwrap().replace('\'', "''");
    tamper(url, &format!("UPDATE bills SET total = '{}', bill = '{body}' WHERE day = '{d}'", other.total));
    assert!(store.bills(account, day(0), day(30)).is_err());
}

#[test]
fn sqlite_archives_old_bills_and_answers_as_before() {
    let (url, _dir) = sqlite();
    let store = open(&url);
    let (account, mut twin) = world(&store);
    let now = run(&[&store], account, &mut twin);
    agree(&store, account, &twin, now);
    // Reopened, the same answers.
    drop(store);
    let store = open(&url);
    agree(&store, account, &twin, now);
    tampered_rows_are_refused(&url, &store, account);
}

#[test]
fn postgres_processes_archive_each_bill_once() {
    let db = support::postgres::Database::create("shiren_bills");
    let (a, b) = (open(&db.url), open(&db.url));
    let (account, mut twin) = world(&a);
    let now = run(&[&a, &b], account, &mut twin);
    agree(&a, account, &twin, now);
    agree(&b, account, &twin, now);
    tampered_rows_are_refused(&db.url, &b, account);
}
