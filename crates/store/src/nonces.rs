//! The AccessKey nonce memory in the database, shared by every process on it: a
//! replayed request is refused whichever process saw the nonce first.
//!
//! One row per remembered nonce in `nonces`. Its primary key — a 128-bit SHA-256 digest
//! of (AccessKey ID, nonce), as `shiren_auth::BoundedNonces` keys its set — is the
//! replay check: a row is inserted only if no row holds that key (an expired row of the
//! same account is deleted first), so two processes can never both accept one nonce.
//! `seen_at` expires the row after [`NONCE_RETENTION`].
//!
//! **Shares without counting rows.** `nonce_counts` holds, per account and per
//! (account, AccessKey), the number of its rows, changed in the transaction that
//! inserts or deletes them. A count at or above its quota is not trusted blindly —
//! expired rows may still be stored — so the account's expired rows are deleted first
//! and the count read again: the decision is exactly the one counting live rows would
//! make, in O(1) while under the quota. The account's counter row is locked (`FOR
//! UPDATE` on PostgreSQL; SQLite has one writer) before any of its key rows, and
//! accounts in sorted order, so the checks of one account serialise across processes
//! and never deadlock.
//!
//! **Batched commits.** Checks queue (at most [`QUEUE`] waiting; beyond, refused as
//! busy) for one task per store, which runs up to [`BATCH`] of them in one transaction
//! — one durable commit (`fsync`) for all — and answers each only after that commit.
//! Within a batch the checks run in (account, key, digest) order; two requests that
//! race are concurrent, so any order is theirs. The batch's decisions
//! ([`decide_batch`]) are written once over [`NonceSql`], the statements they need:
//! through `sqlx` on PostgreSQL (a batch's digests in one statement per step), through
//! `rusqlite` on SQLite (`sqlite_nonces`: no thread hand-off per statement).
//!
//! Quotas are decided the way `BoundedNonces` decides them, in the same order and with
//! the same errors: a replay (`NonceUsed`), then the account's share, the key's share,
//! then the total (`NonceQuotaExceeded`, `NonceStoreFull`). The per-account and per-key
//! shares are exact across processes. The total is the sum of the account counters,
//! read at most once a second per store (after deleting expired rows), plus this
//! store's own inserts since — and read again for every batch within the last
//! sixteenth of the cap. So one process alone decides exactly as `BoundedNonces` does;
//! several processes together may overshoot the total by what the others inserted
//! within that second.
//!
//! Fail closed: a request is accepted only after its row committed. Any database error
//! refuses every check of its batch (as `NonceStoreFull`, "retry shortly"; `shiren_auth`
//! has no "unavailable" error yet), and the error is kept for the caller to log
//! ([`SqlNonces::last_error`]).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use shiren_auth::{AuthError, NONCE_RETENTION, NonceLimits, NonceStore, check_nonce_length};
use shiren_verify::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::store::{Backend, SqlStore, db, micros};

/// Checks waiting for the batcher, at most; beyond, a check is refused as busy.
pub(crate) const QUEUE: usize = 4_096;

/// Checks in one transaction, at most.
pub(crate) const BATCH: usize = 256;

/// How often expired rows are deleted and the total read again (besides near the cap).
const HOUSEKEEPING: Duration = Duration::seconds(1);

/// The decision of one check.
pub(crate) type Outcome = Result<(), AuthError>;

/// One check, queued for the batcher.
#[derive(Debug)]
pub(crate) struct Check {
    pub(crate) account: String,
    pub(crate) key: String,
    pub(crate) digest: String,
    pub(crate) now: DateTime<Utc>,
    limits: NonceLimits,
    reply: std::sync::mpsc::SyncSender<Result<Outcome, StoreError>>,
}

/// [`NonceStore`] over the store's `nonces` table; from [`SqlStore::nonces`]. Cheap to
/// make: make one per request, or keep one per worker.
#[derive(Debug)]
pub struct SqlNonces<'s> {
    store: &'s SqlStore,
    limits: NonceLimits,
    last_error: Option<StoreError>,
}

impl SqlNonces<'_> {
    /// The quotas.
    pub fn limits(&self) -> NonceLimits {
        self.limits
    }

    /// The database error behind the last refusal, if it was one (a refusal the caller
    /// should log and may answer as "service unavailable" rather than "throttled").
    pub fn last_error(&self) -> Option<&StoreError> {
        self.last_error.as_ref()
    }
}

