//! Usage and money as the flow sees them: may this account start a verification
//! (412 when overdue or suspended), and take one completed verification — metered
//! against traffic packs exactly once per certify ID, the counted remainder billed.
//!
//! Atomic usage is a two-step contract: [`UsageLedger::check`] says whether the event
//! would be taken, changing nothing; [`UsageLedger::consume`] then takes it and cannot
//! fail after a passing check with no change in between. So either the meter and the
//! bill both take an event or neither does, and a refusal (no price, billing not
//! started, account not open, another event under the certify ID) leaves no trace.

use chrono::{DateTime, Utc};
use shiren_billing::{Biller, BillingError, UsageRecord};
use shiren_catalog::{AccountId, CallCode};
use shiren_meter::{Applied, ApplyError, Meter, UsageEvent};

/// The ledger refused usage; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
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

    /// Whether [`UsageLedger::consume`] would take `event`, changing nothing.
    fn check(&self, event: &UsageEvent) -> Result<(), LedgerError>;

    /// Takes one completed session's usage, at the event's own time. Idempotent per
    /// certify ID (the same event again is [`Applied::Duplicate`]). Must not fail after
    /// a passing [`UsageLedger::check`] of the same event with no change in between.
    fn consume(&mut self, event: &UsageEvent) -> Result<Applied, LedgerError>;
}

/// The default ledger: `shiren-meter` then `shiren-billing`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ledger {
    /// Traffic packs and the exactly-once usage set.
    pub meter: Meter,
    /// Daily bills, balance, standing.
    pub biller: Biller,
}

impl Ledger {
    /// Billing's part of [`UsageLedger::check`]: the account is open, and for an event
    /// that counts, billing had started on its day and the account has a price for its
    /// solution. (An event that does not count is never billed, so it needs no price.)
    fn check_billing(&self, event: &UsageEvent) -> Result<(), LedgerError> {
        if event.counts() {
            self.biller.check_usage(&event.account, event.solution, event.time)?;
        } else {
            self.biller.balance(&event.account, event.time)?;
        }
        Ok(())
    }
}

impl UsageLedger for Ledger {
    fn may_start(&self, account: &AccountId, now: DateTime<Utc>) -> Result<(), CallCode> {
        self.biller.may_start_verification(account, now)
    }

    /// Everything that can refuse: the meter (a conflicting event under the certify
    /// ID) and billing (see `check_billing`).
    fn check(&self, event: &UsageEvent) -> Result<(), LedgerError> {
        self.meter.check(event)?;
        self.check_billing(event)
    }

    /// Billing's part of the check first, then the meter (whose `apply` checks its own
    /// part and changes nothing when it refuses), then the bill, which cannot refuse
    /// what `check_usage` accepted. So `consume` alone is all-or-nothing too.
    fn consume(&mut self, event: &UsageEvent) -> Result<Applied, LedgerError> {
        self.check_billing(event)?;
        let applied = self.meter.apply(event)?;
        if let Some(usage) = UsageRecord::from_applied(event, &applied) {
            // The event's time is when it arrived.
            self.biller.record(&usage, event.time)?;
        }
        Ok(applied)
    }
}
