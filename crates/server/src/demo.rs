//! The demo tenant a fresh server starts with: one main account with a free traffic
//! pack and a funded balance, one scene per product the API serves, and three RAM users
//! — `kyc-service` (AliyunAntCloudAuthFullAccess), `auditor` (ReadOnlyAccess) and
//! `intern` (no policy: the console's "no permission" page) — the first two with an
//! AccessKey derived from the master key. Every user and the main account have a console
//! password, also derived from the master key (handed out in the demo file) and stored
//! only as an argon2id hash. Created once per database (idempotent across restarts and
//! processes), through the domain crates' own APIs.

use std::path::Path;

use chrono::{DateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use shiren_billing::{Biller, BillingConfig, Rounding};
use shiren_catalog::{AccountId, BillingZone, PACK_CATALOG, PackType, Pricing, ProductCode, Solution};
use shiren_meter::{Meter, SequentialIds};
use shiren_ram::{Directory, PASSWORD_SALT_BYTES, PasswordHash, PolicyType, Quotas, Target};
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
/// The RAM user with no policy at all.
const NO_POLICY_USER: &str = "intern";
/// The users with a console password.
const CONSOLE_USERS: [&str; 3] = [SERVICE_USER, READONLY_USER, NO_POLICY_USER];
/// The demo account's alias (`user@demo-bank`, `user@demo-bank.onaliyun.com`).
const ACCOUNT_ALIAS: &str = "demo-bank";
/// The demo account's verified domain alias (`user@demo-bank.example.com`).
const DOMAIN_ALIAS: &str = "demo-bank.example.com";

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
    /// Where the console is.
    console_url: String,
    /// The account alias and the verified domain alias of the RAM users' login names.
    account_alias: String,
    domain_alias: String,
    /// Console sign-ins: `main` (the account ID) and each RAM user (its default-domain
    /// login name), with the password.
    console_logins: std::collections::BTreeMap<String, ConsoleLogin>,
}

/// One console sign-in of the demo file.
#[derive(Serialize)]
struct ConsoleLogin {
    login_name: String,
    password: String,
}

impl std::fmt::Debug for ConsoleLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleLogin").field("login_name", &self.login_name).finish_non_exhaustive()
    }
}

/// An argon2id hash of `password` under a fresh random salt.
fn hash(password: &str) -> anyhow::Result<PasswordHash> {
    let salt: [u8; PASSWORD_SALT_BYTES] = rand::random();
    Ok(PasswordHash::new(password, &salt)?)
}

