//! Usage and money as the flow sees them: may this account start a verification
//! (412 when overdue or suspended), and record one completed verification — metered
//! against traffic packs exactly once per certify ID, the counted remainder billed.

use chrono::{DateTime, Utc};
use shiren_billing::{Biller, BillingError, UsageRecord};
use shiren_catalog::{AccountId, CallCode};
use shiren_meter::{Applied, ApplyError, Meter, UsageEvent};

/// Recording usage failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The meter refused the event.
    #[error(transparent)]
    Meter(#[from] ApplyError),
    /// Billing refused the usage.
    #[error(transparent)]
    Billing(#[from] BillingError),
}

/// The account standing and usage sink (no I/O).
pub trait UsageLedger {
    /// `Err(412)` when the account may not start a verification now.
    fn may_start(&self, account: &AccountId, now: DateTime<Utc>) -> Result<(), CallCode>;

    /// Records one ended session (completed or abandoned). Idempotent per certify ID.
    fn consume(&mut self, event: &UsageEvent, now: DateTime<Utc>) -> Result<Applied, LedgerError>;
}

/// The default ledger: `shiren-meter` then `shiren-billing`.
#[derive(Clone, Debug)]
pub struct Ledger {
    /// Traffic packs and the exactly-once usage set.
    pub meter: Meter,
    /// Daily bills, balance, standing.
    pub biller: Biller,
}

impl UsageLedger for Ledger {
    fn may_start(&self, account: &AccountId, now: DateTime<Utc>) -> Result<(), CallCode> {
        self.biller.may_start_verification(account, now)
    }

    /// The account must be open for billing before anything is metered, so a
    /// refusal leaves both the meter and the bills unchanged.
    fn consume(&mut self, event: &UsageEvent, now: DateTime<Utc>) -> Result<Applied, LedgerError> {
        self.biller.balance(&event.account, now)?;
        let applied = self.meter.apply(event)?;
        if let Some(usage) = UsageRecord::from_applied(event, &applied) {
            self.biller.record(&usage, now)?;
        }
        Ok(applied)
    }
}
