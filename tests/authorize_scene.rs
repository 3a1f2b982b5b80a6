//! Cross-crate stories through the facade only: a RAM user's policies decide which
//! scene operations it may call, and the scene registry then decides whether the scene
//! is usable — each refusal surfacing as the API's call code.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::{TimeZone, Utc};
use shiren::catalog::{AccountId, CallCode, ProductCode, Solution};
use shiren::ram::{Decision, Directory, PolicyType, Quotas, Request, Scope, Target};
use shiren::scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneRegistry};

/// What a service would answer before touching a scene: 411 unless RAM allows.
fn gate(directory: &Directory, user: &str, action: &str) -> Result<(), CallCode> {
    let policies = directory.user_policies(user).map_err(|_| CallCode::RamPermissionDenied)?;
    let decision = policies.evaluate(Scope::Identity, &Request::new(action, "*")).decision();
    if decision == Decision::Allow { Ok(()) } else { Err(CallCode::RamPermissionDenied) }
}

#[test]
fn read_only_auditor_and_full_access_operator() {
    let account = AccountId::new("1234567890").unwrap();
    let mut directory = Directory::new(account.as_str(), "bank", Quotas::default()).unwrap();
    directory.create_user("auditor").unwrap();
    directory.create_user("operator").unwrap();
    directory
        .attach_policy(Target::User("auditor"), PolicyType::System, "AliyunAntCloudAuthReadOnlyAccess")
        .unwrap();
    directory
        .attach_policy(Target::User("operator"), PolicyType::System, "AliyunAntCloudAuthFullAccess")
        .unwrap();

    let mut scenes = InMemoryRegistry::default();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();

    assert_eq!(
        gate(&directory, "auditor", "antcloudauth:CreateAntCloudAuthScene"),
        Err(CallCode::RamPermissionDenied)
    );
    assert_eq!(CallCode::RamPermissionDenied.code(), 411);
    gate(&directory, "operator", "antcloudauth:CreateAntCloudAuthScene").unwrap();
    let scene = scenes
        .create(
            NewScene {
                account,
                name: "开户".into(),
                solution: Solution::App,
                product: ProductCode::IdPro,
                storage: PhotoStorage::DEFAULT,
                mini_program: None,
            },
            now,
        )
        .unwrap();

    gate(&directory, "auditor", "antcloudauth:DescribeListAntCloudAuthScenes").unwrap();
    assert_eq!(scenes.list(&account, None).len(), 1);

    gate(&directory, "operator", "antcloudauth:InitFaceVerify").unwrap();
    let refused = scenes.usable(&account, scene.id).unwrap_err();
    assert_eq!(refused.call_code(), CallCode::NotActivated);
    scenes.authorize(&account, true);
    assert_eq!(scenes.usable(&account, scene.id).unwrap().name, "开户");

    let stranger = AccountId::new("999").unwrap();
    assert_eq!(scenes.usable(&stranger, scene.id).unwrap_err().call_code(), CallCode::SceneNotFound);
}
