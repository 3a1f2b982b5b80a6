//! The nonce batcher's transactions on SQLite, run through `rusqlite` on a connection
//! of the batcher's own: one statement is a function call, not a hand-off to `sqlx`'s
//! connection thread and back.
//!
//! Why: on the server's `DescribeFaceVerify` load a batch of about 12 checks took
//! 1.0–1.2 ms through `sqlx`, while the same statements through `rusqlite` take about
//! 0.4 ms (commit and `fsync` included); see the store README for the measurements.
//!
//! Owns: one connection to the store's file (WAL, `synchronous = FULL`, as the `sqlx`
//! writer), opened on first use and closed after any error (so no transaction outlives
//! its batch), and the [`NonceSql`] statements on it. The decisions are `nonces`'
//! ([`decide_batch`]), shared with PostgreSQL. The caller holds the `sqlx` pool's one
//! writer connection while a batch runs, so this process never has two writers waiting
//! on SQLite's lock. Never called from anything but the batcher.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior};
use shiren_verify::StoreError;

use crate::nonces::{Check, NonceSql, Outcome, Scope, decide_batch};
use crate::sqlite_reads::{BUSY_TIMEOUT, unavailable};
use crate::store::micros;

/// The batcher's connection to one SQLite file.
#[derive(Debug)]
pub(crate) struct SqliteNonces {
    path: PathBuf,
    conn: Option<Connection>,
}

impl SqliteNonces {
    /// The batcher's connection to the file `path` (opened on first use; the file
    /// exists: `sqlx` created and migrated it).
    pub(crate) fn new(path: &Path) -> SqliteNonces {
        SqliteNonces { path: path.to_owned(), conn: None }
    }

    /// Runs a batch in one transaction and commits it; the outcomes in the batch's
    /// order, `total` updated. On an error nothing is remembered, and the connection is
    /// closed (rolling back whatever it held).
    pub(crate) fn run(&mut self, batch: &[Check], total: &mut u64) -> Result<Vec<Outcome>, StoreError> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => open(&self.path)?,
        };
        let result = transact(&mut conn, batch, total);
        if result.is_ok() {
            self.conn = Some(conn);
        }
        result
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(unavailable)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
    // Durable commits, as the `sqlx` writer's: a check is answered only after this.
    conn.pragma_update(None, "synchronous", "FULL").map_err(unavailable)?;
    let mode: String =
        conn.pragma_query_value(None, "journal_mode", |row| row.get(0)).map_err(unavailable)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!("the SQLite file is in {mode} mode, not WAL")));
    }
    Ok(conn)
}

/// One batch's transaction: `BEGIN IMMEDIATE` (the write lock first), the decisions,
/// `COMMIT`. Dropping the transaction on an error rolls it back.
fn transact(conn: &mut Connection, batch: &[Check], total: &mut u64) -> Result<Vec<Outcome>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
    let outcomes = ready(decide_batch(&mut Statements(&tx), batch, total))?;
    tx.commit().map_err(unavailable)?;
    Ok(outcomes)
}

/// The output of a future that never waits: every [`NonceSql`] method here is a
/// synchronous call, so its future is ready at its first poll.
fn ready<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    match pin!(work).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::Unavailable("a SQLite nonce statement did not complete".into())),
    }
}

/// [`NonceSql`] on the batcher's open transaction: per-row statements, each prepared
/// once per connection (SQLite has no round trips to save by sending rows together).
struct Statements<'c>(&'c Connection);

