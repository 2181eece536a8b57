//! The durable queue of accepted ingestion work, and the processor task
//! that applies it when its time comes.
//!
//! Accepted work — a streaming upsert's records, a streaming delete's ids,
//! a closed bulk job — is a row of `__dc_ingest_queue`, committed before
//! the request is answered (with `--db`: a WAL commit with
//! `synchronous=FULL`, so a 202 survives `kill -9`). Each row carries
//! `process_at_ms` = acceptance time + the stream's processing delay, on the
//! emulator clock. The processor applies due rows in `(process_at, seq)`
//! order, deleting each in the transaction that applies it, so every item is
//! applied exactly once, also across restarts: on start it simply finds what
//! is still queued.
//!
//! The processor wakes every 50 ms (real time), or at once when notified by
//! an enqueue with no delay, and only touches the database when the earliest
//! queued time (kept in `Runtime`) has come; once a second it looks anyway,
//! in case the clock was moved back and forth.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::org::Org;
use crate::state::AppState;
use crate::store::StoreError;

use super::apply::Run;
use super::validate::Record;
use super::{after_profile_changes, bulk, ProfileChanges, Runtime, Stream};

/// How often the processor looks at the clock.
const TICK: Duration = Duration::from_millis(50);
/// Every this many ticks it looks at the queue itself.
const RECHECK_TICKS: u32 = 20;
/// Items applied per transaction (bounds how long the writer is held).
const BATCH: i64 = 64;

/// Creates the queue and bulk-job tables (idempotent: also on a reopened `--db`).
pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS \"__dc_ingest_queue\" (
           seq INTEGER PRIMARY KEY AUTOINCREMENT,
           kind TEXT NOT NULL,
           source TEXT NOT NULL,
           object TEXT NOT NULL,
           payload TEXT NOT NULL,
           job_id TEXT,
           accepted_ms INTEGER NOT NULL,
           process_at_ms INTEGER NOT NULL
         );
         CREATE INDEX IF NOT EXISTS \"__dc_ingest_queue_due\"
           ON \"__dc_ingest_queue\" (process_at_ms, seq);",
    )?;
    bulk::create_tables(conn)
}

/// Drops all queued work and every bulk job (`POST /__emulator/reset`).
pub fn clear(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "DELETE FROM \"__dc_ingest_queue\";
         DELETE FROM \"__dc_ingest_batches\";
         DELETE FROM \"__dc_ingest_jobs\";",
    )
}

/// Work waiting in the queue.
#[derive(Debug, Clone)]
pub enum Work {
    /// Validated records of a streaming insert.
    Upsert(Vec<Value>),
    /// Primary keys of a streaming delete.
    Delete(Vec<String>),
    /// A closed bulk job.
    Job(String),
}

impl Work {
    fn kind(&self) -> &'static str {
        match self {
            Work::Upsert(_) => "upsert",
            Work::Delete(_) => "delete",
            Work::Job(_) => "job",
        }
    }
}

/// Queues `work` for `source`/`object` inside the caller's transaction, to
/// be applied at `process_at_ms`. The caller holds the writer.
pub fn insert(
    conn: &Connection,
    runtime: &Runtime,
    source: &str,
    object: &str,
    work: &Work,
    accepted_ms: i64,
    process_at_ms: i64,
) -> rusqlite::Result<()> {
    let (payload, job_id) = match work {
        Work::Upsert(records) => (Value::from(records.clone()).to_string(), None),
        Work::Delete(ids) => (Value::from(ids.clone()).to_string(), None),
        Work::Job(id) => (Value::from(id.as_str()).to_string(), Some(id.as_str())),
    };
    conn.execute(
        "INSERT INTO \"__dc_ingest_queue\" (kind, source, object, payload, job_id, accepted_ms, process_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![work.kind(), source, object, payload, job_id, accepted_ms, process_at_ms],
    )?;
    runtime.note_due(process_at_ms);
    Ok(())
}

/// Commits `work` of `stream` to the queue, returning once it is durable.
pub async fn enqueue(state: &AppState, stream: &Stream, work: Work) -> Result<(), StoreError> {
    let now = state.clock.now_ms();
    let delay = i64::try_from(state.ingest.delay_ms(stream)).unwrap_or(i64::MAX);
    let at = now.saturating_add(delay);
    let runtime = state.ingest.clone();
    let (source, object) = (stream.connector.clone(), stream.object.name.clone());
    state
        .store
        .write(move |conn| insert(conn, &runtime, &source, &object, &work, now, at))
        .await??;
    if delay == 0 {
        state.ingest.wake.notify_one();
    }
    Ok(())
}

/// How many items are queued (tests and stats).
pub async fn pending(state: &AppState) -> Result<i64, StoreError> {
    let n = state
        .store
        .read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM \"__dc_ingest_queue\"", [], |r| {
                r.get(0)
            })
        })
        .await??;
    Ok(n)
}

