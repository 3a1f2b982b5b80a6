//! The cloud's per-account QPS limits (a token bucket per main account and operation,
//! refilled at the limit per second, holding one second's worth). The limits
//! themselves are the catalog's (`ProductCode::qps_limit`); this file only counts. The
//! buckets are per process: with N processes an account gets at most N × its limit,
//! so a deployment sets `--qps-scale` to 1/N (documented in the README); a contract
//! with higher limits (and a load test) sets it above 1.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use shiren_catalog::AccountId;

/// Buckets by (account, operation).
#[derive(Debug)]
pub(crate) struct QpsLimits {
    buckets: Mutex<HashMap<(AccountId, &'static str), Bucket>>,
    scale: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The largest factor on the catalog's limits.
const MAX_SCALE: f64 = 1_000_000.0;

/// The most buckets kept; beyond it the table is cleared (every bucket then starts
/// full, which is at most one extra second's worth for each account).
const MAX_BUCKETS: usize = 100_000;

impl QpsLimits {
    /// Each limit times `scale` (0 < scale ≤ 1,000,000; anything else counts as 1).
    pub(crate) fn new(scale: f64) -> QpsLimits {
        let scale = if scale.is_finite() && scale > 0.0 { scale.min(MAX_SCALE) } else { 1.0 };
        QpsLimits { buckets: Mutex::new(HashMap::new()), scale }
    }

    /// Takes one request of `operation` for `account`, whose limit is `limit` per
    /// second; `false` when over it. A poisoned lock refuses.
    pub(crate) fn admit(
        &self,
        account: AccountId,
        operation: &'static str,
        limit: u32,
        now: Instant,
    ) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else { return false };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&(account, operation)) {
            buckets.clear();
        }
        let rate = f64::from(limit) * self.scale;
        let bucket = buckets.entry((account, operation)).or_insert(Bucket { tokens: rate, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate.max(1.0));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_beyond_the_limit_is_refused_and_time_refills() -> anyhow::Result<()> {
        let limits = QpsLimits::new(1.0);
        let account = AccountId::new("1234567890123456")?;
        let t0 = Instant::now();
        let admitted = (0..15).filter(|_| limits.admit(account, "Compare", 10, t0)).count();
        assert_eq!(admitted, 10);
        assert!(limits.admit(account, "Compare", 10, t0 + Duration::from_millis(100)));
        assert!(!limits.admit(account, "Compare", 10, t0 + Duration::from_millis(100)));
        // Another operation and another account have their own buckets.
        assert!(limits.admit(account, "Init", 10, t0));
        assert!(limits.admit(AccountId::new("6543210987654321")?, "Compare", 10, t0));
        Ok(())
    }

    #[test]
    fn a_scale_divides_or_multiplies_the_limit() -> anyhow::Result<()> {
        let limits = QpsLimits::new(0.5);
        let account = AccountId::new("1234567890123456")?;
        let t0 = Instant::now();
        assert_eq!((0..15).filter(|_| limits.admit(account, "Compare", 10, t0)).count(), 5);
        let contract = QpsLimits::new(3.0);
        assert_eq!((0..40).filter(|_| contract.admit(account, "Compare", 10, t0)).count(), 30);
        for nonsense in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let limits = QpsLimits::new(nonsense);
            assert_eq!((0..15).filter(|_| limits.admit(account, "Compare", 10, t0)).count(), 10);
        }
        Ok(())
    }
}
