//! Group commit of completions (and of new sessions): each completion still commits all
//! or nothing — its session, record, usage key and its account's meter and bills — but
//! writes queued at the same moment share one transaction and one durable commit
//! (`fsync`), and an account's document is read and written once per batch, not per
//! completion.
//!
//! A few committer tasks per store (one for SQLite's single writer) take up to
//! [`BATCH`] completions each from one queue (at most [`QUEUE`] waiting; beyond,
//! refused as busy). A batch locks its accounts' rows in sorted order, so batches of
//! several processes never deadlock. Each completion runs inside its own savepoint: one
//! that is refused (no longer pending, metered already, over its pack) is rolled back
//! to its savepoint and answered with its error, and the others go on. A database
//! failure fails the whole batch: nothing of it was written, every caller is told, and
//! each may retry. Nobody is answered before the commit.
//!
//! The common case goes faster: when every write of a batch is accepted, the batch is
//! written with one multi-row statement per table ([`commit_whole`]) instead of a
//! savepoint and four statements per write. The same checks decide — the pending
//! check is the `UPDATE … WHERE state = 'pending'`'s row count, the ledger's check runs
//! on the locked account's state, the primary keys refuse duplicates — and if any of
//! them would refuse one write, that transaction is rolled back before its commit and
//! the batch is decided write by write as above.

use shiren_billing::BillingError;
use shiren_meter::ApplyError;
use shiren_records::{DigestKey, Record, RecordError};
use shiren_verify::{Completion, Ledger, LedgerError, Session, SessionError, StoreError, UsageLedger};
use sqlx::{Any, AnyPool, Transaction};

use shiren_catalog::AccountId;
use sqlx::Row;

use crate::account::AccountState;
use crate::store::{
    db, from_json, is_unique_violation, micros, placeholders, save_account, select_account, select_session,
    state_name, to_json, write_session, write_session_if,
};

/// Completions waiting, at most; beyond, a completion is refused as busy.
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
}

/// One write, queued for a committer.
pub(crate) struct Queued {
    pub(crate) write: Write,
    pub(crate) reply: std::sync::mpsc::SyncSender<Result<(), StoreError>>,
}

/// The queue, shared by a store's committers (each takes a batch in turn).
pub(crate) type Queue = std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Queued>>>;