/// The hex of a 128-bit SHA-256 digest of (AccessKey ID, nonce): the key's length
/// first, so no two pairs share an input.
fn digest(access_key_id: &str, nonce: &str) -> String {
    let mut h = Sha256::new();
    h.update((access_key_id.len() as u64).to_le_bytes());
    h.update(access_key_id.as_bytes());
    h.update(nonce.as_bytes());
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn nonnegative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The instant after which a row seen is still live at `now`.
fn live_after(now: DateTime<Utc>) -> i64 {
    micros(now.checked_sub_signed(NONCE_RETENTION).unwrap_or(DateTime::<Utc>::MIN_UTC))
}

/// A counter row: (account, scope, AccessKey ID), scope `a` (the account; key `""`) or
/// `k` (one AccessKey of the account). Sorted: an account's row before its keys'.
pub(crate) type Scope = (String, &'static str, String);

fn account_scope(account: &str) -> Scope {
    (account.to_owned(), "a", String::new())
}

fn key_scope(account: &str, key: &str) -> Scope {
    (account.to_owned(), "k", key.to_owned())
}

/// The counters a batch holds locked, with the values it will write back.
#[derive(Default)]
struct Counters {
    held: BTreeMap<Scope, (u64, bool)>,
    /// Accounts whose every key row is locked and loaded (after a prune).
    whole: std::collections::BTreeSet<String>,
}

impl Counters {
    fn get(&self, scope: &Scope) -> u64 {
        self.held.get(scope).map_or(0, |&(n, _)| n)
    }

    fn add(&mut self, scope: &Scope, delta: i64) {
        let entry = self.held.entry(scope.clone()).or_insert((0, false));
        entry.0 = if delta >= 0 {
            entry.0.saturating_add(delta.unsigned_abs())
        } else {
            entry.0.saturating_sub(delta.unsigned_abs())
        };
        entry.1 = true;
    }
}

/// The statements of a nonce transaction, one method each, run inside an open
/// transaction: the batch's decisions above them are written once, for both drivers.
/// `SqlxTx` runs them through `sqlx` (PostgreSQL's batches, and housekeeping on both
/// databases); `sqlite_nonces` through `rusqlite` on the SQLite batcher's own
/// connection, where every method is synchronous (its futures are ready at once).
pub(crate) trait NonceSql {
    /// `held` of a counter row, locked until the transaction ends; `None` if missing.
    async fn counter(&mut self, scope: &Scope) -> Result<Option<i64>, StoreError>;
    /// Creates a counter row at zero, unless one exists.
    async fn create_counter(&mut self, scope: &Scope) -> Result<(), StoreError>;
    /// Every key counter row of `account`, locked, as (AccessKey ID, held) in key order.
    async fn key_counters(&mut self, account: &str) -> Result<Vec<(String, i64)>, StoreError>;
    /// Sets a counter row's `held`.
    async fn set_counter(&mut self, scope: &Scope, held: i64) -> Result<(), StoreError>;
    /// Deletes the rows seen at or before `expired` holding one of `digests`; returns
    /// each deleted row's (account, AccessKey ID).
    async fn delete_expired(
        &mut self,
        expired: i64,
        digests: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Inserts a row per check whose digest no row holds; returns the digests inserted.
    async fn insert(&mut self, batch: &[Check]) -> Result<HashSet<String>, StoreError>;
    /// Deletes the rows holding `digests`.
    async fn delete(&mut self, digests: &[&str]) -> Result<(), StoreError>;
    /// Deletes the rows of `account` seen at or before `live_after`; returns each
    /// deleted row's AccessKey ID.
    async fn prune(&mut self, account: &str, live_after: i64) -> Result<Vec<String>, StoreError>;
}

/// [`NonceSql`] through `sqlx`, on either database.
struct SqlxTx<'t, 'c> {
    tx: &'t mut Transaction<'c, Any>,
    backend: Backend,
}

impl NonceSql for SqlxTx<'_, '_> {
    async fn counter(&mut self, scope: &Scope) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT held FROM nonce_counts WHERE account = $1 AND scope = $2 AND access_key_id = $3{}",
            self.backend.lock()
        );
        let row = sqlx::query(&sql)
            .bind(scope.0.clone())
            .bind(scope.1)
            .bind(scope.2.clone())
            .fetch_optional(&mut **self.tx)
            .await
            .map_err(db)?;
        row.map(|row| row.try_get(0).map_err(db)).transpose()
    }

    async fn create_counter(&mut self, scope: &Scope) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO nonce_counts (account, scope, access_key_id, held) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (account, scope, access_key_id) DO NOTHING",
        )
        .bind(scope.0.clone())
        .bind(scope.1)
        .bind(scope.2.clone())
        .execute(&mut **self.tx)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn key_counters(&mut self, account: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = format!(
            "SELECT access_key_id, held FROM nonce_counts WHERE account = $1 AND scope = 'k' \
             ORDER BY access_key_id{}",
            self.backend.lock()
        );
        let rows = sqlx::query(&sql).bind(account.to_owned()).fetch_all(&mut **self.tx).await.map_err(db)?;
        rows.iter().map(|row| Ok((row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?))).collect()
    }

    async fn set_counter(&mut self, scope: &Scope, held: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE nonce_counts SET held = $4 WHERE account = $1 AND scope = $2 AND access_key_id = $3",
        )
        .bind(scope.0.clone())
        .bind(scope.1)
        .bind(scope.2.clone())
        .bind(held)
        .execute(&mut **self.tx)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// One statement for the whole batch (one round trip).
    async fn delete_expired(
        &mut self,
        expired: i64,
        digests: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let sql = format!(
            "DELETE FROM nonces WHERE seen_at <= $1 AND digest IN ({}) RETURNING account, access_key_id",
            placeholders(2, digests.len())
        );
        let mut query = sqlx::query(&sql).bind(expired);
        for digest in digests {
            query = query.bind(digest.to_string());
        }
        let rows = query.fetch_all(&mut **self.tx).await.map_err(db)?;
        rows.iter().map(|row| Ok((row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?))).collect()
    }

    /// One statement for the whole batch (one round trip).
    async fn insert(&mut self, batch: &[Check]) -> Result<HashSet<String>, StoreError> {
        let values: Vec<String> =
            (0..batch.len()).map(|i| format!("({})", placeholders(4 * i + 1, 4))).collect();
        let sql = format!(
            "INSERT INTO nonces (digest, account, access_key_id, seen_at) VALUES {} \
             ON CONFLICT (digest) DO NOTHING RETURNING digest",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for c in batch {
            query =
                query.bind(c.digest.clone()).bind(c.account.clone()).bind(c.key.clone()).bind(micros(c.now));
        }
        let rows = query.fetch_all(&mut **self.tx).await.map_err(db)?;
        rows.iter().map(|row| row.try_get::<String, _>(0).map_err(db)).collect()
    }

    async fn delete(&mut self, digests: &[&str]) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM nonces WHERE digest IN ({})", placeholders(1, digests.len()));
        let mut query = sqlx::query(&sql);
        for digest in digests {
            query = query.bind(digest.to_string());
        }
        query.execute(&mut **self.tx).await.map_err(db)?;
        Ok(())
    }

    async fn prune(&mut self, account: &str, live_after: i64) -> Result<Vec<String>, StoreError> {
        let rows: Vec<AnyRow> =
            sqlx::query("DELETE FROM nonces WHERE account = $1 AND seen_at <= $2 RETURNING access_key_id")
                .bind(account.to_owned())
                .bind(live_after)
                .fetch_all(&mut **self.tx)
                .await
                .map_err(db)?;
        rows.iter().map(|row| row.try_get(0).map_err(db)).collect()
    }
}

