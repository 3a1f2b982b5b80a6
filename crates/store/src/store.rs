//! [`SqlStore`]: the flow's [`FlowStore`] over SQLite or PostgreSQL through `sqlx`
//! (one code path: the `Any` driver and the SQL both speak). Each write is one
//! transaction; a completion — session, record, usage key, the account's meter and
//! bills — commits together or not at all. The domain rules stay in the domain crates:
//! this file moves their state in and out of rows, locks, and maps errors.
//!
//! Concurrency: a completion locks its account's row (`SELECT … FOR UPDATE` on
//! PostgreSQL; SQLite has one writer connection), so two processes completing sessions
//! of one account serialise on it and never overdraw a pack; accounts proceed in
//! parallel. The certify ID is a primary key in `sessions`, `records` and
//! `usage_events`: no retry or second process can apply it twice.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shiren_billing::{BillingError, BillingStep, DailyBill};
use shiren_catalog::{AccountId, CallCode, CertifyId};
use shiren_records::{DeleteMode, DigestKey, Record, RecordError};
use shiren_scene::SceneId;
use shiren_verify::{
    Completion, FlowStore, Ledger, LedgerError, SceneView, Session, SessionError, SessionState, StoreError,
    UsageLedger,
};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, Executor as _, Row, Transaction};
use std::str::FromStr as _;

use crate::account::AccountState;
use crate::error::OpenError;
use crate::exec::Executor;
use crate::schema;

/// Read-only connections to a SQLite file, beside its one writer.
const SQLITE_READERS: u32 = 4;

/// A connection idle for longer is pinged before it is handed out again.
pub(crate) const PING_WHEN_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// The pools' options. `sqlx` pings every connection on every acquire by default — one
/// round trip more per query (a hop to the driver's thread on SQLite); only a connection
/// idle for [`PING_WHEN_IDLE`] may have been cut meanwhile, so only it is pinged (a
/// connection that breaks mid-query fails that query, which refuses, and is dropped).
fn pool_options(connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(connections).test_before_acquire(false).before_acquire(
        |conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        },
    )
}

/// Which database a URL names; the only difference in the SQL is row locking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file: the embedded default, one process per file.
    Sqlite,
    /// A PostgreSQL server: several processes share it.
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// What locks a selected row until the transaction ends.
    pub(crate) fn lock(self) -> &'static str {
        match self {
            // SQLite's single writer connection already serialises every transaction.
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// How to open a store.
#[derive(Clone)]
pub struct StoreOptions {
    /// The secret key of the ID-number digest in records (the service's secret store).
    pub digest_key: DigestKey,
    /// Connections to PostgreSQL (SQLite always uses one writer).
    pub max_connections: u32,
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions").field("max_connections", &self.max_connections).finish_non_exhaustive()
    }
}

/// The request path's reads (a session, an account, a record's read flag), one way per
/// backend.
#[derive(Debug)]
enum RequestReads {
    /// On the calling thread through `rusqlite` (see `sqlite_reads`).
    Sqlite(crate::sqlite_reads::SqliteReads),
    /// On connections kept between queries (see `held`).
    Postgres(crate::held::Held),
}

/// The flow's state in SQLite or PostgreSQL. `Sync`: share one store between every
/// worker of a process; several processes may share one PostgreSQL database.
#[derive(Debug)]
pub struct SqlStore {
    /// Every write, and reads that must see a transaction's own writes.
    pub(crate) pool: AnyPool,
    /// Plain reads. SQLite: a pool of read-only connections beside the one writer (WAL
    /// readers never wait for the writer's commits); PostgreSQL: the same pool.
    pub(crate) reader: AnyPool,
    /// The request path's reads. Declared before `exec`, so kept PostgreSQL
    /// connections are given back while the runtime still runs.
    reads: RequestReads,
    pub(crate) backend: Backend,
    digest_key: DigestKey,
    pub(crate) exec: Executor,
    /// The queue of the nonce memory's batcher (see `nonces`).
    pub(crate) nonce_queue: tokio::sync::mpsc::Sender<crate::nonces::Check>,
    /// The queues of the completions' committers, one each (see `commit`).
    commit_queues: Vec<tokio::sync::mpsc::Sender<crate::commit::Queued>>,
    /// What the committers share (their counts are read by [`SqlStore::batches`]).
    committed: std::sync::Arc<crate::commit::Committers>,
}

