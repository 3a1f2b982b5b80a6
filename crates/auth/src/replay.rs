//! Replay protection: the timestamp window and the memory of used nonces.
//!
//! Policy: a request's time must be within ±15 minutes of `now`; its nonce must not have
//! been seen (for the same AccessKey) in the last 31 minutes — longer than the whole
//! 30-minute acceptance window, so a replay can never outlive the memory of its nonce.
//! The default store never forgets a nonce early: when a share is used up it refuses
//! new requests instead. Shares are per tenant — each main account and each AccessKey
//! holds at most its quota ([`NonceLimits`]), so a tenant that floods the store only
//! throttles itself — under a global cap that bounds memory ([`NONCE_BYTES`] a nonce).

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use crate::error::{AuthError, QuotaScope, Quoted};

/// Largest accepted difference between a request's time and `now`.
pub const MAX_SKEW: Duration = Duration::minutes(15);
/// How long a used nonce is remembered.
pub const NONCE_RETENTION: Duration = Duration::minutes(31);
/// Longest accepted nonce.
pub const MAX_NONCE_LEN: usize = 128;

/// Parses `yyyy-MM-ddTHH:mm:ssZ` (exactly that shape) and checks it is within ±15
/// minutes of `now`.
pub fn check_timestamp(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, AuthError> {
    let at = parse_utc_timestamp(text).ok_or_else(|| AuthError::TimestampFormat(Quoted::new(text)))?;
    if (at - now).abs() > MAX_SKEW {
        return Err(AuthError::TimestampExpired(Quoted::new(text)));
    }
    Ok(at)
}

/// Parses the fixed 20-character form `yyyy-MM-ddTHH:mm:ssZ` by position.
fn parse_utc_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() != 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') || b.get(19) != Some(&b'Z') {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        let digits = b.get(from..to)?;
        digits.iter().try_fold(0u32, |acc, d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(number(0, 4)?).ok()?, number(5, 7)?, number(8, 10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(number(11, 13)?, number(14, 16)?, number(17, 19)?)?;
    Some(NaiveDateTime::new(date, time).and_utc())
}

/// Remembers used nonces (no I/O; implement it over a shared cache for several nodes).
pub trait NonceStore {
    /// Records `nonce` of `access_key_id` at `now`, or refuses a repeat.
    fn check_and_remember(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError>;

    /// Records `nonce` of `access_key_id`, a key of main account `account`, at `now`, or
    /// refuses a repeat — or a request beyond the account's or the key's share, so that
    /// one tenant cannot use up the store for the others. Verification calls this one,
    /// with the account from [`crate::ActiveKey`]. The default ignores the account and
    /// calls [`NonceStore::check_and_remember`].
    fn check_and_remember_for(
        &mut self,
        account: &str,
        access_key_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let _ = account;
        self.check_and_remember(access_key_id, nonce, now)
    }
}

/// Heap bytes [`BoundedNonces`] uses per remembered nonce, at most. Measured at the
/// peak, tables and queue just grown (`tests/hostile.rs`): 110–170 bytes when the
/// nonces come from a few keys, up to 300 when every nonce has its own account and key.
pub const NONCE_BYTES: usize = 320;

/// How many nonces [`BoundedNonces`] holds: in all, per main account, and per
/// AccessKey. A request beyond its key's or its account's quota is refused
/// (`Throttling.User`) and other tenants go on; one beyond `total` is refused for
/// everyone (`Throttling`). So `total` bounds memory ([`NONCE_BYTES`] a nonce), and
/// filling it takes at least `total / per_account` accounts, each at its quota.
/// With `total ≥ per_account ×` the number of accounts, tenants are fully isolated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NonceLimits {
    /// Nonces held at once, all tenants together.
    pub total: usize,
    /// Nonces one main account (all its keys) may hold at once.
    pub per_account: usize,
    /// Nonces one AccessKey may hold at once.
    pub per_key: usize,
}

impl NonceLimits {
    /// How many accounts at their quota it takes to fill the store, by default.
    pub const DEFAULT_ACCOUNTS_TO_FILL: usize = 16;

    /// `total` nonces, one main account holding at most a sixteenth of them (at least
    /// one), and one key as many as its account. Set `per_account` to 31 minutes × the
    /// highest request rate one account may have, and `per_key` lower to keep one key
    /// (a leaked one, or a runaway client) from using up its account's share.
    pub fn new(total: usize) -> NonceLimits {
        let per_account = (total / Self::DEFAULT_ACCOUNTS_TO_FILL).max(1);
        NonceLimits { total, per_account, per_key: per_account }
    }

    /// Why a fresh nonce may not be remembered when its main account, its key and the
    /// whole store already hold these many (`total_held` `None`: not counted this
    /// time): the account's share first — when it is used up, another key would not
    /// help — then the key's, then the total. `None`: it may be remembered. Every nonce
    /// store decides with this, so they refuse alike.
    pub fn refusal(&self, account_held: u64, key_held: u64, total_held: Option<u64>) -> Option<AuthError> {
        let reached = |held: u64, limit: usize| held >= u64::try_from(limit).unwrap_or(u64::MAX);
        if reached(account_held, self.per_account) {
            Some(AuthError::NonceQuotaExceeded { scope: QuotaScope::Account, quota: self.per_account })
        } else if reached(key_held, self.per_key) {
            Some(AuthError::NonceQuotaExceeded { scope: QuotaScope::AccessKey, quota: self.per_key })
        } else if total_held.is_some_and(|held| reached(held, self.total)) {
            Some(AuthError::NonceStoreFull)
        } else {
            None
        }
    }
}

/// Refuses a nonce that is empty or longer than [`MAX_NONCE_LEN`].
pub fn check_nonce_length(nonce: &str) -> Result<(), AuthError> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
        return Err(AuthError::malformed("the signature nonce must be 1–128 characters"));
    }
    Ok(())
}

