//! A fresh PostgreSQL database for one test or bench, dropped with its guard. The admin
//! URL comes from `SHIREN_TEST_POSTGRES` (default the local server;
//! `scripts/postgres.sh` starts one when none answers). A server that cannot be reached
//! panics with that advice — never a silent skip.

#![allow(clippy::panic, reason = "test infrastructure: a missing database fails loudly")]

use std::sync::atomic::{AtomicU64, Ordering};

static DATABASES: AtomicU64 = AtomicU64::new(0);

/// A database created for the caller; dropped (with its connections) on drop.
pub(crate) struct Database {
    /// Its URL.
    pub(crate) url: String,
    admin: String,
    name: String,
}

impl Database {
    /// A new, empty database whose name starts with `tag`.
    pub(crate) fn create(tag: &str) -> Database {
        let admin = std::env::var("SHIREN_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("{tag}{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
        run(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        run(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        Database { url: format!("{base}/{name}"), admin, name }
    }
}

impl Database {
    /// Sets a server parameter for every later connection to this database (`ALTER
    /// DATABASE … SET`), e.g. `synchronous_commit = off` for a measurement.
    pub(crate) fn set(&self, setting: &str) {
        run(&self.admin, &format!("ALTER DATABASE {} SET {setting}", self.name));
    }
}

impl Database {
    /// Ends every connection to this database from the server's side, as a restart or
    /// an idle timeout would.
    pub(crate) fn disconnect_all(&self) {
        run(
            &self.admin,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        );
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        run(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Runs one statement on the admin database.
fn run(admin: &str, statement: &str) {
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()
    else {
        panic!("no tokio runtime for the PostgreSQL admin connection");
    };
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin} is required (set SHIREN_TEST_POSTGRES; scripts/postgres.sh starts one): {e}")
        });
        if let Err(e) = sqlx::query(statement).execute(&pool).await {
            panic!("`{statement}` failed: {e}");
        }
        pool.close().await;
    });
}
