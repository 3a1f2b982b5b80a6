//! The AccessKey nonce memory in the database (`SqlStore::nonces`): it decides as
//! `shiren_auth::BoundedNonces` does (the same answers to the same requests, on SQLite
//! and PostgreSQL), several stores on one PostgreSQL share it (a nonce accepted by one
//! is refused by the other, quotas count both), and a database error refuses the
//! request — never accepts it.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests; the PostgreSQL admin URL comes from the environment"
)]

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::{DateTime, Duration, TimeZone, Utc};
use shiren::auth::{AuthError, BoundedNonces, NONCE_RETENTION, NonceLimits, NonceStore, QuotaScope};
use shiren::records::DigestKey;
use shiren_store::{SqlStore, StoreOptions};

fn options() -> StoreOptions {
    StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 4 }
}

fn open(url: &str) -> SqlStore {
    SqlStore::open(url, options()).unwrap_or_else(|e| panic!("opening {url}: {e}"))
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

/// A temporary directory for a SQLite file, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("shiren-nonces-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn url(&self) -> String {
        format!("sqlite://{}/nonces.db", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A request of the differential run: tenant, key, nonce, and seconds to advance.
#[derive(Clone, Copy, Debug)]
struct Op {
    account: u8,
    key: u8,
    nonce: u8,
    advance_secs: u32,
}

/// A fixed pseudo-random run (xorshift): few tenants and nonces, so replays, quotas,
/// the cap and expiry all happen.
fn ops(n: usize, seed: u64) -> Vec<Op> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let r = next();
            let advance_secs = match r % 6 {
                0..=2 => 0,
                3 | 4 => (r >> 8) as u32 % 120,
                _ => (r >> 8) as u32 % 2_000,
            };
            Op {
                account: (r >> 20) as u8 % 4,
                key: (r >> 28) as u8 % 3,
                nonce: (r >> 36) as u8 % 24,
                advance_secs,
            }
        })
        .collect()
}

/// Runs the same requests through `BoundedNonces` and the store's nonces; every answer
/// must agree. Returns how many were accepted and how many refused for each reason.
fn same_answers_as_bounded_nonces(store: &SqlStore) -> [usize; 5] {
    let mut tally = [0usize; 5];
    for (seed, limits) in [
        (7, NonceLimits { total: 9, per_account: 4, per_key: 3 }),
        (11, NonceLimits { total: 30, per_account: 5, per_key: 2 }),
        (13, NonceLimits::new(64)),
    ] {
        let mut model = BoundedNonces::with_limits(limits);
        let mut sql = store.nonces(limits);
        // Each run far from the others in time: the earlier runs' nonces have expired.
        let mut at = now() + Duration::days(i64::try_from(seed).unwrap());
        for (i, op) in ops(400, seed).into_iter().enumerate() {
            at += Duration::seconds(i64::from(op.advance_secs));
            let (account, key) = (format!("acct{}", op.account), format!("ak{}-{}", op.account, op.key));
            let nonce = format!("n{}", op.nonce);
            let expected = model.check_and_remember_for(&account, &key, &nonce, at);
            let got = sql.check_and_remember_for(&account, &key, &nonce, at);
            assert_eq!(got, expected, "request {i} of run {seed}: {op:?}");
            assert!(sql.last_error().is_none());
            let slot = match expected {
                Ok(()) => 0,
                Err(AuthError::NonceUsed) => 1,
                Err(AuthError::NonceQuotaExceeded { scope: QuotaScope::Account, .. }) => 2,
                Err(AuthError::NonceQuotaExceeded { scope: QuotaScope::AccessKey, .. }) => 3,
                Err(_) => 4,
            };
            tally[slot] += 1;
        }
        // Malformed nonces are refused before the database.
        assert!(matches!(sql.check_and_remember_for("a", "k", "", at), Err(AuthError::Malformed(_))));
        let long = "n".repeat(129);
        assert!(matches!(sql.check_and_remember("k", &long, at), Err(AuthError::Malformed(_))));
    }
    // The run reached every outcome, so the comparison covered each rule.
    assert!(tally.iter().all(|&n| n > 0), "{tally:?}");
    tally
}

#[test]
fn sqlite_nonces_answer_as_bounded_nonces() {
    let dir = TempDir::new("model");
    same_answers_as_bounded_nonces(&open(&dir.url()));
}

