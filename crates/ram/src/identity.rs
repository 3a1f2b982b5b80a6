//! Identities of one main account: RAM users, groups and roles, their policy
//! attachments (with the documented quotas), AccessKey records and login names.
//!
//! Owns who exists and what is attached. It never evaluates by itself: it hands out
//! the `PolicySet` of an identity, and `eval` decides. AccessKey *secrets* are not kept
//! here at all — an `AccessKey` is an id, a status and a creation time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::document::{ParseOptions, Policy, PolicyError};
use crate::eval::PolicySet;
use crate::login::{LoginName, LoginNameError};
use crate::password::PasswordHash;
use crate::system::shared_system_policy;

/// The documented limits, overridable for accounts with raised quotas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    /// Custom policies per account.
    pub custom_policies: usize,
    /// System policies attached to one user.
    pub user_system: usize,
    /// Custom policies attached to one user.
    pub user_custom: usize,
    /// System policies attached to one group or role.
    pub group_or_role_system: usize,
    /// Custom policies attached to one group or role.
    pub group_or_role_custom: usize,
    /// Groups one user may join.
    pub groups_per_user: usize,
    /// AccessKeys per user.
    pub access_keys_per_user: usize,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas {
            custom_policies: 1_500,
            user_system: 20,
            user_custom: 10,
            group_or_role_system: 20,
            group_or_role_custom: 5,
            groups_per_user: 5,
            access_keys_per_user: 2,
        }
    }
}

/// System (shipped) or custom (account-defined) policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PolicyType {
    /// Shipped with the service; see [`crate::SYSTEM_POLICIES`].
    System,
    /// Created by the account.
    Custom,
}

/// A reference to an attached policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicyRef {
    /// System or custom.
    pub kind: PolicyType,
    /// Policy name.
    pub name: String,
}

/// Whether an AccessKey may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessKeyStatus {
    /// Usable.
    Active,
    /// Disabled; requests signed with it are refused.
    Inactive,
}

/// An AccessKey record. The secret is deliberately not part of this type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    /// The AccessKey ID.
    pub id: String,
    /// Active or inactive.
    pub status: AccessKeyStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A RAM user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Unique (case-insensitive) user name.
    pub name: String,
    /// Attached policies.
    pub policies: BTreeSet<PolicyRef>,
    /// Groups the user belongs to (lower-cased names).
    pub groups: BTreeSet<String>,
    /// AccessKey records.
    pub access_keys: Vec<AccessKey>,
    /// The console login password's hash; `None`: the user cannot sign in to the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_password: Option<PasswordHash>,
}

/// A RAM group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Unique group name.
    pub name: String,
    /// Attached policies.
    pub policies: BTreeSet<PolicyRef>,
}

/// A RAM role: attached policies plus the trust policy saying who may assume it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Unique role name.
    pub name: String,
    /// Who may assume the role.
    pub trust: Arc<Policy>,
    /// Attached policies.
    pub policies: BTreeSet<PolicyRef>,
}

