//! Completions committed per second through the durable store, next to the in-memory
//! store in the same run (`FixedScorer`: everything but the face pipeline). Each
//! iteration completes one session already started; `threads` workers complete
//! sessions of their own main accounts at once (a real service has many accounts, and a
//! completion locks only its own account's row). After the run, each back end's p50 /
//! p99 commit latency is printed.
//!
//! `sqlite/N` and `postgres/N`: N workers (threads of their own accounts) at once; the
//! PostgreSQL store gets N connections, SQLite always has one writer connection.
//! `postgres/8x1`: eight workers of one account (one bank's traffic: its completions
//! go through one committer, in order).
//!
//! PostgreSQL from `SHIREN_TEST_POSTGRES` (default the local server), with synchronous
//! commit on (the server's default; `SHIREN_BENCH_SYNCHRONOUS_COMMIT=off` turns it off
//! for the bench's database, to measure what the commit's fsync costs); SQLite in WAL
//! mode with `synchronous = FULL`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    reason = "benchmark harness"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shiren::catalog::AccountId;
use shiren::records::DigestKey;
use shiren::verify::{
    FixedScorer, FlowStore, InMemorySessions, InMemoryStore, Permissions, Plugins, Requester, Signer, Stores,
    Verifier, VerifierConfig,
};
use shiren_store::{SqlStore, StoreOptions};
use support::cst;

/// Every main account may call for itself (RAM's rule for the account itself): the
/// bench's tenants are separate main accounts sharing one verifier.
struct MainAccounts;

impl Permissions for MainAccounts {
    fn allows(&self, requester: &Requester, _: &str, _: chrono::DateTime<chrono::Utc>) -> bool {
        requester.signer == Signer::MainAccount
    }
}

/// One worker's account: who calls, which scene.
struct Tenant {
    caller: Requester,
    scene: u64,
}

fn tenants(n: u64) -> Vec<(support::Demo, Tenant)> {
    (0..n)
        .map(|i| {
            let account = AccountId::new(&format!("{}", 2_000_000 + i)).unwrap();
            let demo =
                support::demo_of(account, Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap();
            let tenant = Tenant { caller: Requester::main_account(account), scene: demo.id_pro_scene.get() };
            (demo, tenant)
        })
        .collect()
}

/// A verifier over every tenant's account in one store.
fn sql_verifier(url: &str, worlds: Vec<support::Demo>, connections: u32) -> Verifier<SqlStore> {
    let store = SqlStore::open(
        url,
        StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: connections },
    )
    .unwrap();
    let mut plugins: Option<Plugins> = None;
    for demo in worlds {
        let account = demo.account;
        let (memory, demo_plugins) = demo.verifier.into_parts();
        let stores = memory.into_inner().unwrap();
        store.create_account(account, support::account_state(stores)).unwrap();
        plugins.get_or_insert(demo_plugins);
    }
    let mut plugins = plugins.unwrap();
    plugins.permissions = Box::new(MainAccounts);
    Verifier::new(store, plugins, VerifierConfig::default())
}

fn memory_verifier(
    mut worlds: Vec<support::Demo>,
) -> Verifier<
    InMemoryStore<
        shiren::scene::InMemoryRegistry,
        shiren::records::InMemoryRecords,
        shiren::verify::Ledger,
        InMemorySessions,
    >,
> {
    // One tenant: the in-memory store is one process's state behind one mutex.
    let demo = worlds.remove(0);
    let (memory, mut plugins) = demo.verifier.into_parts();
    plugins.permissions = Box::new(MainAccounts);
    let Stores { sessions, scenes, records, ledger } = memory.into_inner().unwrap();
    Verifier::new(
        InMemoryStore::new(Stores { sessions, scenes, records, ledger }),
        plugins,
        VerifierConfig::default(),
    )
}

