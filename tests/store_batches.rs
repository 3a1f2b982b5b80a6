//! Group commit under contention: eight threads complete the same sessions twice over,
//! so batches mix completions that are accepted with completions that must be refused
//! in the store (their session is no longer pending, or appears twice in the batch).
//! The whole-batch path must decline such a batch and the write-by-write path decide
//! each: every session is applied exactly once — records = usage keys = completed
//! sessions = metered units — and both callers get its result. SQLite and real
//! PostgreSQL (never a silent skip: see `support::postgres`).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests; the PostgreSQL admin URL comes from the environment"
)]

#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use shiren::records::DigestKey;
use shiren::verify::{FixedScorer, Verifier, VerifierConfig};
use shiren_store::{SqlStore, StoreOptions};
use support::cst;

const SESSIONS: usize = 120;
const THREADS: usize = 8;

fn race(url: &str) {
    let demo = support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap();
    let (account, scene, caller) = (demo.account, demo.id_pro_scene, demo.service.clone());
    let (memory, plugins) = demo.verifier.into_parts();
    let store =
        SqlStore::open(url, StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 8 })
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    store.create_account(account, support::account_state(memory.into_inner().unwrap())).unwrap();
    let v = Verifier::new(store, plugins, VerifierConfig::default());
    let ids = support::start_sessions(&v, &caller, scene.get(), SESSIONS, "race").unwrap();
    let (passed, refused) = (AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (v, ids, passed, refused) = (&v, &ids, &passed, &refused);
            s.spawn(move || {
                // Threads t and t + THREADS/2 complete the same sessions in the same
                // order, so the two completions of a session are usually in flight at
                // once: in one batch, or one batch behind the other.
                for id in ids.iter().skip(t % (THREADS / 2)).step_by(THREADS / 2) {
                    let done = v.complete_face_verify(id, b"pass", cst(23, 10));
                    if done.is_success() {
                        passed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    // The library answers a completion of a session completed meanwhile with the stored
    // result: every call passes, and each session is applied once.
    assert_eq!(passed.into_inner(), 2 * SESSIONS as u64);
    assert_eq!(refused.into_inner(), 0);
    let audit = v.store.audit().unwrap();
    assert_eq!(audit.rows.records, SESSIONS as u64);
    assert_eq!(audit.rows.usage_events, SESSIONS as u64);
    assert_eq!(audit.completed_sessions, SESSIONS as u64);
    assert_eq!(audit.metered_units, SESSIONS as u64);
    // Both paths ran: whole batches, and (almost always, as the two completions of a
    // session meet in one batch) batches decided write by write.
    let batches = v.store.batches();
    eprintln!("{url}: {batches:?}");
    assert!(batches.whole > 0, "{batches:?}");
}

/// Two stores (two processes) on one PostgreSQL complete sessions of one account: each
/// store's known copy of the account's document goes stale whenever the other writes.
/// A stale copy must never be written back: every unit metered by either store stays
/// counted.
#[test]
fn postgres_two_stores_never_write_back_a_stale_account() {
    let db = support::postgres::Database::create("shiren_two_stores");
    let options = || StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 4 };
    let demo = support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap();
    let (account, scene, caller) = (demo.account, demo.id_pro_scene, demo.service.clone());
    let (memory, plugins) = demo.verifier.into_parts();
    let a = SqlStore::open(&db.url, options()).unwrap();
    a.create_account(account, support::account_state(memory.into_inner().unwrap())).unwrap();
    let a = Verifier::new(a, plugins, VerifierConfig::default());
    let (_, plugins) =
        support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap().verifier.into_parts();
    let b = Verifier::new(SqlStore::open(&db.url, options()).unwrap(), plugins, VerifierConfig::default());
    let ids = support::start_sessions(&a, &caller, scene.get(), SESSIONS, "two").unwrap();
    let (first, rest) = ids.split_at(20);
    // Alternating: every completion after the first two finds its store's copy stale.
    for (i, id) in first.iter().enumerate() {
        let v = if i % 2 == 0 { &a } else { &b };
        let done = v.complete_face_verify(id, b"pass", cst(23, 10));
        assert!(done.is_success(), "{}", done.message);
    }
    assert!(a.store.batches().stale >= 9 && b.store.batches().stale >= 9);
    // Then both at once, four threads each.
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (v, rest) = (if t % 2 == 0 { &a } else { &b }, rest);
            s.spawn(move || {
                for id in rest.iter().skip(t).step_by(THREADS) {
                    let done = v.complete_face_verify(id, b"pass", cst(23, 10));
                    assert!(done.is_success(), "{}", done.message);
                }
            });
        }
    });
    eprintln!("two stores: {:?} and {:?}", a.store.batches(), b.store.batches());
    for v in [&a, &b] {
        let audit = v.store.audit().unwrap();
        assert_eq!(audit.rows.records, SESSIONS as u64);
        assert_eq!(audit.rows.usage_events, SESSIONS as u64);
        assert_eq!(audit.completed_sessions, SESSIONS as u64);
        assert_eq!(audit.metered_units, SESSIONS as u64);
    }
}

#[test]
fn sqlite_decides_each_write_of_a_mixed_batch() {
    let dir = std::env::temp_dir().join(format!("shiren-batches-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    race(&format!("sqlite://{}/shiren.db", dir.display()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn postgres_decides_each_write_of_a_mixed_batch() {
    let db = support::postgres::Database::create("shiren_batches");
    race(&db.url);
}