/// What a directory operation targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// A user, by name.
    User(&'a str),
    /// A group, by name.
    Group(&'a str),
    /// A role, by name.
    Role(&'a str),
}

/// Why a directory operation was refused; the directory is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// Nothing of that kind and name exists.
    #[error("{kind} `{name}` does not exist")]
    NotFound {
        /// `user`, `group`, `role`, `policy`, `AccessKey`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// The name is taken.
    #[error("{kind} `{name}` already exists")]
    AlreadyExists {
        /// What kind of thing.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A quota would be exceeded.
    #[error("quota exceeded: at most {limit} {what}")]
    QuotaExceeded {
        /// What is limited.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A name breaks the naming rules.
    #[error("invalid {kind} name `{name}`: {rule}")]
    InvalidName {
        /// What kind of name.
        kind: &'static str,
        /// The name.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A policy document was rejected.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A login name is malformed.
    #[error(transparent)]
    Login(#[from] LoginNameError),
    /// The login name's alias or domain is not this account's.
    #[error("`{0}` is not an alias or verified domain of this account")]
    ForeignDomain(String),
}

fn not_found(kind: &'static str, name: &str) -> DirectoryError {
    DirectoryError::NotFound { kind, name: name.to_owned() }
}

fn check_name(kind: &'static str, name: &str, max: usize) -> Result<(), DirectoryError> {
    let ok = (1..=max).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        let rule = if max == 128 {
            "1–128 characters of letters, digits, `.`, `_` and `-`"
        } else {
            "1–64 characters of letters, digits, `.`, `_` and `-`"
        };
        Err(DirectoryError::InvalidName { kind, name: name.to_owned(), rule })
    }
}

/// The identities of one main account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    account_id: String,
    account_alias: String,
    domain_aliases: BTreeSet<String>,
    quotas: Quotas,
    custom_policies: BTreeMap<String, Arc<Policy>>,
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
    roles: BTreeMap<String, Role>,
    /// The main account's console login password; `None`: it cannot sign in there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_password: Option<PasswordHash>,
}

/// Who a console sign-in named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignedIn {
    /// The main account itself (unrestricted by identity policies).
    MainAccount,
    /// A RAM user, by its canonical name.
    User(String),
}

/// Why a console sign-in was refused. Deliberately coarse: an unknown name, a user
/// without a password and a wrong password are the same refusal, so the answer does
/// not tell which names exist.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// The name is not a login name, the account ID or the account alias.
    #[error(transparent)]
    Name(#[from] LoginNameError),
    /// No such user, no password set, or the wrong password.
    #[error("the login name or the password is wrong")]
    Refused,
}

impl Directory {
    /// An empty directory for main account `account_id` with `account_alias`.
    pub fn new(account_id: &str, account_alias: &str, quotas: Quotas) -> Result<Directory, DirectoryError> {
        let probe = LoginName::parse(&format!("probe@{account_alias}"))?;
        if probe.account_alias().is_none() {
            return Err(DirectoryError::InvalidName {
                kind: "account alias",
                name: account_alias.to_owned(),
                rule: "3–32 lower-case letters, digits and `-`",
            });
        }
        Ok(Directory {
            account_id: account_id.to_owned(),
            account_alias: account_alias.to_owned(),
            domain_aliases: BTreeSet::new(),
            quotas,
            custom_policies: BTreeMap::new(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            account_password: None,
        })
    }

    /// The main account's ID.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The account alias (the `<alias>` of `user@<alias>.onaliyun.com`).
    pub fn account_alias(&self) -> &str {
        &self.account_alias
    }

    /// Sets (or replaces) the main account's console login password.
    pub fn set_account_password(&mut self, hash: PasswordHash) {
        self.account_password = Some(hash);
    }

    /// The verified domain aliases (`user@<domain-alias>` logins).
    pub fn domain_aliases(&self) -> impl Iterator<Item = &str> {
        self.domain_aliases.iter().map(String::as_str)
    }

    /// Whether the main account has a console login password.
    pub fn has_account_password(&self) -> bool {
        self.account_password.is_some()
    }

    /// Sets (or replaces) `user`'s console login password.
    pub fn set_login_password(&mut self, user: &str, hash: PasswordHash) -> Result<(), DirectoryError> {
        let record = self.users.get_mut(&user.to_ascii_lowercase()).ok_or_else(|| not_found("user", user))?;
        record.login_password = Some(hash);
        Ok(())
    }

    /// Checks a console sign-in. `name` is a RAM user's login name in any of its three
    /// forms, or — for the main account — the account ID or the account alias. A wrong
    /// name costs as much as a wrong password (a hash is checked either way).
    pub fn sign_in(&self, name: &str, password: &str) -> Result<SignedIn, SignInError> {
        let name = name.trim();
        if name == self.account_id || name.eq_ignore_ascii_case(&self.account_alias) {
            return match &self.account_password {
                Some(hash) if hash.verify(password) => Ok(SignedIn::MainAccount),
                _ => Err(SignInError::Refused),
            };
        }
        let login = LoginName::parse(name)?;
        let hash =
            self.resolve_login(&login).ok().and_then(|user| user.login_password.as_ref().map(|h| (user, h)));
        match hash {
            Some((user, hash)) if hash.verify(password) => Ok(SignedIn::User(user.name.clone())),
            Some(_) => Err(SignInError::Refused),
            None => {
                // Spend the time a real check would, so timing does not tell the names.
                let _ = PasswordHash::decoy().verify(password);
                Err(SignInError::Refused)
            }
        }
    }

    /// Adds a verified domain alias (e.g. `example.com`).
    pub fn add_domain_alias(&mut self, domain: &str) -> Result<(), DirectoryError> {
        let probe = LoginName::parse(&format!("probe@{domain}"))?;
        let Some(domain) = probe.domain_alias() else {
            return Err(DirectoryError::InvalidName {
                kind: "domain alias",
                name: domain.to_owned(),
                rule: "a domain name with at least one dot",
            });
        };
        self.domain_aliases.insert(domain.to_owned());
        Ok(())
    }

    /// Creates a RAM user.
    pub fn create_user(&mut self, name: &str) -> Result<&User, DirectoryError> {
        check_name("user", name, 64)?;
        let key = name.to_ascii_lowercase();
        if self.users.contains_key(&key) {
            return Err(DirectoryError::AlreadyExists { kind: "user", name: name.to_owned() });
        }
        Ok(self.users.entry(key).or_insert(User { name: name.to_owned(), ..User::default() }))
    }

    /// Creates a group.
    pub fn create_group(&mut self, name: &str) -> Result<&Group, DirectoryError> {
        check_name("group", name, 64)?;
        let key = name.to_ascii_lowercase();
        if self.groups.contains_key(&key) {
            return Err(DirectoryError::AlreadyExists { kind: "group", name: name.to_owned() });
        }
        Ok(self.groups.entry(key).or_insert(Group { name: name.to_owned(), policies: BTreeSet::new() }))
    }

    /// Creates a role with its trust policy.
    pub fn create_role(&mut self, name: &str, trust_policy: &str) -> Result<&Role, DirectoryError> {
        check_name("role", name, 64)?;
        let key = name.to_ascii_lowercase();
        if self.roles.contains_key(&key) {
            return Err(DirectoryError::AlreadyExists { kind: "role", name: name.to_owned() });
        }
        let trust = Arc::new(Policy::parse(&format!("{name}-trust"), trust_policy, &ParseOptions::trust())?);
        Ok(self.roles.entry(key).or_insert(Role { name: name.to_owned(), trust, policies: BTreeSet::new() }))
    }

    /// Creates a custom policy.
    pub fn create_policy(&mut self, name: &str, document: &str) -> Result<&Policy, DirectoryError> {
        check_name("policy", name, 128)?;
        if self.custom_policies.contains_key(name) {
            return Err(DirectoryError::AlreadyExists { kind: "policy", name: name.to_owned() });
        }
        if self.custom_policies.len() >= self.quotas.custom_policies {
            return Err(DirectoryError::QuotaExceeded {
                what: "custom policies per account",
                limit: self.quotas.custom_policies,
            });
        }
        let policy = Policy::parse(name, document, &ParseOptions::identity())?;
        Ok(self.custom_policies.entry(name.to_owned()).or_insert_with(|| Arc::new(policy)))
    }

    fn policy(&self, reference: &PolicyRef) -> Result<Arc<Policy>, DirectoryError> {
        match reference.kind {
            PolicyType::Custom => self
                .custom_policies
                .get(&reference.name)
                .cloned()
                .ok_or_else(|| not_found("policy", &reference.name)),
            PolicyType::System => match shared_system_policy(&reference.name) {
                Some(policy) => Ok(policy?),
                None => Err(not_found("system policy", &reference.name)),
            },
        }
    }

    fn attachments_mut(
        &mut self,
        target: Target<'_>,
    ) -> Result<(&mut BTreeSet<PolicyRef>, bool), DirectoryError> {
        match target {
            Target::User(name) => self
                .users
                .get_mut(&name.to_ascii_lowercase())
                .map(|u| (&mut u.policies, true))
                .ok_or_else(|| not_found("user", name)),
            Target::Group(name) => self
                .groups
                .get_mut(&name.to_ascii_lowercase())
                .map(|g| (&mut g.policies, false))
                .ok_or_else(|| not_found("group", name)),
            Target::Role(name) => self
                .roles
                .get_mut(&name.to_ascii_lowercase())
                .map(|r| (&mut r.policies, false))
                .ok_or_else(|| not_found("role", name)),
        }
    }

    /// Attaches a policy, enforcing the per-identity quotas. Attaching twice is a no-op.
    pub fn attach_policy(
        &mut self,
        target: Target<'_>,
        kind: PolicyType,
        name: &str,
    ) -> Result<(), DirectoryError> {
        let reference = PolicyRef { kind, name: name.to_owned() };
        self.policy(&reference)?;
        let quotas = self.quotas.clone();
        let (attached, is_user) = self.attachments_mut(target)?;
        if attached.contains(&reference) {
            return Ok(());
        }
        let count = attached.iter().filter(|r| r.kind == kind).count();
        let (limit, what) = match (kind, is_user) {
            (PolicyType::System, true) => (quotas.user_system, "system policies per user"),
            (PolicyType::Custom, true) => (quotas.user_custom, "custom policies per user"),
            (PolicyType::System, false) => (quotas.group_or_role_system, "system policies per group or role"),
            (PolicyType::Custom, false) => (quotas.group_or_role_custom, "custom policies per group or role"),
        };
        if count >= limit {
            return Err(DirectoryError::QuotaExceeded { what, limit });
        }
        attached.insert(reference);
        Ok(())
    }

    /// Detaches a policy; detaching one that is not attached is a no-op.
    pub fn detach_policy(
        &mut self,
        target: Target<'_>,
        kind: PolicyType,
        name: &str,
    ) -> Result<(), DirectoryError> {
        let (attached, _) = self.attachments_mut(target)?;
        attached.remove(&PolicyRef { kind, name: name.to_owned() });
        Ok(())
    }

    /// Adds a user to a group (at most five groups per user).
    pub fn add_user_to_group(&mut self, user: &str, group: &str) -> Result<(), DirectoryError> {
        let group_key = group.to_ascii_lowercase();
        if !self.groups.contains_key(&group_key) {
            return Err(not_found("group", group));
        }
        let limit = self.quotas.groups_per_user;
        let record = self.users.get_mut(&user.to_ascii_lowercase()).ok_or_else(|| not_found("user", user))?;
        if !record.groups.contains(&group_key) && record.groups.len() >= limit {
            return Err(DirectoryError::QuotaExceeded { what: "groups per user", limit });
        }
        record.groups.insert(group_key);
        Ok(())
    }

    /// Records a new, active AccessKey for `user`.
    pub fn create_access_key(
        &mut self,
        user: &str,
        id: &str,
        created_at: DateTime<Utc>,
    ) -> Result<&AccessKey, DirectoryError> {
        if self.access_key(id).is_some() {
            return Err(DirectoryError::AlreadyExists { kind: "AccessKey", name: id.to_owned() });
        }
        let limit = self.quotas.access_keys_per_user;
        let record = self.users.get_mut(&user.to_ascii_lowercase()).ok_or_else(|| not_found("user", user))?;
        if record.access_keys.len() >= limit {
            return Err(DirectoryError::QuotaExceeded { what: "AccessKeys per user", limit });
        }
        record.access_keys.push(AccessKey { id: id.to_owned(), status: AccessKeyStatus::Active, created_at });
        record.access_keys.last().ok_or_else(|| not_found("AccessKey", id))
    }

    /// Activates or deactivates an AccessKey.
    pub fn set_access_key_status(&mut self, id: &str, status: AccessKeyStatus) -> Result<(), DirectoryError> {
        let key = self
            .users
            .values_mut()
            .flat_map(|u| u.access_keys.iter_mut())
            .find(|k| k.id == id)
            .ok_or_else(|| not_found("AccessKey", id))?;
        key.status = status;
        Ok(())
    }

    /// The user owning AccessKey `id`, and the key record.
    pub fn access_key(&self, id: &str) -> Option<(&User, &AccessKey)> {
        self.users.values().find_map(|u| u.access_keys.iter().find(|k| k.id == id).map(|k| (u, k)))
    }

    /// A user by name (case-insensitive).
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(&name.to_ascii_lowercase())
    }

    /// Every user, by name.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// A role by name (case-insensitive).
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.get(&name.to_ascii_lowercase())
    }

    /// Resolves a login name in any of its three forms to the user.
    pub fn resolve_login(&self, login: &LoginName) -> Result<&User, DirectoryError> {
        let ours = match (login.account_alias(), login.domain_alias()) {
            (Some(alias), _) => alias == self.account_alias,
            (None, Some(domain)) => self.domain_aliases.contains(domain),
            (None, None) => false,
        };
        if !ours {
            return Err(DirectoryError::ForeignDomain(login.to_string()));
        }
        self.user(login.user()).ok_or_else(|| not_found("user", login.user()))
    }

    /// The identity policies of `user`: its own attachments ∪ those of its groups.
    pub fn user_policies(&self, user: &str) -> Result<PolicySet, DirectoryError> {
        let record = self.user(user).ok_or_else(|| not_found("user", user))?;
        let mut references: BTreeSet<&PolicyRef> = record.policies.iter().collect();
        for group in &record.groups {
            if let Some(g) = self.groups.get(group) {
                references.extend(g.policies.iter());
            }
        }
        let policies = references.into_iter().map(|r| self.policy(r)).collect::<Result<Vec<_>, _>>()?;
        Ok(PolicySet::new(policies))
    }

    /// The attached policies and the trust policy of `role`.
    pub fn role_policies(&self, role: &str) -> Result<(PolicySet, PolicySet), DirectoryError> {
        let record = self.role(role).ok_or_else(|| not_found("role", role))?;
        let policies = record.policies.iter().map(|r| self.policy(r)).collect::<Result<Vec<_>, _>>()?;
        Ok((PolicySet::new(policies), PolicySet::new([record.trust.clone()])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PASSWORD_SALT_BYTES;

    const SALT: [u8; PASSWORD_SALT_BYTES] = [3; PASSWORD_SALT_BYTES];

    fn directory() -> Directory {
        let mut d = Directory::new("1234567890123456", "corp", Quotas::default()).unwrap();
        d.add_domain_alias("example.com").unwrap();
        d.create_user("alice").unwrap();
        d.create_user("bob").unwrap();
        d.set_login_password("alice", PasswordHash::new("Alice-pass-1", &SALT).unwrap()).unwrap();
        d.set_account_password(PasswordHash::new("Root-pass-1", &SALT).unwrap());
        d
    }

    #[test]
    fn a_user_signs_in_with_each_login_form_and_the_main_account_by_id_or_alias() {
        let d = directory();
        for name in ["alice@corp.onaliyun.com", "alice@corp", "alice@example.com", "ALICE@Example.com"] {
            assert_eq!(d.sign_in(name, "Alice-pass-1"), Ok(SignedIn::User("alice".into())), "{name}");
        }
        for name in ["1234567890123456", "corp"] {
            assert_eq!(d.sign_in(name, "Root-pass-1"), Ok(SignedIn::MainAccount), "{name}");
            assert_eq!(d.sign_in(name, "Alice-pass-1"), Err(SignInError::Refused), "{name}");
        }
    }

    #[test]
    fn wrong_passwords_unknown_users_and_users_without_a_password_get_one_refusal() {
        let mut d = directory();
        for (name, password) in [
            ("alice@corp", "Alice-pass-2"),
            ("alice@corp", ""),
            ("carol@corp", "Alice-pass-1"),
            ("bob@corp", "Alice-pass-1"),
            ("alice@other", "Alice-pass-1"),
        ] {
            assert_eq!(d.sign_in(name, password), Err(SignInError::Refused), "{name}");
        }
        assert!(matches!(d.sign_in("alice", "Alice-pass-1"), Err(SignInError::Name(_))));
        assert!(d.set_login_password("carol", PasswordHash::new("Carol-pass-1", &SALT).unwrap()).is_err());
    }

    #[test]
    fn a_directory_stored_before_passwords_existed_still_loads_and_debug_hides_hashes() {
        let d = directory();
        let json = serde_json::to_value(&d).unwrap();
        let mut old = json.clone();
        old.as_object_mut().unwrap().remove("account_password");
        old["users"]["alice"].as_object_mut().unwrap().remove("login_password");
        let loaded: Directory = serde_json::from_value(old).unwrap();
        assert_eq!(loaded.sign_in("alice@corp", "Alice-pass-1"), Err(SignInError::Refused));
        let back: Directory = serde_json::from_value(json).unwrap();
        assert_eq!(back.sign_in("alice@corp", "Alice-pass-1"), Ok(SignedIn::User("alice".into())));
        let debug = format!("{d:?}");
        assert!(!debug.contains("$argon2id$"), "{debug}");
    }
}