/// What one processing transaction did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub items: usize,
    /// More items were due than one transaction takes.
    pub more: bool,
    pub changes: ProfileChanges,
}

/// Applies the items due at `now_ms` (at most `BATCH`) in one transaction.
pub fn process_due(
    conn: &mut Connection,
    org: &Org,
    runtime: &Runtime,
    now_ms: i64,
) -> rusqlite::Result<Outcome> {
    let tx = conn.transaction()?;
    let items: Vec<(i64, String, String, String, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, kind, source, object, payload FROM \"__dc_ingest_queue\"
             WHERE process_at_ms <= ?1 ORDER BY process_at_ms, seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms, BATCH], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut outcome = Outcome {
        items: items.len(),
        more: items.len() as i64 == BATCH,
        changes: ProfileChanges::default(),
    };
    {
        let mut run = Run {
            conn: &tx,
            org,
            now: super::stored_time(now_ms),
            now_ms,
            changes: &mut outcome.changes,
        };
        for (seq, kind, source, object, payload) in &items {
            apply_item(&mut run, runtime, kind, source, object, payload)?;
            tx.execute("DELETE FROM \"__dc_ingest_queue\" WHERE seq = ?1", [seq])?;
        }
    }
    let next: Option<i64> = tx
        .query_row(
            "SELECT MIN(process_at_ms) FROM \"__dc_ingest_queue\"",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    tx.commit()?;
    runtime.set_next_due(next);
    Ok(outcome)
}

fn apply_item(
    run: &mut Run<'_>,
    runtime: &Runtime,
    kind: &str,
    source: &str,
    object: &str,
    payload: &str,
) -> rusqlite::Result<()> {
    if kind == "job" {
        let id: String = serde_json::from_str(payload).unwrap_or_default();
        return bulk::process_job(run, runtime, &id);
    }
    let Some(stream) = run.org.connector(source).and_then(|c| c.stream(object)) else {
        tracing::warn!(
            source,
            object,
            "queued work for a stream the org no longer has: dropped"
        );
        return Ok(());
    };
    let stream = stream.clone();
    let items: Vec<Value> = serde_json::from_str(payload).unwrap_or_default();
    let noted = run.changes.rows.len();
    for item in &items {
        let result = match (kind, item) {
            ("upsert", record) => {
                let record = Record::from_json(&stream.object, record);
                let conn = run.conn;
                in_savepoint(conn, || run.upsert(&stream, &record))?
            }
            ("delete", Value::String(id)) => {
                let conn = run.conn;
                in_savepoint(conn, || run.delete(&stream, id))?
            }
            _ => Err(format!("unreadable queued {kind} item")),
        };
        count(runtime, source, object, result);
    }
    if stream.real_time_identity_resolution && run.changes.rows.len() > noted {
        run.changes.real_time = true;
    }
    Ok(())
}

/// Counts one record's outcome, logging a failure.
pub(crate) fn count(runtime: &Runtime, source: &str, object: &str, result: Result<(), String>) {
    use std::sync::atomic::Ordering::Relaxed;
    match result {
        Ok(()) => runtime.records_applied.fetch_add(1, Relaxed),
        Err(message) => {
            tracing::warn!(source, object, %message, "ingested record not applied");
            runtime.records_failed.fetch_add(1, Relaxed)
        }
    };
}

/// Runs `f` so that its writes are kept whole or not at all: a failed
/// record leaves nothing behind. SQL errors of the savepoint itself abort
/// the whole transaction.
pub(crate) fn in_savepoint(
    conn: &Connection,
    f: impl FnOnce() -> Result<(), String>,
) -> rusqlite::Result<Result<(), String>> {
    conn.execute_batch("SAVEPOINT ingest_record")?;
    let result = f();
    if result.is_err() {
        conn.execute_batch("ROLLBACK TO ingest_record")?;
    }
    conn.execute_batch("RELEASE ingest_record")?;
    Ok(result)
}

/// The processor task: runs until `stop` fires (or its sender is dropped).
pub async fn run(state: Arc<AppState>, mut stop: oneshot::Receiver<()>) {
    let mut ticks: u32 = 0;
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = state.ingest.wake.notified() => {}
            _ = tokio::time::sleep(TICK) => {
                ticks = ticks.wrapping_add(1);
                if ticks % RECHECK_TICKS == 0 {
                    state.ingest.recheck();
                }
            }
        }
        loop {
            let now = state.clock.now_ms();
            if state.ingest.next_due() > now {
                break;
            }
            let org = state.org.clone();
            let runtime = state.ingest.clone();
            let result = state
                .store
                .write(move |conn| process_due(conn, &org, &runtime, now))
                .await;
            match result {
                Ok(Ok(outcome)) => {
                    if !outcome.changes.rows.is_empty() {
                        after_profile_changes(&state, &outcome.changes);
                    }
                    if !outcome.more {
                        break;
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "ingestion processing failed; retrying");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ingestion processing failed; retrying");
                    break;
                }
            }
        }
    }
}
