//! Bulk ingestion jobs: their table, their life (`Open` → `UploadComplete`
//! → `JobComplete`, or `Aborted`), the CSV files uploaded to them, and
//! their processing.
//!
//! A job and its files live in `__dc_ingest_jobs` / `__dc_ingest_batches`
//! (durable with `--db`). Closing a job queues it (`queue::Work::Job`) with
//! the stream's processing delay; the processor then applies every row of
//! every file in one transaction (`bulk/rows.rs`), counts rows processed
//! and failed, marks the job `JobComplete` and drops the files. Rules from
//! Salesforce: uploads only while `Open`, at most 100 files per job,
//! aborting drops the uploaded data, a job can be deleted only once
//! `UploadComplete`, `JobComplete`, `Aborted` or `Failed`, and jobs still
//! `Open` or `UploadComplete` (and not queued) after 7 days are deleted.

mod rows;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use crate::org::Org;

use super::queue::{self, Work};
use super::Runtime;

pub use rows::{check_upload, process_job};

/// Files a job may hold.
pub const MAX_FILES: i64 = 100;
/// Age after which unfinished jobs are deleted.
const EXPIRY_MS: i64 = 7 * 24 * 3600 * 1000;

/// Job states, as the API spells them.
pub const STATES: &[&str] = &[
    "Open",
    "UploadComplete",
    "InProgress",
    "JobComplete",
    "Failed",
    "Aborted",
];

/// Creates the job tables.
pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS \"__dc_ingest_jobs\" (
           id TEXT PRIMARY KEY,
           object TEXT NOT NULL,
           source TEXT NOT NULL,
           operation TEXT NOT NULL,
           state TEXT NOT NULL,
           created_by TEXT NOT NULL,
           created_ms INTEGER NOT NULL,
           modstamp_ms INTEGER NOT NULL,
           files INTEGER NOT NULL DEFAULT 0,
           processed INTEGER NOT NULL DEFAULT 0,
           failed INTEGER NOT NULL DEFAULT 0,
           processing_ms INTEGER NOT NULL DEFAULT 0
         );
         CREATE TABLE IF NOT EXISTS \"__dc_ingest_batches\" (
           job_id TEXT NOT NULL,
           n INTEGER NOT NULL,
           body BLOB NOT NULL,
           PRIMARY KEY (job_id, n)
         );",
    )
}

/// A job row.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub object: String,
    pub source: String,
    /// `upsert` or `delete`.
    pub operation: String,
    pub state: String,
    pub created_by: String,
    pub created_ms: i64,
    pub modstamp_ms: i64,
    pub files: i64,
    pub processed: i64,
    pub failed: i64,
    pub processing_ms: i64,
}

const COLUMNS: &str = "id, object, source, operation, state, created_by, created_ms, modstamp_ms, files, processed, failed, processing_ms";

impl Job {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
        Ok(Job {
            id: r.get(0)?,
            object: r.get(1)?,
            source: r.get(2)?,
            operation: r.get(3)?,
            state: r.get(4)?,
            created_by: r.get(5)?,
            created_ms: r.get(6)?,
            modstamp_ms: r.get(7)?,
            files: r.get(8)?,
            processed: r.get(9)?,
            failed: r.get(10)?,
            processing_ms: r.get(11)?,
        })
    }

    /// The job's JSON; `detail` adds what "get job info" and "list" report.
    pub fn to_json(&self, detail: bool) -> Value {
        let time = |ms: i64| crate::ingest::stored_time(ms);
        let mut v = json!({
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "sourceName": self.source,
            "createdById": self.created_by,
            "createdDate": time(self.created_ms),
            "systemModstamp": time(self.modstamp_ms),
            "state": self.state,
            "contentType": "CSV",
            "apiVersion": "v1",
            "contentUrl": format!("api/v1/ingest/jobs/{}/batches", self.id),
        });
        if detail {
            v["retries"] = json!(0);
            v["totalProcessingTime"] = json!(self.processing_ms);
            v["numberRecordsProcessed"] = json!(self.processed);
            v["numberRecordsFailed"] = json!(self.failed);
        }
        v
    }
}

