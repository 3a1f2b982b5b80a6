//! The `SceneRegistry` trait and its in-memory implementation, the embedded default.
//!
//! Every operation names the calling account; a scene of another account is reported
//! as not found, so one account can never see or touch another's scenes. A failed
//! operation leaves the registry unchanged.
//!
//! Thread-safety: mutation takes `&mut self`; share a registry between threads behind
//! the caller's lock (`Mutex<InMemoryRegistry>` or `RwLock`). The registry holds no
//! lock of its own, so lookups under a read lock stay a few nanoseconds.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, SolutionTab};

use crate::scene::{NameRules, NewScene, PhotoStorage, Scene, SceneError, SceneId, SceneStatus, Unusable};

/// Whether an account has authorized the service and, for solutions that store photos,
/// object storage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The service itself is authorized.
    pub service: bool,
    /// The photo bucket (`cn-shanghai-aliyun-cloudauth-<uid>`), when object storage is
    /// authorized and the bucket exists.
    pub bucket: Option<String>,
}

/// Scenes and the authorization gate, as plain methods (no I/O). Implement it over a
/// database to replace the in-memory default.
pub trait SceneRegistry {
    /// Creates a scene and allocates its ID.
    fn create(&mut self, scene: NewScene, now: DateTime<Utc>) -> Result<Scene, SceneError>;
    /// Renames a scene.
    fn rename(
        &mut self,
        account: &AccountId,
        id: SceneId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Scene, SceneError>;
    /// Replaces the photo-storage settings.
    fn update_storage(
        &mut self,
        account: &AccountId,
        id: SceneId,
        storage: PhotoStorage,
        now: DateTime<Utc>,
    ) -> Result<Scene, SceneError>;
    /// Enables or disables a scene.
    fn set_status(
        &mut self,
        account: &AccountId,
        id: SceneId,
        status: SceneStatus,
        now: DateTime<Utc>,
    ) -> Result<Scene, SceneError>;
    /// Deletes a scene; its ID is never reused.
    fn delete(&mut self, account: &AccountId, id: SceneId) -> Result<Scene, SceneError>;
    /// A scene of the account.
    fn get(&self, account: &AccountId, id: SceneId) -> Result<Scene, SceneError>;
    /// The account's scenes, optionally of one tab, in creation order.
    fn list(&self, account: &AccountId, tab: Option<SolutionTab>) -> Vec<Scene>;
    /// The scene if it can be used for a verification now, or why not.
    fn usable(&self, account: &AccountId, id: SceneId) -> Result<Scene, Unusable>;
    /// Records that the account authorized the service, and object storage if asked
    /// (which creates the photo bucket).
    fn authorize(&mut self, account: &AccountId, object_storage: bool) -> Authorization;
    /// Revokes the account's authorization; its scenes become unusable.
    fn revoke_authorization(&mut self, account: &AccountId);
    /// Records that the account deleted its photo bucket.
    fn delete_bucket(&mut self, account: &AccountId);
}

/// The in-memory registry. Scene IDs start at `first_id` and grow by one; a scene's
/// slot is `id - first_id`, so lookup is one bounds-checked index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InMemoryRegistry {
    rules: NameRules,
    first_id: u64,
    /// Slot `i` holds scene `first_id + i`; `None` once deleted (IDs are never reused).
    slots: Vec<Option<Scene>>,
    authorizations: BTreeMap<AccountId, Authorization>,
    /// Derived: (account, tab, lower-cased name) → scene.
    names: BTreeMap<(AccountId, SolutionTab, String), SceneId>,
    /// Derived: account → its scenes in ID (= creation) order.
    by_account: BTreeMap<AccountId, BTreeSet<SceneId>>,
}

/// The persisted form: rules, ID base, live scenes and authorizations. Indexes are
/// rebuilt on load.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    rules: NameRules,
    first_id: u64,
    next_id: u64,
    scenes: Vec<Scene>,
    authorizations: BTreeMap<AccountId, Authorization>,
}

impl Default for InMemoryRegistry {
    fn default() -> InMemoryRegistry {
        InMemoryRegistry::new(NameRules::default(), 1)
    }
}

impl InMemoryRegistry {
    /// An empty registry whose first scene gets ID `first_id`.
    pub fn new(rules: NameRules, first_id: u64) -> InMemoryRegistry {
        InMemoryRegistry {
            rules,
            first_id,
            slots: Vec::new(),
            authorizations: BTreeMap::new(),
            names: BTreeMap::new(),
            by_account: BTreeMap::new(),
        }
    }

