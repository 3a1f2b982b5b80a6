//! Usage events: one per verification session that ended, keyed by certify ID.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, Solution, SubCode};

use crate::ids::CertifyId;
use crate::seen::Fnv1a;

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
        let mut h = Fnv1a::default();
        h.write(self.account.as_str().as_bytes());
        h.write(&[0xFF]);
        h.write(self.solution.title().as_bytes());
        h.write(&[0xFF]);
        match self.sub_code {
            Some(code) => h.write(&code.code().to_le_bytes()),
            None => h.write(&[0xFF, 0xFF, 0xFF]),
        }
        h.write(&self.time.timestamp().to_le_bytes());
        h.write(&self.time.timestamp_subsec_nanos().to_le_bytes());
        h.0
    }
}
