//! SQLite ownership: schema creation from the data model, seeding from the
//! fixture rows, read-only connections for queries and one writer.
//!
//! Layout: one writer connection, held for the store's lifetime behind a
//! mutex, and a small pool of reader connections locked down by
//! [`guard`]. In memory (the default) the database is a named `memdb`
//! database (`file:/dcemu-<pid>-<n>?vfs=memdb`): every connection of the
//! process opening that name shares it, each with its own page cache, so
//! readers run in parallel and see only committed data (unlike a
//! shared-cache database, where readers either wait on table locks or read
//! uncommitted rows). The writer keeps it alive. With `--db PATH` it is a
//! file in WAL mode with `synchronous=FULL`, seeded once: a later start on the
//! same file keeps its rows (and whatever ingestion added) and does not seed
//! again.
//!
//! rusqlite calls block, so every closure runs on `spawn_blocking`, never on
//! the async worker threads where it would stall unrelated requests.

mod guard;
mod schema;
mod seed;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::model::ObjectDef;
use crate::org::Org;

pub(crate) use seed::text_value;
pub use seed::utc_millis;

/// Most reader connections open at once (and queries running at once).
const READERS: usize = 4;
/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("seed data for {object}: {message}")]
    Seed { object: String, message: String },
    #[error("database worker failed: {0}")]
    Worker(String),
    /// An existing `--db` file that does not fit the org.
    #[error("{path}: {message}")]
    Existing { path: String, message: String },
}

/// Where the database lives; readers open the same place.
#[derive(Debug, Clone)]
enum Target {
    /// A `memdb` URI shared by the connections of this process.
    Memory(String),
    File(PathBuf),
}

/// The database. Clones share it (the identity resolution job carries one
/// onto its own task).
#[derive(Clone)]
pub struct Store {
    writer: Arc<Mutex<Connection>>,
    /// Idle reader connections; more are opened on demand up to `READERS`.
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Bounds concurrent reads (and so open reader connections).
    permits: Arc<Semaphore>,
    target: Target,
}

impl Store {
    /// Opens the database, creating and seeding it unless `db` is a file
    /// seeded before.
    pub fn open(db: Option<&Path>, org: &Org) -> Result<Store, StoreError> {
        let target = match db {
            None => {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                Target::Memory(format!("file:/dcemu-{}-{n}?vfs=memdb", std::process::id()))
            }
            Some(path) => Target::File(path.to_path_buf()),
        };
        let mut writer = open_writer(&target)?;
        let fingerprint = schema::fingerprint(&org.model);
        match schema::seeded(&writer)? {
            Some(seeded) if seeded.fingerprint == fingerprint => {}
            Some(_) => {
                return Err(StoreError::Existing {
                    path: db.map(|p| p.display().to_string()).unwrap_or_default(),
                    message: "this database was seeded from a different data model; \
                              remove it or pass another --db"
                        .into(),
                })
            }
            None => seed_all(&mut writer, org, &fingerprint)?,
        }
        // Ingestion's queue and job tables; also on a file seeded before they existed.
        crate::ingest::queue::create_tables(&writer)?;
        // A first reader now: the pool is never empty on the first query,
        // and a broken target shows up at start, not on the first request.
        let first = open_reader(&target)?;
        Ok(Store {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Mutex::new(vec![first])),
            permits: Arc::new(Semaphore::new(READERS)),
            target,
        })
    }

    /// Runs `f` on a read-only connection off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&rusqlite::Connection) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Worker("store closed".into()))?;
        let pool = self.readers.clone();
        let target = self.target.clone();
        // Blocking SQLite work runs on the blocking pool (see module docs).
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = lock(&pool).pop();
            let conn = match idle {
                Some(c) => c,
                None => open_reader(&target)?,
            };
            let out = f(&conn);
            // A transaction left open would hold a read lock and stall the writer.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            lock(&pool).push(conn);
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Runs `f` on the single writer connection off the async threads.
    /// Writes are serialized by the writer's mutex; `f` may open a
    /// transaction (`conn.transaction()`).
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut rusqlite::Connection) -> T + Send + 'static,
        T: Send + 'static,
    {
        let writer = self.writer.clone();
        // Blocking SQLite work runs on the blocking pool (see module docs).
        tokio::task::spawn_blocking(move || f(&mut lock(&writer)))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))
    }
}

