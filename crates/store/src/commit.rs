//! Group commit of completions (and of new sessions): each completion still commits all
//! or nothing — its session, record, usage key and its account's meter and bills — but
//! writes queued at the same moment share one transaction and one durable commit
//! (`fsync`), and an account's document is read and written once per batch, not per
//! completion.
//!
//! A few committer tasks per store (one for SQLite's single writer) each take up to
//! [`BATCH`] writes at a time from their own queue (at most [`QUEUE`] waiting; beyond,
//! refused as busy). An account's completions always go to the same committer
//! ([`Write::committer`]), so in one process one account's batches are written one at a
//! time, in order. Nobody is answered before the commit.
//!
//! The common case, every write of a batch accepted, is written whole
//! ([`commit_whole`]), optimistically: the accounts' documents come from what the
//! committers last wrote or read ([`KnownAccounts`], each with its row's revision), the
//! ledger decides on them in Rust, and the batch is written only if every account row
//! still has that revision and every replaced session is still pending —
//! on PostgreSQL as one statement (one round trip and one commit: it locks those rows,
//! checks them and writes, see [`write_postgres`]), on SQLite as one statement per
//! table in one transaction. An account changed meanwhile (another process wrote it) is
//! read again and the batch tried again, up to [`ATTEMPTS`] times.
//!
//! Otherwise the batch is decided write by write ([`commit_each`]): it locks its
//! accounts' rows in sorted order (so batches of several processes never deadlock) and
//! runs each completion inside its own savepoint: one that is refused (no longer
//! pending, metered already, over its pack, a duplicate in the batch) is rolled back to
//! its savepoint and answered with its error, and the others go on. A database failure
//! fails the whole batch: nothing of it was written, every caller is told, and each may
//! retry. A commit whose outcome is unknown (the connection lost) is reported to every
//! caller, never retried; a retried completion finds it applied or not, exactly once.

use shiren_billing::BillingError;
use shiren_meter::ApplyError;
use shiren_records::{DigestKey, Record, RecordError};
use shiren_verify::{Completion, Ledger, LedgerError, Session, SessionError, StoreError, UsageLedger};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use shiren_catalog::AccountId;
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::account::AccountState;
use crate::params::{Param, Params};
use crate::records::RECORD_COLUMNS;
use crate::store::{
    Backend, db, from_json, is_unique_violation, micros, save_account, select_account, select_session,
    state_name, to_json, write_session, write_session_if,
};

/// Writes waiting for one committer, at most; beyond, a write is refused as busy.
pub(crate) const QUEUE: usize = 4_096;

/// Completions in one transaction, at most.
pub(crate) const BATCH: usize = 64;

/// A write the committers group.
pub(crate) enum Write {
    /// `FlowStore::start`: a new pending session.
    Start(Box<Session>),
    /// `FlowStore::complete`.
    Complete(Box<Completion>),
}

impl Write {
    fn session(&self) -> &Session {
        match self {
            Write::Start(session) => session,
            Write::Complete(completion) => &completion.session,
        }
    }

    /// Which of `committers` queues this write: an account's completions always the
    /// same one, so one account's batches are written one at a time, in order, and
    /// each reads the document the previous one wrote; new sessions (which do not
    /// touch their account's row) spread by certify ID.
    pub(crate) fn committer(&self, committers: usize) -> usize {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        match self {
            Write::Start(session) => session.certify_id.hash(&mut hasher),
            Write::Complete(completion) => completion.session.account.hash(&mut hasher),
        }
        (hasher.finish() % committers.max(1) as u64) as usize
    }
}

/// One write, queued for a committer.
pub(crate) struct Queued {
    pub(crate) write: Write,
    pub(crate) reply: std::sync::mpsc::SyncSender<Result<(), StoreError>>,
}

/// What a store's committers share.
pub(crate) struct Committers {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) key: DigestKey,
    pub(crate) known: KnownAccounts,
    pub(crate) counts: Counts,
}

impl std::fmt::Debug for Committers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committers")
            .field("backend", &self.backend)
            .field("batches", &self.counts.read())
            .finish()
    }
}

/// How the committers wrote their batches, since the store opened.
#[derive(Default)]
pub(crate) struct Counts {
    whole: AtomicU64,
    each: AtomicU64,
    stale: AtomicU64,
}

