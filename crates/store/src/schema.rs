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
pub const SCHEMA_VERSION: i64 = 7;

/// One migration: its version, what it does, its statements.
struct Migration {
    version: i64,
    description: &'static str,
    statements: &'static [&'static str],
    /// Work done in Rust after the statements, in the same transaction.
    then: Option<Then>,
}

/// A migration step written in Rust (it needs the domain crates' parsers).
#[derive(Clone, Copy)]
enum Then {
    /// Fill the records' filter columns from their bodies.
    BackfillRecords,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
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
        then: None,
    },
    Migration {
        version: 2,
        description: "AccessKey nonces (replay protection shared by every process)",
        statements: &[
            // The primary key is the replay check: a 128-bit digest of (AccessKey ID,
            // nonce), hex. Account and key count each tenant's share; `seen_at`
            // (microseconds) expires the row after `shiren_auth::NONCE_RETENTION`.
            "CREATE TABLE nonces (digest TEXT PRIMARY KEY, account TEXT NOT NULL, access_key_id TEXT NOT NULL, \
         seen_at BIGINT NOT NULL)",
            "CREATE INDEX nonces_by_key ON nonces (account, access_key_id, seen_at)",
            "CREATE INDEX nonces_by_account ON nonces (account, seen_at)",
            "CREATE INDEX nonces_by_age ON nonces (seen_at)",
        ],
        then: None,
    },
    Migration {
        version: 3,
        description: "records' filter columns and indexes for the console's queries and statistics",
        statements: &[
            // One column per statement (SQLite's ALTER TABLE); filled from each body next.
            "ALTER TABLE records ADD COLUMN scene BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE records ADD COLUMN product TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE records ADD COLUMN passed BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE records ADD COLUMN sub_code BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE records ADD COLUMN outer_order_no TEXT NOT NULL DEFAULT ''",
            // The keyed ID-number digest (hex); NULL once the personal data is erased.
            "ALTER TABLE records ADD COLUMN id_digest TEXT",
            // Creation time in nanoseconds (the cursor's unit) and its day in UTC+8.
            "ALTER TABLE records ADD COLUMN created_ns BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE records ADD COLUMN created_day BIGINT NOT NULL DEFAULT 0",
            // The pages' order, the identifiers, the statistics, the retention purge.
            "DROP INDEX records_by_account",
            "CREATE INDEX records_by_time ON records (account, created_ns, certify_id)",
            "CREATE INDEX records_by_order ON records (account, outer_order_no)",
            "CREATE INDEX records_by_digest ON records (account, id_digest)",
            "CREATE INDEX records_by_scene_day ON records (account, scene, created_day)",
            "CREATE INDEX records_by_age ON records (created_ns)",
        ],
        then: Some(Then::BackfillRecords),
    },
    Migration {
        version: 4,
        description: "RAM directories (users, groups, roles, policies, AccessKey IDs; no secrets)",
        statements: &[
            // One validated `shiren_ram::Directory` document per main account. AccessKey
            // secrets are not in it, nor anywhere in the database.
            "CREATE TABLE directories (account TEXT PRIMARY KEY, directory TEXT NOT NULL, revision BIGINT NOT NULL)",
        ],
        then: None,
    },
    Migration {
        version: 5,
        description: "nonce counters (each tenant's share without counting its rows)",
        statements: &[
            // The nonces stored per account (`scope` 'a', `access_key_id` '') and per
            // AccessKey of an account (`scope` 'k'): changed in the transaction that
            // inserts or deletes the rows, so each equals its rows' count.
            "CREATE TABLE nonce_counts (account TEXT NOT NULL, scope TEXT NOT NULL, access_key_id TEXT NOT NULL, \
         held BIGINT NOT NULL, PRIMARY KEY (account, scope, access_key_id))",
            "INSERT INTO nonce_counts (account, scope, access_key_id, held) \
         SELECT account, 'a', '', COUNT(*) FROM nonces GROUP BY account",
            "INSERT INTO nonce_counts (account, scope, access_key_id, held) \
         SELECT account, 'k', access_key_id, COUNT(*) FROM nonces GROUP BY account, access_key_id",
        ],
        then: None,
    },
    Migration {
        version: 6,
        description: "archived daily bills (the account document keeps only recent ones)",
        statements: &[
            // One row per issued bill that `Biller::archive` handed over: the bill as
            // `shiren-billing` makes it, with its day (ISO, so text order is day order)
            // and total as columns, checked against the body on every read.
            "CREATE TABLE bills (account TEXT NOT NULL, day TEXT NOT NULL, bill TEXT NOT NULL, \
         total TEXT NOT NULL, PRIMARY KEY (account, day))",
        ],
        then: None,
    },
    Migration {
        version: 7,
        description: "drop the nonces' per-key index (no query reads it since the counters of version 5)",
        statements: &[
            // Every remembered nonce updated it; the per-key share is read from
            // `nonce_counts`, and expired rows are found by account or by age.
            "DROP INDEX nonces_by_key",
        ],
        then: None,
    },
];

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
            match migration.then {
                None => {}
                Some(Then::BackfillRecords) => crate::records::backfill(&mut tx).await?,
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
