//! The scene registry through its public API: every validation rule and error, the
//! authorization gate, account isolation, snapshots, a model-based property test and a
//! concurrency stress test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use shiren_catalog::{AccountId, CallCode, ProductCode, Solution, SolutionTab};
use shiren_scene::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

fn account(n: u64) -> AccountId {
    AccountId::new(&n.to_string()).unwrap()
}

fn new_scene(account: &AccountId, name: &str, solution: Solution) -> NewScene {
    NewScene {
        account: *account,
        name: name.into(),
        solution,
        product: solution.products()[0],
        storage: PhotoStorage::DEFAULT,
        mini_program: None,
    }
}

macro_rules! name_rule {
    ($($test:ident: $name:expr => $expected:expr;)*) => {$(
        #[test]
        fn $test() {
            let mut registry = InMemoryRegistry::default();
            let result = registry.create(new_scene(&account(1), $name, Solution::App), t0()).map(|s| s.name);
            assert_eq!(result, $expected);
        }
    )*};
}

name_rule! {
    empty_name: "" => Err(SceneError::EmptyName);
    blank_name: "   " => Err(SceneError::EmptyName);
    trimmed_name: "  支付  " => Ok("支付".to_string());
    twenty_chars_ok: "一二三四五六七八九十abcdefghij" => Ok("一二三四五六七八九十abcdefghij".to_string());
    twenty_one_chars: "一二三四五六七八九十abcdefghijk" => Err(SceneError::NameTooLong { chars: 21, max: 20 });
    underscore_refused: "pay_login" => Err(SceneError::NameCharacter { character: '_', allowed: "-".into() });
    space_inside_refused: "pay login" => Err(SceneError::NameCharacter { character: ' ', allowed: "-".into() });
    emoji_refused: "pay😀" => Err(SceneError::NameCharacter { character: '😀', allowed: "-".into() });
    hyphen_ok: "pay-login-2" => Ok("pay-login-2".to_string());
}

#[test]
fn empty_name_message_is_the_consoles() {
    assert_eq!(SceneError::EmptyName.to_string(), "scene name must not be empty");
    assert_eq!(SceneError::EmptyName.call_code(), CallCode::InvalidParameter);
}

#[test]
fn configurable_name_rules() {
    let mut registry = InMemoryRegistry::new(NameRules { max_chars: 5, extra_chars: "-_".into() }, 1000);
    let scene = registry.create(new_scene(&account(1), "a_b", Solution::App), t0()).unwrap();
    assert_eq!(scene.id, SceneId::new(1000));
    assert_eq!(
        registry.create(new_scene(&account(1), "abcdef", Solution::App), t0()),
        Err(SceneError::NameTooLong { chars: 6, max: 5 })
    );
}

#[test]
fn names_unique_per_account_and_tab_ignoring_case() {
    let mut registry = InMemoryRegistry::default();
    let a = account(1);
    registry.create(new_scene(&a, "Login", Solution::App), t0()).unwrap();
    assert_eq!(
        registry.create(new_scene(&a, "login", Solution::H5), t0()),
        Err(SceneError::DuplicateName("login".into())),
        "App and H5 share the real-person tab"
    );
    registry.create(new_scene(&a, "login", Solution::FaceComparison), t0()).unwrap();
    registry.create(new_scene(&account(2), "LOGIN", Solution::App), t0()).unwrap();
}

#[test]
fn settings_are_validated() {
    let mut registry = InMemoryRegistry::default();
    let a = account(1);
    let mut bad = new_scene(&a, "x", Solution::App);
    bad.product = ProductCode::PvFc;
    assert_eq!(
        registry.create(bad, t0()),
        Err(SceneError::ProductNotInSolution { product: ProductCode::PvFc, solution: Solution::App })
    );
    for (count, seconds, expected) in [
        (0, 0, Some(SceneError::PhotoCount(0))),
        (6, 0, Some(SceneError::PhotoCount(6))),
        (5, 61, Some(SceneError::VideoSeconds(61))),
        (5, 60, None),
    ] {
        let mut scene = new_scene(&a, &format!("s{count}{seconds}"), Solution::App);
        scene.storage = PhotoStorage { store_image: true, photo_count: count, video_seconds: seconds };
        assert_eq!(registry.create(scene, t0()).err(), expected);
    }
    let mut mini = new_scene(&a, "mini", Solution::AlipayMiniProgram);
    mini.mini_program = Some("2021-bad".into());
    assert_eq!(registry.create(mini.clone(), t0()), Err(SceneError::MiniProgram("2021-bad".into())));
    mini.mini_program = Some("2021001234567890".into());
    assert_eq!(registry.create(mini, t0()).unwrap().mini_program.as_deref(), Some("2021001234567890"));
}