#[test]
fn postgres_nonces_answer_as_bounded_nonces() {
    let db = support::postgres::Database::create("shiren_n");
    same_answers_as_bounded_nonces(&open(&db.url));
}

/// Replays, quotas and expiry across two stores sharing a database.
fn shared_between(a: &SqlStore, b: &SqlStore) {
    let limits = NonceLimits { total: 100, per_account: 4, per_key: 2 };
    let (mut na, mut nb) = (a.nonces(limits), b.nonces(limits));
    let t = now();
    assert_eq!(na.check_and_remember_for("acct1", "ak1", "n1", t), Ok(()));
    // The other store refuses the replay, and so does the first.
    assert_eq!(nb.check_and_remember_for("acct1", "ak1", "n1", t), Err(AuthError::NonceUsed));
    assert_eq!(na.check_and_remember_for("acct1", "ak1", "n1", t), Err(AuthError::NonceUsed));
    // Another key may use the same nonce text.
    assert_eq!(nb.check_and_remember_for("acct1", "ak2", "n1", t), Ok(()));
    // The key's share counts both stores' nonces.
    assert_eq!(nb.check_and_remember_for("acct1", "ak1", "n2", t), Ok(()));
    assert_eq!(
        na.check_and_remember_for("acct1", "ak1", "n3", t),
        Err(AuthError::NonceQuotaExceeded { scope: QuotaScope::AccessKey, quota: 2 })
    );
    // The account's share too (ak1: 2, ak2: 1, ak3: 1 = 4).
    assert_eq!(na.check_and_remember_for("acct1", "ak3", "n1", t), Ok(()));
    assert_eq!(
        nb.check_and_remember_for("acct1", "ak3", "n2", t),
        Err(AuthError::NonceQuotaExceeded { scope: QuotaScope::Account, quota: 4 })
    );
    // Another account is not affected.
    assert_eq!(na.check_and_remember_for("acct2", "bk1", "n1", t), Ok(()));
    // After the retention the nonce may be used again — on either store.
    let later = t + NONCE_RETENTION;
    assert_eq!(nb.check_and_remember_for("acct1", "ak1", "n1", later), Ok(()));
    assert_eq!(na.check_and_remember_for("acct1", "ak1", "n1", later), Err(AuthError::NonceUsed));
    // The expired rows from `t` went with the check at `later` (it cleans up at most
    // once a second); `forget_nonces_before` deletes the rest before its cutoff.
    assert_eq!(b.nonce_rows().unwrap(), 1);
    let fresh = later + Duration::seconds(5);
    assert_eq!(na.check_and_remember_for("acct3", "ck1", "x", fresh), Ok(()));
    assert_eq!(a.forget_nonces_before(later + Duration::seconds(1)).unwrap(), 1);
    assert_eq!(b.nonce_rows().unwrap(), 1);
}

#[test]
fn two_postgres_stores_share_the_nonce_memory() {
    let db = support::postgres::Database::create("shiren_n");
    let (a, b) = (open(&db.url), open(&db.url));
    shared_between(&a, &b);
}

#[test]
fn sqlite_store_remembers_nonces_across_reopening() {
    let dir = TempDir::new("shared");
    let a = open(&dir.url());
    shared_between(&a, &a);
    drop(a);
    let reopened = open(&dir.url());
    // The one nonce left (`x`, remembered 5 s after the retention) is still refused.
    let later = now() + NONCE_RETENTION + Duration::seconds(6);
    let mut nonces = reopened.nonces(NonceLimits::new(100));
    assert_eq!(nonces.check_and_remember_for("acct3", "ck1", "x", later), Err(AuthError::NonceUsed));
    assert_eq!(nonces.check_and_remember_for("acct3", "ck1", "y", later), Ok(()));
}

