//! The bridge between the flow's synchronous seams and `sqlx`'s async drivers: the
//! store owns a small tokio runtime (its timers and the drivers' I/O) and the calling
//! thread polls each query itself, inside that runtime's context, parking between
//! wake-ups — no hand-off to another thread and back per query. So the store can be
//! called from any thread — a worker pool, `spawn_blocking`, a test — and never panics
//! for being called from inside another runtime (it only blocks that thread, which an
//! async service avoids by calling the verifier from `spawn_blocking`).

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

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

    /// The runtime's handle (for dropping what spawns a task when dropped).
    pub(crate) fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.runtime.as_ref().map(|runtime| runtime.handle().clone())
    }

    /// Runs `work` to completion on the calling thread, in the runtime's context.
    pub(crate) fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        let runtime =
            self.runtime.as_ref().ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
        // Timers, spawned tasks and sockets belong to the store's runtime, whose
        // workers drive them and wake this thread.
        let _context = runtime.enter();
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut work = std::pin::pin!(work);
        loop {
            if let Poll::Ready(result) = work.as_mut().poll(&mut cx) {
                return result;
            }
            // A spurious wake-up only polls again.
            std::thread::park();
        }
    }
}

/// Wakes the thread waiting in [`Executor::run`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
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
