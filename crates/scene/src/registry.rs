//! The `SceneRegistry` trait and its in-memory implementation, the embedded default.
//!
//! Every operation names the calling account; a scene of another account is reported
//! as not found, so one account can never see or touch another's scenes. A failed
//! operation leaves the registry unchanged.
//!
//! Thread-safety: mutation takes `&mut self`; share a registry between threads behind
//! the caller's lock (`Mutex<InMemoryRegistry>` or `RwLock`). The registry holds no
//! lock of its own, so lookups under a read lock stay a few nanoseconds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, SolutionTab, WordHasher};

use crate::scene::{NameRules, NewScene, PhotoStorage, Scene, SceneError, SceneId, SceneStatus, Unusable};
use shiren_catalog::{Quoted, quote_prefix};

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

/// The in-memory registry. Scene IDs start at `first_id` and grow by one; live scenes
/// sit in a hash map keyed by ID, so memory follows the live scenes, not the IDs ever
/// handed out, and lookup is one hash probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InMemoryRegistry {
    rules: NameRules,
    first_id: u64,
    /// The ID the next scene gets; every ID below it was handed out once (IDs are never
    /// reused, so deleted ones stay behind it).
    next_id: u64,
    /// Live scenes.
    scenes: HashMap<SceneId, Scene, BuildHasherDefault<WordHasher>>,
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
            next_id: first_id,
            scenes: HashMap::default(),
            authorizations: BTreeMap::new(),
            names: BTreeMap::new(),
            by_account: BTreeMap::new(),
        }
    }

    /// The ID the next scene will get.
    pub fn next_id(&self) -> SceneId {
        SceneId::new(self.next_id)
    }

    /// A scene of the account, by reference (the fast path behind `get`).
    pub fn scene(&self, account: &AccountId, id: SceneId) -> Option<&Scene> {
        self.scenes.get(&id).filter(|s| &s.account == account)
    }

    fn scene_mut(&mut self, account: &AccountId, id: SceneId) -> Result<&mut Scene, SceneError> {
        self.scenes.get_mut(&id).filter(|s| &s.account == account).ok_or(SceneError::NotFound(id))
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
        self.scenes.len()
    }

    /// Whether there are no live scenes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_mini_program(app_id: Option<&String>) -> Result<(), SceneError> {
        match app_id {
            Some(id) if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Err(SceneError::MiniProgram(quote_prefix(id)))
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
        let Some(after) = id.get().checked_add(1) else {
            return Err(SceneError::IdsExhausted);
        };
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
        self.scenes.insert(id, scene.clone());
        self.next_id = after;
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
        let scene = self.scenes.remove(&id).ok_or(SceneError::NotFound(id))?;
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
        let mut scenes: Vec<Scene> = self.scenes.values().cloned().collect();
        scenes.sort_unstable_by_key(|s| s.id);
        Snapshot {
            rules: self.rules.clone(),
            first_id: self.first_id,
            next_id: self.next_id,
            scenes,
            authorizations: self.authorizations.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for InMemoryRegistry {
    /// Restores a snapshot, refusing any state no sequence of operations could reach
    /// (see [`SnapshotError`]; the format's error carries its message). Indexes are
    /// rebuilt; memory follows the scenes in the snapshot, never a number in it.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let snapshot = Snapshot::deserialize(deserializer)?;
        InMemoryRegistry::from_snapshot(snapshot).map_err(serde::de::Error::custom)
    }
}

/// Why a registry snapshot was refused: it describes a state no sequence of operations
/// could reach, so it was tampered with or corrupted. Nothing was loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// `next_id` is below `first_id`.
    #[error("next_id {next_id} is below first_id {first_id}")]
    NextId {
        /// The first ID.
        first_id: u64,
        /// The next ID.
        next_id: u64,
    },
    /// A scene's ID was never handed out (below `first_id` or at or above `next_id`):
    /// restoring it would let its ID be allocated again.
    #[error("scene {id} is outside the IDs handed out ({first_id} up to {next_id})")]
    OutsideIds {
        /// The scene.
        id: SceneId,
        /// The first ID.
        first_id: u64,
        /// The next ID.
        next_id: u64,
    },
    /// Two scenes share an ID.
    #[error("scene {0} appears twice")]
    DuplicateScene(SceneId),
    /// A scene's name breaks the snapshot's name rules (or is not trimmed).
    #[error("scene {id} has a name the rules refuse: {error}")]
    Name {
        /// The scene.
        id: SceneId,
        /// Why the name is refused.
        error: SceneError,
    },
    /// A scene's name has leading or trailing white space (names are stored trimmed).
    #[error("scene {0} has a name with leading or trailing white space")]
    Untrimmed(SceneId),
    /// Two scenes of one account and tab share a name (ignoring case).
    #[error("scene {id} repeats the name `{}` in its account and tab", Quoted(.name))]
    DuplicateName {
        /// The second scene with the name.
        id: SceneId,
        /// The name.
        name: String,
    },
    /// A scene's tab is not its solution's tab.
    #[error("scene {0} is filed under a tab its solution does not belong to")]
    Tab(SceneId),
    /// A scene's product is not sold under its solution, or its photo storage or
    /// mini-program app ID is invalid.
    #[error("scene {id} has settings its solution does not allow: {error}")]
    Settings {
        /// The scene.
        id: SceneId,
        /// Why the settings are refused.
        error: SceneError,
    },
    /// An authorization entry that `authorize` could not make: the service not
    /// authorized, or a bucket that is not the account's.
    #[error("account `{0}` has an authorization that authorizing could not produce")]
    Authorization(AccountId),
}

