//! Verification sessions: what `InitFaceVerify` started, and how it ended — plain
//! serde data — and the [`SessionStore`] that keeps them, with its in-memory default.
//! The store only keeps what it is given: which transitions are allowed is the
//! verifier's (and, for completion, [`FlowStore`](crate::FlowStore)'s) business.
//!
//! Personal data in a session (invariant, enforced here whoever changes the state):
//! - while it is pending: the name, the full ID number and the user ID (needed to ask
//!   the identity authority and to write the record) and, for PV_FV, the comparison
//!   photo — in memory and in its serialized form;
//! - once it has ended: nothing personal but, for a passed session of a scene that
//!   stores images ([`Session::stores_photos`]), its selfie — usable as a later
//!   session's reference by certify ID until deleted or forgotten. The record keeps the
//!   masked name, the masked and digested ID number and the user ID.
//!
//! [`Session::minimise`] drops what an ended session may not keep; every store of this
//! crate calls it on every write, and serialization and deserialization apply the same
//! rule, so no persisted form of an ended session holds more. `Debug` masks every
//! personal field.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{
    AccountId, CertifyId, OuterOrderNo, PersonName, Photo, ProductCode, ResidentId, Solution, UserId,
};
use shiren_scene::SceneId;

use crate::response::VerifyResult;

/// Where a session stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SessionState {
    /// Started, waiting for the person's photo.
    Pending,
    /// Completed: the result, recorded, metered and billed exactly once, at
    /// `completed_at` — the instant fixed by the completion, which the record and the
    /// usage event carry too, so a retried completion repeats nothing.
    Completed {
        /// The result.
        result: VerifyResult,
        /// When it completed.
        completed_at: DateTime<Utc>,
    },
    /// Never completed within the session lifetime: never billed.
    Abandoned,
}

/// One session. `Debug` masks the personal fields; serde writes them only while the
/// session is pending (the selfie: see [`Session::minimise`]).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "SessionForm")]
pub struct Session {
    /// Its certify ID.
    pub certify_id: CertifyId,
    /// The main account.
    pub account: AccountId,
    /// The scene.
    pub scene_id: SceneId,
    /// The scene's name at start.
    pub scene_name: String,
    /// The scene's access solution (decides metering and price).
    pub solution: Solution,
    /// The product.
    pub product: ProductCode,
    /// The client's order number.
    pub outer_order_no: OuterOrderNo,
    /// The customer's user ID (while pending).
    pub user_id: Option<UserId>,
    /// The person's name (identity products, while pending).
    pub name: Option<PersonName>,
    /// The person's ID number (identity products, while pending).
    pub id_number: Option<ResidentId>,
    /// The comparison photo supplied at start (PV_FV, while pending).
    pub reference: Option<Photo>,
    /// The selfie of a passed session of a scene that stores images, usable as a later
    /// session's reference by certify ID; dropped on deletion.
    pub selfie: Option<Photo>,
    /// Whether the scene stores images (its solution writes photos back and its
    /// storage setting keeps them): only then is a passed session's selfie kept.
    pub stores_photos: bool,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub state: SessionState,
}

impl Session {
    /// The result of a completed session.
    pub fn result(&self) -> Option<&VerifyResult> {
        match &self.state {
            SessionState::Completed { result, .. } => Some(result),
            _ => None,
        }
    }

    /// Whether it is still waiting for its photo at `now`, given the session lifetime.
    pub fn is_live(&self, now: DateTime<Utc>, ttl: chrono::Duration) -> bool {
        self.state == SessionState::Pending && now - self.created_at <= ttl
    }

    /// Drops the personal data and photos (`DeleteFaceVerifyResult`); the rest stays.
    pub fn erase_personal(&mut self) {
        self.user_id = None;
        self.name = None;
        self.id_number = None;
        self.reference = None;
        self.selfie = None;
    }

    /// Whether this session may keep its selfie: completed, passed, in a scene that
    /// stores images.
    pub fn may_keep_selfie(&self) -> bool {
        self.stores_photos && self.result().is_some_and(|r| r.passed)
    }

