//! The bridge between the flow's synchronous seams and `sqlx`'s async drivers: the
//! store owns a small tokio runtime and runs every query there, the calling thread
//! waiting on a plain channel. So the store can be called from any thread — a worker
//! pool, `spawn_blocking`, a test — and never panics for being called from inside
//! another runtime (it only blocks that thread, which an async service avoids by
//! calling the verifier from `spawn_blocking`).

use std::future::Future;

use shiren_verify::StoreError;
use tokio::runtime::Runtime;

/// The store's runtime.
#[derive(Debug)]
pub(crate) struct Executor {
    runtime: Option<Runtime>,
}

impl Executor {
    /// A runtime with two workers (the drivers' I/O; the CPU work is the caller's).
    pub(crate) fn new() -> std::io::Result<Executor> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("shiren-store")
            .enable_all()
            .build()?;
        Ok(Executor { runtime: Some(runtime) })
    }

    /// Starts a task on the runtime that lives as long as the store.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> Result<(), StoreError> {
        let runtime =
            self.runtime.as_ref().ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
        runtime.spawn(task);
        Ok(())
    }

    /// Runs `work` on the runtime and waits for its result.
    pub(crate) fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let runtime =
            self.runtime.as_ref().ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
        let (done, result) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            // The receiver waits for exactly this message; it cannot be gone.
            let _ = done.send(work.await);
        });
        result.recv().map_err(|_| StoreError::Unavailable("the store's runtime stopped mid-query".into()))?
    }
}

impl Drop for Executor {
    /// Never blocks (dropping a runtime inside another would panic): in-flight queries
    /// are abandoned, their transactions rolled back by the database.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