/// The flow's invariants as stored, read in one consistent snapshot (see
/// [`SqlStore::audit`]): completed sessions = records = usage keys = metered units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// Rows of each table.
    pub rows: RowCounts,
    /// Sessions in the completed state.
    pub completed_sessions: u64,
    /// Units the accounts' meters counted, over every day and solution.
    pub metered_units: u64,
}

/// Counts of the stored rows, for audits and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Accounts.
    pub accounts: u64,
    /// Sessions.
    pub sessions: u64,
    /// Records.
    pub records: u64,
    /// Usage events (certify IDs metered).
    pub usage_events: u64,
}

pub(crate) fn db(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

pub(crate) fn corrupt(what: impl std::fmt::Display, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {why}"))
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Inconsistent(format!("could not encode state: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(
    what: impl std::fmt::Display,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn state_name(state: &SessionState) -> &'static str {
    match state {
        SessionState::Pending => "pending",
        SessionState::Completed { .. } => "completed",
        SessionState::Abandoned => "abandoned",
    }
}

/// A stored session, validated against its row's key columns.
fn session_of(row: &AnyRow) -> Result<Session, StoreError> {
    let text = |column| row.try_get::<String, _>(column).map_err(db);
    session_from(&text("certify_id")?, &text("account")?, &text("state")?, &text("body")?)
}

/// A session from its row's columns, validated against its key columns.
pub(crate) fn session_from(id: &str, account: &str, state: &str, body: &str) -> Result<Session, StoreError> {
    let session: Session = from_json(format_args!("session {id}"), body)?;
    if session.certify_id.to_string() != id
        || session.account.as_str() != account
        || state_name(&session.state) != state
    {
        return Err(corrupt(format_args!("session {id}"), "its key columns disagree with its document"));
    }
    Ok(session)
}

/// A stored record, validated against its row's key columns.
pub(crate) fn record_of(row: &AnyRow) -> Result<Record, StoreError> {
    let text = |column| row.try_get::<String, _>(column).map_err(db);
    record_from(&text("certify_id")?, &text("account")?, &text("body")?)
}

/// A record from its row's columns, validated against its key columns.
pub(crate) fn record_from(id: &str, account: &str, body: &str) -> Result<Record, StoreError> {
    let record: Record = from_json(format_args!("record {id}"), body)?;
    if record.certify_id.to_string() != id || record.account.as_str() != account {
        return Err(corrupt(format_args!("record {id}"), "its key columns disagree with its document"));
    }
    Ok(record)
}

/// An account's document from its row (validated as it is decoded).
pub(crate) fn account_from(account: &AccountId, text: &str) -> Result<AccountState, StoreError> {
    from_json(format_args!("account {account}"), text)
}

const SESSION_COLUMNS: &str = "certify_id, account, state, body";

pub(crate) async fn select_session<'c>(
    executor: impl sqlx::Executor<'c, Database = Any>,
    id: CertifyId,
    lock: &str,
) -> Result<Option<Session>, StoreError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE certify_id = $1{lock}");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(executor).await.map_err(db)?;
    row.as_ref().map(session_of).transpose()
}

pub(crate) async fn select_account<'c>(
    executor: impl sqlx::Executor<'c, Database = Any>,
    account: &AccountId,
    lock: &str,
) -> Result<Option<AccountState>, StoreError> {
    let sql = format!("SELECT state FROM accounts WHERE account = $1{lock}");
    let row =
        sqlx::query(&sql).bind(account.as_str().to_owned()).fetch_optional(executor).await.map_err(db)?;
    match row {
        None => Ok(None),
        Some(row) => account_from(account, &row.try_get::<String, _>(0).map_err(db)?).map(Some),
    }
}

async fn select_record<'c>(
    executor: impl sqlx::Executor<'c, Database = Any>,
    id: CertifyId,
    lock: &str,
) -> Result<Option<Record>, StoreError> {
    let sql = format!("SELECT certify_id, account, body FROM records WHERE certify_id = $1{lock}");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(executor).await.map_err(db)?;
    row.as_ref().map(record_of).transpose()
}