impl Counts {
    pub(crate) fn read(&self) -> Batches {
        Batches {
            whole: self.whole.load(Ordering::Relaxed),
            each: self.each.load(Ordering::Relaxed),
            stale: self.stale.load(Ordering::Relaxed),
        }
    }
}

/// How a store's committers wrote their batches since it opened (for metrics, and for
/// tests that a path was taken).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Batches {
    /// Batches written whole: every write accepted, one statement per batch
    /// (PostgreSQL) or per table (SQLite).
    pub whole: u64,
    /// Batches decided write by write (some write refused, or the whole write failed).
    pub each: u64,
    /// Whole writes found an account changed since it was read, and read it again.
    pub stale: u64,
}

/// A committer task: answers each completion after its batch committed.
pub(crate) async fn run_committer(
    shared: std::sync::Arc<Committers>,
    mut queue: tokio::sync::mpsc::Receiver<Queued>,
) {
    let mut batch: Vec<Queued> = Vec::with_capacity(BATCH);
    loop {
        let taken = queue.recv_many(&mut batch, BATCH).await;
        if taken == 0 {
            return;
        }
        match commit_batch(&shared, &batch).await {
            Ok(outcomes) => {
                for (queued, outcome) in batch.drain(..).zip(outcomes) {
                    // A caller that stopped waiting has nothing to be told.
                    let _ = queued.reply.send(outcome);
                }
            }
            Err(e) => {
                for queued in batch.drain(..) {
                    let _ = queued.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One batch: whole if every write is accepted, otherwise write by write; each
/// write's outcome in the batch's order.
async fn commit_batch(
    shared: &Committers,
    batch: &[Queued],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    if commit_whole(shared, batch).await? == Whole::Committed {
        shared.counts.whole.fetch_add(1, Ordering::Relaxed);
        return Ok(batch.iter().map(|_| Ok(())).collect());
    }
    shared.counts.each.fetch_add(1, Ordering::Relaxed);
    let outcomes = commit_each(&shared.pool, shared.backend.lock(), &shared.key, batch).await;
    // Written (or perhaps written) without the known documents: theirs are stale.
    let completed = batch.iter().filter(|q| matches!(q.write, Write::Complete(_)));
    shared.known.forget(completed.map(|q| q.write.session().account));
    outcomes
}

/// What [`commit_whole`] did.
#[derive(Debug, PartialEq, Eq)]
enum Whole {
    /// Every write committed.
    Committed,
    /// Some write would be refused (or a statement failed, or the accounts kept
    /// changing): nothing was written; decide write by write.
    Declined,
}

/// How often the whole batch is tried again when an account changed since it was read
/// (another committer or process wrote it first).
const ATTEMPTS: usize = 3;

/// The whole batch in one atomic write, or nothing (see the module comment). `Err`
/// only when the commit itself failed: then whether it took effect is unknown, and
/// every caller is told, as for any failed commit.
async fn commit_whole(shared: &Committers, batch: &[Queued]) -> Result<Whole, StoreError> {
    let Committers { pool, backend, key, known, counts, .. } = shared;
    let mut ids = std::collections::HashSet::with_capacity(batch.len());
    if !batch.iter().all(|q| ids.insert(q.write.session().certify_id)) {
        return Ok(Whole::Declined);
    }
    let mut completions: Vec<&Completion> = batch
        .iter()
        .filter_map(|q| match &q.write {
            Write::Complete(completion) => Some(&**completion),
            Write::Start(_) => None,
        })
        .collect();
    completions.sort_by(|a, b| a.session.account.as_str().cmp(b.session.account.as_str()));
    let mut accounts: Vec<AccountId> = completions.iter().map(|c| c.session.account).collect();
    accounts.dedup();
    for _ in 0..ATTEMPTS {
        let Ok(Some(read)) = known.read(pool, &accounts).await else { return Ok(Whole::Declined) };
        // Each account's usage checked and consumed in the batch's order, as write by
        // write would.
        let mut states = Vec::with_capacity(read.len());
        for ((revision, mut state), account) in read.into_iter().zip(&accounts) {
            let mut ledger = Ledger { meter: state.meter, biller: state.biller };
            for completion in completions.iter().filter(|c| c.session.account == *account) {
                if ledger.check(&completion.usage).is_err() || ledger.consume(&completion.usage).is_err() {
                    return Ok(Whole::Declined);
                }
            }
            state.meter = ledger.meter;
            state.biller = ledger.biller;
            // The exactly-once set lives in `usage_events` (as `save_account` does).
            state.meter.forget_applied();
            states.push((revision, state));
        }
        let rows = Rows::of(batch, key, &accounts, &states)?;
        let written = match *backend {
            Backend::Postgres => write_postgres(pool, rows).await?,
            Backend::Sqlite => write_sqlite(pool, rows).await?,
        };
        match written {
            Written::All => {
                known.remember(accounts.into_iter().zip(states).map(|(a, (r, s))| (a, r + 1, s)));
                return Ok(Whole::Committed);
            }
            Written::Stale => {
                counts.stale.fetch_add(1, Ordering::Relaxed);
                known.forget(accounts.iter().copied());
            }
            Written::Refused => return Ok(Whole::Declined),
        }
    }
    Ok(Whole::Declined)
}

/// The account documents the committers last read or wrote, each with its row's
/// revision (every write of an account row increments it). A batch computes from them
/// and is written only while each row still has that revision, so an entry can be
/// stale but never wrong. At most [`KNOWN_ACCOUNTS`] are held; beyond, the oldest
/// knowledge is dropped wholesale.
#[derive(Default)]
pub(crate) struct KnownAccounts {
    held: std::sync::Mutex<HashMap<AccountId, (i64, AccountState)>>,
}

/// Accounts whose documents the committers keep, at most.
pub(crate) const KNOWN_ACCOUNTS: usize = 1_024;

impl KnownAccounts {
    /// `accounts`' documents and revisions (sorted, distinct), the ones not held read
    /// from the database (unlocked); `None` when an account is unknown.
    async fn read(
        &self,
        pool: &AnyPool,
        accounts: &[AccountId],
    ) -> Result<Option<Vec<(i64, AccountState)>>, StoreError> {
        let held: Vec<Option<(i64, AccountState)>> = {
            let map = self.held.lock().map_err(|_| StoreError::Unavailable("a committer panicked".into()))?;
            accounts.iter().map(|a| map.get(a).cloned()).collect()
        };
        let missing: Vec<AccountId> =
            accounts.iter().zip(&held).filter(|(_, h)| h.is_none()).map(|(a, _)| *a).collect();
        let mut read = select_accounts(pool, &missing).await?.into_iter();
        let mut found = Vec::with_capacity(accounts.len());
        for (account, held) in accounts.iter().zip(held) {
            match held {
                Some(entry) => found.push(entry),
                None => match read.next() {
                    Some((id, revision, state)) if id == *account => {
                        self.remember([(id, revision, state.clone())]);
                        found.push((revision, state));
                    }
                    _ => return Ok(None),
                },
            }
        }
        Ok(Some(found))
    }

    /// Notes documents as written or read at their revisions (never going back to an
    /// older one).
    fn remember(&self, entries: impl IntoIterator<Item = (AccountId, i64, AccountState)>) {
        let Ok(mut map) = self.held.lock() else { return };
        for (account, revision, state) in entries {
            if map.get(&account).is_some_and(|(held, _)| *held >= revision) {
                continue;
            }
            if map.len() >= KNOWN_ACCOUNTS && !map.contains_key(&account) {
                map.clear();
            }
            map.insert(account, (revision, state));
        }
    }

    pub(crate) fn forget(&self, accounts: impl IntoIterator<Item = AccountId>) {
        let Ok(mut map) = self.held.lock() else { return };
        for account in accounts {
            map.remove(&account);
        }
    }
}

/// The accounts' documents and revisions, unlocked, in the order of `accounts` (sorted,
/// distinct); fewer when some are unknown.
async fn select_accounts(
    pool: &AnyPool,
    accounts: &[AccountId],
) -> Result<Vec<(AccountId, i64, AccountState)>, StoreError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = Params::default();
    let list = params.rows(accounts.iter().map(|a| vec![Param::Text(a.as_str().to_owned())]));
    let sql =
        format!("SELECT account, state, revision FROM accounts WHERE account IN ({list}) ORDER BY account");
    let rows = params.bind(&sql).fetch_all(pool).await.map_err(db)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get(0).map_err(db)?;
        let account =
            AccountId::new(&id).map_err(|e| crate::store::corrupt(format_args!("account {id}"), e))?;
        let text: String = row.try_get(1).map_err(db)?;
        let revision: i64 = row.try_get(2).map_err(db)?;
        found.push((account, revision, from_json(format_args!("account {account}"), &text)?));
    }
    Ok(found)
}

/// A whole batch's rows, table by table, ready to bind.
struct Rows {
    /// `(account, document, revision read)`.
    accounts: Vec<Vec<Param>>,
    /// Pending sessions replaced: `(certify_id, state, body)`.
    updated: Vec<Vec<Param>>,
    /// New sessions: `(certify_id, account, state, created_at, body)`.
    inserted: Vec<Vec<Param>>,
    records: Vec<Vec<Param>>,
    /// The meter's exactly-once keys: `(certify_id, account, event)`.
    usage: Vec<Vec<Param>>,
}

impl Rows {
    fn of(
        batch: &[Queued],
        key: &DigestKey,
        accounts: &[AccountId],
        states: &[(i64, AccountState)],
    ) -> Result<Rows, StoreError> {
        let text = |s: &str| Param::Text(s.to_owned());
        let mut rows = Rows {
            accounts: Vec::with_capacity(accounts.len()),
            updated: Vec::new(),
            inserted: Vec::new(),
            records: Vec::new(),
            usage: Vec::new(),
        };
        for (account, (revision, state)) in accounts.iter().zip(states) {
            rows.accounts.push(vec![
                text(account.as_str()),
                Param::Text(to_json(state)?),
                Param::Int(*revision),
            ]);
        }
        for queued in batch {
            let session = queued.write.session();
            let (id, account) = (session.certify_id.to_string(), session.account.as_str());
            let new = match &queued.write {
                Write::Start(_) => true,
                Write::Complete(completion) => completion.new_session,
            };
            if new {
                rows.inserted.push(vec![
                    text(&id),
                    text(account),
                    text(state_name(&session.state)),
                    Param::Int(micros(session.created_at)),
                    Param::Text(to_json(session)?),
                ]);
            } else {
                rows.updated.push(vec![
                    text(&id),
                    text(state_name(&session.state)),
                    Param::Text(to_json(session)?),
                ]);
            }
            if let Write::Complete(completion) = &queued.write {
                rows.records
                    .push(crate::records::record_row(&Record::from_new(completion.record.clone(), key))?);
                rows.usage.push(vec![text(&id), text(account), Param::Text(to_json(&completion.usage)?)]);
            }
        }
        Ok(rows)
    }
}

/// What a whole-batch write did.
enum Written {
    /// Everything, committed.
    All,
    /// Nothing: an account's revision was no longer the one read.
    Stale,
    /// Nothing: a session was not pending, a key existed, or a statement failed.
    Refused,
}

const INSERT_SESSIONS: &str = "INSERT INTO sessions (certify_id, account, state, created_at, body)";
const INSERT_USAGE: &str = "INSERT INTO usage_events (certify_id, account, event)";

/// PostgreSQL: the whole batch as one statement, so one round trip and one commit. Its
/// first parts lock the accounts still at the revisions read and the sessions still
/// pending (in sorted order, as every transaction here locks); the writes happen only
/// if all of them were locked, and a duplicate key aborts the statement. Once locked,
/// a row cannot change before the statement's commit, so the writes are exactly the
/// checked ones.
///
/// Each table's rows are bound as one JSON array of rows ([`WHOLE_BATCH`]), so the
/// statement's text is the same for every batch: the server parses it once per
/// connection and plans it from its cache. (With a placeholder per value, each batch
/// size was a new statement, and parsing and planning cost more than running it.)
async fn write_postgres(pool: &AnyPool, rows: Rows) -> Result<Written, StoreError> {
    let (accounts, sessions) = (rows.accounts.len(), rows.updated.len());
    let row = match sqlx::query(&WHOLE_BATCH)
        .bind(to_json(&rows.accounts)?)
        .bind(to_json(&rows.updated)?)
        .bind(to_json(&rows.inserted)?)
        .bind(to_json(&rows.records)?)
        .bind(to_json(&rows.usage)?)
        .fetch_one(pool)
        .await
    {
        Ok(row) => row,
        // The server refused the statement (a duplicate key, a deadlock): nothing of it
        // was written.
        Err(sqlx::Error::Database(_)) => return Ok(Written::Refused),
        // Lost on the way: it may or may not have been committed.
        Err(e) => return Err(db(e)),
    };
    let count =
        |i: usize| row.try_get::<i64, _>(i).map_err(db).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let (locked_accounts, locked_sessions) = (count(0)?, count(1)?);
    if locked_accounts != accounts {
        return Ok(Written::Stale);
    }
    if locked_sessions != sessions {
        return Ok(Written::Refused);
    }
    if (count(2)?, count(3)?) != (accounts, sessions) {
        return Err(StoreError::Inconsistent("a whole batch wrote other rows than it locked".into()));
    }
    Ok(Written::All)
}

/// [`write_postgres`]'s statement. `$1`…`$5` are [`Rows`]' tables as JSON arrays of
/// rows, each row an array in the order `Rows` documents. The locks (each row found by
/// its primary key, in key order), then `checked` (which counts them, and whether they
/// found every row given), then the writes guarded by it: the locks are taken before
/// any write.
///
/// Its plan is cached per connection, possibly while the tables are still empty, so
/// every row is reached through its unique index whatever the tables' statistics say:
/// the locks look each row up by key (a lateral subquery, which the planner runs once
/// per row), and the locked rows are rewritten by `INSERT … ON CONFLICT DO UPDATE` on
/// their key (always a conflict, as each was just locked), never by a join the planner
/// could turn into a scan of the whole table.
static WHOLE_BATCH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let rows = |n: usize| format!("jsonb_array_elements(${n}::jsonb) AS r");
    let guard = "(SELECT complete FROM checked)";
    format!(
        "WITH account_rows AS (SELECT r->>0 AS account, r->>1 AS state, (r->>2)::bigint AS revision \
           FROM {accounts} ORDER BY 1), \
         session_rows AS (SELECT r->>0 AS certify_id, r->>1 AS state, r->>2 AS body FROM {updated} ORDER BY 1), \
         locked_accounts AS (SELECT v.account, v.state, a.revision FROM account_rows AS v, \
           LATERAL (SELECT revision FROM accounts WHERE account = v.account AND revision = v.revision \
           FOR UPDATE) AS a), \
         locked_sessions AS (SELECT v.certify_id, s.account, v.state, s.created_at, v.body FROM session_rows AS v, \
           LATERAL (SELECT account, created_at FROM sessions WHERE certify_id = v.certify_id \
           AND state = 'pending' FOR UPDATE) AS s), \
         checked AS MATERIALIZED (SELECT accounts, sessions, \
           accounts = (SELECT COUNT(*) FROM account_rows) AND sessions = (SELECT COUNT(*) FROM session_rows) \
           AS complete FROM (SELECT (SELECT COUNT(*) FROM locked_accounts) AS accounts, \
           (SELECT COUNT(*) FROM locked_sessions) AS sessions) AS locked), \
         written_accounts AS (INSERT INTO accounts (account, state, revision) \
           SELECT account, state, revision FROM locked_accounts WHERE {guard} \
           ON CONFLICT (account) DO UPDATE SET state = EXCLUDED.state, revision = accounts.revision + 1 \
           RETURNING 1), \
         written_sessions AS ({INSERT_SESSIONS} SELECT * FROM locked_sessions WHERE {guard} \
           ON CONFLICT (certify_id) DO UPDATE SET state = EXCLUDED.state, body = EXCLUDED.body RETURNING 1), \
         new_sessions AS ({INSERT_SESSIONS} SELECT r->>0, r->>1, r->>2, (r->>3)::bigint, r->>4 \
           FROM {inserted} WHERE {guard}), \
         new_records AS (INSERT INTO records ({RECORD_COLUMNS}) SELECT r->>0, r->>1, (r->>2)::bigint, r->>3, \
           (r->>4)::bigint, r->>5, (r->>6)::bigint, (r->>7)::bigint, r->>8, r->>9, (r->>10)::bigint, \
           (r->>11)::bigint FROM {records} WHERE {guard}), \
         new_usage AS ({INSERT_USAGE} SELECT r->>0, r->>1, r->>2 FROM {usage} WHERE {guard}) \
         SELECT accounts, sessions, (SELECT COUNT(*) FROM written_accounts), \
           (SELECT COUNT(*) FROM written_sessions) FROM checked",
        accounts = rows(1),
        updated = rows(2),
        inserted = rows(3),
        records = rows(4),
        usage = rows(5),
    )
});

/// SQLite (one writer, so nothing changes between statements): the same writes as
/// separate statements in one transaction, each checked by its row count.
async fn write_sqlite(pool: &AnyPool, rows: Rows) -> Result<Written, StoreError> {
    let Ok(mut tx) = pool.begin().await else { return Ok(Written::Refused) };
    let (accounts, sessions) = (rows.accounts.len(), rows.updated.len());
    // Each statement with the row count it must have, and what a shortfall means.
    type Check = Option<(usize, Written)>;
    let mut statements: Vec<(String, Params, Check)> = Vec::new();
    let mut add = |head: &str, tail: &str, values: Vec<Vec<Param>>, check: Option<(usize, Written)>| {
        if !values.is_empty() {
            let mut params = Params::default();
            let values = params.rows(values);
            statements.push((format!("{head} VALUES {values}{tail}"), params, check));
        }
    };
    // VALUES columns are column1, column2, … in both SQLite and PostgreSQL.
    add(
        "UPDATE accounts SET state = v.column2, revision = revision + 1 FROM (",
        ") AS v WHERE accounts.account = v.column1 AND accounts.revision = v.column3",
        rows.accounts,
        Some((accounts, Written::Stale)),
    );
    add(
        "UPDATE sessions SET state = v.column2, body = v.column3 FROM (",
        ") AS v WHERE sessions.certify_id = v.column1 AND sessions.state = 'pending'",
        rows.updated,
        Some((sessions, Written::Refused)),
    );
    add(INSERT_SESSIONS, "", rows.inserted, None);
    add(&format!("INSERT INTO records ({RECORD_COLUMNS})"), "", rows.records, None);
    add(INSERT_USAGE, "", rows.usage, None);
    for (sql, params, check) in statements {
        // Dropping the transaction rolls it back.
        let Ok(done) = params.bind(&sql).execute(&mut *tx).await else { return Ok(Written::Refused) };
        if let Some((expected, otherwise)) = check
            && done.rows_affected() != expected as u64
        {
            return Ok(otherwise);
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(Written::All)
}

/// One batch in one transaction, write by write; each outcome in the batch's order.
async fn commit_each(
    pool: &AnyPool,
    lock: &'static str,
    key: &DigestKey,
    batch: &[Queued],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    // New sessions first (they lock nothing), then completions by account.
    let (starts, completions): (Vec<_>, Vec<_>) =
        batch.iter().map(|q| &q.write).enumerate().partition(|(_, w)| matches!(w, Write::Start(_)));
    let mut order: Vec<(usize, &Completion)> = completions
        .into_iter()
        .filter_map(|(i, w)| match w {
            Write::Complete(completion) => Some((i, &**completion)),
            Write::Start(_) => None,
        })
        .collect();
    order.sort_by(|(_, a), (_, b)| a.session.account.as_str().cmp(b.session.account.as_str()));
    let mut outcomes: Vec<(usize, Result<(), StoreError>)> = Vec::with_capacity(batch.len());
    let mut tx = pool.begin().await.map_err(db)?;
    for (i, write) in starts {
        outcomes.push((i, start_in_savepoint(&mut tx, write.session()).await?));
    }
    let mut rest = order.as_slice();
    while let Some(&(_, first)) = rest.first() {
        let account = first.session.account;
        let same = rest.iter().take_while(|(_, c)| c.session.account == account).count();
        let (group, later) = rest.split_at(same);
        rest = later;
        let Some(state) = select_account(&mut *tx, &account, lock).await? else {
            let unknown = StoreError::Ledger(LedgerError::Billing(BillingError::UnknownAccount(account)));
            outcomes.extend(group.iter().map(|&(i, _)| (i, Err(unknown.clone()))));
            continue;
        };
        let mut ledger = Ledger { meter: state.meter, biller: state.biller };
        let mut changed = false;
        for &(i, completion) in group {
            let outcome = in_savepoint(&mut tx, &mut ledger, key, completion).await?;
            changed |= outcome.is_ok();
            outcomes.push((i, outcome));
        }
        if changed {
            let mut state = AccountState { meter: ledger.meter, biller: ledger.biller, scenes: state.scenes };
            save_account(&mut tx, &account, &mut state).await?;
        }
    }
    tx.commit().await.map_err(db)?;
    outcomes.sort_by_key(|&(i, _)| i);
    Ok(outcomes.into_iter().map(|(_, outcome)| outcome).collect())
}

/// A new session inside its savepoint: `Ok(Err(_))` when refused (a duplicate).
async fn start_in_savepoint(
    tx: &mut Transaction<'static, Any>,
    session: &Session,
) -> Result<Result<(), StoreError>, StoreError> {
    sqlx::query("SAVEPOINT start").execute(&mut **tx).await.map_err(db)?;
    let written = write_session(tx, session, true).await;
    if written.is_err() {
        sqlx::query("ROLLBACK TO SAVEPOINT start").execute(&mut **tx).await.map_err(db)?;
    }
    sqlx::query("RELEASE SAVEPOINT start").execute(&mut **tx).await.map_err(db)?;
    Ok(written)
}

/// One completion inside its savepoint: `Ok(Err(_))` when it was refused and rolled
/// back to the savepoint; `Err(_)` when the batch cannot go on.
async fn in_savepoint(
    tx: &mut Transaction<'static, Any>,
    ledger: &mut Ledger,
    key: &DigestKey,
    completion: &Completion,
) -> Result<Result<(), StoreError>, StoreError> {
    sqlx::query("SAVEPOINT completion").execute(&mut **tx).await.map_err(db)?;
    // The ledger changes last, once every row is written: a refusal leaves it as it was.
    let refused = match complete(tx, ledger, key, completion).await {
        Ok(()) => {
            sqlx::query("RELEASE SAVEPOINT completion").execute(&mut **tx).await.map_err(db)?;
            return Ok(Ok(()));
        }
        Err(Fatal(e)) => return Err(e),
        Err(NotWritten) => None,
        Err(Refused(e)) => Some(e),
    };
    sqlx::query("ROLLBACK TO SAVEPOINT completion").execute(&mut **tx).await.map_err(db)?;
    sqlx::query("RELEASE SAVEPOINT completion").execute(&mut **tx).await.map_err(db)?;
    let id = completion.session.certify_id;
    Ok(Err(match refused {
        Some(e) => e,
        // Not written: say what the session is now, as stored.
        None => match select_session(&mut **tx, id, "").await? {
            Some(held) => StoreError::NotPending(Box::new(held)),
            None => SessionError::NotFound(id).into(),
        },
    }))
}

/// Why a completion was not applied.
enum Unapplied {
    /// Its session was not pending (or, for a new one, existed already).
    NotWritten,
    /// Refused by a rule or a row (rolled back to its savepoint).
    Refused(StoreError),
    /// The ledger may have changed in part: the batch cannot commit.
    Fatal(StoreError),
}
use Unapplied::{Fatal, NotWritten, Refused};

impl From<StoreError> for Unapplied {
    fn from(e: StoreError) -> Unapplied {
        Refused(e)
    }
}

/// The rows of one completion, and its usage on the ledger.
async fn complete(
    tx: &mut Transaction<'static, Any>,
    ledger: &mut Ledger,
    key: &DigestKey,
    completion: &Completion,
) -> Result<(), Unapplied> {
    let Completion { session, new_session, record, usage } = completion;
    let (id, account) = (session.certify_id, session.account);
    // The session write is the pending check: only a pending session is replaced,
    // only an absent one inserted.
    if !write_session_if(tx, session, *new_session).await? {
        return Err(NotWritten);
    }
    ledger.check(usage).map_err(StoreError::from)?;
    let record = Record::from_new(record.clone(), key);
    if !crate::records::insert_record(tx, &record).await? {
        return Err(StoreError::from(RecordError::Duplicate(id)).into());
    }
    // The meter's exactly-once set: a certify ID metered before (yet its session was
    // pending) is refused.
    let metered = sqlx::query("INSERT INTO usage_events (certify_id, account, event) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(account.as_str().to_owned())
        .bind(to_json(usage)?)
        .execute(&mut **tx)
        .await;
    match metered {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Ledger(LedgerError::Meter(ApplyError::Conflict(id))).into());
        }
        Err(e) => return Err(db(e).into()),
    }
    ledger
        .consume(usage)
        .map_err(|e| Fatal(StoreError::Inconsistent(format!("usage after its check: {e}"))))?;
    Ok(())
}
