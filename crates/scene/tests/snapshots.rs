//! Hostile registry snapshots: states no operation could reach are refused with a
//! message naming what is wrong, and restoring allocates in proportion to the input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use shiren_catalog::{AccountId, Solution};
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

/// Scenes 1 (App), 2 (deleted), 3 (face comparison) of account 1; account 1 authorized
/// with object storage, account 2 without.
fn good() -> Value {
    let mut registry = InMemoryRegistry::default();
    let a = account(1);
    registry.create(new_scene(&a, "login", Solution::App), t0()).unwrap();
    registry.create(new_scene(&a, "gone", Solution::App), t0()).unwrap();
    registry.create(new_scene(&a, "compare", Solution::FaceComparison), t0()).unwrap();
    registry.delete(&a, SceneId::new(2)).unwrap();
    registry.authorize(&a, true);
    registry.authorize(&account(2), false);
    let value = serde_json::to_value(&registry).unwrap();
    assert_eq!(serde_json::from_value::<InMemoryRegistry>(value.clone()).unwrap(), registry);
    value
}

fn refused(tamper: impl FnOnce(&mut Value), message: &str) {
    let mut v = good();
    tamper(&mut v);
    let err = serde_json::from_value::<InMemoryRegistry>(v).expect_err(message).to_string();
    assert!(err.contains(message), "{err:?} should say {message:?}");
}

#[test]
fn scenes_that_break_their_solution_are_refused() {
    refused(|v| v["scenes"][0]["tab"] = json!("FACE_COMPARISON"), "scene 1 is filed under a tab");
    refused(
        |v| v["scenes"][1]["product"] = json!("ID_PRO"),
        "scene 3 has settings its solution does not allow",
    );
    refused(|v| v["scenes"][0]["storage"]["photo_count"] = json!(0), "stored photos must be 1–5");
    refused(|v| v["scenes"][0]["storage"]["video_seconds"] = json!(61), "at most 60 seconds");
    refused(|v| v["scenes"][0]["mini_program"] = json!("bad id"), "mini-program app ID `bad id`");
}

#[test]
fn refused_names_are_refused() {
    refused(
        |v| v["scenes"][0]["name"] = json!(""),
        "scene 1 has a name the rules refuse: scene name must not be empty",
    );
    refused(|v| v["scenes"][0]["name"] = json!("pay_login"), "may not contain `_`");
    refused(|v| v["scenes"][0]["name"] = json!(" login"), "leading or trailing white space");
    refused(|v| v["scenes"][0]["name"] = json!("x".repeat(21)), "21 characters");
    refused(|v| v["rules"]["max_chars"] = json!(3), "scene 1 has a name the rules refuse");
    refused(|v| v["scenes"][1]["tab"] = json!("REAL_PERSON"), "is filed under a tab");
    refused(
        |v| {
            v["scenes"][1]["name"] = json!("LOGIN");
            v["scenes"][1]["solution"] = json!("App");
            v["scenes"][1]["tab"] = json!("REAL_PERSON");
            v["scenes"][1]["product"] = json!("ID_PRO");
        },
        "scene 3 repeats the name `LOGIN`",
    );
}

#[test]
fn ids_never_handed_out_are_refused() {
    // Lowering next_id to a live scene's ID would hand that ID out again.
    refused(|v| v["next_id"] = json!(3), "scene 3 is outside the IDs handed out (1 up to 3)");
    refused(|v| v["next_id"] = json!(0), "next_id 0 is below first_id 1");
    refused(|v| v["first_id"] = json!(2), "scene 1 is outside the IDs handed out");
    refused(
        |v| {
            let first = v["scenes"][0].clone();
            v["scenes"].as_array_mut().unwrap().push(first);
        },
        "scene 1 appears twice",
    );
    // A restored registry keeps allocating above next_id, never an ID handed out.
    let mut v = good();
    v["next_id"] = json!(10);
    let mut registry: InMemoryRegistry = serde_json::from_value(v).unwrap();
    assert_eq!(
        registry.create(new_scene(&account(1), "new", Solution::App), t0()).unwrap().id,
        SceneId::new(10)
    );
}

#[test]
fn authorizations_authorize_could_not_make_are_refused() {
    refused(|v| v["authorizations"]["1"]["service"] = json!(false), "account `1` has an authorization");
    refused(
        |v| v["authorizations"]["2"]["bucket"] = json!("cn-shanghai-aliyun-cloudauth-1"),
        "account `2` has an authorization",
    );
}

#[test]
fn restoring_allocates_in_proportion_to_the_input() {
    // A few hundred bytes claiming a billion IDs handed out: the old slot vector
    // allocated one slot per ID (112 MiB at 2^20).
    for next_id in [1u64 << 20, 1 << 40, u64::MAX] {
        let snapshot = json!({
            "rules": {"max_chars": 20, "extra_chars": "-"},
            "first_id": 1,
            "next_id": next_id,
            "scenes": [],
            "authorizations": {}
        })
        .to_string();
        assert!(snapshot.len() < 200);
        let mut restored = None;
        let info = allocation_counter::measure(|| {
            restored = Some(serde_json::from_str::<InMemoryRegistry>(&snapshot).unwrap());
        });
        assert!(
            info.bytes_max < 16 * 1024,
            "{} bytes for a {}-byte snapshot",
            info.bytes_max,
            snapshot.len()
        );
        let mut registry = restored.unwrap();
        assert_eq!(registry.next_id(), SceneId::new(next_id));
        let created = registry.create(new_scene(&account(1), "a", Solution::App), t0());
        if next_id == u64::MAX {
            assert_eq!(created, Err(SceneError::IdsExhausted));
        } else {
            assert_eq!(created.unwrap().id, SceneId::new(next_id));
        }
    }
}

#[test]
fn error_messages_quote_hostile_input_briefly() {
    let mut registry = InMemoryRegistry::default();
    let mut mini = new_scene(&account(1), "mini", Solution::AlipayMiniProgram);
    mini.mini_program = Some(format!("\n[ERROR] forged{}", "!".repeat(1 << 20)));
    let err = registry.create(mini, t0()).unwrap_err();
    let message = err.to_string();
    assert!(message.len() < 200 && !message.contains('\n'), "{message}");
    assert!(message.contains("`\\n[ERROR] forged!!!") && message.contains("!…`"), "{message}");
    let bad = registry.create(new_scene(&account(1), "a\nb", Solution::App), t0()).unwrap_err();
    assert_eq!(
        bad.to_string(),
        "scene name may not contain `\\n`; use Chinese characters, letters, digits and `-`"
    );
    let mut v = good();
    v["scenes"][0]["name"] = json!("\u{1b}[31m".repeat(1 << 16));
    let err = serde_json::from_value::<InMemoryRegistry>(v).unwrap_err().to_string();
    assert!(err.len() < 200 && !err.contains('\u{1b}'), "{err}");
}