/// Locks and reads one counter row, creating it at zero if missing.
async fn lock_counter(tx: &mut impl NonceSql, scope: &Scope) -> Result<u64, StoreError> {
    for _ in 0..2 {
        if let Some(held) = tx.counter(scope).await? {
            return Ok(nonnegative(held));
        }
        tx.create_counter(scope).await?;
    }
    Err(StoreError::Unavailable("a nonce counter row vanished while it was being created".into()))
}

/// Locks and loads every key row of `account` not yet held (the account's row is held).
async fn lock_whole_account(
    tx: &mut impl NonceSql,
    counters: &mut Counters,
    account: &str,
) -> Result<(), StoreError> {
    if counters.whole.contains(account) {
        return Ok(());
    }
    for (key, held) in tx.key_counters(account).await? {
        counters.held.entry(key_scope(account, &key)).or_insert((nonnegative(held), false));
    }
    counters.whole.insert(account.to_owned());
    Ok(())
}

/// Deletes the account's rows seen at or before `live_after`, keeping its counters
/// (all locked first) equal to its rows. Returns how many.
async fn prune_account(
    tx: &mut impl NonceSql,
    counters: &mut Counters,
    account: &str,
    live_after: i64,
) -> Result<u64, StoreError> {
    lock_whole_account(tx, counters, account).await?;
    let keys = tx.prune(account, live_after).await?;
    for key in &keys {
        counters.add(&account_scope(account), -1);
        counters.add(&key_scope(account, key), -1);
    }
    Ok(keys.len() as u64)
}