#[test]
fn ids_are_monotonic_and_never_reused() {
    let mut registry = InMemoryRegistry::default();
    let a = account(1);
    let first = registry.create(new_scene(&a, "a", Solution::App), t0()).unwrap().id;
    let second = registry.create(new_scene(&a, "b", Solution::App), t0()).unwrap().id;
    registry.delete(&a, second).unwrap();
    let third = registry.create(new_scene(&a, "b", Solution::App), t0()).unwrap().id;
    assert!(first < second && second < third);
    assert_eq!(registry.get(&a, second), Err(SceneError::NotFound(second)));
    assert_eq!(registry.delete(&a, second), Err(SceneError::NotFound(second)));
}

#[test]
fn operations_update_times_and_fields() {
    let mut registry = InMemoryRegistry::default();
    let a = account(1);
    let id = registry.create(new_scene(&a, "a", Solution::App), t0()).unwrap().id;
    let later = t0() + Duration::hours(1);
    let renamed = registry.rename(&a, id, " 新名字 ", later).unwrap();
    assert_eq!((renamed.name.as_str(), renamed.created_at, renamed.updated_at), ("新名字", t0(), later));
    let storage = PhotoStorage { store_image: false, photo_count: 3, video_seconds: 10 };
    assert_eq!(registry.update_storage(&a, id, storage, later).unwrap().storage, storage);
    assert_eq!(
        registry.set_status(&a, id, SceneStatus::Disabled, later).unwrap().status,
        SceneStatus::Disabled
    );
    // Renaming to its own name (another case) is allowed; to a sibling's name is not.
    registry.rename(&a, id, "新名字", later).unwrap();
    registry.create(new_scene(&a, "other", Solution::App), t0()).unwrap();
    assert_eq!(registry.rename(&a, id, "OTHER", later), Err(SceneError::DuplicateName("OTHER".into())));
    assert_eq!(registry.rename(&a, id, "", later), Err(SceneError::EmptyName));
}

#[test]
fn accounts_never_see_each_other() {
    let mut registry = InMemoryRegistry::default();
    let (a, b) = (account(1), account(2));
    let id = registry.create(new_scene(&a, "mine", Solution::App), t0()).unwrap().id;
    registry.authorize(&b, true);
    assert_eq!(registry.get(&b, id), Err(SceneError::NotFound(id)));
    assert_eq!(registry.rename(&b, id, "x", t0()), Err(SceneError::NotFound(id)));
    assert_eq!(registry.delete(&b, id), Err(SceneError::NotFound(id)));
    assert_eq!(registry.usable(&b, id), Err(Unusable::NotFound(id)));
    assert_eq!(registry.usable(&b, id).unwrap_err().call_code(), CallCode::SceneNotFound);
    assert!(registry.list(&b, None).is_empty());
    assert_eq!(registry.list(&a, None).len(), 1);
}

#[test]
fn list_by_tab_in_creation_order() {
    let mut registry = InMemoryRegistry::default();
    let a = account(1);
    for (name, solution) in
        [("c", Solution::App), ("a", Solution::FaceComparison), ("b", Solution::ServerSide)]
    {
        registry.create(new_scene(&a, name, solution), t0()).unwrap();
    }
    let names = |tab| registry.list(&a, tab).into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names(None), ["c", "a", "b"]);
    assert_eq!(names(Some(SolutionTab::RealPerson)), ["c", "b"]);
    assert_eq!(names(Some(SolutionTab::LivenessDetection)), Vec::<String>::new());
}

