//! The AccessKey nonce memory in the database, shared by every process on it: a
//! replayed request is refused whichever process saw the nonce first.
//!
//! One row per remembered nonce in `nonces`. Its primary key — a 128-bit SHA-256 digest
//! of (AccessKey ID, nonce), as `shiren_auth::BoundedNonces` keys its set — is the
//! replay check: the row is inserted only if no unexpired row holds that key (`INSERT …
//! ON CONFLICT … DO UPDATE … WHERE` the old row has expired), so two processes can
//! never both accept one nonce. The account and AccessKey columns count each tenant's
//! share ([`NonceLimits`]), `seen_at` expires the row after [`NONCE_RETENTION`].
//!
//! Quotas are decided the way `BoundedNonces` decides them, in the same order and with
//! the same errors: a replay (`NonceUsed`), then the account's share, the key's share,
//! then the total (`NonceQuotaExceeded`, `NonceStoreFull`). The per-account and per-key
//! counts are exact across processes: each check runs in one transaction under its
//! account's lock (a PostgreSQL transaction advisory lock; SQLite has one writer). The
//! total is counted at most once a second per store (counting it per request would
//! read the whole table), plus this store's own inserts since — and recounted on every
//! request within the last sixteenth of the cap or when that count says full. So one
//! process alone decides exactly as `BoundedNonces` does; several processes together
//! may overshoot the total by what the others inserted within that second.
//!
//! Fail closed: a request is accepted only after the row committed. Any database error
//! refuses it (as `NonceStoreFull`, "retry shortly"; `shiren_auth` has no "unavailable"
//! error yet), and the error is kept for the caller to log
//! ([`SqlNonces::last_error`]).

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use shiren_auth::{AuthError, NONCE_RETENTION, NonceLimits, NonceStore, check_nonce_length};
use shiren_verify::StoreError;
use sqlx::Row;

use crate::store::{Backend, SqlStore, db, micros};

/// How long a count of the whole table stands in for the total.
const TOTAL_RECOUNT: Duration = Duration::seconds(1);

/// The store's last count of unexpired nonces (see the module doc).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NonceTotal {
    /// When it was counted (the caller's `now`).
    counted_at: Option<DateTime<Utc>>,
    /// Unexpired nonces then, plus this store's inserts since.
    held: u64,
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

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// What one check found, before deciding.
struct Found {
    replay: bool,
    account: u64,
    key: u64,
    total: Option<u64>,
}

/// The outcome of one check: decided, or a database failure.
enum Checked {
    Accepted { total: Option<u64> },
    Refused(AuthError, Option<u64>),
}

