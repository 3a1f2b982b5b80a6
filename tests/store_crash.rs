//! Crash safety and several processes, against real databases: `examples/store_worker`
//! (a service process in miniature) completes sessions and is killed with SIGKILL at
//! random moments, again and again; after each kill the store must hold every
//! completion it acknowledged, each certify ID applied once, and records = metered
//! units = usage keys. Then two workers run at once against one PostgreSQL database,
//! both completing sessions of the same account and both issuing bills: no unit counted
//! twice or lost, and one bill per account and day.
//!
//! The worker is built by `cargo test` (it is an example of this package); a missing
//! binary or database fails the test.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests drive child processes and read the environment"
)]

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration as StdDuration;

use bytes::Bytes;
use shiren::records::DigestKey;
use shiren::verify::{FixedScorer, FlowStore as _, SessionState};
use shiren_store::{SqlStore, StoreOptions};

/// Kills per back end (the issue asks for at least 50 in CI).
const KILLS: u64 = 50;

fn worker() -> PathBuf {
    // target/<profile>/deps/store_crash-… → target/<profile>/examples/store_worker
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|d| d.parent()).unwrap().join("examples").join("store_worker");
    assert!(
        path.exists(),
        "{} is missing: run through `cargo test`, which builds the examples",
        path.display()
    );
    path
}

fn options() -> StoreOptions {
    StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 4 }
}

/// A store holding the demo account, at `url`.
fn prepare(url: &str) {
    let demo = support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap();
    let account = demo.account;
    let (store, _) = demo.verifier.into_parts();
    let stores = store.into_inner().unwrap();
    let sql = SqlStore::open(url, options()).unwrap();
    sql.create_account(account, support::account_state(stores)).unwrap();
}

/// Everything the store must agree with after any crash. The counts come from one
/// snapshot (`audit`): a killed worker's last commit may still be landing.
fn check(url: &str, acknowledged: &BTreeSet<String>) -> u64 {
    let store = SqlStore::open(url, options()).unwrap();
    let audit = store.audit().unwrap();
    assert_eq!(audit.rows.records, audit.rows.usage_events, "a record without its usage key, or the reverse");
    assert_eq!(audit.completed_sessions, audit.rows.records, "completed sessions = records");
    assert_eq!(
        audit.metered_units, audit.rows.records,
        "every completion (all passed, all billable) metered once"
    );
    let completed: BTreeSet<String> = store
        .sessions()
        .unwrap()
        .iter()
        .filter(|s| matches!(s.state, SessionState::Completed { .. }))
        .map(|s| s.certify_id.to_string())
        .collect();
    let lost: Vec<_> = acknowledged.difference(&completed).collect();
    assert!(lost.is_empty(), "acknowledged completions lost: {lost:?}");
    for id in acknowledged.iter().take(3) {
        assert!(store.record(id.parse().unwrap()).unwrap().is_some());
        assert!(store.session(id.parse().unwrap()).unwrap().unwrap().result().unwrap().passed);
    }
    audit.rows.records
}

/// Runs the worker, kills it after `after`, returns what it acknowledged.
fn run_and_kill(url: &str, id_base: u64, after: StdDuration) -> BTreeSet<String> {
    let mut child = Command::new(worker())
        .args([url, "100000", &id_base.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| line.strip_prefix("done ").map(str::to_owned))
            .collect::<BTreeSet<String>>()
    });
    std::thread::sleep(after);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

fn crash_loop(url: &str) {
    prepare(url);
    let mut acknowledged = BTreeSet::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for kill in 0..KILLS {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Between 30 and 230 ms: sometimes before the store opens, mostly mid-flight.
        let after = StdDuration::from_millis(30 + rng % 200);
        acknowledged.extend(run_and_kill(url, (kill + 1) << 32, after));
        check(url, &acknowledged);
    }
    let stored = check(url, &acknowledged);
    assert!(
        acknowledged.len() > 100,
        "the workers completed sessions between kills ({})",
        acknowledged.len()
    );
    assert!(stored >= acknowledged.len() as u64);
}

#[test]
fn sqlite_survives_kills() {
    let dir = std::env::temp_dir().join(format!("shiren-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    crash_loop(&format!("sqlite://{}/shiren.db", dir.display()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn postgres_survives_kills_and_two_processes_share_it() {
    let db = support::postgres::Database::create("shiren_c");
    crash_loop(&db.url);

    // Two processes, one account, both billing.
    let shared = support::postgres::Database::create("shiren_c");
    let url = shared.url.clone();
    prepare(&url);
    let workers: Vec<_> = [1u64, 2]
        .map(|n| {
            Command::new(worker())
                .args([url.as_str(), "150", &(n << 40).to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .into_iter()
        .collect();
    let mut acknowledged = BTreeSet::new();
    let mut bills = Vec::new();
    for child in workers {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        for line in String::from_utf8(output.stdout).unwrap().lines() {
            if let Some(id) = line.strip_prefix("done ") {
                acknowledged.insert(id.to_owned());
            } else if let Some(bill) = line.strip_prefix("bill ") {
                bills.push(bill.to_owned());
            }
        }
    }
    assert_eq!(acknowledged.len(), 300);
    assert_eq!(check(&url, &acknowledged), 300);
    // The demo account's 2026-11-23 bill, issued once though both processes polled.
    let unique: BTreeSet<_> = bills.iter().collect();
    assert_eq!(unique.len(), bills.len(), "a bill issued twice: {bills:?}");
    assert!(bills.iter().any(|b| b.ends_with("2026-11-23")), "{bills:?}");
    // The free pack of 100 units covered exactly 100; nothing overdrawn.
    let store = SqlStore::open(&url, options()).unwrap();
    let account = store.sessions().unwrap()[0].account;
    let usage = store.account(account).unwrap().unwrap().meter.usage();
    let covered: u64 = usage.values().map(|u| u.covered).sum();
    let counted: u64 = usage.values().map(|u| u.counted).sum();
    assert_eq!((covered, counted), (100, 300));
}
