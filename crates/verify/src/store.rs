//! The flow's state, behind one narrow trait: [`FlowStore`] is every read and write
//! the verifier makes — sessions, scenes, records, usage — and nothing else. All
//! methods take `&self`, so any number of workers share one store; each write is one
//! unit that happens entirely or not at all. A completion arrives as a value
//! ([`Completion`]: the completed session, its record, its usage event), so a
//! database-backed store writes it in one transaction; [`InMemoryStore`] writes it
//! under one lock, checking every part before changing any.
//!
//! This module owns atomicity and the re-checks a write needs (a completion only of a
//! pending session); the verifier owns every other rule.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use shiren_catalog::{AccountId, CallCode, CertifyId};
use shiren_meter::UsageEvent;
use shiren_records::{DeleteMode, NewRecord, RecordError, RecordStore};
use shiren_scene::{Scene, SceneId, SceneRegistry, Unusable};

use crate::ledger::{LedgerError, UsageLedger};
use crate::session::{Session, SessionError, SessionState, SessionStore};

/// A store refused or failed a change; nothing changed (except for
/// [`StoreError::Inconsistent`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The session is no longer pending (it completed, expired or was deleted
    /// meanwhile); here it is as stored.
    #[error("session {} is no longer pending", .0.certify_id)]
    NotPending(Box<Session>),
    /// The session store refused.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The record store refused.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The ledger refused the usage.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A part failed after earlier parts were written: a store broke its contract.
    /// Needs an operator; the flow answers 500.
    #[error("a completion was written only in part: {0}")]
    Inconsistent(String),
    /// Stored state failed validation on load (tampered or corrupted): nothing was
    /// changed; restore that state from a backup.
    #[error("stored state is invalid: {0}")]
    Corrupt(String),
    /// The store cannot be reached (a database down, a poisoned lock).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

/// A scene as a start sees it: the scene, and why it cannot be used now, if it cannot.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneView {
    /// The scene.
    pub scene: Scene,
    /// Why it cannot be used now (disabled, service or storage not authorized).
    pub unusable: Option<Unusable>,
}

impl SceneView {
    /// The account's scene in `registry` and whether it can be used now (`None` when
    /// the account has no such scene) — what [`FlowStore::scene`] answers, for any
    /// store that keeps a [`SceneRegistry`].
    pub fn lookup(registry: &impl SceneRegistry, account: &AccountId, id: SceneId) -> Option<SceneView> {
        match registry.usable(account, id) {
            Ok(scene) => Some(SceneView { scene, unusable: None }),
            Err(Unusable::NotFound(_)) => None,
            Err(unusable) => {
                registry.get(account, id).ok().map(|scene| SceneView { scene, unusable: Some(unusable) })
            }
        }
    }
}

/// One completion, as values: the session in its completed state, the record to
/// write, the usage to meter and bill. Either all of it is persisted or none.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The session, completed (its state carries the result and the completion time).
    pub session: Session,
    /// Whether the session is new (the synchronous operations store a session only
    /// when it completes) rather than a pending one.
    pub new_session: bool,
    /// The verification record.
    pub record: NewRecord,
    /// The usage event (its time is the completion time).
    pub usage: UsageEvent,
}

/// Everything the verifier reads and writes (no I/O here: implement it over a
/// database). Writes are atomic; reads see only whole writes.
pub trait FlowStore {
    /// The session with this certify ID.
    fn session(&self, id: CertifyId) -> Result<Option<Session>, StoreError>;

    /// The account's scene (`None` when it has no such scene).
    fn scene(&self, account: &AccountId, id: SceneId) -> Result<Option<SceneView>, StoreError>;

    /// `Ok(Err(412))` when the account may not start a verification now.
    fn may_start(&self, account: &AccountId, now: DateTime<Utc>) -> Result<Result<(), CallCode>, StoreError>;

    /// [`FlowStore::scene`] and [`FlowStore::may_start`] together, as a verification's
    /// start asks them: a store that keeps both in one place (a database row) answers
    /// with one read.
    fn scene_and_standing(
        &self,
        account: &AccountId,
        id: SceneId,
        now: DateTime<Utc>,
    ) -> Result<(Option<SceneView>, Result<(), CallCode>), StoreError> {
        Ok((self.scene(account, id)?, self.may_start(account, now)?))
    }