/// `SELECT COUNT(*)` of each table (or filtered table), on one connection.
async fn count_rows<const N: usize>(
    conn: &mut sqlx::AnyConnection,
    tables: [&str; N],
) -> Result<[u64; N], StoreError> {
    let mut counts = [0u64; N];
    for (slot, table) in counts.iter_mut().zip(tables) {
        let row =
            sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut *conn).await.map_err(db)?;
        let n: i64 = row.try_get(0).map_err(db)?;
        *slot = u64::try_from(n).map_err(|_| corrupt(table, "a negative count"))?;
    }
    Ok(counts)
}

pub(crate) async fn save_account(
    tx: &mut Transaction<'static, Any>,
    account: &AccountId,
    state: &mut AccountState,
) -> Result<(), StoreError> {
    // The exactly-once set lives in `usage_events`; the document stays small.
    state.meter.forget_applied();
    let text = to_json(state)?;
    let done = sqlx::query("UPDATE accounts SET state = $1, revision = revision + 1 WHERE account = $2")
        .bind(text)
        .bind(account.as_str().to_owned())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Inconsistent(format!("account {account} vanished while locked")))
    }
}

pub(crate) async fn write_session(
    tx: &mut Transaction<'static, Any>,
    session: &Session,
    new: bool,
) -> Result<(), StoreError> {
    let body = to_json(session)?;
    let state = state_name(&session.state);
    let id = session.certify_id.to_string();
    if new {
        let inserted = sqlx::query(
            "INSERT INTO sessions (certify_id, account, state, created_at, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(session.account.as_str().to_owned())
        .bind(state)
        .bind(micros(session.created_at))
        .bind(body)
        .execute(&mut **tx)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(SessionError::Duplicate(session.certify_id).into()),
            Err(e) => Err(db(e)),
        }
    } else {
        let done = sqlx::query("UPDATE sessions SET state = $1, body = $2 WHERE certify_id = $3")
            .bind(state)
            .bind(body)
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(SessionError::NotFound(session.certify_id).into())
        }
    }
}

