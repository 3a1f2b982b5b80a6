//! The timers: every tick, issue the daily bills that are due (`SqlStore::poll_bills`:
//! each account's bill for a day is issued exactly once however many processes tick,
//! because each account is billed under its row lock in one transaction), abandon
//! sessions whose time ran out, and forget ended sessions past their retention. Runs on
//! the blocking pool; a failed tick is logged and retried at the next one.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use shiren_catalog::{AccountId, PackType};
use tokio::sync::watch;

use crate::app::{Shared, blocking};

/// How long ended sessions are kept before they are forgotten (their records stay 180
/// days; a session is only needed to answer retries and DescribeFaceVerify).
const SESSION_RETENTION: chrono::Duration = chrono::Duration::days(180);

/// Ticks every `every` until `stop` changes.
pub(crate) async fn run(
    app: Shared,
    every: Duration,
    accounts: Vec<AccountId>,
    mut stop: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => return,
        }
        let (worker, accounts) = (Arc::clone(&app), accounts.clone());
        let tick = blocking(move || tick(&worker, &accounts)).await;
        if let Err(e) = tick {
            tracing::warn!(error = %e, "billing tick did not run");
        }
    }
}

fn tick(app: &Shared, accounts: &[AccountId]) {
    let now = Utc::now();
    let store = &app.verifier.store;
    match store.poll_bills(now) {
        Ok(bills) => {
            if !bills.is_empty() {
                tracing::info!(bills = bills.len(), "daily bills issued");
            }
            app.metrics.bills_issued.inc_by(u64::try_from(bills.len()).unwrap_or(u64::MAX));
        }
        Err(e) => tracing::warn!(error = %e, "daily billing failed; retrying at the next tick"),
    }
    match app.verifier.expire_sessions(now) {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "expired sessions abandoned"),
        Err(e) => tracing::warn!(error = %e, "session expiry failed"),
    }
    match store.purge_records(now) {
        Ok(0) => {}
        Ok(n) => tracing::info!(records = n, "records past their retention purged"),
        Err(e) => tracing::warn!(error = %e, "purging old records failed"),
    }
    if let Err(e) = store.forget_nonces_before(now - shiren_auth::NONCE_RETENTION) {
        tracing::warn!(error = %e, "forgetting expired nonces failed");
    }
    if let Err(e) = app.verifier.forget_sessions_before(now - SESSION_RETENTION) {
        tracing::warn!(error = %e, "forgetting old sessions failed");
    }
    let mut remaining = 0u64;
    for account in accounts {
        if let Ok(Some(state)) = store.account(*account) {
            for pack_type in PackType::ALL {
                remaining = remaining.saturating_add(state.meter.totals(account, *pack_type, now).current);
            }
        }
    }
    app.metrics.remaining_pack_units.set(i64::try_from(remaining).unwrap_or(i64::MAX));
}
