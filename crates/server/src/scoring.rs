//! The face scoring pool: at most `workers` scorings run at once (one per core by
//! default), each on the blocking pool, so scoring uses every core and never blocks the
//! async runtime; at most `queue` more wait for a turn, and beyond that a request is
//! refused at once (`ServiceUnavailable`) rather than queueing without bound. A pending
//! operation that needs nothing (a retry of a completed session, a refusal) skips it.
//! What follows the scoring (the commit) runs on the same thread, after the turn.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use shiren_store::SqlStore;
use shiren_verify::{Pending, Verifier};
use tokio::sync::Semaphore;

use crate::app::{Unavailable, blocking};

/// The pool.
#[derive(Debug)]
pub(crate) struct Scoring {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    /// Requests that may wait for or hold a turn at once.
    bound: usize,
}

impl Scoring {
    /// `workers` at once (at least one), `queue` waiting.
    pub(crate) fn new(workers: usize, queue: usize) -> Scoring {
        let workers = workers.max(1);
        Scoring {
            permits: Arc::new(Semaphore::new(workers)),
            waiting: Arc::new(AtomicUsize::new(0)),
            bound: workers.saturating_add(queue),
        }
    }

    /// Meets every need of `pending` right here, on the calling blocking thread, when a
    /// scoring turn is free at once (no request waits for one) — no hand-off to another
    /// thread. `false` when none is: `pending` is unchanged and goes to
    /// [`Scoring::fulfil_then`], which waits for a turn or refuses.
    pub(crate) fn fulfil_here<T>(&self, verifier: &Verifier<SqlStore>, pending: &mut Pending<T>) -> bool {
        if pending.need().is_none() {
            return true;
        }
        let Some(turn) = self.turn_now() else { return false };
        verifier.plugins().fulfil(pending);
        drop(turn);
        true
    }

    /// A scoring turn, if one is free at once and the bound allows one more request.
    fn turn_now(&self) -> Option<Turn> {
        let waiting = self.count_in()?;
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        Some(Turn { _permit: permit, _waiting: waiting })
    }

    /// One more request counted against the bound, until the guard is dropped; `None`
    /// (and nothing counted) when the bound is reached.
    fn count_in(&self) -> Option<Waiting> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.bound {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Waiting(Arc::clone(&self.waiting)))
    }

    /// Meets every need of `pending` with the verifier's plug-ins on a scoring turn,
    /// then runs `then` on the same blocking thread, after giving the turn back (a
    /// commit waiting for its batch never holds a scoring turn).
    pub(crate) async fn fulfil_then<T: Send + 'static, R: Send + 'static>(
        &self,
        verifier: &Arc<Verifier<SqlStore>>,
        mut pending: Pending<T>,
        then: impl FnOnce(Pending<T>) -> R + Send + 'static,
    ) -> Result<R, Unavailable> {
        if pending.need().is_none() {
            return blocking(move || then(pending)).await;
        }
        let waiting = self.count_in().ok_or(Unavailable::Busy)?;
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|e| Unavailable::Worker(e.to_string()))?;
        let verifier = Arc::clone(verifier);
        blocking(move || {
            verifier.plugins().fulfil(&mut pending);
            drop((permit, waiting));
            then(pending)
        })
        .await
    }
}

/// A scoring turn taken on the calling thread, given back when dropped.
struct Turn {
    _permit: tokio::sync::OwnedSemaphorePermit,
    _waiting: Waiting,
}

/// One request counted against the pool's bound, until dropped.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_here_is_taken_only_when_free_and_always_given_back() {
        let scoring = Scoring::new(1, 1);
        let first = scoring.turn_now().expect("a free turn");
        assert!(scoring.turn_now().is_none(), "the one worker is busy");
        assert_eq!(scoring.waiting.load(Ordering::Acquire), 1, "the refused attempt is not counted");
        drop(first);
        assert_eq!(scoring.waiting.load(Ordering::Acquire), 0);
        assert!(scoring.turn_now().is_some(), "free again");
        assert_eq!(scoring.waiting.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_request_past_the_bound_is_not_counted() {
        let scoring = Scoring::new(1, 1);
        let first = scoring.count_in().expect("room for the worker's request");
        let second = scoring.count_in().expect("room for one waiting");
        assert!(scoring.count_in().is_none(), "one worker and a queue of one: the bound is two");
        assert_eq!(scoring.waiting.load(Ordering::Acquire), 2, "the refused request is not counted");
        drop((first, second));
        assert_eq!(scoring.waiting.load(Ordering::Acquire), 0);
    }

    #[test]
    fn the_bound_holds_for_turns_here() {
        let scoring = Scoring::new(2, 0);
        let _a = scoring.turn_now().expect("a first turn");
        let _b = scoring.turn_now().expect("a second turn");
        assert!(scoring.turn_now().is_none(), "two workers, no queue: the bound is two");
        assert_eq!(scoring.waiting.load(Ordering::Acquire), 2);
    }
}
