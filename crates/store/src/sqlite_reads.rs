//! The request path's reads of a SQLite file — a session, an account's document, a
//! record — run on the calling thread through `rusqlite`, beside `sqlx`'s pools.
//!
//! Why a second driver: `sqlx`'s SQLite connections each run on a worker thread of
//! their own, so every statement is a hand-off to that thread and back, and every
//! connection returned to the pool is pinged from a task on the store's runtime. On the
//! server's `DescribeFaceVerify` load, the process spent two thirds of its time in the
//! kernel switching between those threads (perf). Here a read is a function call: the
//! same connection, the same statement, no thread hop.
//!
//! Owns: up to [`READERS`] connections opened on the same file with `query_only`
//! (WAL readers never wait for the writer); a read waits for a free one. Decoding and
//! validation are the store's (`session_from`, `record_from`, `account_from`), shared
//! with the `sqlx` paths. Never writes: every write stays with `sqlx`'s one writer.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};
use shiren_catalog::{AccountId, CertifyId};
use shiren_records::Record;
use shiren_verify::{Session, StoreError};

use crate::account::AccountState;
use crate::store::{account_from, record_from, session_from};

/// Connections at most; a read waits for one beyond.
pub(crate) const READERS: usize = 8;

/// How long a SQLite connection of `rusqlite` (a read here, a nonce batch in
/// `sqlite_nonces`) waits for a locked database (as the `sqlx` pools' `busy_timeout`).
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The read connections of one SQLite file.
#[derive(Debug)]
pub(crate) struct SqliteReads {
    path: PathBuf,
    pool: Mutex<Readers>,
    freed: Condvar,
}

/// The idle connections, and how many exist in all.
#[derive(Debug, Default)]
struct Readers {
    idle: Vec<Connection>,
    open: usize,
}

impl SqliteReads {
    /// Read connections to the file `path` (opened on first use; the file exists:
    /// `sqlx` created and migrated it).
    pub(crate) fn new(path: &Path) -> SqliteReads {
        SqliteReads { path: path.to_owned(), pool: Mutex::default(), freed: Condvar::new() }
    }

    /// The session `id`, if stored.
    pub(crate) fn session(&self, id: CertifyId) -> Result<Option<Session>, StoreError> {
        let row = self.with(|conn| {
            conn.prepare_cached(
                "SELECT certify_id, account, state, body FROM sessions WHERE certify_id = ?1",
            )?
            .query_row([id.to_string()], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
            .optional()
        })?;
        row.map(|(id, account, state, body): (String, String, String, String)| {
            session_from(&id, &account, &state, &body)
        })
        .transpose()
    }

    /// The record of `id`, if stored.
    pub(crate) fn record(&self, id: CertifyId) -> Result<Option<Record>, StoreError> {
        let row = self.with(|conn| {
            conn.prepare_cached("SELECT certify_id, account, body FROM records WHERE certify_id = ?1")?
                .query_row([id.to_string()], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()
        })?;
        row.map(|(id, account, body): (String, String, String)| record_from(&id, &account, &body)).transpose()
    }

    /// The account's document, if stored.
    pub(crate) fn account(&self, account: &AccountId) -> Result<Option<AccountState>, StoreError> {
        let text = self.with(|conn| {
            conn.prepare_cached("SELECT state FROM accounts WHERE account = ?1")?
                .query_row([account.as_str()], |row| row.get::<_, String>(0))
                .optional()
        })?;
        text.map(|text| account_from(account, &text)).transpose()
    }

    /// Runs `read` on a free connection (opening one while fewer than [`READERS`]
    /// exist, else waiting). A connection whose read failed is closed, not reused.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.take()?;
        let result = read(&conn);
        let mut pool = self.lock()?;
        if result.is_ok() {
            pool.idle.push(conn);
        } else {
            pool.open = pool.open.saturating_sub(1);
        }
        drop(pool);
        self.freed.notify_one();
        result.map_err(unavailable)
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let mut pool = self.lock()?;
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(conn);
            }
            if pool.open < READERS {
                pool.open += 1;
                drop(pool);
                return self.open().inspect_err(|_| {
                    if let Ok(mut pool) = self.pool.lock() {
                        pool.open = pool.open.saturating_sub(1);
                    }
                });
            }
            pool = self
                .freed
                .wait(pool)
                .map_err(|_| StoreError::Unavailable("the SQLite readers' lock is poisoned".into()))?;
        }
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(unavailable)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
        // Reads only: a bug that tried to write here fails instead of racing the writer.
        conn.pragma_update(None, "query_only", true).map_err(unavailable)?;
        Ok(conn)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Readers>, StoreError> {
        self.pool.lock().map_err(|_| StoreError::Unavailable("the SQLite readers' lock is poisoned".into()))
    }
}

/// A `rusqlite` error as the store's (shared with `sqlite_nonces`).
pub(crate) fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch SQLite file with the sessions table, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("shiren-reads-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let conn = Connection::open(dir.join("s.db")).unwrap();
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE sessions (certify_id TEXT PRIMARY KEY, \
                 account TEXT NOT NULL, state TEXT NOT NULL, created_at BIGINT NOT NULL, body TEXT NOT NULL)",
            )
            .unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_missing_file_or_table_is_unavailable_and_its_connection_is_not_kept() {
        let missing = SqliteReads::new(Path::new("/nonexistent/shiren/s.db"));
        assert!(matches!(missing.session(CertifyId::from_bytes([1; 16])), Err(StoreError::Unavailable(_))));
        assert_eq!(missing.pool.lock().unwrap().open, 0);

        let scratch = Scratch::new("no-table");
        let reads = SqliteReads::new(&scratch.0.join("s.db"));
        assert!(matches!(reads.record(CertifyId::from_bytes([1; 16])), Err(StoreError::Unavailable(_))));
        let pool = reads.pool.lock().unwrap();
        assert_eq!((pool.open, pool.idle.len()), (0, 0));
    }

    #[test]
    fn many_threads_share_at_most_readers_connections() {
        let scratch = Scratch::new("threads");
        let reads = SqliteReads::new(&scratch.0.join("s.db"));
        std::thread::scope(|s| {
            for _ in 0..4 * READERS {
                s.spawn(|| {
                    for i in 0..50u8 {
                        assert!(matches!(reads.session(CertifyId::from_bytes([i; 16])), Ok(None)));
                    }
                });
            }
        });
        let pool = reads.pool.lock().unwrap();
        assert!(pool.open <= READERS && pool.open == pool.idle.len(), "{pool:?}");
    }
}