/// Many threads of two stores replaying one set of nonces at once: each nonce is
/// accepted exactly once in all.
#[test]
fn concurrent_replays_on_postgres_are_accepted_once() {
    let db = support::postgres::Database::create("shiren_n");
    let stores = [open(&db.url), open(&db.url)];
    let limits = NonceLimits { total: 10_000, per_account: 10_000, per_key: 10_000 };
    let accepted = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for thread in 0..8 {
            let (store, accepted) = (&stores[thread % 2], &accepted);
            s.spawn(move || {
                let mut nonces = store.nonces(limits);
                for n in 0..40 {
                    // Two accounts' keys, so different advisory locks race too.
                    let (account, key) = if n % 2 == 0 { ("acct1", "ak1") } else { ("acct2", "ak2") };
                    let nonce = format!("n{n}");
                    match nonces.check_and_remember_for(account, key, &nonce, now()) {
                        Ok(()) => accepted.lock().unwrap().push(nonce),
                        Err(AuthError::NonceUsed) => {}
                        Err(e) => panic!("{e}: {:?}", nonces.last_error()),
                    }
                }
            });
        }
    });
    let accepted = accepted.into_inner().unwrap();
    let unique: BTreeSet<_> = accepted.iter().collect();
    assert_eq!((accepted.len(), unique.len()), (40, 40), "a nonce accepted twice or never");
}

/// Threads of two stores racing for one account's share at once (each check in a
/// batch with others): exactly the quota is accepted, never more, on PostgreSQL (two
/// processes) and on SQLite (one process, batched).
fn quota_race(stores: &[SqlStore]) {
    let limits = NonceLimits { total: 10_000, per_account: 50, per_key: 30 };
    let accepted = Mutex::new(Vec::new());
    let t = now();
    std::thread::scope(|s| {
        for thread in 0..8 {
            let (store, accepted) = (&stores[thread % stores.len()], &accepted);
            s.spawn(move || {
                let mut nonces = store.nonces(limits);
                for n in 0..40 {
                    let key = if thread < 4 { "ak1" } else { "ak2" };
                    let nonce = format!("t{thread}n{n}");
                    match nonces.check_and_remember_for("acct1", key, &nonce, t) {
                        Ok(()) => accepted.lock().unwrap().push(key),
                        Err(AuthError::NonceQuotaExceeded { .. }) => {}
                        Err(e) => panic!("{e}: {:?}", nonces.last_error()),
                    }
                }
            });
        }
    });
    let accepted = accepted.into_inner().unwrap();
    let per_key = |k| accepted.iter().filter(|&&key| key == k).count();
    // 160 requests per key against a key share of 30 and an account share of 50.
    assert_eq!(accepted.len(), 50, "the account's share: {} accepted", accepted.len());
    assert!(per_key("ak1") <= 30 && per_key("ak2") <= 30, "a key's share overshot");
    assert_eq!(stores[0].nonce_rows().unwrap(), 50, "refused nonces leave no row");
    // After the retention the share is free again, and the expired rows make way.
    let later = t + NONCE_RETENTION;
    let mut nonces = stores[0].nonces(limits);
    for n in 0..30 {
        assert_eq!(nonces.check_and_remember_for("acct1", "ak1", &format!("again{n}"), later), Ok(()));
    }
}

#[test]
fn postgres_shares_hold_under_racing_processes() {
    let db = support::postgres::Database::create("shiren_n");
    quota_race(&[open(&db.url), open(&db.url)]);
}

#[test]
fn sqlite_shares_hold_under_racing_threads() {
    let dir = TempDir::new("race");
    quota_race(&[open(&dir.url())]);
}

/// A database that fails refuses the request (fail closed) and says why.
#[test]
fn a_database_error_refuses_the_request() {
    let dir = TempDir::new("closed");
    let url = dir.url();
    let store = open(&url);
    let mut nonces = store.nonces(NonceLimits::new(100));
    assert_eq!(nonces.check_and_remember_for("acct1", "ak1", "n1", now()), Ok(()));
    // Break the table under the open store.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        sqlx::query("DROP TABLE nonces").execute(&pool).await.unwrap();
        pool.close().await;
    });
    for nonce in ["n2", "n1"] {
        assert_eq!(
            nonces.check_and_remember_for("acct1", "ak1", nonce, now()),
            Err(AuthError::NonceStoreFull)
        );
        assert!(nonces.last_error().is_some(), "the database error is kept for the log");
    }
    // Mended, the memory answers again: a failed batch left no transaction behind.
    runtime.block_on(async {
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        sqlx::query(
            "CREATE TABLE nonces (digest TEXT PRIMARY KEY, account TEXT NOT NULL, \
             access_key_id TEXT NOT NULL, seen_at BIGINT NOT NULL)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    });
    assert_eq!(nonces.check_and_remember_for("acct1", "ak1", "n2", now()), Ok(()));
    assert_eq!(nonces.check_and_remember_for("acct1", "ak1", "n2", now()), Err(AuthError::NonceUsed));
}