#[test]
fn authorization_gate() {
    let mut registry = InMemoryRegistry::default();
    let a = account(1234567890);
    let photos = registry.create(new_scene(&a, "app", Solution::App), t0()).unwrap().id;
    let server = registry.create(new_scene(&a, "server", Solution::ServerSide), t0()).unwrap().id;
    assert_eq!(registry.usable(&a, photos), Err(Unusable::ServiceNotAuthorized));
    assert_eq!(registry.usable(&a, photos).unwrap_err().call_code(), CallCode::NotActivated);

    registry.authorize(&a, false);
    assert!(registry.usable(&a, server).is_ok(), "server-side stores no photos");
    assert_eq!(
        registry.usable(&a, photos),
        Err(Unusable::ObjectStorageMissing("cn-shanghai-aliyun-cloudauth-1234567890".into()))
    );
    let auth = registry.authorize(&a, true);
    assert_eq!(auth.bucket.as_deref(), Some("cn-shanghai-aliyun-cloudauth-1234567890"));
    assert!(registry.usable(&a, photos).is_ok());

    registry.delete_bucket(&a);
    assert!(matches!(registry.usable(&a, photos), Err(Unusable::ObjectStorageMissing(_))));
    assert!(registry.usable(&a, server).is_ok());
    registry.authorize(&a, true);
    registry.set_status(&a, photos, SceneStatus::Disabled, t0()).unwrap();
    assert_eq!(registry.usable(&a, photos), Err(Unusable::Disabled(photos)));
    registry.revoke_authorization(&a);
    assert_eq!(registry.usable(&a, server), Err(Unusable::ServiceNotAuthorized));
}

#[test]
fn snapshot_round_trip_is_byte_identical_and_keeps_the_id_counter() {
    let mut registry = InMemoryRegistry::new(NameRules::default(), 1_000_000);
    let a = account(7);
    for i in 0..5 {
        registry.create(new_scene(&a, &format!("s{i}"), Solution::App), t0()).unwrap();
    }
    registry.delete(&a, SceneId::new(1_000_004)).unwrap();
    registry.authorize(&a, true);
    let json = serde_json::to_string(&registry).unwrap();
    let mut back: InMemoryRegistry = serde_json::from_str(&json).unwrap();
    assert_eq!(back, registry);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert_eq!(back.create(new_scene(&a, "s4", Solution::App), t0()).unwrap().id, SceneId::new(1_000_005));
}

#[test]
fn corrupt_snapshots_are_rejected() {
    let mut registry = InMemoryRegistry::default();
    registry.create(new_scene(&account(1), "a", Solution::App), t0()).unwrap();
    let mut value = serde_json::to_value(&registry).unwrap();
    value["next_id"] = serde_json::json!(1);
    assert!(serde_json::from_value::<InMemoryRegistry>(value.clone()).is_err());
    value["next_id"] = serde_json::json!(0);
    assert!(serde_json::from_value::<InMemoryRegistry>(value).is_err());
    for garbage in ["", "{}", "[]", "{\"rules\":1}", "null"] {
        assert!(serde_json::from_str::<InMemoryRegistry>(garbage).is_err());
    }
}

#[test]
fn concurrent_creators_get_distinct_ids_and_lose_nothing() {
    let registry = Arc::new(Mutex::new(InMemoryRegistry::default()));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let registry = Arc::clone(&registry);
            std::thread::spawn(move || {
                let a = account(t + 1);
                (0..500)
                    .map(|i| {
                        registry
                            .lock()
                            .unwrap()
                            .create(new_scene(&a, &format!("s{i}"), Solution::App), t0())
                            .unwrap()
                            .id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<SceneId> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4_000);
    let registry = registry.lock().unwrap();
    assert_eq!(registry.len(), 4_000);
    assert_eq!(registry.list(&account(3), None).len(), 500);
}

// ---- Model-based property test ----------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Create { account: u64, name: usize, solution: usize },
    Rename { account: u64, id: u64, name: usize },
    Disable { account: u64, id: u64 },
    Delete { account: u64, id: u64 },
}

const NAMES: &[&str] = &["a", "A", "b", "登录", "", "bad name", "c-1"];
const SOLUTIONS: &[Solution] = &[Solution::App, Solution::H5, Solution::FaceComparison];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..3u64, 0..NAMES.len(), 0..SOLUTIONS.len()).prop_map(|(account, name, solution)| Op::Create {
            account,
            name,
            solution
        }),
        (1..3u64, 1..12u64, 0..NAMES.len()).prop_map(|(account, id, name)| Op::Rename { account, id, name }),
        (1..3u64, 1..12u64).prop_map(|(account, id)| Op::Disable { account, id }),
        (1..3u64, 1..12u64).prop_map(|(account, id)| Op::Delete { account, id }),
    ]
}