/// A 128-bit SHA-256 digest of (AccessKey ID, nonce). A collision can only refuse a
/// fresh request, never accept a replay.
type Digest128 = [u8; 16];

/// A 64-bit hash standing for a key or an account, to count its share. The IDs are
/// provisioned, not chosen by a caller; a collision would only count two tenants as
/// one (refusing early), never accept a replay.
type TenantId = u64;

/// One remembered nonce, oldest first.
#[derive(Clone, Copy, Debug)]
struct Remembered {
    at: DateTime<Utc>,
    nonce: Digest128,
    key: TenantId,
}

/// A key's count of remembered nonces, with its account.
#[derive(Clone, Copy, Debug)]
struct KeyCount {
    account: TenantId,
    count: usize,
}

/// Fixed-key hashing (deterministic); keys are SHA-256 digests.
type Fixed = BuildHasherDefault<DefaultHasher>;

/// The bounded in-memory nonce store, with a share per main account and per key.
#[derive(Clone, Debug)]
pub struct BoundedNonces {
    limits: NonceLimits,
    seen: HashSet<Digest128, Fixed>,
    by_age: VecDeque<Remembered>,
    // INVARIANT: `keys` counts the entries of `by_age` per key, `accounts` per account;
    // neither holds a zero count.
    keys: HashMap<TenantId, KeyCount, Fixed>,
    accounts: HashMap<TenantId, usize, Fixed>,
    latest: Option<DateTime<Utc>>,
}

impl BoundedNonces {
    /// A store for at most `capacity` nonces at once, shared as [`NonceLimits::new`]
    /// says: one main account holds at most a sixteenth.
    pub fn new(capacity: usize) -> BoundedNonces {
        BoundedNonces::with_limits(NonceLimits::new(capacity))
    }

    /// A store with these quotas.
    pub fn with_limits(limits: NonceLimits) -> BoundedNonces {
        BoundedNonces {
            limits,
            seen: HashSet::default(),
            by_age: VecDeque::new(),
            keys: HashMap::default(),
            accounts: HashMap::default(),
            latest: None,
        }
    }

    /// Nonces remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none are remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The capacity, all tenants together.
    pub fn capacity(&self) -> usize {
        self.limits.total
    }

    /// The quotas.
    pub fn limits(&self) -> NonceLimits {
        self.limits
    }

    /// A 128-bit digest of (AccessKey ID, nonce).
    fn digest(access_key_id: &str, nonce: &str) -> Digest128 {
        let mut h = Sha256::new();
        h.update((access_key_id.len() as u64).to_le_bytes());
        h.update(access_key_id.as_bytes());
        h.update(nonce.as_bytes());
        let digest = h.finalize();
        let mut key = [0u8; 16];
        for (k, d) in key.iter_mut().zip(digest) {
            *k = d;
        }
        key
    }

    /// The [`TenantId`] of a key (`Some`) or of an account.
    fn tenant(account: &str, access_key_id: Option<&str>) -> TenantId {
        Fixed::default().hash_one((account, access_key_id))
    }

    fn expire(&mut self, now: DateTime<Utc>) {
        // Time only moves forward for expiry, even if a caller's clock steps back.
        let latest = self.latest.map_or(now, |l| l.max(now));
        self.latest = Some(latest);
        while let Some(&oldest) = self.by_age.front() {
            if latest - oldest.at < NONCE_RETENTION {
                break;
            }
            self.by_age.pop_front();
            self.seen.remove(&oldest.nonce);
            let Some(key) = self.keys.get_mut(&oldest.key) else { continue };
            key.count = key.count.saturating_sub(1);
            let account = key.account;
            if key.count == 0 {
                self.keys.remove(&oldest.key);
            }
            if let Some(count) = self.accounts.get_mut(&account) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.accounts.remove(&account);
                }
            }
        }
    }
}

impl NonceStore for BoundedNonces {
    /// Without an account, each key counts as a main account of its own.
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
        check_nonce_length(nonce)?;
        self.expire(now);
        let digest = Self::digest(access_key_id, nonce);
        if self.seen.contains(&digest) {
            return Err(AuthError::NonceUsed);
        }
        let key = Self::tenant(account, Some(access_key_id));
        let account = Self::tenant(account, None);
        let held = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let refusal = self.limits.refusal(
            held(self.accounts.get(&account).copied().unwrap_or(0)),
            held(self.keys.get(&key).map_or(0, |k| k.count)),
            Some(held(self.seen.len())),
        );
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        self.seen.insert(digest);
        self.keys.entry(key).or_insert(KeyCount { account, count: 0 }).count += 1;
        *self.accounts.entry(account).or_insert(0) += 1;
        self.by_age.push_back(Remembered { at: self.latest.unwrap_or(now), nonce: digest, key });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamp_shapes() {
        let now = Utc.with_ymd_and_hms(2016, 2, 23, 12, 46, 24).unwrap();
        assert_eq!(check_timestamp("2016-02-23T12:46:24Z", now), Ok(now));
        for bad in [
            "2016-02-23T12:46:24",
            "2016-02-23 12:46:24Z",
            "2016-2-23T12:46:24Z",
            "2016-02-30T12:46:24Z",
            "2016-02-23T24:00:00Z",
            "+016-02-23T12:46:24Z",
            "２016-02-23T12:46:24Z",
            "",
        ] {
            assert!(matches!(check_timestamp(bad, now), Err(AuthError::TimestampFormat(_))), "{bad}");
        }
    }
}