/// A committer task: answers each completion after its batch committed.
pub(crate) async fn run_committer(pool: AnyPool, lock: &'static str, key: DigestKey, queue: Queue) {
    let mut batch: Vec<Queued> = Vec::with_capacity(BATCH);
    loop {
        let taken = queue.lock().await.recv_many(&mut batch, BATCH).await;
        if taken == 0 {
            return;
        }
        match commit_batch(&pool, lock, &key, &batch).await {
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
    pool: &AnyPool,
    lock: &'static str,
    key: &DigestKey,
    batch: &[Queued],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    if commit_whole(pool, lock, key, batch).await? == Whole::Committed {
        return Ok(batch.iter().map(|_| Ok(())).collect());
    }
    commit_each(pool, lock, key, batch).await
}

/// What [`commit_whole`] did.
#[derive(Debug, PartialEq, Eq)]
enum Whole {
    /// Every write committed.
    Committed,
    /// Some write would be refused (or a statement failed before the commit): nothing
    /// was written; decide write by write.
    Declined,
}

/// The whole batch in one transaction with one statement per table, or nothing (see the
/// module comment). `Err` only when the commit itself failed: then whether it took
/// effect is unknown, and every caller is told, as for any failed commit.
async fn commit_whole(
    pool: &AnyPool,
    lock: &'static str,
    key: &DigestKey,
    batch: &[Queued],
) -> Result<Whole, StoreError> {
    let mut ids = std::collections::HashSet::with_capacity(batch.len());
    if !batch.iter().all(|q| ids.insert(q.write.session().certify_id)) {
        return Ok(Whole::Declined);
    }
    let mut inserted: Vec<&Session> = Vec::new();
    let mut updated: Vec<&Session> = Vec::new();
    let mut completions: Vec<&Completion> = Vec::new();
    for queued in batch {
        match &queued.write {
            Write::Start(session) => inserted.push(session),
            Write::Complete(completion) => {
                if completion.new_session {
                    inserted.push(&completion.session);
                } else {
                    updated.push(&completion.session);
                }
                completions.push(completion);
            }
        }
    }
    completions.sort_by(|a, b| a.session.account.as_str().cmp(b.session.account.as_str()));
    let Ok(mut tx) = pool.begin().await else { return Ok(Whole::Declined) };
    match write_whole(&mut tx, lock, key, &inserted, &updated, &completions).await {
        Ok(true) => {}
        // Dropping the transaction rolls it back.
        Ok(false) | Err(_) => return Ok(Whole::Declined),
    }
    tx.commit().await.map_err(db)?;
    Ok(Whole::Committed)
}

/// The statements of [`commit_whole`]; `Ok(false)` when a write would be refused.
async fn write_whole(
    tx: &mut Transaction<'static, Any>,
    lock: &'static str,
    key: &DigestKey,
    inserted: &[&Session],
    updated: &[&Session],
    completions: &[&Completion],
) -> Result<bool, StoreError> {
    // The accounts, locked in sorted order; each one's usage checked and consumed in
    // the batch's order, as write by write.
    let mut accounts: Vec<AccountId> = completions.iter().map(|c| c.session.account).collect();
    accounts.dedup();
    let mut states = select_accounts(tx, &accounts, lock).await?;
    if states.len() != accounts.len() {
        return Ok(false);
    }
    for (state, account) in states.iter_mut().zip(&accounts) {
        let mut ledger = Ledger { meter: state.meter.clone(), biller: state.biller.clone() };
        for completion in completions.iter().filter(|c| c.session.account == *account) {
            if ledger.check(&completion.usage).is_err() || ledger.consume(&completion.usage).is_err() {
                return Ok(false);
            }
        }
        state.meter = ledger.meter;
        state.biller = ledger.biller;
    }
    // Sessions: new ones inserted (a duplicate aborts), pending ones replaced.
    if !inserted.is_empty() {
        let sql = format!(
            "INSERT INTO sessions (certify_id, account, state, created_at, body) VALUES {}",
            placeholders(inserted.len(), 5)
        );
        let mut query = sqlx::query(&sql);
        for session in inserted {
            query = query
                .bind(session.certify_id.to_string())
                .bind(session.account.as_str().to_owned())
                .bind(state_name(&session.state))
                .bind(micros(session.created_at))
                .bind(to_json(session)?);
        }
        query.execute(&mut **tx).await.map_err(db)?;
    }
    if !updated.is_empty() {
        // VALUES columns are column1, column2, … in both SQLite and PostgreSQL.
        let sql = format!(
            "UPDATE sessions SET state = v.column2, body = v.column3 FROM (VALUES {}) AS v \
             WHERE sessions.certify_id = v.column1 AND sessions.state = 'pending'",
            placeholders(updated.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for session in updated {
            query = query
                .bind(session.certify_id.to_string())
                .bind(state_name(&session.state))
                .bind(to_json(session)?);
        }
        let done = query.execute(&mut **tx).await.map_err(db)?;
        if done.rows_affected() != updated.len() as u64 {
            return Ok(false);
        }
    }
    if completions.is_empty() {
        return Ok(true);
    }
    // Records and the meter's exactly-once keys (a duplicate aborts).
    let records: Vec<Record> = completions.iter().map(|c| Record::from_new(c.record.clone(), key)).collect();
    if crate::records::insert_records(tx, &records).await? != records.len() as u64 {
        return Ok(false);
    }
    let sql = format!(
        "INSERT INTO usage_events (certify_id, account, event) VALUES {}",
        placeholders(completions.len(), 3)
    );
    let mut query = sqlx::query(&sql);
    for completion in completions {
        query = query
            .bind(completion.session.certify_id.to_string())
            .bind(completion.session.account.as_str().to_owned())
            .bind(to_json(&completion.usage)?);
    }
    if query.execute(&mut **tx).await.map_err(db)?.rows_affected() != completions.len() as u64 {
        return Ok(false);
    }
    // The accounts' documents, in one statement.
    let sql = format!(
        "UPDATE accounts SET state = v.column2, revision = revision + 1 FROM (VALUES {}) AS v \
         WHERE accounts.account = v.column1",
        placeholders(accounts.len(), 2)
    );
    let mut query = sqlx::query(&sql);
    for (state, account) in states.iter_mut().zip(&accounts) {
        // The exactly-once set lives in `usage_events` (as `save_account` does).
        state.meter.forget_applied();
        query = query.bind(account.as_str().to_owned()).bind(to_json(state)?);
    }
    Ok(query.execute(&mut **tx).await.map_err(db)?.rows_affected() == accounts.len() as u64)
}

/// The accounts' documents, locked, in the order of `accounts` (sorted, distinct); fewer
/// when some are unknown.
async fn select_accounts(
    tx: &mut Transaction<'static, Any>,
    accounts: &[AccountId],
    lock: &str,
) -> Result<Vec<AccountState>, StoreError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (1..=accounts.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT account, state FROM accounts WHERE account IN ({}) ORDER BY account{lock}",
        list.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for account in accounts {
        query = query.bind(account.as_str().to_owned());
    }
    let rows = query.fetch_all(&mut **tx).await.map_err(db)?;
    let mut states = Vec::with_capacity(rows.len());
    for (row, account) in rows.iter().zip(accounts) {
        let found: String = row.try_get(0).map_err(db)?;
        if found != account.as_str() {
            // An unknown account in between: decide write by write.
            return Ok(Vec::new());
        }
        let text: String = row.try_get(1).map_err(db)?;
        states.push(from_json(format_args!("account {account}"), &text)?);
    }
    Ok(states)
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
    match complete(tx, ledger, key, completion).await {
        Ok(()) => {
            sqlx::query("RELEASE SAVEPOINT completion").execute(&mut **tx).await.map_err(db)?;
            Ok(Ok(()))
        }
        Err(Fatal(e)) => Err(e),
        Err(refused) => {
            sqlx::query("ROLLBACK TO SAVEPOINT completion").execute(&mut **tx).await.map_err(db)?;
            sqlx::query("RELEASE SAVEPOINT completion").execute(&mut **tx).await.map_err(db)?;
            let id = completion.session.certify_id;
            Ok(Err(match refused {
                // Say what the session is now, as stored.
                NotWritten => match select_session(&mut **tx, id, "").await? {
                    Some(held) => StoreError::NotPending(Box::new(held)),
                    None => SessionError::NotFound(id).into(),
                },
                Refused(e) | Fatal(e) => e,
            }))
        }
    }
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