/// Why a job operation was refused.
#[derive(Debug)]
pub enum JobError {
    NotFound,
    /// A state or limit rule; the message says which.
    Refused(String),
    Db(rusqlite::Error),
}

impl From<rusqlite::Error> for JobError {
    fn from(e: rusqlite::Error) -> Self {
        JobError::Db(e)
    }
}

/// A new job's settings (already checked against the org).
pub struct NewJob {
    pub id: String,
    pub object: String,
    pub source: String,
    pub operation: String,
    pub created_by: String,
}

/// Creates a job, `Open`.
pub fn create(conn: &Connection, new: NewJob, now_ms: i64) -> rusqlite::Result<Job> {
    purge_expired(conn, now_ms)?;
    conn.execute(
        "INSERT INTO \"__dc_ingest_jobs\" (id, object, source, operation, state, created_by, created_ms, modstamp_ms)
         VALUES (?1, ?2, ?3, ?4, 'Open', ?5, ?6, ?6)",
        params![new.id, new.object, new.source, new.operation, new.created_by, now_ms],
    )?;
    Ok(get(conn, &new.id, now_ms)?.unwrap_or_else(|| unreachable_job(&new.id)))
}

fn unreachable_job(id: &str) -> Job {
    // Only reached if the row just inserted vanished inside our own transaction.
    Job {
        id: id.to_owned(),
        object: String::new(),
        source: String::new(),
        operation: String::new(),
        state: "Failed".into(),
        created_by: String::new(),
        created_ms: 0,
        modstamp_ms: 0,
        files: 0,
        processed: 0,
        failed: 0,
        processing_ms: 0,
    }
}

/// Condition (on a job row) for "expired": unfinished, older than 7 days
/// and not waiting in the queue.
const EXPIRED: &str = "state IN ('Open', 'UploadComplete') AND created_ms < ?1
     AND id NOT IN (SELECT job_id FROM \"__dc_ingest_queue\" WHERE job_id IS NOT NULL)";

fn purge_expired(conn: &Connection, now_ms: i64) -> rusqlite::Result<()> {
    let cutoff = now_ms - EXPIRY_MS;
    conn.execute(
        &format!("DELETE FROM \"__dc_ingest_batches\" WHERE job_id IN (SELECT id FROM \"__dc_ingest_jobs\" WHERE {EXPIRED})"),
        [cutoff],
    )?;
    conn.execute(
        &format!("DELETE FROM \"__dc_ingest_jobs\" WHERE {EXPIRED}"),
        [cutoff],
    )?;
    Ok(())
}

/// A job by id (expired jobs are gone).
pub fn get(conn: &Connection, id: &str, now_ms: i64) -> rusqlite::Result<Option<Job>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM \"__dc_ingest_jobs\" WHERE id = ?2 AND NOT ({EXPIRED})"),
        params![now_ms - EXPIRY_MS, id],
        Job::from_row,
    )
    .optional()
}

fn existing(conn: &Connection, id: &str, now_ms: i64) -> Result<Job, JobError> {
    get(conn, id, now_ms)?.ok_or(JobError::NotFound)
}

/// A page of jobs.
pub struct ListQuery {
    pub limit: i64,
    pub offset: i64,
    /// A column of the jobs table.
    pub order_column: &'static str,
    pub descending: bool,
    /// Only these states (empty: all).
    pub states: Vec<String>,
}

