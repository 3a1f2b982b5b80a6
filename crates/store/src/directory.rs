//! The RAM directory of each main account — users, groups, roles, custom policies,
//! AccessKey IDs and their statuses (`shiren_ram::Directory`) — one JSON document per
//! account in `directories`, written and validated by `shiren_ram`'s own serde
//! (policies are recompiled from their canonical documents on load) and checked
//! against its row's key: a document of another account is `StoreError::Corrupt`.
//!
//! **AccessKey secrets are not stored here, nor anywhere in the database.**
//! `shiren_ram::AccessKey` has no secret field; the service derives each key's secret
//! from its master secret (or keeps it in its secret store) and hands it to
//! `shiren_auth` through its own `AccessKeys`. A copy of the database therefore signs
//! nothing.

use shiren_catalog::AccountId;
use shiren_ram::Directory;
use shiren_verify::StoreError;
use sqlx::{Any, Row};

use crate::store::{SqlStore, corrupt, db, from_json, is_unique_violation, to_json};

/// A stored directory, validated against its row's account.
fn directory_of(account: &AccountId, text: &str) -> Result<Directory, StoreError> {
    let directory: Directory = from_json(format_args!("directory of {account}"), text)?;
    if directory.account_id() != account.as_str() {
        return Err(corrupt(format_args!("directory of {account}"), "it is another account's directory"));
    }
    Ok(directory)
}

async fn select_directory<'c>(
    executor: impl sqlx::Executor<'c, Database = Any>,
    account: &AccountId,
    lock: &str,
) -> Result<Option<Directory>, StoreError> {
    let sql = format!("SELECT directory FROM directories WHERE account = $1{lock}");
    let row =
        sqlx::query(&sql).bind(account.as_str().to_owned()).fetch_optional(executor).await.map_err(db)?;
    match row {
        None => Ok(None),
        Some(row) => {
            let text: String = row.try_get(0).map_err(db)?;
            directory_of(account, &text).map(Some)
        }
    }
}

/// A directory refused before it was written.
fn check_own(account: &AccountId, directory: &Directory) -> Result<(), StoreError> {
    if directory.account_id() == account.as_str() {
        Ok(())
    } else {
        Err(StoreError::Inconsistent(format!(
            "a directory of account {} cannot be stored as account {account}'s",
            shiren_catalog::quote(directory.account_id())
        )))
    }
}

impl SqlStore {
    /// Stores a new main account's RAM directory; `Ok(false)` (nothing written) when
    /// the account has one already — change it with [`SqlStore::update_directory`].
    /// The directory must be the account's own (`Directory::account_id`).
    pub fn create_directory(&self, account: AccountId, directory: &Directory) -> Result<bool, StoreError> {
        check_own(&account, directory)?;
        let text = to_json(directory)?;
        let pool = self.pool.clone();
        self.exec.run(async move {
            let inserted =
                sqlx::query("INSERT INTO directories (account, directory, revision) VALUES ($1, $2, 0)")
                    .bind(account.as_str().to_owned())
                    .bind(text)
                    .execute(&pool)
                    .await;
            match inserted {
                Ok(_) => Ok(true),
                Err(e) if is_unique_violation(&e) => Ok(false),
                Err(e) => Err(db(e)),
            }
        })
    }

    /// The account's RAM directory (validated on load), or `None` if it has none.
    pub fn directory(&self, account: AccountId) -> Result<Option<Directory>, StoreError> {
        let pool = self.reader.clone();
        self.exec.run(async move { select_directory(&pool, &account, "").await })
    }

    /// Changes the account's directory through `shiren_ram`'s own API, atomically: the
    /// row is locked (several processes serialise on it), `change` runs on the stored
    /// directory, and the result is saved only when `change` returns `Ok`. `Ok(None)`
    /// when the account has no directory.
    pub fn update_directory<T, E>(
        &self,
        account: AccountId,
        change: impl FnOnce(&mut Directory) -> Result<T, E> + Send + 'static,
    ) -> Result<Option<Result<T, E>>, StoreError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let (pool, lock) = (self.pool.clone(), self.backend.lock());
        self.exec.run(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let Some(mut directory) = select_directory(&mut *tx, &account, lock).await? else {
                return Ok(None);
            };
            let outcome = change(&mut directory);
            if outcome.is_ok() {
                check_own(&account, &directory)?;
                sqlx::query(
                    "UPDATE directories SET directory = $1, revision = revision + 1 WHERE account = $2",
                )
                .bind(to_json(&directory)?)
                .bind(account.as_str().to_owned())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
            }
            Ok(Some(outcome))
        })
    }
}
