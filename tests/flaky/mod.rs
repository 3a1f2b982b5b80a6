//! Stores that fail on purpose: [`Flaky`] wraps a record store, a usage ledger or a
//! session store and refuses one call in `one_in` (deterministically, by a seeded
//! counter), as a database that times out would. Each fault fires where a real store
//! can fail without having changed anything — a record insert, the ledger's check, a
//! session insert — so the flow's all-or-nothing promise can be checked under them.
#![allow(dead_code, reason = "each user needs part of it")]

use std::cell::Cell;

use chrono::{DateTime, Utc};
use shiren::catalog::{AccountId, CallCode, CertifyId};
use shiren::meter::{Applied, ApplyError, UsageEvent};
use shiren::records::{
    DeleteMode, NewRecord, Page, Query, Record, RecordError, RecordStore, Statistics, StatsRange,
};
use shiren::scene::SceneId;
use shiren::verify::{LedgerError, Session, SessionError, SessionState, SessionStore, UsageLedger};

/// When to fail: every call draws from a xorshift sequence; one in `one_in` fails.
#[derive(Debug)]
pub(crate) struct Faults {
    state: Cell<u64>,
    one_in: u64,
    fired: Cell<u64>,
}

impl Faults {
    /// Fails one call in `one_in` (0: never), from `seed`.
    pub(crate) fn new(seed: u64, one_in: u64) -> Faults {
        Faults { state: Cell::new(seed | 1), one_in, fired: Cell::new(0) }
    }

    /// Whether this call fails.
    pub(crate) fn strike(&self) -> bool {
        let mut x = self.state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.set(x);
        let fail = self.one_in > 0 && x.is_multiple_of(self.one_in);
        if fail {
            self.fired.set(self.fired.get() + 1);
        }
        fail
    }

    /// How many calls failed.
    pub(crate) fn fired(&self) -> u64 {
        self.fired.get()
    }
}

/// A store that fails some calls.
#[derive(Debug)]
pub(crate) struct Flaky<T> {
    /// The real store.
    pub(crate) inner: T,
    /// When it fails.
    pub(crate) faults: Faults,
}

impl<T> Flaky<T> {
    pub(crate) fn new(inner: T, seed: u64, one_in: u64) -> Flaky<T> {
        Flaky { inner, faults: Faults::new(seed, one_in) }
    }
}

impl<R: RecordStore> RecordStore for Flaky<R> {
    fn insert(&mut self, record: NewRecord) -> Result<(), RecordError> {
        if self.faults.strike() {
            // The nearest "the store could not take it now" the record API has.
            return Err(RecordError::Limit(0));
        }
        self.inner.insert(record)
    }

    fn get(&self, account: &AccountId, id: CertifyId, now: DateTime<Utc>) -> Result<Record, RecordError> {
        self.inner.get(account, id, now)
    }

    fn mark_read(
        &mut self,
        account: &AccountId,
        id: CertifyId,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        self.inner.mark_read(account, id, now)
    }

    fn query(&self, account: &AccountId, query: &Query, now: DateTime<Utc>) -> Result<Page, RecordError> {
        self.inner.query(account, query, now)
    }

    fn statistics(
        &self,
        account: &AccountId,
        scene: SceneId,
        range: StatsRange,
        now: DateTime<Utc>,
    ) -> Result<Statistics, RecordError> {
        self.inner.statistics(account, scene, range, now)
    }

    fn delete_personal(
        &mut self,
        account: &AccountId,
        id: CertifyId,
        mode: DeleteMode,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        self.inner.delete_personal(account, id, mode, now)
    }

    fn purge(&mut self, now: DateTime<Utc>) -> usize {
        self.inner.purge(now)
    }
}

impl<L: UsageLedger> UsageLedger for Flaky<L> {
    fn may_start(&self, account: &AccountId, now: DateTime<Utc>) -> Result<(), CallCode> {
        self.inner.may_start(account, now)
    }

    fn check(&self, event: &UsageEvent) -> Result<(), LedgerError> {
        if self.faults.strike() {
            return Err(LedgerError::Meter(ApplyError::Conflict(event.certify_id)));
        }
        self.inner.check(event)
    }

    fn consume(&mut self, event: &UsageEvent) -> Result<Applied, LedgerError> {
        // The contract: no failure after a passing check.
        self.inner.consume(event)
    }
}

impl<S: SessionStore> SessionStore for Flaky<S> {
    fn get(&self, id: CertifyId) -> Result<Option<Session>, SessionError> {
        self.inner.get(id)
    }

    fn insert(&mut self, session: Session) -> Result<(), SessionError> {
        // Only a new pending session may fail here: a completion's session write comes
        // after its usage, where the contract allows no failure.
        if session.state == SessionState::Pending && self.faults.strike() {
            return Err(SessionError::Storage("injected: the session store timed out".into()));
        }
        self.inner.insert(session)
    }

    fn replace(&mut self, session: Session) -> Result<(), SessionError> {
        self.inner.replace(session)
    }

    fn expire(&mut self, created_before: DateTime<Utc>) -> Result<usize, SessionError> {
        self.inner.expire(created_before)
    }

    fn forget_before(&mut self, cutoff: DateTime<Utc>) -> Result<usize, SessionError> {
        self.inner.forget_before(cutoff)
    }

    fn count(&self) -> Result<usize, SessionError> {
        self.inner.count()
    }
}
