//! Errors of opening a store (the flow's own errors are `shiren_verify::StoreError`).

/// Opening a store failed; nothing was changed beyond the migrations that completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The URL is neither `sqlite:` nor `postgres:`/`postgresql:`.
    #[error("`{0}` is not a store URL: use `sqlite://PATH` or `postgres://USER@HOST:PORT/DATABASE`")]
    Url(String),
    /// The database was written by a newer version of this crate.
    #[error(
        "the database has schema version {found}, newer than the {supported} this build knows; upgrade shiren-store or use another database"
    )]
    SchemaTooNew {
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The database refused or could not be reached.
    #[error("the database failed: {0}")]
    Database(#[from] sqlx::Error),
    /// The store's runtime could not start.
    #[error("the store's runtime could not start: {0}")]
    Runtime(#[from] std::io::Error),
}
