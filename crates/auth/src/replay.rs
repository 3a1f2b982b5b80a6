//! Replay protection: the timestamp window and the memory of used nonces.
//!
//! Policy: a request's time must be within ±15 minutes of `now`; its nonce must not have
//! been seen (for the same AccessKey) in the last 31 minutes — longer than the whole
//! 30-minute acceptance window, so a replay can never outlive the memory of its nonce.
//! The default store keeps at most `capacity` nonces; when it is full of unexpired ones
//! it refuses new requests (`NonceStoreFull`) instead of forgetting early. Memory is
//! bounded by the capacity (about 60 bytes per nonce).

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, DefaultHasher};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use crate::error::AuthError;

/// Largest accepted difference between a request's time and `now`.
pub const MAX_SKEW: Duration = Duration::minutes(15);
/// How long a used nonce is remembered.
pub const NONCE_RETENTION: Duration = Duration::minutes(31);
/// Longest accepted nonce.
pub const MAX_NONCE_LEN: usize = 128;

/// Parses `yyyy-MM-ddTHH:mm:ssZ` (exactly that shape) and checks it is within ±15
/// minutes of `now`.
pub fn check_timestamp(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, AuthError> {
    let at = parse_utc_timestamp(text).ok_or_else(|| AuthError::TimestampFormat(text.to_owned()))?;
    if (at - now).abs() > MAX_SKEW {
        return Err(AuthError::TimestampExpired(text.to_owned()));
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
}

/// The bounded in-memory nonce store.
#[derive(Clone, Debug)]
pub struct BoundedNonces {
    capacity: usize,
    /// Fixed-key hashing (deterministic); keys are SHA-256 digests of signed requests.
    seen: HashSet<[u8; 16], BuildHasherDefault<DefaultHasher>>,
    by_age: VecDeque<(DateTime<Utc>, [u8; 16])>,
    latest: Option<DateTime<Utc>>,
}

impl BoundedNonces {
    /// A store for at most `capacity` nonces at once.
    pub fn new(capacity: usize) -> BoundedNonces {
        BoundedNonces { capacity, seen: HashSet::default(), by_age: VecDeque::new(), latest: None }
    }

    /// Nonces remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none are remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A 128-bit digest of (AccessKey ID, nonce). A collision can only refuse a fresh
    /// request, never accept a replay.
    fn key(access_key_id: &str, nonce: &str) -> [u8; 16] {
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

    fn expire(&mut self, now: DateTime<Utc>) {
        // Time only moves forward for expiry, even if a caller's clock steps back.
        let latest = self.latest.map_or(now, |l| l.max(now));
        self.latest = Some(latest);
        while let Some(&(at, key)) = self.by_age.front() {
            if latest - at < NONCE_RETENTION {
                break;
            }
            self.by_age.pop_front();
            self.seen.remove(&key);
        }
    }
}

impl NonceStore for BoundedNonces {
    fn check_and_remember(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
            return Err(AuthError::malformed("the signature nonce must be 1–128 characters"));
        }
        self.expire(now);
        let key = Self::key(access_key_id, nonce);
        if self.seen.contains(&key) {
            return Err(AuthError::NonceUsed);
        }
        if self.seen.len() >= self.capacity {
            return Err(AuthError::NonceStoreFull);
        }
        self.seen.insert(key);
        self.by_age.push_back((self.latest.unwrap_or(now), key));
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