impl NonceSql for Statements<'_> {
    async fn counter(&mut self, scope: &Scope) -> Result<Option<i64>, StoreError> {
        self.0
            .prepare_cached(
                "SELECT held FROM nonce_counts WHERE account = ?1 AND scope = ?2 AND access_key_id = ?3",
            )
            .and_then(|mut select| {
                select.query_row((&scope.0, scope.1, &scope.2), |row| row.get(0)).optional()
            })
            .map_err(unavailable)
    }

    async fn create_counter(&mut self, scope: &Scope) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO nonce_counts (account, scope, access_key_id, held) VALUES (?1, ?2, ?3, 0) \
                 ON CONFLICT (account, scope, access_key_id) DO NOTHING",
            )
            .and_then(|mut insert| insert.execute((&scope.0, scope.1, &scope.2)))
            .map(drop)
            .map_err(unavailable)
    }

    async fn key_counters(&mut self, account: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.0
            .prepare_cached(
                "SELECT access_key_id, held FROM nonce_counts WHERE account = ?1 AND scope = 'k' \
                 ORDER BY access_key_id",
            )
            .and_then(|mut select| {
                select.query_map([account], |row| Ok((row.get(0)?, row.get(1)?)))?.collect()
            })
            .map_err(unavailable)
    }

    async fn set_counter(&mut self, scope: &Scope, held: i64) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "UPDATE nonce_counts SET held = ?4 WHERE account = ?1 AND scope = ?2 AND access_key_id = ?3",
            )
            .and_then(|mut update| update.execute((&scope.0, scope.1, &scope.2, held)))
            .map(drop)
            .map_err(unavailable)
    }

    async fn delete_expired(
        &mut self,
        expired: i64,
        digests: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut delete = self
            .0
            .prepare_cached(
                "DELETE FROM nonces WHERE digest = ?1 AND seen_at <= ?2 RETURNING account, access_key_id",
            )
            .map_err(unavailable)?;
        let mut deleted = Vec::new();
        for digest in digests {
            let row = delete
                .query_row((digest, expired), |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
                .map_err(unavailable)?;
            deleted.extend(row);
        }
        Ok(deleted)
    }

    async fn insert(&mut self, batch: &[Check]) -> Result<HashSet<String>, StoreError> {
        let mut insert = self
            .0
            .prepare_cached(
                "INSERT INTO nonces (digest, account, access_key_id, seen_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (digest) DO NOTHING",
            )
            .map_err(unavailable)?;
        let mut inserted = HashSet::with_capacity(batch.len());
        for c in batch {
            if insert.execute((&c.digest, &c.account, &c.key, micros(c.now))).map_err(unavailable)? == 1 {
                inserted.insert(c.digest.clone());
            }
        }
        Ok(inserted)
    }

    async fn delete(&mut self, digests: &[&str]) -> Result<(), StoreError> {
        let mut delete =
            self.0.prepare_cached("DELETE FROM nonces WHERE digest = ?1").map_err(unavailable)?;
        for digest in digests {
            delete.execute([digest]).map_err(unavailable)?;
        }
        Ok(())
    }

    async fn prune(&mut self, account: &str, live_after: i64) -> Result<Vec<String>, StoreError> {
        self.0
            .prepare_cached("DELETE FROM nonces WHERE account = ?1 AND seen_at <= ?2 RETURNING access_key_id")
            .and_then(|mut delete| delete.query_map((account, live_after), |row| row.get(0))?.collect())
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_that_would_wait_is_an_error_not_a_hang() {
        let pending = std::future::pending::<Result<(), StoreError>>();
        assert!(matches!(ready(pending), Err(StoreError::Unavailable(_))));
        assert_eq!(ready(async { Ok::<_, StoreError>(7) }).unwrap(), 7);
    }

    #[test]
    fn a_missing_file_refuses_the_batch_and_keeps_no_connection() {
        let mut nonces = SqliteNonces::new(Path::new("/nonexistent/shiren/n.db"));
        let mut total = 3;
        assert!(matches!(nonces.run(&[], &mut total), Err(StoreError::Unavailable(_))));
        assert!(nonces.conn.is_none());
        assert_eq!(total, 3);
    }

    #[test]
    fn a_file_not_in_wal_mode_is_refused() {
        let dir = std::env::temp_dir().join(format!("shiren-nonces-wal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("n.db");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        let refused = open(&path);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(refused, Err(StoreError::Unavailable(text)) if text.contains("not WAL")));
    }
}