/// The model: id → (account, tab, name, enabled).
type Model = BTreeMap<u64, (u64, SolutionTab, String, bool)>;

fn model_name_free(model: &Model, account: u64, tab: SolutionTab, name: &str, except: u64) -> bool {
    !model.iter().any(|(&id, (a, t, n, _))| {
        id != except && *a == account && *t == tab && n.to_lowercase() == name.to_lowercase()
    })
}

proptest! {
    #[test]
    fn registry_matches_a_btreemap_model(ops in prop::collection::vec(op(), 0..40)) {
        let mut registry = InMemoryRegistry::default();
        let mut model = Model::new();
        let mut next = 1u64;
        for op in ops {
            let before = registry.clone();
            let ok = match op {
                Op::Create { account: acc, name, solution } => {
                    let name = NAMES[name];
                    let tab = SOLUTIONS[solution].facts().tab;
                    let valid = !name.is_empty() && !name.contains(' ');
                    let expect = valid && model_name_free(&model, acc, tab, name, 0);
                    let got = registry.create(new_scene(&account(acc), name, SOLUTIONS[solution]), t0());
                    prop_assert_eq!(got.is_ok(), expect);
                    if expect {
                        prop_assert_eq!(got.unwrap().id, SceneId::new(next));
                        model.insert(next, (acc, tab, name.to_string(), true));
                        next += 1;
                    }
                    expect
                }
                Op::Rename { account: acc, id, name } => {
                    let name = NAMES[name];
                    let valid = !name.is_empty() && !name.contains(' ');
                    let expect = match model.get(&id) {
                        Some((a, tab, _, _)) if *a == acc => valid && model_name_free(&model, acc, *tab, name, id),
                        _ => false,
                    };
                    prop_assert_eq!(registry.rename(&account(acc), SceneId::new(id), name, t0()).is_ok(), expect);
                    if expect { model.get_mut(&id).unwrap().2 = name.to_string(); }
                    expect
                }
                Op::Disable { account: acc, id } => {
                    let expect = model.get(&id).is_some_and(|m| m.0 == acc);
                    prop_assert_eq!(registry.set_status(&account(acc), SceneId::new(id), SceneStatus::Disabled, t0()).is_ok(), expect);
                    if expect { model.get_mut(&id).unwrap().3 = false; }
                    expect
                }
                Op::Delete { account: acc, id } => {
                    let expect = model.get(&id).is_some_and(|m| m.0 == acc);
                    prop_assert_eq!(registry.delete(&account(acc), SceneId::new(id)).is_ok(), expect);
                    if expect { model.remove(&id); }
                    expect
                }
            };
            if !ok {
                prop_assert_eq!(&registry, &before, "a failed operation changed the registry");
            }
        }
        // The registry's contents equal the model's.
        let mut seen = Model::new();
        for acc in 1..3u64 {
            for s in registry.list(&account(acc), None) {
                seen.insert(s.id.get(), (acc, s.tab, s.name.clone(), s.status == SceneStatus::Enabled));
            }
        }
        prop_assert_eq!(seen, model);
        prop_assert_eq!(registry.next_id(), SceneId::new(next));
        // Every reachable state passes the snapshot checks and restores to itself.
        let back: InMemoryRegistry = serde_json::from_str(&serde_json::to_string(&registry).unwrap()).unwrap();
        prop_assert_eq!(back, registry);
    }
}
