//! The schema, as numbered migrations shipped with the crate and applied on open. A
//! database whose recorded version is newer than this crate knows is refused — never
//! read with the wrong meaning. Migrations run in one transaction each, so a crash
//! mid-migration leaves the previous version.
//!
//! The SQL is the common subset of SQLite and PostgreSQL: `TEXT` and `BIGINT`
//! columns, primary keys as the exactly-once constraints. Times are microseconds since
//! the Unix epoch (UTC); domain state is JSON written and validated by the domain
//! crates' own serde.

use sqlx::{AnyPool, Row};

use crate::error::OpenError;

/// The latest schema version this crate reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// One migration: its version, what it does, its statements.
struct Migration {
    version: i64,
    description: &'static str,
    statements: &'static [&'static str],
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "accounts, sessions, records, usage events",
    statements: &[
        // Per main account: its meter, biller and scenes as one validated JSON
        // document; a completion locks this row, so work on one account serialises
        // and different accounts proceed in parallel.
        "CREATE TABLE accounts (account TEXT PRIMARY KEY, state TEXT NOT NULL, revision BIGINT NOT NULL)",
        "CREATE TABLE sessions (certify_id TEXT PRIMARY KEY, account TEXT NOT NULL, state TEXT NOT NULL, \
         created_at BIGINT NOT NULL, body TEXT NOT NULL)",
        "CREATE INDEX sessions_by_state ON sessions (state, created_at)",
        "CREATE TABLE records (certify_id TEXT PRIMARY KEY, account TEXT NOT NULL, \
         completed_at BIGINT NOT NULL, body TEXT NOT NULL)",
        "CREATE INDEX records_by_account ON records (account, completed_at)",
        // The meter's exactly-once set: one row per certify ID ever metered.
        "CREATE TABLE usage_events (certify_id TEXT PRIMARY KEY, account TEXT NOT NULL, event TEXT NOT NULL)",
    ],
}];

/// Brings the database to [`SCHEMA_VERSION`]; returns the version found before.
pub(crate) async fn migrate(pool: &AnyPool) -> Result<i64, OpenError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS shiren_schema (version BIGINT PRIMARY KEY, description TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let found = current(pool).await?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        let mut tx = pool.begin().await?;
        let applied = async {
            for statement in migration.statements {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO shiren_schema (version, description) VALUES ($1, $2)")
                .bind(migration.version)
                .bind(migration.description)
                .execute(&mut *tx)
                .await
        }
        .await;
        match applied {
            Ok(_) => tx.commit().await?,
            // Another process may have applied it meanwhile: fine if it is there now.
            Err(e) => {
                drop(tx);
                if current(pool).await? < migration.version {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(found)
}

async fn current(pool: &AnyPool) -> Result<i64, OpenError> {
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM shiren_schema").fetch_one(pool).await?;
    Ok(row.try_get::<i64, _>(0)?)
}