    /// Drops what the session may no longer keep: once it has ended, the name, the ID
    /// number, the user ID and the comparison photo, and the selfie unless
    /// [`Session::may_keep_selfie`]. A pending session keeps everything.
    pub fn minimise(&mut self) {
        if self.state == SessionState::Pending {
            return;
        }
        self.user_id = None;
        self.name = None;
        self.id_number = None;
        self.reference = None;
        if !self.may_keep_selfie() {
            self.selfie = None;
        }
    }

    /// Marks the session abandoned and drops its personal data.
    pub fn abandon(&mut self) {
        self.state = SessionState::Abandoned;
        self.minimise();
    }
}

/// The serialized form of a [`Session`], borrowed: personal fields only where
/// [`Session::minimise`] would keep them.
#[derive(Serialize)]
struct SessionRef<'a> {
    certify_id: &'a CertifyId,
    account: &'a AccountId,
    scene_id: &'a SceneId,
    scene_name: &'a str,
    solution: &'a Solution,
    product: &'a ProductCode,
    outer_order_no: &'a OuterOrderNo,
    user_id: Option<&'a UserId>,
    name: Option<&'a PersonName>,
    id_number: Option<&'a ResidentId>,
    reference: Option<&'a Photo>,
    selfie: Option<&'a Photo>,
    stores_photos: bool,
    created_at: &'a DateTime<Utc>,
    state: &'a SessionState,
}

impl Serialize for Session {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pending = self.state == SessionState::Pending;
        let keep_selfie = pending || self.may_keep_selfie();
        SessionRef {
            certify_id: &self.certify_id,
            account: &self.account,
            scene_id: &self.scene_id,
            scene_name: &self.scene_name,
            solution: &self.solution,
            product: &self.product,
            outer_order_no: &self.outer_order_no,
            user_id: self.user_id.as_ref().filter(|_| pending),
            name: self.name.as_ref().filter(|_| pending),
            id_number: self.id_number.as_ref().filter(|_| pending),
            reference: self.reference.as_ref().filter(|_| pending),
            selfie: self.selfie.as_ref().filter(|_| keep_selfie),
            stores_photos: self.stores_photos,
            created_at: &self.created_at,
            state: &self.state,
        }
        .serialize(serializer)
    }
}

/// The deserialized form of a [`Session`], minimised on the way in (a session stored
/// before the rule, or tampered with, keeps no more than the rule allows).
#[derive(Deserialize)]
struct SessionForm {
    certify_id: CertifyId,
    account: AccountId,
    scene_id: SceneId,
    scene_name: String,
    solution: Solution,
    product: ProductCode,
    outer_order_no: OuterOrderNo,
    user_id: Option<UserId>,
    name: Option<PersonName>,
    id_number: Option<ResidentId>,
    reference: Option<Photo>,
    selfie: Option<Photo>,
    stores_photos: bool,
    created_at: DateTime<Utc>,
    state: SessionState,
}

impl From<SessionForm> for Session {
    fn from(form: SessionForm) -> Session {
        let mut session = Session {
            certify_id: form.certify_id,
            account: form.account,
            scene_id: form.scene_id,
            scene_name: form.scene_name,
            solution: form.solution,
            product: form.product,
            outer_order_no: form.outer_order_no,
            user_id: form.user_id,
            name: form.name,
            id_number: form.id_number,
            reference: form.reference,
            selfie: form.selfie,
            stores_photos: form.stores_photos,
            created_at: form.created_at,
            state: form.state,
        };
        session.minimise();
        session
    }
}

/// A session store refused a change; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A session with this certify ID exists already.
    #[error("session {0} exists already")]
    Duplicate(CertifyId),
    /// No session has this certify ID.
    #[error("no session {0}")]
    NotFound(CertifyId),
    /// The store holds its limit of sessions; expire and forget old ones.
    #[error("the session store holds its limit of {0} sessions; expire and forget ended ones")]
    Full(usize),
    /// The storage behind the store failed (a database's error, in words).
    #[error("session storage failed: {0}")]
    Storage(String),
}