impl SqlStore {
    /// Opens (creating if needed) the store at `url` — `sqlite://PATH` (the file is
    /// created) or `postgres://USER@HOST:PORT/DATABASE` — and migrates it to
    /// [`schema::SCHEMA_VERSION`](crate::SCHEMA_VERSION), refusing a newer one.
    pub fn open(url: &str, options: StoreOptions) -> Result<SqlStore, OpenError> {
        let backend = Backend::of(url).ok_or_else(|| OpenError::Url(url.chars().take(64).collect()))?;
        sqlx::any::install_default_drivers();
        let exec = Executor::new()?;
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let reader_url = url.clone();
        let sqlite_file = match backend {
            Backend::Postgres => None,
            Backend::Sqlite => Some(
                SqliteConnectOptions::from_str(&url).map_err(OpenError::Database)?.get_filename().to_owned(),
            ),
        };
        let connections = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => options.max_connections.max(1),
        };
        let pool = exec
            .run(async move {
                let pool = pool_options(connections)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            if backend == Backend::Sqlite {
                                // Durable commits with concurrent readers.
                                conn.execute("PRAGMA journal_mode = WAL").await?;
                                conn.execute("PRAGMA synchronous = FULL").await?;
                                conn.execute("PRAGMA busy_timeout = 5000").await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                Ok(pool)
            })
            .map_err(|e| OpenError::Database(sqlx::Error::Configuration(e.to_string().into())))?;
        let migrating = pool.clone();
        exec.run(async move {
            schema::migrate(&migrating).await.map_err(|e| StoreError::Unavailable(e.to_string()))
        })
        .map_err(|e| match e {
            StoreError::Unavailable(text) if text.contains("newer than") => {
                OpenError::Database(sqlx::Error::Configuration(text.into()))
            }
            other => OpenError::Database(sqlx::Error::Configuration(other.to_string().into())),
        })?;
        let reader = match backend {
            Backend::Postgres => pool.clone(),
            Backend::Sqlite => {
                let url = reader_url;
                exec.run(async move {
                    pool_options(SQLITE_READERS)
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                conn.execute("PRAGMA busy_timeout = 5000").await?;
                                conn.execute("PRAGMA query_only = 1").await?;
                                Ok(())
                            })
                        })
                        .connect(&url)
                        .await
                        .map_err(|e| StoreError::Unavailable(e.to_string()))
                })
                .map_err(|e| OpenError::Database(sqlx::Error::Configuration(e.to_string().into())))?
            }
        };
        let (nonce_queue, queued) = tokio::sync::mpsc::channel(crate::nonces::QUEUE);
        let sqlite_nonces = sqlite_file.as_deref().map(crate::sqlite_nonces::SqliteNonces::new);
        exec.spawn(crate::nonces::run_batcher(pool.clone(), backend, sqlite_nonces, queued))
            .map_err(|e| OpenError::Database(sqlx::Error::Configuration(e.to_string().into())))?;
        // SQLite: one writer. PostgreSQL: one committer per 8 connections, the rest for
        // the nonce batcher and the reads. A whole batch is one statement, so fewer
        // committers make bigger batches: with 8 connections (`cargo bench --bench store
        // -- 'postgres/8$'`, one session) 1 committer gave 3,041/s, 2 2,538 and 2,707/s,
        // 3 2,515/s, 6 2,557 and 2,505/s. More committers keep accounts apart when one
        // account's batch is slow (decided write by write, or retried as stale).
        let committers = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => options.max_connections.div_ceil(8).max(1),
        };
        let committed = std::sync::Arc::new(crate::commit::Committers {
            pool: pool.clone(),
            backend,
            key: options.digest_key.clone(),
            known: crate::commit::KnownAccounts::default(),
            counts: crate::commit::Counts::default(),
        });
        let mut commit_queues = Vec::new();
        for _ in 0..committers {
            let (queue, queued) = tokio::sync::mpsc::channel(crate::commit::QUEUE);
            exec.spawn(crate::commit::run_committer(std::sync::Arc::clone(&committed), queued))
                .map_err(|e| OpenError::Database(sqlx::Error::Configuration(e.to_string().into())))?;
            commit_queues.push(queue);
        }
        let reads = match sqlite_file {
            Some(file) => RequestReads::Sqlite(crate::sqlite_reads::SqliteReads::new(&file)),
            // Half the pool at most: the rest stays for the writers and the console.
            None => RequestReads::Postgres(crate::held::Held::new(
                exec.handle(),
                pool.clone(),
                crate::held::KEEP.min(connections as usize / 2),
            )),
        };
        Ok(SqlStore {
            reads,
            pool,
            reader,
            backend,
            digest_key: options.digest_key,
            exec,
            nonce_queue,
            commit_queues,
            committed,
        })
    }

    /// Queues a write for the committers and waits for its batch's commit.
    fn group_commit(&self, write: crate::commit::Write) -> Result<(), StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let queue = self
            .commit_queues
            .get(write.committer(self.commit_queues.len()))
            .ok_or_else(|| StoreError::Unavailable("the store has no committers".into()))?;
        queue.try_send(crate::commit::Queued { write, reply }).map_err(|e| match e {
            tokio::sync::mpsc::error::TrySendError::Full(_) => StoreError::Unavailable(format!(
                "the store is busy ({} writes waiting); retry shortly",
                crate::commit::QUEUE
            )),
            tokio::sync::mpsc::error::TrySendError::Closed(_) => {
                StoreError::Unavailable("the store's committers stopped".into())
            }
        })?;
        answer
            .recv()
            .map_err(|_| StoreError::Unavailable("the store's committers stopped mid-commit".into()))?
    }

    /// How the committers wrote their batches since this store opened.
    pub fn batches(&self) -> crate::commit::Batches {
        self.committed.counts.read()
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn digest_key(&self) -> &DigestKey {
        &self.digest_key
    }

    /// Adds an account with its packs, bills and scenes.
    pub fn create_account(&self, account: AccountId, mut state: AccountState) -> Result<(), StoreError> {
        state.meter.forget_applied();
        let text = to_json(&state)?;
        let pool = self.pool.clone();
        self.exec.run(async move {
            let inserted = sqlx::query("INSERT INTO accounts (account, state, revision) VALUES ($1, $2, 0)")
                .bind(account.as_str().to_owned())
                .bind(text)
                .execute(&pool)
                .await;
            match inserted {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => {
                    Err(StoreError::Ledger(LedgerError::Billing(BillingError::AlreadyOpen(account))))
                }
                Err(e) => Err(db(e)),
            }
        })
    }

    /// The account's packs, bills and scenes (validated on load).
    pub fn account(&self, account: AccountId) -> Result<Option<AccountState>, StoreError> {
        match &self.reads {
            RequestReads::Sqlite(reads) => reads.account(&account),
            RequestReads::Postgres(held) => {
                self.exec.run(held.read(async |conn| select_account(conn, &account, "").await))
            }
        }
    }

    /// Changes an account's packs, bills or scenes through their own APIs, atomically:
    /// the account is locked, `change` runs on its state, and the state is saved only
    /// when `change` returns `Ok`. For purchases, top-ups, prices and scene edits.
    pub fn update_account<T, E>(
        &self,
        account: AccountId,
        change: impl FnOnce(&mut AccountState) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, StoreError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let (pool, lock) = (self.pool.clone(), self.backend.lock());
        let outcome = self.exec.run(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let mut state = select_account(&mut *tx, &account, lock)
                .await?
                .ok_or(StoreError::Ledger(LedgerError::Billing(BillingError::UnknownAccount(account))))?;
            let outcome = change(&mut state);
            if outcome.is_ok() {
                save_account(&mut tx, &account, &mut state).await?;
                tx.commit().await.map_err(db)?;
            }
            Ok(outcome)
        });
        // The committers' copy is stale now (its revision check would find out; this
        // spares their next batch the attempt).
        self.committed.known.forget([account]);
        outcome
    }

    /// Issues every bill due at `now`, account by account, each under its account's
    /// lock and saved in the same transaction: however many processes poll at once,
    /// each account's bill for a day is issued exactly once. Bills older than
    /// [`BILLS_KEPT_DAYS`](crate::BILLS_KEPT_DAYS) move to the `bills` table in the same
    /// transaction (see `bills`). Returns the bills issued by this call.
    pub fn poll_bills(&self, now: DateTime<Utc>) -> Result<Vec<DailyBill>, StoreError> {
        let (pool, lock) = (self.pool.clone(), self.backend.lock());
        self.exec.run(async move {
            let rows = sqlx::query("SELECT account FROM accounts ORDER BY account")
                .fetch_all(&pool)
                .await
                .map_err(db)?;
            let mut issued = Vec::new();
            for row in rows {
                let text: String = row.try_get(0).map_err(db)?;
                let account =
                    AccountId::new(&text).map_err(|e| corrupt(format_args!("account {text}"), e))?;
                let mut tx = pool.begin().await.map_err(db)?;
                let Some(mut state) = select_account(&mut *tx, &account, lock).await? else { continue };
                let mut mine = Vec::new();
                let mut billed = false;
                loop {
                    let step =
                        state.biller.poll(now).map_err(|e| StoreError::Ledger(LedgerError::Billing(e)))?;
                    match step {
                        BillingStep::Issued { bills, .. } => {
                            billed = true;
                            mine.extend(bills);
                        }
                        _ => break,
                    }
                }
                if billed {
                    crate::bills::archive_old_bills(&mut tx, &account, &mut state).await?;
                    save_account(&mut tx, &account, &mut state).await?;
                    tx.commit().await.map_err(db)?;
                    issued.extend(mine);
                }
            }
            Ok(issued)
        })
    }

    /// A record, by certify ID (validated on load).
    pub fn record(&self, id: CertifyId) -> Result<Option<Record>, StoreError> {
        let pool = self.reader.clone();
        self.exec.run(async move { select_record(&pool, id, "").await })
    }

    /// Every session, in certify-ID order (audits and tests; validated on load).
    pub fn sessions(&self) -> Result<Vec<Session>, StoreError> {
        let pool = self.reader.clone();
        self.exec.run(async move {
            let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions ORDER BY certify_id");
            let rows = sqlx::query(&sql).fetch_all(&pool).await.map_err(db)?;
            rows.iter().map(session_of).collect()
        })
    }

    /// The invariants, read in one snapshot — so a transaction committing meanwhile (a
    /// process that died mid-commit, another process working) is either wholly in it
    /// or wholly out. Every account document is validated on the way.
    pub fn audit(&self) -> Result<Audit, StoreError> {
        let (pool, backend) = (self.reader.clone(), self.backend);
        self.exec.run(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            if backend == Backend::Postgres {
                // One snapshot for every statement below (SQLite's read transaction
                // already has one).
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            let tables =
                ["accounts", "sessions", "records", "usage_events", "sessions WHERE state = 'completed'"];
            let [accounts, sessions, records, usage_events, completed_sessions] =
                count_rows(&mut tx, tables).await?;
            let rows =
                sqlx::query("SELECT account, state FROM accounts").fetch_all(&mut *tx).await.map_err(db)?;
            let mut metered_units = 0u64;
            for row in rows {
                let account: String = row.try_get(0).map_err(db)?;
                let text: String = row.try_get(1).map_err(db)?;
                let state: AccountState = from_json(format_args!("account {account}"), &text)?;
                let counted: u64 = state.meter.usage().values().map(|u| u.counted).sum();
                metered_units = metered_units.saturating_add(counted);
            }
            Ok(Audit {
                rows: RowCounts { accounts, sessions, records, usage_events },
                completed_sessions,
                metered_units,
            })
        })
    }

    /// How many rows each table holds.
    pub fn counts(&self) -> Result<RowCounts, StoreError> {
        let pool = self.pool.clone();
        self.exec.run(async move {
            let mut conn = pool.acquire().await.map_err(db)?;
            let [accounts, sessions, records, usage_events] =
                count_rows(&mut conn, ["accounts", "sessions", "records", "usage_events"]).await?;
            Ok(RowCounts { accounts, sessions, records, usage_events })
        })
    }
}

