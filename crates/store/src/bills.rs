//! Issued bills that left the account document. An account's `Biller` grows by a bill
//! and a ledger charge a day for as long as the account lives, and the document is
//! read and written by every completion batch; so when `poll_bills` issues an account's
//! bills it also calls `Biller::archive` for the days older than [`BILLS_KEPT_DAYS`]
//! and writes the bills it hands over into the `bills` table, in the same transaction
//! as the document — a bill is in exactly one of the two, whatever crashes.
//!
//! Reads (`SqlStore::bill`, `SqlStore::statement`) ask the document first and the
//! table for archived days; every row is checked against its columns and by
//! `Biller::check_archived` (each line recomputed) before it is believed. No billing
//! rule lives here: which bills may leave, and what a statement is, are the biller's.

use chrono::{Days, NaiveDate};
use shiren_billing::{BillingError, DailyBill, Statement, statement_days};
use shiren_catalog::AccountId;
use shiren_verify::{LedgerError, StoreError};
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::account::AccountState;
use crate::store::{SqlStore, corrupt, db, from_json, is_unique_violation, select_account, to_json};

/// How many days of bills stay in the account document after a poll: the current
/// statement month's and a few more. Older ones are in the `bills` table.
pub const BILLS_KEPT_DAYS: u64 = 35;

fn billing(e: BillingError) -> StoreError {
    StoreError::Ledger(LedgerError::Billing(e))
}

/// Archives the account's bills older than [`BILLS_KEPT_DAYS`] into the `bills` table,
/// inside the caller's transaction (which then saves the document).
pub(crate) async fn archive_old_bills(
    tx: &mut Transaction<'static, Any>,
    account: &AccountId,
    state: &mut AccountState,
) -> Result<(), StoreError> {
    let Some(before) = state.biller.next_day().checked_sub_days(Days::new(BILLS_KEPT_DAYS)) else {
        return Ok(());
    };
    if before <= state.biller.config().first_day() {
        return Ok(());
    }
    for bill in state.biller.archive(account, before).map_err(billing)? {
        let inserted = sqlx::query("INSERT INTO bills (account, day, bill, total) VALUES ($1, $2, $3, $4)")
            .bind(account.as_str().to_owned())
            .bind(bill.day.to_string())
            .bind(to_json(&bill)?)
            .bind(bill.total.to_string())
            .execute(&mut **tx)
            .await;
        match inserted {
            Ok(_) => {}
            // The document said the bill was still in it: the table and the document
            // disagree, which no transaction of this crate produces.
            Err(e) if is_unique_violation(&e) => {
                return Err(corrupt(
                    format_args!("bill of {} for account {account}", bill.day),
                    "archived twice",
                ));
            }
            Err(e) => return Err(db(e)),
        }
    }
    Ok(())
}

/// The archived bills of `account` from `first` to `last`, checked.
async fn select_archived(
    pool: &AnyPool,
    state: &AccountState,
    account: &AccountId,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<DailyBill>, StoreError> {
    let rows =
        sqlx::query("SELECT day, bill, total FROM bills WHERE account = $1 AND day >= $2 AND day <= $3")
            .bind(account.as_str().to_owned())
            .bind(first.to_string())
            .bind(last.to_string())
            .fetch_all(pool)
            .await
            .map_err(db)?;
    rows.iter()
        .map(|row| {
            let (day, body, total): (String, String, String) =
                (row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?, row.try_get(2).map_err(db)?);
            let what = format_args!("bill of {day} for account {account}");
            let bill: DailyBill = from_json(what, &body)?;
            if bill.day.to_string() != day || bill.total.to_string() != total {
                return Err(corrupt(what, "its columns disagree with its body"));
            }
            state.biller.check_archived(account, &bill).map_err(|e| corrupt(what, e))?;
            Ok(bill)
        })
        .collect()
}

impl SqlStore {
    /// The account's issued bills of `first` through `last`, in day order (at most one
    /// a day, so the range bounds the answer) — from the account document, and from the
    /// `bills` table for archived days (checked on load).
    pub fn bills(
        &self,
        account: AccountId,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<DailyBill>, StoreError> {
        let pool = self.reader.clone();
        self.exec.run(async move {
            let state = load(&pool, &account).await?;
            match state.biller.bills(&account, first, last) {
                Ok(bills) => Ok(bills.into_iter().cloned().collect()),
                Err(BillingError::Archived { before, .. }) => {
                    // Archived days from the table — only those this document archived
                    // (a later archive may have added rows of days it still holds) —,
                    // the rest from the document.
                    let archived_last = last.min(before.pred_opt().unwrap_or(before));
                    let mut bills = select_archived(&pool, &state, &account, first, archived_last).await?;
                    bills.sort_by_key(|b| b.day);
                    let held = state.biller.bills(&account, before.max(first), last).map_err(billing)?;
                    bills.extend(held.into_iter().cloned());
                    Ok(bills)
                }
                Err(e) => Err(billing(e)),
            }
        })
    }

    /// The account's issued bill of `day`, if any (see [`SqlStore::bills`]).
    pub fn bill(&self, account: AccountId, day: NaiveDate) -> Result<Option<DailyBill>, StoreError> {
        Ok(self.bills(account, day, day)?.pop())
    }

    /// The account's statement of `month` of `year`, its archived days' bills read
    /// from the `bills` table (checked on load).
    pub fn statement(&self, account: AccountId, year: i32, month: u32) -> Result<Statement, StoreError> {
        let pool = self.reader.clone();
        self.exec.run(async move {
            let state = load(&pool, &account).await?;
            match state.biller.statement(&account, year, month) {
                Err(BillingError::Archived { before, .. }) => {
                    let (first, last) =
                        statement_days(year, month).ok_or(billing(BillingError::Month(month)))?;
                    // Only the days this document archived (a later archive may have
                    // added rows of days the document still holds).
                    let last = last.min(before.pred_opt().unwrap_or(before));
                    let archived = select_archived(&pool, &state, &account, first, last).await?;
                    state.biller.statement_with(&account, year, month, &archived).map_err(billing)
                }
                answer => answer.map_err(billing),
            }
        })
    }
}

/// The account's document; the document is read before the table, so a bill archived
/// meanwhile (document and rows commit together) is found in one or the other.
async fn load(pool: &AnyPool, account: &AccountId) -> Result<AccountState, StoreError> {
    select_account(pool, account, "").await?.ok_or(billing(BillingError::UnknownAccount(*account)))
}