impl Store {
    /// Empties every table of the model and loads the fixture rows again
    /// (`POST /__emulator/reset`), in one transaction: readers see the old
    /// data or the new, never a mix. Ingestion still queued and bulk jobs go
    /// too, so nothing accepted before the reset lands after it. Returns the
    /// number of rows loaded.
    pub async fn reset(&self, org: Arc<Org>) -> Result<usize, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            crate::ingest::queue::clear(&tx)?;
            for object in org.model.objects.iter().filter(|o| o.view_sql.is_none()) {
                tx.execute_batch(&format!("DELETE FROM \"{}\"", object.name))?;
            }
            let mut total = 0;
            for rows in &org.rows {
                if let Some(object) = org.model.object(&rows.object) {
                    total += seed::seed(&tx, object, rows)?;
                }
            }
            tx.commit()?;
            Ok(total)
        })
        .await?
    }

    /// Inserts JSON rows (`{"field": value}` per row, names as in the model,
    /// missing fields NULL) into `object`'s table, all or nothing
    /// (`POST /__emulator/rows`). With `replace`, a row whose primary key
    /// exists replaces it; otherwise that is an error naming the row.
    pub async fn insert_rows(
        &self,
        object: ObjectDef,
        rows: Vec<serde_json::Map<String, serde_json::Value>>,
        replace: bool,
    ) -> Result<usize, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let n = seed::insert_json(&tx, &object, &rows, replace)?;
            tx.commit()?;
            Ok(n)
        })
        .await?
    }
}

/// Locks a mutex, taking over a poisoned one: a panic in some closure does not
/// corrupt a connection (SQLite rolls back unfinished work), so later calls
/// may go on using it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_writer(target: &Target) -> Result<Connection, StoreError> {
    let conn = match target {
        Target::Memory(uri) => Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?,
        Target::File(path) => {
            let conn = Connection::open(path).map_err(|e| StoreError::Existing {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Existing {
                    path: path.display().to_string(),
                    message: format!("cannot switch to WAL mode (got {mode})"),
                });
            }
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn
        }
    };
    prepare_connection(&conn)?;
    Ok(conn)
}

fn open_reader(target: &Target) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match target {
        Target::Memory(uri) => Connection::open_with_flags(uri, flags)?,
        Target::File(path) => Connection::open_with_flags(path, flags)?,
    };
    prepare_connection(&conn)?;
    guard::lock_down(&conn)?;
    Ok(conn)
}

/// Settings every connection gets.
fn prepare_connection(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // PostgreSQL (and so Data Cloud) LIKE is case-sensitive; SQLite's is not.
    conn.pragma_update(None, "case_sensitive_like", true)?;
    crate::sql::register_functions(conn)?;
    Ok(())
}

/// Creates everything and loads every fixture row in one transaction: a start
/// that fails halfway leaves an empty database, seeded again next time.
fn seed_all(conn: &mut Connection, org: &Org, fingerprint: &str) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    schema::create_tables(&tx, &org.model)?;
    let mut total = 0;
    for rows in &org.rows {
        let object = org
            .model
            .object(&rows.object)
            .ok_or_else(|| StoreError::Seed {
                object: rows.object.clone(),
                message: "no such object in the model".into(),
            })?;
        total += seed::seed(&tx, object, rows)?;
    }
    schema::create_indexes_and_views(&tx, &org.model)?;
    crate::sql::install_support(&tx, &org.model)?;
    schema::mark_seeded(&tx, &org.org_id, fingerprint, total)?;
    tx.commit()?;
    Ok(())
}