    /// Stores a new pending session.
    fn start(&self, session: Session) -> Result<(), StoreError>;

    /// Writes a completion: the session (pending, or new), the record, the metered and
    /// billed usage — all or nothing. A session that is no longer pending is
    /// [`StoreError::NotPending`] with the stored session, and nothing changes.
    fn complete(&self, completion: Completion) -> Result<(), StoreError>;

    /// Marks a pending session abandoned (its lifetime ran out); returns the stored
    /// session. Never billed.
    fn abandon(&self, id: CertifyId) -> Result<Session, StoreError>;

    /// Marks the record of a completed session read (`DescribeFaceVerify`); a record
    /// already purged or deleted is not an error.
    fn mark_read(&self, account: &AccountId, id: CertifyId, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Deletes the personal data and photos of a completed session and its record.
    /// Refused, with nothing changed, when they were deleted before
    /// (`RecordError::AlreadyDeleted`) or, with [`DeleteMode::AfterQuery`], when the
    /// result has not been read (`RecordError::NotYetRead`).
    fn erase_personal(
        &self,
        account: &AccountId,
        id: CertifyId,
        mode: DeleteMode,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Marks sessions pending since before `created_before` abandoned; returns how many.
    fn expire_sessions(&self, created_before: DateTime<Utc>) -> Result<usize, StoreError>;

    /// Forgets ended sessions that started before `cutoff`; returns how many.
    fn forget_sessions_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError>;
}

/// The four embedded stores, written all-or-nothing by [`Stores::complete`]. Public
/// fields, so the embedding service manages scenes, bills and records directly.
#[derive(Debug, Default)]
pub struct Stores<S, R, L, Ss> {
    /// Sessions.
    pub sessions: Ss,
    /// Scenes.
    pub scenes: S,
    /// Verification records.
    pub records: R,
    /// Standing, metering and billing.
    pub ledger: L,
}

impl<S: SceneRegistry, R: RecordStore, L: UsageLedger, Ss: SessionStore> Stores<S, R, L, Ss> {
    /// The account's scene and whether it can be used now.
    pub fn scene(&self, account: &AccountId, id: SceneId) -> Option<SceneView> {
        SceneView::lookup(&self.scenes, account, id)
    }

    /// Writes a completion, all or nothing: every part is checked first (the session
    /// pending or absent as promised, the usage accepted by the ledger), then the
    /// record is written — it can still refuse, with nothing written — then the usage
    /// and the session, which cannot fail after their checks. A failure after the
    /// record is [`StoreError::Inconsistent`]: a store broke its contract.
    pub fn complete(&mut self, completion: Completion) -> Result<(), StoreError> {
        let id = completion.session.certify_id;
        match (self.sessions.get(id)?, completion.new_session) {
            (None, true) => {}
            (Some(held), false) if held.state == SessionState::Pending => {}
            (Some(held), _) => return Err(StoreError::NotPending(Box::new(held))),
            (None, false) => return Err(SessionError::NotFound(id).into()),
        }
        self.ledger.check(&completion.usage)?;
        self.records.insert(completion.record)?;
        let broken = |what: String| StoreError::Inconsistent(format!("certify ID {id}: {what}"));
        self.ledger.consume(&completion.usage).map_err(|e| broken(format!("usage after the record: {e}")))?;
        let written = if completion.new_session {
            self.sessions.insert(completion.session)
        } else {
            self.sessions.replace(completion.session)
        };
        written.map_err(|e| broken(format!("session after the usage: {e}")))
    }

    /// Marks a pending session abandoned; returns it as stored.
    pub fn abandon(&mut self, id: CertifyId) -> Result<Session, StoreError> {
        let mut session = self.sessions.get(id)?.ok_or(SessionError::NotFound(id))?;
        if session.state != SessionState::Pending {
            return Err(StoreError::NotPending(Box::new(session)));
        }
        session.abandon();
        self.sessions.replace(session.clone())?;
        Ok(session)
    }

    /// Deletes a completed session's personal data (and its selfie) and its record's
    /// (name, user ID, ID number, photo paths), as [`FlowStore::erase_personal`].
    pub fn erase_personal(
        &mut self,
        account: &AccountId,
        id: CertifyId,
        mode: DeleteMode,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut session = self.sessions.get(id)?.ok_or(SessionError::NotFound(id))?;
        match self.records.delete_personal(account, id, mode, now) {
            // A record purged past its retention leaves only the session to clear.
            Ok(()) | Err(RecordError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        session.erase_personal();
        self.sessions.replace(session)?;
        Ok(())
    }
}

/// The embedded [`FlowStore`]: [`Stores`] behind one mutex. Each call holds the lock
/// for its own reads and writes only — never while photos are fetched or faces scored
/// — so workers score in parallel and queue only for the microseconds of bookkeeping.
#[derive(Debug, Default)]
pub struct InMemoryStore<S, R, L, Ss> {
    stores: Mutex<Stores<S, R, L, Ss>>,
}

impl<S, R, L, Ss> InMemoryStore<S, R, L, Ss> {
    /// Wraps the stores.
    pub fn new(stores: Stores<S, R, L, Ss>) -> Self {
        InMemoryStore { stores: Mutex::new(stores) }
    }

    /// Exclusive access to the stores (to manage scenes, issue bills, read records).
    /// A panic while another thread held them leaves them possibly half-changed: that
    /// is [`StoreError::Unavailable`], never a silent continue.
    pub fn lock(&self) -> Result<MutexGuard<'_, Stores<S, R, L, Ss>>, StoreError> {
        self.stores
            .lock()
            .map_err(|_| StoreError::Unavailable("a thread panicked while holding the stores".into()))
    }

    /// The stores back.
    pub fn into_inner(self) -> Result<Stores<S, R, L, Ss>, StoreError> {
        self.stores
            .into_inner()
            .map_err(|_| StoreError::Unavailable("a thread panicked while holding the stores".into()))
    }
}

impl<S, R, L, Ss> FlowStore for InMemoryStore<S, R, L, Ss>
where
    S: SceneRegistry,
    R: RecordStore,
    L: UsageLedger,
    Ss: SessionStore,
{
    fn session(&self, id: CertifyId) -> Result<Option<Session>, StoreError> {
        Ok(self.lock()?.sessions.get(id)?)
    }

    fn scene(&self, account: &AccountId, id: SceneId) -> Result<Option<SceneView>, StoreError> {
        Ok(self.lock()?.scene(account, id))
    }

    fn may_start(&self, account: &AccountId, now: DateTime<Utc>) -> Result<Result<(), CallCode>, StoreError> {
        Ok(self.lock()?.ledger.may_start(account, now))
    }

    /// Under one lock.
    fn scene_and_standing(
        &self,
        account: &AccountId,
        id: SceneId,
        now: DateTime<Utc>,
    ) -> Result<(Option<SceneView>, Result<(), CallCode>), StoreError> {
        let stores = self.lock()?;
        Ok((stores.scene(account, id), stores.ledger.may_start(account, now)))
    }

    fn start(&self, session: Session) -> Result<(), StoreError> {
        Ok(self.lock()?.sessions.insert(session)?)
    }

    fn complete(&self, completion: Completion) -> Result<(), StoreError> {
        self.lock()?.complete(completion)
    }

    fn abandon(&self, id: CertifyId) -> Result<Session, StoreError> {
        self.lock()?.abandon(id)
    }

    fn mark_read(&self, account: &AccountId, id: CertifyId, now: DateTime<Utc>) -> Result<(), StoreError> {
        match self.lock()?.records.mark_read(account, id, now) {
            Ok(()) | Err(RecordError::AlreadyDeleted(_) | RecordError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn erase_personal(
        &self,
        account: &AccountId,
        id: CertifyId,
        mode: DeleteMode,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.lock()?.erase_personal(account, id, mode, now)
    }

    fn expire_sessions(&self, created_before: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.lock()?.sessions.expire(created_before)?)
    }

    fn forget_sessions_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.lock()?.sessions.forget_before(cutoff)?)
    }
}
