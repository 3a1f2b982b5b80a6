//! Connections the request path's PostgreSQL reads keep between queries.
//!
//! `sqlx` pings every connection returned to its pool (a task on the store's runtime,
//! one round trip to the server) before another caller may take it. A read keeps its
//! connection here instead, at most [`KEEP`] of them, and the next read takes it back
//! without that trip; one idle for over a second is pinged before use, as the pools do.
//! A connection whose read failed goes back to `sqlx`, which tests it and closes it if
//! broken. Kept connections count against the pool's size like any checked-out one.
//!
//! Measured (`scripts/server-load.sh`'s PostgreSQL sessions, concurrency 64, three
//! alternating pairs in one session): PostgreSQL's CPU per session fell 6–10 % and
//! throughput rose about 3 % (2,042/2,260/2,190 against 1,920/2,177/2,201 sessions/s).

use std::sync::Mutex;
use std::time::Instant;

use shiren_verify::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection as _};

use crate::store::{PING_WHEN_IDLE, db};

/// Connections kept at most: the rest of the pool stays for the writers and the console.
pub(crate) const KEEP: usize = 4;

/// The kept connections of one pool.
#[derive(Debug)]
pub(crate) struct Held {
    /// The store's runtime: a connection given back to the pool spawns a task there.
    runtime: Option<tokio::runtime::Handle>,
    pool: AnyPool,
    idle: Mutex<Vec<(PoolConnection<Any>, Instant)>>,
    keep: usize,
}

impl Held {
    /// Keeps at most `keep` of `pool`'s connections; gives them back inside `runtime`.
    pub(crate) fn new(runtime: Option<tokio::runtime::Handle>, pool: AnyPool, keep: usize) -> Held {
        Held { runtime, pool, idle: Mutex::default(), keep }
    }

    /// Runs `read` on a kept connection (or one from the pool), and keeps it after.
    pub(crate) async fn read<T>(
        &self,
        read: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.take().await?;
        let result = read(&mut conn).await;
        if result.is_ok() {
            self.give(conn);
        }
        result
    }

    async fn take(&self) -> Result<PoolConnection<Any>, StoreError> {
        let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        if let Some((mut conn, since)) = kept
            && (since.elapsed() <= PING_WHEN_IDLE || conn.ping().await.is_ok())
        {
            return Ok(conn);
        }
        self.pool.acquire().await.map_err(db)
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "connection housekeeping at the I/O edge, as sqlx's own pool times idleness; no decision of the flow reads this clock"
    )]
    fn give(&self, conn: PoolConnection<Any>) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.keep
        {
            idle.push((conn, Instant::now()));
        }
    }
}

impl Drop for Held {
    /// Gives every kept connection back to the pool, inside the store's runtime (the
    /// store drops this before its runtime).
    fn drop(&mut self) {
        let _context = self.runtime.as_ref().map(tokio::runtime::Handle::enter);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}