impl InMemoryRegistry {
    /// Builds a registry from a snapshot, checking every invariant.
    fn from_snapshot(snapshot: Snapshot) -> Result<InMemoryRegistry, SnapshotError> {
        let Snapshot { rules, first_id, next_id, scenes, authorizations } = snapshot;
        if next_id < first_id {
            return Err(SnapshotError::NextId { first_id, next_id });
        }
        for (account, auth) in &authorizations {
            let bucket_ok = auth.bucket.as_ref().is_none_or(|b| *b == account.photo_bucket());
            if !auth.service || !bucket_ok {
                return Err(SnapshotError::Authorization(*account));
            }
        }
        let mut registry = InMemoryRegistry::new(rules, first_id);
        registry.next_id = next_id;
        registry.authorizations = authorizations;
        for scene in scenes {
            registry.check_restored(&scene)?;
            let id = scene.id;
            let key = InMemoryRegistry::name_key(&scene.account, scene.tab, &scene.name);
            if registry.scenes.contains_key(&id) {
                return Err(SnapshotError::DuplicateScene(id));
            }
            if registry.names.contains_key(&key) {
                return Err(SnapshotError::DuplicateName { id, name: quote_prefix(&scene.name) });
            }
            registry.names.insert(key, id);
            registry.by_account.entry(scene.account).or_default().insert(id);
            registry.scenes.insert(id, scene);
        }
        Ok(registry)
    }

    /// One restored scene against the ID range, the rules and its solution.
    fn check_restored(&self, scene: &Scene) -> Result<(), SnapshotError> {
        let id = scene.id;
        if id.get() < self.first_id || id.get() >= self.next_id {
            return Err(SnapshotError::OutsideIds { id, first_id: self.first_id, next_id: self.next_id });
        }
        match self.rules.check(&scene.name) {
            Ok(name) if name == scene.name => {}
            Ok(_) => return Err(SnapshotError::Untrimmed(id)),
            Err(error) => return Err(SnapshotError::Name { id, error }),
        }
        if scene.tab != scene.solution.facts().tab {
            return Err(SnapshotError::Tab(id));
        }
        let settings = if scene.solution.products().contains(&scene.product) {
            scene.storage.check().and_then(|()| Self::check_mini_program(scene.mini_program.as_ref()))
        } else {
            Err(SceneError::ProductNotInSolution { product: scene.product, solution: scene.solution })
        };
        settings.map_err(|error| SnapshotError::Settings { id, error })
    }
}
