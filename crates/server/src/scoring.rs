//! The face scoring pool: at most `workers` scorings run at once (one per core by
//! default), each on the blocking pool, so scoring uses every core and never blocks the
//! async runtime; at most `queue` more wait for a turn, and beyond that a request is
//! refused at once (`ServiceUnavailable`) rather than queueing without bound. A pending
//! operation that needs nothing (a retry of a completed session, a refusal) skips it.

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
    waiting: AtomicUsize,
    /// Requests that may wait for or hold a turn at once.
    bound: usize,
}

impl Scoring {
    /// `workers` at once (at least one), `queue` waiting.
    pub(crate) fn new(workers: usize, queue: usize) -> Scoring {
        let workers = workers.max(1);
        Scoring {
            permits: Arc::new(Semaphore::new(workers)),
            waiting: AtomicUsize::new(0),
            bound: workers.saturating_add(queue),
        }
    }

    /// Meets every need of `pending` with the verifier's plug-ins, on a scoring turn.
    pub(crate) async fn fulfil<T: Send + 'static>(
        &self,
        verifier: &Arc<Verifier<SqlStore>>,
        mut pending: Pending<T>,
    ) -> Result<Pending<T>, Unavailable> {
        if pending.need().is_none() {
            return Ok(pending);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.bound {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Unavailable::Busy);
        }
        let permit = self.permits.clone().acquire_owned().await;
        let permit = permit.map_err(|e| Unavailable::Worker(e.to_string()));
        let verifier = Arc::clone(verifier);
        let done = match permit {
            Ok(permit) => tokio::task::spawn_blocking(move || {
                let _turn = permit;
                verifier.plugins().fulfil(&mut pending);
                pending
            })
            .await
            .map_err(|e| Unavailable::Worker(e.to_string())),
            Err(e) => Err(e),
        };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        done
    }
}