/// The demo's console passwords, hashed (each under a fresh salt).
struct Passwords {
    users: Vec<(&'static str, PasswordHash)>,
    account: PasswordHash,
}

fn passwords(master: &MasterKey, account: &AccountId) -> anyhow::Result<Passwords> {
    let users = CONSOLE_USERS
        .iter()
        .map(|user| Ok((*user, hash(&master.demo_password(account, Some(user)))?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Passwords { users, account: hash(&master.demo_password(account, None))? })
}

/// Whether the stored demo directory lacks the no-policy user or a console password.
fn incomplete(directory: &Directory) -> bool {
    directory.user(NO_POLICY_USER).is_none()
        || !directory.domain_aliases().any(|d| d == DOMAIN_ALIAS)
        || !directory.has_account_password()
        || CONSOLE_USERS.iter().any(|u| directory.user(u).is_some_and(|u| u.login_password.is_none()))
}

/// Gives the demo's users and main account their console passwords where they have
/// none (a directory stored before passwords existed), and adds the no-policy user.
fn complete(directory: &mut Directory, passwords: Passwords) -> Result<(), shiren_ram::DirectoryError> {
    if directory.user(NO_POLICY_USER).is_none() {
        directory.create_user(NO_POLICY_USER)?;
    }
    directory.add_domain_alias(DOMAIN_ALIAS)?;
    for (user, hash) in passwords.users {
        if directory.user(user).is_some_and(|u| u.login_password.is_none()) {
            directory.set_login_password(user, hash)?;
        }
    }
    if !directory.has_account_password() {
        directory.set_account_password(passwords.account);
    }
    Ok(())
}

/// The demo account's directory as stored: created once (with console passwords),
/// completed when an older one lacks them, then loaded. Hashes passwords only when it
/// writes them (argon2 is deliberately slow).
pub(crate) fn ensure_directory(
    store: &SqlStore,
    master: &MasterKey,
    now: DateTime<Utc>,
) -> anyhow::Result<(AccountId, Directory)> {
    let missing = || anyhow::anyhow!("the demo directory is missing");
    let account = AccountId::new(DEMO_ACCOUNT)?;
    let created = match store.directory(account)? {
        Some(_) => false,
        None => {
            let (_, mut directory) = directory(master, now)?;
            complete(&mut directory, passwords(master, &account)?)?;
            // `false`: another process created it meanwhile.
            store.create_directory(account, &directory)?
        }
    };
    if !created && incomplete(&store.directory(account)?.ok_or_else(missing)?) {
        let passwords = passwords(master, &account)?;
        store.update_directory(account, move |d| complete(d, passwords))?.ok_or_else(missing)??;
    }
    let directory = store.directory(account)?.ok_or_else(missing)?;
    Ok((account, directory))
}

/// The demo account's RAM directory: the same on every start.
fn directory(master: &MasterKey, created: DateTime<Utc>) -> anyhow::Result<(AccountId, Directory)> {
    let account = AccountId::new(DEMO_ACCOUNT)?;
    let mut directory = Directory::new(account.as_str(), ACCOUNT_ALIAS, Quotas::default())?;
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
    let alias = store.directory(account)?.map(|d| d.account_alias().to_owned()).unwrap_or_default();
    let mut console_logins = std::collections::BTreeMap::new();
    console_logins.insert(
        "main".to_owned(),
        ConsoleLogin {
            login_name: account.to_string(),
            password: master.demo_password(&account, None).to_string(),
        },
    );
    for user in CONSOLE_USERS {
        let login = ConsoleLogin {
            login_name: format!("{user}@{alias}{}", shiren_ram::DEFAULT_DOMAIN_SUFFIX),
            password: master.demo_password(&account, Some(user)).to_string(),
        };
        console_logins.insert(user.to_owned(), login);
    }
    let file = DemoFile {
        endpoint: endpoint.to_owned(),
        account: account.to_string(),
        access_key_id: service_id,
        access_key_secret: service_secret.to_string(),
        readonly_access_key_id: readonly_id,
        readonly_access_key_secret: readonly_secret.to_string(),
        scenes,
        console_url: format!("http://{endpoint}/console/"),
        account_alias: alias.clone(),
        domain_alias: DOMAIN_ALIAS.to_owned(),
        console_logins,
    };
    write_private(path, serde_json::to_string_pretty(&file)?.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use shiren_ram::SignedIn;
    use shiren_records::DigestKey;
    use shiren_store::StoreOptions;

    use super::*;

    fn store(dir: &Path) -> anyhow::Result<SqlStore> {
        let options = StoreOptions { digest_key: DigestKey::new([1; 32]), max_connections: 1 };
        Ok(SqlStore::open(&format!("sqlite://{}", dir.join("demo.db").display()), options)?)
    }

    #[test]
    fn a_directory_stored_before_console_passwords_gets_them_once() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("shiren-demo-directory-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let store = store(&dir)?;
        let master = MasterKey::from_hex(&"ab".repeat(32))?;
        let now = Utc::now();
        // What an older server stored: the users and keys, no passwords, no `intern`.
        let (account, old) = directory(&master, now)?;
        assert!(store.create_directory(account, &old)?);
        let (_, upgraded) = ensure_directory(&store, &master, now)?;
        let password = |user: Option<&str>| master.demo_password(&account, user).to_string();
        for user in CONSOLE_USERS {
            for name in [
                format!("{user}@{ACCOUNT_ALIAS}{}", shiren_ram::DEFAULT_DOMAIN_SUFFIX),
                format!("{user}@{ACCOUNT_ALIAS}"),
                format!("{user}@{DOMAIN_ALIAS}"),
            ] {
                assert_eq!(
                    upgraded.sign_in(&name, &password(Some(user))),
                    Ok(SignedIn::User(user.to_owned()))
                );
            }
        }
        assert_eq!(upgraded.sign_in(DEMO_ACCOUNT, &password(None)), Ok(SignedIn::MainAccount));
        // Idempotent: a restart keeps the stored hashes (no new salt, no rewrite).
        let (_, again) = ensure_directory(&store, &master, now)?;
        assert_eq!(again, upgraded);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
