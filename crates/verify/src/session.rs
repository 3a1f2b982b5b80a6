//! Verification sessions: what `InitFaceVerify` started, and how it ended — plain
//! serde data — and the [`SessionStore`] that keeps them, with its in-memory default.
//! The store only keeps what it is given: which transitions are allowed is the
//! verifier's (and, for completion, [`FlowStore`](crate::FlowStore)'s) business.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, CertifyId, OuterOrderNo, ProductCode, ResidentId, Solution};
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

/// One session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// The customer's user ID.
    pub user_id: Option<String>,
    /// The person's name (identity products).
    pub name: Option<String>,
    /// The person's ID number (identity products).
    #[serde(with = "resident_id")]
    pub id_number: Option<ResidentId>,
    /// The comparison photo supplied at start (PV_FV).
    pub reference: Option<Bytes>,
    /// The selfie of a passed session, usable as a later session's reference by
    /// certify ID; dropped on deletion.
    pub selfie: Option<Bytes>,
    /// Whether the scene writes photos back to object storage.
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

    fn insert(&mut self, session: Session) -> Result<(), SessionError> {
        if self.sessions.contains_key(&session.certify_id) {
            return Err(SessionError::Duplicate(session.certify_id));
        }
        if self.sessions.len() >= self.limit {
            return Err(SessionError::Full(self.limit));
        }
        self.sessions.insert(session.certify_id, session);
        Ok(())
    }

    fn replace(&mut self, session: Session) -> Result<(), SessionError> {
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
                s.state = SessionState::Abandoned;
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

mod resident_id {
    use serde::{Deserialize, Deserializer, Serializer};
    use shiren_catalog::ResidentId;

    pub(super) fn serialize<S: Serializer>(id: &Option<ResidentId>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.serialize_some(id.expose()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ResidentId>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| ResidentId::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
