//! Usage events: one per verification session that ended, keyed by certify ID.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, CertifyId, Solution, SubCode, WordHasher};

use std::hash::Hasher;

/// One verification session, as the meter sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UsageEvent {
    /// The idempotency key.
    pub certify_id: CertifyId,
    /// The main account billed.
    pub account: AccountId,
    /// The priced access solution (decides metering basis and pack type).
    pub solution: Solution,
    /// The sub code of a completed session; `None` for an abandoned one.
    pub sub_code: Option<SubCode>,
    /// When the session completed (or was abandoned).
    pub time: DateTime<Utc>,
}

impl UsageEvent {
    /// Whether this event counts one unit: the session completed with a billable sub
    /// code (200–206), and the solution's metering basis counts its verdict (passed
    /// verifications only, or every successful call). Abandoned sessions never count.
    pub fn counts(&self) -> bool {
        self.sub_code
            .is_some_and(|code| code.is_billable() && self.solution.facts().metering.counts(code.is_pass()))
    }

    /// A stable 32-bit fingerprint of everything but the key (no allocation).
    pub(crate) fn fingerprint(&self) -> u32 {
        let mut h = WordHasher::default();
        h.write(self.account.as_str().as_bytes());
        let sub = self.sub_code.map_or(u64::from(u16::MAX) + 1, |c| u64::from(c.code()));
        let account_len = self.account.as_str().len() as u64;
        h.write_u64(account_len | u64::from(solution_tag(self.solution)) << 8 | sub << 16);
        h.write_u64(self.time.timestamp() as u64);
        h.write_u64(u64::from(self.time.timestamp_subsec_nanos()));
        let x = h.finish();
        (x ^ (x >> 32)) as u32
    }
}

/// A fixed tag per solution for fingerprints; append new solutions, never renumber.
fn solution_tag(solution: Solution) -> u8 {
    match solution {
        Solution::App => 1,
        Solution::H5 => 2,
        Solution::ServerSide => 3,
        Solution::AlipayMiniProgram => 4,
        Solution::AlipayH5 => 5,
        Solution::LivenessFaceVerification => 6,
        Solution::LivenessDetection => 7,
        Solution::FaceComparison => 8,
        Solution::LegacyFinancial => 9,
    }
}
