//! SQLite ownership: schema creation from the data model, seeding from the
//! fixture rows, and read-only connections for queries.

use std::path::Path;

use crate::org::Org;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("seed data for {object}: {message}")]
    Seed { object: String, message: String },
    #[error("database worker failed: {0}")]
    Worker(String),
}

/// The database.
pub struct Store {}

impl Store {
    /// Opens (creating and seeding) the database.
    pub fn open(_db: Option<&Path>, _org: &Org) -> Result<Store, StoreError> {
        Ok(Store {})
    }

    /// Runs `f` on a read-only connection off the async threads.
    pub async fn read<T, F>(&self, _f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&rusqlite::Connection) -> T + Send + 'static,
        T: Send + 'static,
    {
        Err(StoreError::Worker("not implemented yet".into()))
    }
}