/// Times `iters` completions spread over the tenants, each tenant's by `callers_each`
/// threads at once; records latencies.
fn complete_all<St: FlowStore + Sync>(
    v: &Verifier<St>,
    tenants: &[Tenant],
    callers_each: usize,
    iters: u64,
    round: &mut u64,
    latencies: &Mutex<Vec<Duration>>,
) -> Duration {
    *round += 1;
    // Ended sessions of earlier rounds go, as a service's retention sweep would.
    v.forget_sessions_before(cst(30, 0)).unwrap();
    let per = iters.div_ceil(tenants.len() as u64);
    let ids: Vec<Vec<String>> = tenants
        .iter()
        .map(|t| support::start_sessions(v, &t.caller, t.scene, per as usize, &format!("r{round}x")).unwrap())
        .collect();
    let chunk = (per as usize).div_ceil(callers_each).max(1);
    let ids: Vec<&[String]> = ids.iter().flat_map(|mine| mine.chunks(chunk)).collect();
    let begin = Instant::now();
    std::thread::scope(|s| {
        for mine in &ids {
            s.spawn(move || {
                let mut local = Vec::with_capacity(mine.len());
                for id in *mine {
                    let t = Instant::now();
                    let done = v.complete_face_verify(id, b"pass", cst(23, 10));
                    local.push(t.elapsed());
                    assert!(done.is_success(), "{}", done.message);
                }
                latencies.lock().unwrap().extend(local);
            });
        }
    });
    begin.elapsed().mul_f64(iters as f64 / (per * tenants.len() as u64) as f64)
}

fn report(name: &str, latencies: &Mutex<Vec<Duration>>) {
    let mut all = latencies.lock().unwrap().clone();
    all.sort();
    if all.is_empty() {
        return;
    }
    let at = |q: f64| all[((all.len() - 1) as f64 * q) as usize];
    eprintln!("{name}: commit latency p50 {:?}, p99 {:?} ({} completions)", at(0.5), at(0.99), all.len());
}

fn completions(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/completions");
    group.throughput(Throughput::Elements(1)).sample_size(10).measurement_time(Duration::from_secs(5));
    let mut round = 0;

    let (worlds, one): (Vec<_>, Vec<_>) = tenants(1).into_iter().unzip();
    let v = memory_verifier(worlds);
    let latencies = Mutex::new(Vec::new());
    group.bench_function("memory/1", |b| {
        b.iter_custom(|iters| complete_all(&v, &one, 1, iters, &mut round, &latencies))
    });
    report("memory/1", &latencies);

    // SQLite has one writer connection whatever the callers: `sqlite/N` is N callers
    // (threads of their own accounts), whose completions the writer commits in groups.
    for callers in [1u64, 8] {
        let dir = std::env::temp_dir().join(format!("shiren-bench-{}-{callers}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (worlds, tenants): (Vec<_>, Vec<_>) = tenants(callers).into_iter().unzip();
        let v = sql_verifier(&format!("sqlite://{}/bench.db", dir.display()), worlds, 1);
        let latencies = Mutex::new(Vec::new());
        let label = format!("sqlite/{callers}");
        group.bench_function(&label, |b| {
            b.iter_custom(|iters| complete_all(&v, &tenants, 1, iters, &mut round, &latencies))
        });
        report(&label, &latencies);
        drop(v);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // `postgres/8x1`: eight callers on one account (one bank's traffic), whose batches
    // one committer writes in order.
    for (connections, accounts) in [(1u64, 1u64), (8, 8), (8, 1)] {
        let db = support::postgres::Database::create("shiren_bench_");
        let label = match accounts {
            1 if connections > 1 => format!("postgres/{connections}x1"),
            _ => format!("postgres/{connections}"),
        };
        // For a measurement of what fsync costs only: the goal is with it on.
        if std::env::var("SHIREN_BENCH_SYNCHRONOUS_COMMIT").as_deref() == Ok("off") {
            eprintln!("{label}: synchronous_commit = off (measurement only)");
            db.set("synchronous_commit = off");
        }
        let (worlds, tenants): (Vec<_>, Vec<_>) = tenants(accounts).into_iter().unzip();
        let v = sql_verifier(&db.url, worlds, connections as u32);
        let latencies = Mutex::new(Vec::new());
        let callers_each = (connections / accounts) as usize;
        group.bench_function(&label, |b| {
            b.iter_custom(|iters| complete_all(&v, &tenants, callers_each, iters, &mut round, &latencies))
        });
        report(&label, &latencies);
        drop(v);
        drop(db);
    }
    group.finish();
}

criterion_group!(benches, completions);
criterion_main!(benches);