/// The account's scene, from its document (none for an unknown account).
fn scene_of(state: Option<&AccountState>, account: &AccountId, id: SceneId) -> Option<SceneView> {
    state.and_then(|s| SceneView::lookup(&s.scenes, account, id))
}

/// Whether the account may start a verification, from its document.
fn standing_of(state: Option<AccountState>, account: &AccountId, now: DateTime<Utc>) -> Result<(), CallCode> {
    match state {
        Some(state) => Ledger { meter: state.meter, biller: state.biller }.may_start(account, now),
        // Not open for billing: the biller's own answer for strangers.
        None => Err(CallCode::NotActivated),
    }
}

impl FlowStore for SqlStore {
    fn session(&self, id: CertifyId) -> Result<Option<Session>, StoreError> {
        match &self.reads {
            RequestReads::Sqlite(reads) => reads.session(id),
            RequestReads::Postgres(held) => {
                self.exec.run(held.read(async |conn| select_session(conn, id, "").await))
            }
        }
    }

    fn scene(&self, account: &AccountId, id: SceneId) -> Result<Option<SceneView>, StoreError> {
        Ok(scene_of(self.account(*account)?.as_ref(), account, id))
    }

    fn may_start(&self, account: &AccountId, now: DateTime<Utc>) -> Result<Result<(), CallCode>, StoreError> {
        Ok(standing_of(self.account(*account)?, account, now))
    }