/// Writes back the counters a transaction changed.
async fn write_counters(tx: &mut impl NonceSql, counters: &Counters) -> Result<(), StoreError> {
    for (scope, &(held, changed)) in &counters.held {
        if changed {
            tx.set_counter(scope, i64::try_from(held).unwrap_or(i64::MAX)).await?;
        }
    }
    Ok(())
}

/// Deletes every row seen at or before `live_after`, one transaction per account (its
/// counter rows locked first, as a batch locks them). Returns how many.
async fn forget_expired(pool: &AnyPool, backend: Backend, live_after: i64) -> Result<u64, StoreError> {
    let mut forgotten = 0u64;
    loop {
        let accounts: Vec<String> =
            sqlx::query("SELECT DISTINCT account FROM nonces WHERE seen_at <= $1 ORDER BY account LIMIT 256")
                .bind(live_after)
                .fetch_all(pool)
                .await
                .map_err(db)?
                .iter()
                .map(|row| row.try_get(0).map_err(db))
                .collect::<Result<_, _>>()?;
        if accounts.is_empty() {
            return Ok(forgotten);
        }
        for account in accounts {
            let mut tx = pool.begin().await.map_err(db)?;
            let mut sql = SqlxTx { tx: &mut tx, backend };
            let mut counters = Counters::default();
            let held = lock_counter(&mut sql, &account_scope(&account)).await?;
            counters.held.insert(account_scope(&account), (held, false));
            forgotten += prune_account(&mut sql, &mut counters, &account, live_after).await?;
            write_counters(&mut sql, &counters).await?;
            tx.commit().await.map_err(db)?;
        }
    }
}

/// The nonces held by every account: the sum of the account counters.
async fn total_held(pool: &AnyPool) -> Result<u64, StoreError> {
    let row =
        sqlx::query("SELECT CAST(COALESCE(SUM(held), 0) AS BIGINT) FROM nonce_counts WHERE scope = 'a'")
            .fetch_one(pool)
            .await
            .map_err(db)?;
    Ok(nonnegative(row.try_get(0).map_err(db)?))
}

/// The batcher's own state: where it writes, when it last kept house, and the total
/// it believes.
struct Batcher {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: the batcher's own connection (see `sqlite_nonces`); PostgreSQL: none,
    /// batches run on the pool.
    sqlite: Option<crate::sqlite_nonces::SqliteNonces>,
    kept_house_at: Option<DateTime<Utc>>,
    total: u64,
}

impl Batcher {
    /// Deletes expired rows and reads the total, when due.
    async fn keep_house(&mut self, batch: &[Check]) -> Result<(), StoreError> {
        let Some(now) = batch.iter().map(|c| c.now).max() else { return Ok(()) };
        let fresh = self.kept_house_at.is_some_and(|at| at <= now && now - at < HOUSEKEEPING);
        // Within the last sixteenth of a cap, every batch reads the total again.
        let near_cap =
            batch.iter().any(|c| self.total.saturating_mul(16) >= (c.limits.total as u64).saturating_mul(15));
        if fresh && !near_cap {
            return Ok(());
        }
        // Rows expired for every check of the batch.
        let expired = batch.iter().map(|c| live_after(c.now)).min().unwrap_or(i64::MIN);
        forget_expired(&self.pool, self.backend, expired).await?;
        self.total = total_held(&self.pool).await?;
        self.kept_house_at = Some(now);
        Ok(())
    }