    /// The ID the next scene will get.
    pub fn next_id(&self) -> SceneId {
        SceneId::new(self.first_id.saturating_add(self.slots.len() as u64))
    }

    /// The slot of scene `id`: IDs are `first_id + slot`.
    fn slot(&self, id: SceneId) -> Option<usize> {
        usize::try_from(id.get().checked_sub(self.first_id)?).ok()
    }

    /// A scene of the account, by reference (the fast path behind `get`).
    pub fn scene(&self, account: &AccountId, id: SceneId) -> Option<&Scene> {
        self.slots.get(self.slot(id)?)?.as_ref().filter(|s| &s.account == account)
    }

    fn scene_mut(&mut self, account: &AccountId, id: SceneId) -> Result<&mut Scene, SceneError> {
        self.slot(id)
            .and_then(|s| self.slots.get_mut(s))
            .and_then(Option::as_mut)
            .filter(|s| &s.account == account)
            .ok_or(SceneError::NotFound(id))
    }

    fn name_key(scene_account: &AccountId, tab: SolutionTab, name: &str) -> (AccountId, SolutionTab, String) {
        (*scene_account, tab, name.to_lowercase())
    }

    /// The account's authorization state.
    pub fn authorization(&self, account: &AccountId) -> Authorization {
        self.authorizations.get(account).cloned().unwrap_or_default()
    }

    /// Number of live scenes.
    pub fn len(&self) -> usize {
        self.by_account.values().map(BTreeSet::len).sum()
    }

    /// Whether there are no live scenes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_mini_program(app_id: Option<&String>) -> Result<(), SceneError> {
        match app_id {
            Some(id) if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Err(SceneError::MiniProgram(id.clone()))
            }
            _ => Ok(()),
        }
    }
}

impl SceneRegistry for InMemoryRegistry {
    fn create(&mut self, new: NewScene, now: DateTime<Utc>) -> Result<Scene, SceneError> {
        let name = self.rules.check(&new.name)?;
        if !new.solution.products().contains(&new.product) {
            return Err(SceneError::ProductNotInSolution { product: new.product, solution: new.solution });
        }
        new.storage.check()?;
        Self::check_mini_program(new.mini_program.as_ref())?;
        let tab = new.solution.facts().tab;
        let key = Self::name_key(&new.account, tab, &name);
        if self.names.contains_key(&key) {
            return Err(SceneError::DuplicateName(name));
        }
        let id = self.next_id();
        if id.get() == u64::MAX {
            return Err(SceneError::IdsExhausted);
        }
        let scene = Scene {
            id,
            account: new.account,
            tab,
            name,
            created_at: now,
            updated_at: now,
            solution: new.solution,
            product: new.product,
            status: SceneStatus::Enabled,
            storage: new.storage,
            mini_program: new.mini_program,
        };
        self.names.insert(key, id);
        self.by_account.entry(scene.account).or_default().insert(id);
        self.slots.push(Some(scene.clone()));
        Ok(scene)
    }