/// Where sessions live (no I/O here: implement it over a database). Reads take
/// `&self`; the verifier serialises writes through its [`FlowStore`](crate::FlowStore).
pub trait SessionStore {
    /// The session with this certify ID.
    fn get(&self, id: CertifyId) -> Result<Option<Session>, SessionError>;
    /// Adds a new session; refuses a certify ID already held.
    fn insert(&mut self, session: Session) -> Result<(), SessionError>;
    /// Replaces a held session with its new state.
    fn replace(&mut self, session: Session) -> Result<(), SessionError>;
    /// Marks sessions still pending that started before `created_before` abandoned;
    /// returns how many.
    fn expire(&mut self, created_before: DateTime<Utc>) -> Result<usize, SessionError>;
    /// Forgets ended sessions (completed or abandoned) that started before `cutoff`;
    /// returns how many.
    fn forget_before(&mut self, cutoff: DateTime<Utc>) -> Result<usize, SessionError>;
    /// How many sessions are held.
    fn count(&self) -> Result<usize, SessionError>;
}

/// Sessions in a hash map, the embedded default: at most `limit` of them (default
/// 1,000,000 — about 1 GiB with photos; a service holding more uses a database).
#[derive(Clone, Debug, PartialEq)]
pub struct InMemorySessions {
    sessions: HashMap<CertifyId, Session>,
    limit: usize,
}

impl Default for InMemorySessions {
    fn default() -> Self {
        InMemorySessions::with_limit(1_000_000)
    }
}

impl InMemorySessions {
    /// An empty store holding at most `limit` sessions.
    pub fn with_limit(limit: usize) -> InMemorySessions {
        InMemorySessions { sessions: HashMap::new(), limit }
    }

    /// Every session, in certify-ID order (for persistence and audits).
    pub fn snapshot(&self) -> Vec<Session> {
        let mut all: Vec<Session> = self.sessions.values().cloned().collect();
        all.sort_by_key(|s| s.certify_id);
        all
    }

    /// A store holding these sessions; refuses duplicate certify IDs and more than
    /// `limit` sessions (state loaded from a snapshot is input).
    pub fn restore(sessions: Vec<Session>, limit: usize) -> Result<InMemorySessions, SessionError> {
        if sessions.len() > limit {
            return Err(SessionError::Full(limit));
        }
        let mut store = InMemorySessions::with_limit(limit);
        for session in sessions {
            store.insert(session)?;
        }
        Ok(store)
    }
}

impl SessionStore for InMemorySessions {
    fn get(&self, id: CertifyId) -> Result<Option<Session>, SessionError> {
        Ok(self.sessions.get(&id).cloned())
    }

    fn insert(&mut self, mut session: Session) -> Result<(), SessionError> {
        session.minimise();
        if self.sessions.contains_key(&session.certify_id) {
            return Err(SessionError::Duplicate(session.certify_id));
        }
        if self.sessions.len() >= self.limit {
            return Err(SessionError::Full(self.limit));
        }
        self.sessions.insert(session.certify_id, session);
        Ok(())
    }

    fn replace(&mut self, mut session: Session) -> Result<(), SessionError> {
        session.minimise();
        match self.sessions.get_mut(&session.certify_id) {
            Some(held) => {
                *held = session;
                Ok(())
            }
            None => Err(SessionError::NotFound(session.certify_id)),
        }
    }

    fn expire(&mut self, created_before: DateTime<Utc>) -> Result<usize, SessionError> {
        let mut n = 0;
        for s in self.sessions.values_mut() {
            if s.state == SessionState::Pending && s.created_at < created_before {
                s.abandon();
                n += 1;
            }
        }
        Ok(n)
    }

    fn forget_before(&mut self, cutoff: DateTime<Utc>) -> Result<usize, SessionError> {
        let before = self.sessions.len();
        self.sessions.retain(|_, s| s.state == SessionState::Pending || s.created_at >= cutoff);
        Ok(before - self.sessions.len())
    }

    fn count(&self) -> Result<usize, SessionError> {
        Ok(self.sessions.len())
    }
}