    /// Runs a batch in one transaction; the outcomes in the batch's order.
    async fn run(&mut self, batch: &[Check]) -> Result<Vec<Outcome>, StoreError> {
        self.keep_house(batch).await?;
        let mut total = self.total;
        let outcomes = match &mut self.sqlite {
            None => {
                let mut tx = self.pool.begin().await.map_err(db)?;
                let outcomes =
                    decide_batch(&mut SqlxTx { tx: &mut tx, backend: self.backend }, batch, &mut total)
                        .await?;
                tx.commit().await.map_err(db)?;
                outcomes
            }
            Some(sqlite) => {
                // The pool's one writer, held idle meanwhile: no other write of this
                // process waits on SQLite's lock (whose retries sleep milliseconds).
                let _writer = self.pool.acquire().await.map_err(db)?;
                tokio::task::block_in_place(|| sqlite.run(batch, &mut total))?
            }
        };
        self.total = total;
        Ok(outcomes)
    }
}

/// A batch's decisions inside its transaction (the caller commits): every counter of
/// the batch locked, expired rows of its digests freed, its rows inserted, each check
/// decided, the refused checks' rows deleted and the counters written back. Outcomes
/// in the batch's order; `total` updated.
pub(crate) async fn decide_batch(
    tx: &mut impl NonceSql,
    batch: &[Check],
    total: &mut u64,
) -> Result<Vec<Outcome>, StoreError> {
    let mut order: Vec<(usize, &Check)> = batch.iter().enumerate().collect();
    order.sort_by(|(_, a), (_, b)| (&a.account, &a.key, &a.digest).cmp(&(&b.account, &b.key, &b.digest)));
    // Lock every counter of the batch in sorted order: an account before its keys.
    let mut counters = Counters::default();
    let mut scopes: Vec<Scope> =
        batch.iter().flat_map(|c| [account_scope(&c.account), key_scope(&c.account, &c.key)]).collect();
    scopes.sort();
    scopes.dedup();
    for scope in scopes {
        let held = lock_counter(tx, &scope).await?;
        counters.held.insert(scope, (held, false));
    }
    free_expired_digests(tx, &mut counters, batch).await?;
    let mut inserted = tx.insert(batch).await?;
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(batch.len());
    let mut refused = Vec::new();
    for (i, c) in order {
        // The replay check proper: the primary key. Of two checks of one digest in a
        // batch, the first in order holds the inserted row.
        let outcome = if inserted.remove(&c.digest) {
            let outcome = decide(tx, &mut counters, total, c).await?;
            if outcome.is_err() {
                refused.push(c.digest.as_str());
            }
            outcome
        } else {
            Err(AuthError::NonceUsed)
        };
        outcomes.push((i, outcome));
    }
    if !refused.is_empty() {
        tx.delete(&refused).await?;
    }
    write_counters(tx, &counters).await?;
    // Back in the batch's order.
    outcomes.sort_by_key(|&(i, _)| i);
    Ok(outcomes.into_iter().map(|(_, outcome)| outcome).collect())
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Expired rows holding a digest of the batch give way, their counters kept equal to
/// their rows. "Expired" for every check of the batch: at or before the earliest
/// check's retention cutoff.
async fn free_expired_digests(
    tx: &mut impl NonceSql,
    counters: &mut Counters,
    batch: &[Check],
) -> Result<(), StoreError> {
    let expired = batch.iter().map(|c| live_after(c.now)).min().unwrap_or(i64::MIN);
    let digests: Vec<&str> = batch.iter().map(|c| c.digest.as_str()).collect();
    for (account, key) in tx.delete_expired(expired, &digests).await? {
        let (account, key) = (account_scope(&account), key_scope(&account, &key));
        // A digest names its AccessKey, so its row is of a key this batch has locked —
        // unless the key moved to another account (then this batch refuses, and the
        // next housekeeping deletes the row under that account's lock).
        if !counters.held.contains_key(&account) || !counters.held.contains_key(&key) {
            return Err(StoreError::Unavailable(
                "an expired nonce of a moved AccessKey awaits deletion".into(),
            ));
        }
        counters.add(&account, -1);
        counters.add(&key, -1);
    }
    Ok(())
}

/// The shares' decision for a check whose row was inserted.
async fn decide(
    tx: &mut impl NonceSql,
    counters: &mut Counters,
    total: &mut u64,
    c: &Check,
) -> Result<Outcome, StoreError> {
    let (account, key) = (account_scope(&c.account), key_scope(&c.account, &c.key));
    let refusal = |counters: &Counters, total: u64| {
        c.limits.refusal(counters.get(&account), counters.get(&key), Some(total))
    };
    let mut refused = refusal(counters, *total);
    if matches!(refused, Some(AuthError::NonceQuotaExceeded { .. })) {
        // A share looks full: its expired rows go, then it is decided on live rows.
        let pruned = prune_account(tx, counters, &c.account, live_after(c.now)).await?;
        *total = total.saturating_sub(pruned);
        refused = refusal(counters, *total);
    }
    if let Some(refused) = refused {
        return Ok(Err(refused));
    }
    counters.add(&account, 1);
    counters.add(&key, 1);
    *total = total.saturating_add(1);
    Ok(Ok(()))
}

/// The batcher task: answers each check after its batch committed, or with the error.
pub(crate) async fn run_batcher(
    pool: AnyPool,
    backend: Backend,
    sqlite: Option<crate::sqlite_nonces::SqliteNonces>,
    mut queue: tokio::sync::mpsc::Receiver<Check>,
) {
    let mut batcher = Batcher { pool, backend, sqlite, kept_house_at: None, total: 0 };
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        match batcher.run(&batch).await {
            Ok(outcomes) => {
                for (check, outcome) in batch.drain(..).zip(outcomes) {
                    // A caller that stopped waiting has nothing to be told.
                    let _ = check.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                // The transaction rolled back: nothing was remembered (fail closed), and
                // the next batch reads the total again.
                batcher.kept_house_at = None;
                for check in batch.drain(..) {
                    let _ = check.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

impl SqlStore {
    /// The AccessKey nonce memory, with these quotas, as a [`NonceStore`] for
    /// `shiren_auth::verify_rpc` / `verify_v3`. Shared by every process on the database.
    pub fn nonces(&self, limits: NonceLimits) -> SqlNonces<'_> {
        SqlNonces { store: self, limits, last_error: None }
    }

    /// Deletes the nonces remembered before `cutoff` (pass `now -`
    /// [`NONCE_RETENTION`]); returns how many. Checks also delete expired nonces, at
    /// most once a second per store, so calling this is optional.
    pub fn forget_nonces_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let (pool, backend) = (self.pool.clone(), self.backend);
        // Rows seen strictly before the cutoff: at or before the microsecond before it.
        let last = micros(cutoff).saturating_sub(1);
        self.exec.run(async move { forget_expired(&pool, backend, last).await })
    }

    /// Nonces stored (expired or not), for audits and tests.
    pub fn nonce_rows(&self) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        self.exec.run(async move {
            let row = sqlx::query("SELECT COUNT(*) FROM nonces").fetch_one(&pool).await.map_err(db)?;
            Ok(nonnegative(row.try_get::<i64, _>(0).map_err(db)?))
        })
    }

    /// Queues one check for the batcher and waits for its answer.
    fn check_nonce(
        &self,
        limits: NonceLimits,
        account: &str,
        access_key_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let check = Check {
            account: account.to_owned(),
            key: access_key_id.to_owned(),
            digest: digest(access_key_id, nonce),
            now,
            limits,
            reply,
        };
        self.nonce_queue.try_send(check).map_err(|e| match e {
            tokio::sync::mpsc::error::TrySendError::Full(_) => {
                StoreError::Unavailable(format!("the nonce memory is busy ({QUEUE} checks waiting)"))
            }
            tokio::sync::mpsc::error::TrySendError::Closed(_) => {
                StoreError::Unavailable("the nonce memory stopped".into())
            }
        })?;
        answer.recv().map_err(|_| StoreError::Unavailable("the nonce memory stopped mid-check".into()))?
    }
}

impl NonceStore for SqlNonces<'_> {
    /// Without an account, each key counts as a main account of its own (as
    /// `BoundedNonces` does).
    fn check_and_remember(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        self.check_and_remember_for(access_key_id, access_key_id, nonce, now)
    }

    fn check_and_remember_for(
        &mut self,
        account: &str,
        access_key_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        self.last_error = None;
        check_nonce_length(nonce)?;
        match self.store.check_nonce(self.limits, account, access_key_id, nonce, now) {
            Ok(outcome) => outcome,
            Err(e) => {
                // Fail closed: nothing was remembered, so nothing may be accepted.
                self.last_error = Some(e);
                Err(AuthError::NonceStoreFull)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::digest;

    #[test]
    fn digests_separate_key_and_nonce() {
        assert_ne!(digest("ab", "c"), digest("a", "bc"));
        assert_eq!(digest("ak", "n1").len(), 32);
        assert_eq!(digest("ak", "n1"), digest("ak", "n1"));
    }
}
