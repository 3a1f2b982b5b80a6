//! Scene registry benches: lookup by ID among 100,000 scenes (by reference and through
//! the trait, which clones), `usable`, and create (1,000 creates per iteration).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs, reason = "benchmark harness")]

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shiren::catalog::{AccountId, ProductCode, Solution};
use shiren::scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneId, SceneRegistry};

fn new_scene(account: &AccountId, i: usize) -> NewScene {
    NewScene {
        account: *account,
        name: format!("scene-{i}"),
        solution: Solution::App,
        product: ProductCode::IdPro,
        storage: PhotoStorage::DEFAULT,
        mini_program: None,
    }
}

fn registry_with(n: usize) -> (InMemoryRegistry, Vec<AccountId>) {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
    let accounts: Vec<AccountId> =
        (0..100).map(|a| AccountId::new(&(1_000 + a).to_string()).unwrap()).collect();
    let mut registry = InMemoryRegistry::new(Default::default(), 1_000_000_000);
    for i in 0..n {
        registry.create(new_scene(&accounts[i % accounts.len()], i), now).unwrap();
    }
    for a in &accounts {
        registry.authorize(a, true);
    }
    (registry, accounts)
}

fn lookup(c: &mut Criterion) {
    let (registry, accounts) = registry_with(100_000);
    let id = SceneId::new(1_000_000_000 + 54_321);
    let owner = &accounts[54_321 % accounts.len()];
    assert!(registry.scene(owner, id).is_some());
    assert!(registry.usable(owner, id).is_ok());
    let mut group = c.benchmark_group("scene");
    group.bench_function("lookup_by_id_100k_ref", |b| {
        b.iter(|| registry.scene(black_box(owner), black_box(id)).is_some())
    });
    group.bench_function("get_by_id_100k_trait_clone", |b| {
        b.iter(|| registry.get(black_box(owner), black_box(id)))
    });
    group.bench_function("usable_100k", |b| b.iter(|| registry.usable(black_box(owner), black_box(id))));
    group.finish();
}

fn create(c: &mut Criterion) {
    let account = AccountId::new("42").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    c.bench_function("scene/create_1000_fresh", |b| {
        b.iter_batched(
            || (0..1_000).map(|i| new_scene(&account, i)).collect::<Vec<_>>(),
            |scenes| {
                let mut r = InMemoryRegistry::default();
                for s in scenes {
                    r.create(s, now).unwrap();
                }
                r.len()
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, lookup, create);
criterion_main!(benches);