    fn rename(
        &mut self,
        account: &AccountId,
        id: SceneId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Scene, SceneError> {
        let name = self.rules.check(name)?;
        let (tab, old) = {
            let scene = self.scene(account, id).ok_or(SceneError::NotFound(id))?;
            (scene.tab, scene.name.clone())
        };
        let new_key = Self::name_key(account, tab, &name);
        match self.names.get(&new_key) {
            Some(&other) if other != id => return Err(SceneError::DuplicateName(name)),
            _ => {}
        }
        self.names.remove(&Self::name_key(account, tab, &old));
        self.names.insert(new_key, id);
        let scene = self.scene_mut(account, id)?;
        scene.name = name;
        scene.updated_at = now;
        Ok(scene.clone())
    }

    fn update_storage(
        &mut self,
        account: &AccountId,
        id: SceneId,
        storage: PhotoStorage,
        now: DateTime<Utc>,
    ) -> Result<Scene, SceneError> {
        storage.check()?;
        let scene = self.scene_mut(account, id)?;
        scene.storage = storage;
        scene.updated_at = now;
        Ok(scene.clone())
    }

    fn set_status(
        &mut self,
        account: &AccountId,
        id: SceneId,
        status: SceneStatus,
        now: DateTime<Utc>,
    ) -> Result<Scene, SceneError> {
        let scene = self.scene_mut(account, id)?;
        scene.status = status;
        scene.updated_at = now;
        Ok(scene.clone())
    }

    fn delete(&mut self, account: &AccountId, id: SceneId) -> Result<Scene, SceneError> {
        let key = {
            let scene = self.scene(account, id).ok_or(SceneError::NotFound(id))?;
            Self::name_key(account, scene.tab, &scene.name)
        };
        let scene = self
            .slot(id)
            .and_then(|s| self.slots.get_mut(s))
            .and_then(Option::take)
            .ok_or(SceneError::NotFound(id))?;
        self.names.remove(&key);
        if let Some(ids) = self.by_account.get_mut(account) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_account.remove(account);
            }
        }
        Ok(scene)
    }

    fn get(&self, account: &AccountId, id: SceneId) -> Result<Scene, SceneError> {
        self.scene(account, id).cloned().ok_or(SceneError::NotFound(id))
    }

    fn list(&self, account: &AccountId, tab: Option<SolutionTab>) -> Vec<Scene> {
        self.by_account
            .get(account)
            .into_iter()
            .flatten()
            .filter_map(|&id| self.scene(account, id))
            .filter(|s| tab.is_none_or(|t| s.tab == t))
            .cloned()
            .collect()
    }

    fn usable(&self, account: &AccountId, id: SceneId) -> Result<Scene, Unusable> {
        let scene = self.scene(account, id).ok_or(Unusable::NotFound(id))?;
        if scene.status == SceneStatus::Disabled {
            return Err(Unusable::Disabled(id));
        }
        let auth = self.authorizations.get(account);
        if !auth.is_some_and(|a| a.service) {
            return Err(Unusable::ServiceNotAuthorized);
        }
        if scene.solution.facts().stores_photos && auth.and_then(|a| a.bucket.as_ref()).is_none() {
            return Err(Unusable::ObjectStorageMissing(account.photo_bucket()));
        }
        Ok(scene.clone())
    }

    fn authorize(&mut self, account: &AccountId, object_storage: bool) -> Authorization {
        let auth = self.authorizations.entry(*account).or_default();
        auth.service = true;
        if object_storage {
            auth.bucket = Some(account.photo_bucket());
        }
        auth.clone()
    }

    fn revoke_authorization(&mut self, account: &AccountId) {
        self.authorizations.remove(account);
    }

    fn delete_bucket(&mut self, account: &AccountId) {
        if let Some(auth) = self.authorizations.get_mut(account) {
            auth.bucket = None;
        }
    }
}

impl Serialize for InMemoryRegistry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Snapshot {
            rules: self.rules.clone(),
            first_id: self.first_id,
            next_id: self.next_id().get(),
            scenes: self.slots.iter().flatten().cloned().collect(),
            authorizations: self.authorizations.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for InMemoryRegistry {
    /// Rebuilds slots and indexes; rejects snapshots whose scenes are out of order,
    /// outside the ID range, or break name uniqueness.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let snapshot = Snapshot::deserialize(deserializer)?;
        let count = snapshot
            .next_id
            .checked_sub(snapshot.first_id)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| D::Error::custom("next_id is below first_id"))?;
        if count > snapshot.scenes.len().saturating_mul(1024).saturating_add(1 << 20) {
            return Err(D::Error::custom("next_id is implausibly far beyond the stored scenes"));
        }
        let mut registry = InMemoryRegistry::new(snapshot.rules, snapshot.first_id);
        registry.slots = vec![None; count];
        registry.authorizations = snapshot.authorizations;
        for scene in snapshot.scenes {
            let id = scene.id;
            let slot = id
                .get()
                .checked_sub(registry.first_id)
                .and_then(|s| usize::try_from(s).ok())
                .and_then(|s| registry.slots.get_mut(s))
                .ok_or_else(|| D::Error::custom(format!("scene {id} is outside the ID range")))?;
            if slot.is_some() {
                return Err(D::Error::custom(format!("scene {id} appears twice")));
            }
            let key = InMemoryRegistry::name_key(&scene.account, scene.tab, &scene.name);
            if registry.names.insert(key, id).is_some() {
                return Err(D::Error::custom(format!("scene name `{}` appears twice", scene.name)));
            }
            registry.by_account.entry(scene.account).or_default().insert(id);
            *slot = Some(scene);
        }
        Ok(registry)
    }
}
