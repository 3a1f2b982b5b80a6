//! The main accounts this process serves: each one's RAM directory (users, policies,
//! AccessKey records) with the secrets derived from the master key, indexed by
//! AccessKey ID. Answers the two questions of the domain crates' seams —
//! [`AccessKeys`] (whose key is this, and its secret) and [`Permissions`] (may this
//! requester call this action) — by delegating to `shiren-auth` and `shiren-verify`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use shiren_auth::{AccessKeys, ActiveKey, AuthError, DirectoryKeys, Quoted, SecretVault};
use shiren_catalog::AccountId;
use shiren_ram::{Directory, SignedIn};
use shiren_verify::{DirectoryPermissions, Permissions, Requester};

use crate::keys::MasterKey;

/// One main account's directory, compiled.
#[derive(Debug)]
struct Tenant {
    directory: Directory,
    vault: SecretVault,
    permissions: DirectoryPermissions,
}

/// Every served account, by account ID and by AccessKey ID.
#[derive(Debug, Default)]
pub(crate) struct Tenants {
    accounts: HashMap<AccountId, Tenant>,
    by_key: HashMap<String, AccountId>,
}

impl Tenants {
    /// Adds or replaces `account`'s directory, deriving its keys' secrets.
    pub(crate) fn insert(&mut self, account: AccountId, directory: Directory, master: &MasterKey) {
        if let Some(old) = self.accounts.remove(&account) {
            for user in old.directory.users() {
                for key in &user.access_keys {
                    self.by_key.remove(&key.id);
                }
            }
        }
        let mut vault = SecretVault::default();
        for user in directory.users() {
            for key in &user.access_keys {
                vault.insert(&key.id, master.access_key_secret(&key.id));
                self.by_key.insert(key.id.clone(), account);
            }
        }
        let permissions = DirectoryPermissions::new(account, &directory);
        self.accounts.insert(account, Tenant { directory, vault, permissions });
    }

    /// The account and identity a console sign-in names, when the password is right
    /// (`shiren_ram::Directory::sign_in` decides; every refusal looks the same).
    pub(crate) fn sign_in(&self, name: &str, password: &str) -> Option<(AccountId, SignedIn)> {
        self.accounts.iter().find_map(|(account, tenant)| {
            tenant.directory.sign_in(name, password).ok().map(|who| (*account, who))
        })
    }

    /// The main account an AccessKey belongs to.
    pub(crate) fn account_of(&self, access_key_id: &str) -> Option<AccountId> {
        self.by_key.get(access_key_id).copied()
    }
}

impl AccessKeys for Tenants {
    fn active_key(&self, access_key_id: &str) -> Result<ActiveKey<'_>, AuthError> {
        let tenant = self
            .by_key
            .get(access_key_id)
            .and_then(|account| self.accounts.get(account))
            .ok_or_else(|| AuthError::AccessKeyNotFound(Quoted::new(access_key_id)))?;
        DirectoryKeys { directory: &tenant.directory, vault: &tenant.vault }.find(access_key_id)
    }
}

/// [`Tenants`] shared between the HTTP handlers and the verifier's permission check.
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedTenants(pub(crate) Arc<RwLock<Tenants>>);

impl Permissions for SharedTenants {
    fn allows(&self, requester: &Requester, action: &str, now: DateTime<Utc>) -> bool {
        // A poisoned lock denies: a decision that cannot be made is a refusal.
        let Ok(tenants) = self.0.read() else { return false };
        tenants.accounts.get(&requester.account).is_some_and(|t| t.permissions.allows(requester, action, now))
    }
}
