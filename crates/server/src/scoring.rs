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

use crate::app::Unavailable;

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

    /// Meets every need of `pending` with the verifier's plug-ins on a scoring turn,
    /// then runs `then` on the same blocking thread, after giving the turn back (a
    /// commit waiting for its batch never holds a scoring turn).
    pub(crate) async fn fulfil_then<T: Send + 'static, R: Send + 'static>(
        &self,
        verifier: &Arc<Verifier<SqlStore>>,
        mut pending: Pending<T>,
        then: impl FnOnce(Pending<T>) -> R + Send + 'static,
    ) -> Result<R, Unavailable> {
        let joined =
            |done: Result<R, tokio::task::JoinError>| done.map_err(|e| Unavailable::Worker(e.to_string()));
        if pending.need().is_none() {
            return joined(tokio::task::spawn_blocking(move || then(pending)).await);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.bound {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Unavailable::Busy);
        }
        let waiting = Waiting(Arc::clone(&self.waiting));
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|e| Unavailable::Worker(e.to_string()))?;
        let verifier = Arc::clone(verifier);
        joined(
            tokio::task::spawn_blocking(move || {
                verifier.plugins().fulfil(&mut pending);
                drop((permit, waiting));
                then(pending)
            })
            .await,
        )
    }
}

/// One request counted against the pool's bound, until dropped.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
