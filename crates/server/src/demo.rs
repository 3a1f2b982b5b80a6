//! The demo tenant a fresh server starts with: one main account with a free traffic
//! pack and a funded balance, one scene per product the API serves, and two RAM users
//! — `kyc-service` (AliyunAntCloudAuthFullAccess) and `auditor` (ReadOnlyAccess) —
//! each with an AccessKey derived from the master key. Created once per database
//! (idempotent across restarts and processes), through the domain crates' own APIs.

use std::path::Path;

use chrono::{DateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use shiren_billing::{Biller, BillingConfig, Rounding};
use shiren_catalog::{AccountId, BillingZone, PACK_CATALOG, PackType, Pricing, ProductCode, Solution};
use shiren_meter::{Meter, SequentialIds};
use shiren_ram::{Directory, PolicyType, Quotas, Target};
use shiren_scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneRegistry};
use shiren_store::{AccountState, SqlStore};
use shiren_verify::{LedgerError, StoreError};

use crate::keys::{MasterKey, write_private};

/// The demo main account.
pub(crate) const DEMO_ACCOUNT: &str = "1234567890123456";
/// The RAM user with full access to the verification API.
const SERVICE_USER: &str = "kyc-service";
/// The RAM user who may only read.
const READONLY_USER: &str = "auditor";

/// The scenes: (product, solution, name).
const SCENES: [(ProductCode, Solution, &str); 5] = [
    (ProductCode::IdPro, Solution::App, "account-opening"),
    (ProductCode::PvFv, Solution::LivenessFaceVerification, "face-login"),
    (ProductCode::IdMin, Solution::ServerSide, "server-check"),
    (ProductCode::PvFc, Solution::FaceComparison, "photo-check"),
    (ProductCode::LrFrMin, Solution::LivenessDetection, "liveness-only"),
];

/// What `--demo-file` holds (owner-only: it carries secrets).
#[derive(Debug, Serialize)]
pub(crate) struct DemoFile {
    endpoint: String,
    account: String,
    access_key_id: String,
    access_key_secret: String,
    readonly_access_key_id: String,
    readonly_access_key_secret: String,
    scenes: std::collections::BTreeMap<String, u64>,
}

/// The demo account's RAM directory: the same on every start.
pub(crate) fn directory(
    master: &MasterKey,
    created: DateTime<Utc>,
) -> anyhow::Result<(AccountId, Directory)> {
    let account = AccountId::new(DEMO_ACCOUNT)?;
    let mut directory = Directory::new(account.as_str(), "demo-bank", Quotas::default())?;
    for (user, policies) in [
        (
            SERVICE_USER,
            &[
                "AliyunAntCloudAuthFullAccess",
                "AliyunAntCloudAuthReadOnlyAccess",
                "AliyunYundunCloudAuthFullAccess",
            ][..],
        ),
        (READONLY_USER, &["AliyunAntCloudAuthReadOnlyAccess", "AliyunYundunCloudAuthReadOnlyAccess"][..]),
    ] {
        directory.create_user(user)?;
        for policy in policies {
            directory.attach_policy(Target::User(user), PolicyType::System, policy)?;
        }
        directory.create_access_key(user, &master.access_key_id(&account, user), created)?;
    }
    Ok((account, directory))
}

/// The demo account's packs, bills and scenes, as first created.
fn initial_state(account: AccountId, now: DateTime<Utc>) -> anyhow::Result<AccountState> {
    let zone = BillingZone::CHINA;
    let issue = NaiveTime::from_hms_opt(10, 0, 0).ok_or_else(|| anyhow::anyhow!("10:00"))?;
    let mut biller = Biller::new(BillingConfig::new(zone, issue, Rounding::TowardZero, zone.day_of(now))?);
    biller.open_account(&account, Pricing::list())?;
    biller.top_up(&account, Decimal::from(100_000), now)?;
    let mut meter = Meter::new(zone, PACK_CATALOG.to_vec());
    meter.purchase(&account, PackType::RealPerson, 100, Decimal::ZERO, now, &mut SequentialIds::default())?;
    let mut scenes = InMemoryRegistry::default();
    for (product, solution, name) in SCENES {
        let new = NewScene {
            account,
            name: name.to_owned(),
            solution,
            product,
            storage: PhotoStorage::DEFAULT,
            mini_program: None,
        };
        scenes.create(new, now)?;
    }
    scenes.authorize(&account, true);
    Ok(AccountState { meter, biller, scenes })
}

/// Makes sure the demo account exists; `true` when this call created it.
pub(crate) fn ensure_account(store: &SqlStore, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let account = AccountId::new(DEMO_ACCOUNT)?;
    if store.account(account)?.is_some() {
        return Ok(false);
    }
    match store.create_account(account, initial_state(account, now)?) {
        Ok(()) => Ok(true),
        // Another process created it meanwhile.
        Err(StoreError::Ledger(LedgerError::Billing(_))) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Writes the demo file for `endpoint` (host:port).
pub(crate) fn write_file(
    path: &Path,
    store: &SqlStore,
    master: &MasterKey,
    endpoint: &str,
) -> anyhow::Result<()> {
    let account = AccountId::new(DEMO_ACCOUNT)?;
    let state = store.account(account)?.ok_or_else(|| anyhow::anyhow!("the demo account is missing"))?;
    let scenes = state
        .scenes
        .list(&account, None)
        .into_iter()
        .map(|scene| (scene.product.to_string(), scene.id.get()))
        .collect();
    let key = |user: &str| {
        let id = master.access_key_id(&account, user);
        let secret = master.access_key_secret_text(&id);
        (id, secret)
    };
    let (service_id, service_secret) = key(SERVICE_USER);
    let (readonly_id, readonly_secret) = key(READONLY_USER);
    let file = DemoFile {
        endpoint: endpoint.to_owned(),
        account: account.to_string(),
        access_key_id: service_id,
        access_key_secret: service_secret.to_string(),
        readonly_access_key_id: readonly_id,
        readonly_access_key_secret: readonly_secret.to_string(),
        scenes,
    };
    write_private(path, serde_json::to_string_pretty(&file)?.as_bytes())?;
    Ok(())
}