    /// One read of the account's document.
    fn scene_and_standing(
        &self,
        account: &AccountId,
        id: SceneId,
        now: DateTime<Utc>,
    ) -> Result<(Option<SceneView>, Result<(), CallCode>), StoreError> {
        let state = self.account(*account)?;
        Ok((scene_of(state.as_ref(), account, id), standing_of(state, account, now)))
    }

    /// Queued for the next group commit (see `commit`), answered after it.
    fn start(&self, session: Session) -> Result<(), StoreError> {
        self.group_commit(crate::commit::Write::Start(Box::new(session)))
    }

    /// One transaction: lock the account, check the session is pending (or absent, for
    /// a new one), check the ledger takes the usage and that its certify ID was never
    /// metered, then write the record, the usage key, the account's meter and bills,
    /// and the session — and commit.
    /// Queued for the next group commit (see `commit`), answered after it.
    fn complete(&self, completion: Completion) -> Result<(), StoreError> {
        self.group_commit(crate::commit::Write::Complete(Box::new(completion)))
    }

    fn abandon(&self, id: CertifyId) -> Result<Session, StoreError> {
        let (pool, lock) = (self.pool.clone(), self.backend.lock());
        self.exec.run(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let mut session = select_session(&mut *tx, id, lock).await?.ok_or(SessionError::NotFound(id))?;
            if session.state != SessionState::Pending {
                return Err(StoreError::NotPending(Box::new(session)));
            }
            session.state = SessionState::Abandoned;
            write_session(&mut tx, &session, false).await?;
            tx.commit().await.map_err(db)?;
            Ok(session)
        })
    }

    fn mark_read(&self, account: &AccountId, id: CertifyId, _now: DateTime<Utc>) -> Result<(), StoreError> {
        // Read already (every query after the first): nothing to write.
        let seen = match &self.reads {
            RequestReads::Sqlite(reads) => reads.record(id)?,
            RequestReads::Postgres(held) => {
                self.exec.run(held.read(async |conn| select_record(conn, id, "").await))?
            }
        };
        if seen.is_none_or(|record| record.account != *account || record.read) {
            return Ok(());
        }
        let (pool, lock, account) = (self.pool.clone(), self.backend.lock(), *account);
        self.exec.run(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let Some(mut record) = select_record(&mut *tx, id, lock).await? else { return Ok(()) };
            if record.account != account || record.read {
                return Ok(());
            }
            record.read = true;
            crate::records::update_record(&mut tx, &record).await?;
            tx.commit().await.map_err(db)
        })
    }

    fn erase_personal(
        &self,
        account: &AccountId,
        id: CertifyId,
        mode: DeleteMode,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (pool, lock, account) = (self.pool.clone(), self.backend.lock(), *account);
        self.exec.run(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let mut session = select_session(&mut *tx, id, lock).await?.ok_or(SessionError::NotFound(id))?;
            if let Some(mut record) =
                select_record(&mut *tx, id, lock).await?.filter(|r| r.account == account)
            {
                // The records crate's rule (`RecordStore::delete_personal`), on the row.
                if record.personal.is_none() {
                    return Err(RecordError::AlreadyDeleted(id).into());
                }
                if mode == DeleteMode::AfterQuery && !record.read {
                    return Err(RecordError::NotYetRead(id).into());
                }
                record.personal = None;
                crate::records::update_record(&mut tx, &record).await?;
            }
            session.erase_personal();
            write_session(&mut tx, &session, false).await?;
            tx.commit().await.map_err(db)
        })
    }

    fn expire_sessions(&self, created_before: DateTime<Utc>) -> Result<usize, StoreError> {
        let (pool, lock) = (self.pool.clone(), self.backend.lock());
        self.exec.run(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE state = 'pending' AND created_at < $1 ORDER BY certify_id{lock}"
            );
            let rows = sqlx::query(&sql).bind(micros(created_before)).fetch_all(&mut *tx).await.map_err(db)?;
            let mut expired = 0;
            for row in &rows {
                let mut session = session_of(row)?;
                session.state = SessionState::Abandoned;
                write_session(&mut tx, &session, false).await?;
                expired += 1;
            }
            tx.commit().await.map_err(db)?;
            Ok(expired)
        })
    }

    fn forget_sessions_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
        let pool = self.pool.clone();
        self.exec.run(async move {
            let done = sqlx::query("DELETE FROM sessions WHERE state <> 'pending' AND created_at < $1")
                .bind(micros(cutoff))
                .execute(&pool)
                .await
                .map_err(db)?;
            usize::try_from(done.rows_affected()).map_err(|_| StoreError::Inconsistent("row count".into()))
        })
    }
}

/// Writes a completed session only if the stored one is still pending (or, for a new
/// session, absent); `false` when it is not, with nothing written.
pub(crate) async fn write_session_if(
    tx: &mut Transaction<'static, Any>,
    session: &Session,
    new: bool,
) -> Result<bool, StoreError> {
    if new {
        return match write_session(tx, session, true).await {
            Ok(()) => Ok(true),
            Err(StoreError::Session(SessionError::Duplicate(_))) => Ok(false),
            Err(e) => Err(e),
        };
    }
    let done =
        sqlx::query("UPDATE sessions SET state = $1, body = $2 WHERE certify_id = $3 AND state = 'pending'")
            .bind(state_name(&session.state))
            .bind(to_json(session)?)
            .bind(session.certify_id.to_string())
            .execute(&mut **tx)
            .await
            .map_err(db)?;
    Ok(done.rows_affected() == 1)
}