/// Lists jobs. `q.states` must be names from [`STATES`] (the route checks).
pub fn list(conn: &Connection, q: &ListQuery, now_ms: i64) -> rusqlite::Result<Vec<Job>> {
    let states: Vec<String> = q
        .states
        .iter()
        .filter(|s| STATES.contains(&s.as_str()))
        .map(|s| format!("'{s}'"))
        .collect();
    let filter = if states.is_empty() {
        String::new()
    } else {
        format!("AND state IN ({})", states.join(", "))
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM \"__dc_ingest_jobs\" WHERE NOT ({EXPIRED}) {filter}
         ORDER BY {} {}, id LIMIT ?2 OFFSET ?3",
        q.order_column,
        if q.descending { "DESC" } else { "ASC" }
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(
        params![now_ms - EXPIRY_MS, q.limit, q.offset],
        Job::from_row,
    )?;
    rows.collect()
}

/// Stores one CSV file of job `id` (checked by [`check_upload`] first).
pub fn upload(conn: &Connection, id: &str, body: &[u8], now_ms: i64) -> Result<(), JobError> {
    let job = existing(conn, id, now_ms)?;
    if job.state != "Open" {
        return Err(JobError::Refused(format!(
            "Data can be uploaded only while the job is Open; job {id} is {}",
            job.state
        )));
    }
    if job.files >= MAX_FILES {
        return Err(JobError::Refused(format!(
            "A job can have at most {MAX_FILES} data files"
        )));
    }
    conn.execute(
        "INSERT INTO \"__dc_ingest_batches\" (job_id, n, body) VALUES (?1, ?2, ?3)",
        params![id, job.files + 1, body],
    )?;
    conn.execute(
        "UPDATE \"__dc_ingest_jobs\" SET files = files + 1, modstamp_ms = ?2 WHERE id = ?1",
        params![id, now_ms],
    )?;
    Ok(())
}

/// `PATCH {"state": …}`: close (`UploadComplete`, which queues the job) or
/// abort (`Aborted`, which drops its files and any queued processing).
pub fn change_state(
    conn: &Connection,
    org: &Org,
    runtime: &Runtime,
    id: &str,
    target: &str,
    now_ms: i64,
) -> Result<Job, JobError> {
    let job = existing(conn, id, now_ms)?;
    let refuse = || {
        JobError::Refused(format!(
            "Cannot change the state of job {id} from {} to {target}",
            job.state
        ))
    };
    match (job.state.as_str(), target) {
        ("Open", "UploadComplete") => {
            let stream = org
                .connector(&job.source)
                .and_then(|c| c.stream(&job.object))
                .ok_or_else(|| {
                    JobError::Refused(format!(
                        "Object {} of source {} has no data stream",
                        job.object, job.source
                    ))
                })?;
            let at =
                now_ms.saturating_add(i64::try_from(runtime.delay_ms(stream)).unwrap_or(i64::MAX));
            queue::insert(
                conn,
                runtime,
                &job.source,
                &job.object,
                &Work::Job(id.to_owned()),
                now_ms,
                at,
            )?;
        }
        ("Open" | "UploadComplete", "Aborted") => {
            conn.execute("DELETE FROM \"__dc_ingest_queue\" WHERE job_id = ?1", [id])?;
            conn.execute(
                "DELETE FROM \"__dc_ingest_batches\" WHERE job_id = ?1",
                [id],
            )?;
        }
        _ => return Err(refuse()),
    }
    conn.execute(
        "UPDATE \"__dc_ingest_jobs\" SET state = ?2, modstamp_ms = ?3 WHERE id = ?1",
        params![id, target, now_ms],
    )?;
    existing(conn, id, now_ms)
}

/// Deletes a finished (or closed, or aborted) job and what it still holds.
pub fn delete(conn: &Connection, id: &str, now_ms: i64) -> Result<(), JobError> {
    let job = existing(conn, id, now_ms)?;
    if job.state == "Open" || job.state == "InProgress" {
        return Err(JobError::Refused(format!(
            "A job can be deleted only in state UploadComplete, JobComplete, Aborted or Failed; job {id} is {}",
            job.state
        )));
    }
    conn.execute("DELETE FROM \"__dc_ingest_queue\" WHERE job_id = ?1", [id])?;
    conn.execute(
        "DELETE FROM \"__dc_ingest_batches\" WHERE job_id = ?1",
        [id],
    )?;
    conn.execute("DELETE FROM \"__dc_ingest_jobs\" WHERE id = ?1", [id])?;
    Ok(())
}

/// A fresh job id (a random UUID, as Salesforce's look).
pub fn new_id() -> String {
    let mut v: [u8; 16] = rand::random();
    v[6] = (v[6] & 0x0f) | 0x40; // version 4
    v[8] = (v[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = v.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