fn nonnegative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
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
        let pool = self.pool.clone();
        self.exec.run(async move {
            let done = sqlx::query("DELETE FROM nonces WHERE seen_at < $1")
                .bind(micros(cutoff))
                .execute(&pool)
                .await
                .map_err(db)?;
            Ok(done.rows_affected())
        })
    }

    /// Nonces stored (expired or not), for audits and tests.
    pub fn nonce_rows(&self) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        self.exec.run(async move {
            let row = sqlx::query("SELECT COUNT(*) FROM nonces").fetch_one(&pool).await.map_err(db)?;
            Ok(nonnegative(row.try_get::<i64, _>(0).map_err(db)?))
        })
    }

    /// One check, in one transaction under the account's lock.
    fn check_nonce(
        &self,
        limits: NonceLimits,
        account: &str,
        access_key_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
        recount: bool,
    ) -> Result<Checked, StoreError> {
        let (pool, backend) = (self.pool.clone(), self.backend);
        let (account, key, digest) =
            (account.to_owned(), access_key_id.to_owned(), digest(access_key_id, nonce));
        let now_us = micros(now);
        // Live rows are those seen after this instant.
        let live_after = micros(now.checked_sub_signed(NONCE_RETENTION).unwrap_or(DateTime::<Utc>::MIN_UTC));
        self.exec.run(async move {
            if recount {
                // Opportunistic cleanup, outside the check's transaction.
                sqlx::query("DELETE FROM nonces WHERE seen_at <= $1")
                    .bind(live_after)
                    .execute(&pool)
                    .await
                    .map_err(db)?;
            }
            let mut tx = pool.begin().await.map_err(db)?;
            if backend == Backend::Postgres {
                // The account's checks serialise, so its counts and the insert are one
                // step for every process (SQLite: one writer connection already).
                sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(hashtext('shiren nonces ' || $1))) AS l")
                    .bind(account.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            let total_sql = if recount {
                "(SELECT COUNT(*) FROM (SELECT 1 FROM nonces WHERE seen_at > $4 LIMIT $7) AS t)"
            } else {
                "CAST(-1 AS BIGINT)"
            };
            // Each count stops at its quota: the work is bounded by the quotas.
            let sql = format!(
                "SELECT \
                 (SELECT COUNT(*) FROM nonces WHERE digest = $1 AND seen_at > $4), \
                 (SELECT COUNT(*) FROM (SELECT 1 FROM nonces WHERE account = $2 AND seen_at > $4 LIMIT $5) AS a), \
                 (SELECT COUNT(*) FROM (SELECT 1 FROM nonces WHERE account = $2 AND access_key_id = $3 \
                  AND seen_at > $4 LIMIT $6) AS k), \
                 {total_sql}"
            );
            let row = sqlx::query(&sql)
                .bind(digest.clone())
                .bind(account.clone())
                .bind(key.clone())
                .bind(live_after)
                .bind(count(limits.per_account))
                .bind(count(limits.per_key))
                .bind(count(limits.total))
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            let total: i64 = row.try_get(3).map_err(db)?;
            let found = Found {
                replay: row.try_get::<i64, _>(0).map_err(db)? > 0,
                account: nonnegative(row.try_get(1).map_err(db)?),
                key: nonnegative(row.try_get(2).map_err(db)?),
                total: (total >= 0).then(|| nonnegative(total)),
            };
            let refusal = if found.replay {
                Some(AuthError::NonceUsed)
            } else {
                limits.refusal(found.account, found.key, found.total)
            };
            if let Some(refusal) = refusal {
                return Ok(Checked::Refused(refusal, found.total));
            }
            // The replay check proper: a row with this digest is replaced only when it
            // has expired; an unexpired one (a concurrent insert by a process holding
            // another account's lock with the same key ID) leaves nothing changed.
            let done = sqlx::query(
                "INSERT INTO nonces (digest, account, access_key_id, seen_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (digest) DO UPDATE SET account = excluded.account, \
                 access_key_id = excluded.access_key_id, seen_at = excluded.seen_at \
                 WHERE nonces.seen_at <= $5",
            )
            .bind(digest)
            .bind(account)
            .bind(key)
            .bind(now_us)
            .bind(live_after)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if done.rows_affected() != 1 {
                return Ok(Checked::Refused(AuthError::NonceUsed, found.total));
            }
            tx.commit().await.map_err(db)?;
            Ok(Checked::Accepted { total: found.total })
        })
    }

    /// Whether the total must be counted again before deciding.
    fn total_is_stale(&self, limits: NonceLimits, now: DateTime<Utc>) -> bool {
        let Ok(total) = self.nonce_total.lock() else { return true };
        let fresh = total.counted_at.is_some_and(|at| at <= now && now - at < TOTAL_RECOUNT);
        // Within the last sixteenth of the cap, every request counts.
        let near_cap = total.held.saturating_mul(16) >= (limits.total as u64).saturating_mul(15);
        !fresh || near_cap
    }

    fn note_total(&self, counted: Option<u64>, inserted: bool, now: DateTime<Utc>) {
        let Ok(mut total) = self.nonce_total.lock() else { return };
        if let Some(counted) = counted {
            *total = NonceTotal { counted_at: Some(now), held: counted };
        }
        if inserted {
            total.held = total.held.saturating_add(1);
        }
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
        let recount = self.store.total_is_stale(self.limits, now);
        match self.store.check_nonce(self.limits, account, access_key_id, nonce, now, recount) {
            Ok(Checked::Accepted { total }) => {
                self.store.note_total(total, true, now);
                Ok(())
            }
            Ok(Checked::Refused(refusal, total)) => {
                self.store.note_total(total, false, now);
                Err(refusal)
            }
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
