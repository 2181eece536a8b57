//! Ruleset jobs: one run at a time per ruleset, its status for the Connect
//! read, and the fingerprints that tell whether anything changed since.
//!
//! A run happens on the store's single writer inside one transaction: read
//! the sources and the current unified rows, resolve, write the difference.
//! Holding the writer for the whole run means ingestion cannot slip a row in
//! between the read and the write, so a finished run always matches the
//! sources it saw.
//!
//! "Nothing changed since the last run" is decided by fingerprints: an
//! order-independent hash of every input and output row, taken when a run
//! finishes and compared with one taken now.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::types::Value;
use rusqlite::Connection;

use crate::model::DataModel;
use crate::org::identity::Ruleset;

use super::materialize::{self, Changes};
use super::resolve::{self, Inputs, Stats};
use super::table::Table;

/// `lastJobStatus` values [I: Salesforce does not document them].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    InProgress,
    Success,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::InProgress => "IN_PROGRESS",
            JobState::Success => "SUCCESS",
            JobState::Failed => "FAILED",
        }
    }
}

/// What the ruleset read reports about jobs.
#[derive(Debug, Clone, Default)]
pub struct JobStatus {
    pub state: Option<JobState>,
    /// Unix milliseconds (emulator clock) the last job ended.
    pub completed_ms: Option<i64>,
    /// Counts and writes of the last finished run.
    pub last: Option<Report>,
}

/// Hash of the inputs and outputs of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fingerprint(pub u64);

/// A finished run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub stats: Stats,
    pub changes: Changes,
    pub fingerprint: Fingerprint,
}

/// What a gated run did.
pub enum Outcome {
    /// The gate said no: nothing to do.
    Skipped,
    Ran(Report),
}

/// One ruleset's runtime side.
pub struct RulesetJob {
    pub ruleset: Ruleset,
    /// Held for the length of a run; run-now answers "already running" when
    /// it cannot take it.
    pub gate: Arc<tokio::sync::Mutex<()>>,
    status: Mutex<JobStatus>,
}

impl RulesetJob {
    pub fn new(ruleset: Ruleset) -> RulesetJob {
        RulesetJob {
            ruleset,
            gate: Arc::new(tokio::sync::Mutex::new(())),
            status: Mutex::new(JobStatus::default()),
        }
    }

    pub fn status(&self) -> JobStatus {
        lock(&self.status).clone()
    }

    pub(crate) fn set_state(&self, state: JobState) {
        lock(&self.status).state = Some(state);
    }

    /// Records the end of a run (`report` is `None` for a failed one).
    pub(crate) fn finish(&self, now_ms: i64, report: Option<Report>) {
        let mut s = lock(&self.status);
        s.completed_ms = Some(now_ms);
        match report {
            Some(r) => {
                s.state = Some(JobState::Success);
                s.last = Some(r);
            }
            None => s.state = Some(JobState::Failed),
        }
    }

    /// The fingerprint of the last finished run.
    pub fn last_fingerprint(&self) -> Option<Fingerprint> {
        lock(&self.status).last.as_ref().map(|r| r.fingerprint)
    }

    /// Forgets past runs (the store was reset to the fixture rows).
    pub(crate) fn forget(&self) {
        *lock(&self.status) = JobStatus::default();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Fingerprint of what the store holds now for `ruleset`.
pub fn current_fingerprint(
    conn: &Connection,
    model: &DataModel,
    ruleset: &Ruleset,
) -> Result<Fingerprint, String> {
    let inputs = materialize::load_inputs(conn, model, ruleset)?;
    let outputs = materialize::load_outputs(conn, model, ruleset)?;
    Ok(input_hashes(&inputs).with_outputs(&outputs))
}

/// Decides, from the store's fingerprint before a run, whether to run.
pub type Gate = Box<dyn FnOnce(&Fingerprint) -> bool>;

/// Runs `ruleset` on the writer in one transaction; with a `gate`, only if
/// it says yes.
pub fn run_blocking(
    conn: &mut Connection,
    model: &DataModel,
    ruleset: &Ruleset,
    gate: Option<Gate>,
) -> Result<Outcome, String> {
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    let inputs = materialize::load_inputs(&tx, model, ruleset)?;
    let current = materialize::load_outputs(&tx, model, ruleset)?;
    let hashes = input_hashes(&inputs);
    if let Some(gate) = gate {
        if !gate(&hashes.with_outputs(&current)) {
            return Ok(Outcome::Skipped);
        }
    }
    let previous = current
        .iter()
        .find(|t| t.object == ruleset.individual_rules().link)
        .map(materialize::previous_links)
        .unwrap_or_default();
    let outputs = resolve::resolve(ruleset, model, &inputs, &previous)?;
    let changes = materialize::write(&tx, model, &current, &outputs.tables)?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(Outcome::Ran(Report {
        stats: outputs.stats,
        changes,
        fingerprint: hashes.with_outputs(&outputs.tables),
    }))
}

/// The input half of a fingerprint.
pub struct InputHashes(u64);

impl InputHashes {
    /// The whole fingerprint, with the unified and link rows.
    pub fn with_outputs(&self, outputs: &[Table]) -> Fingerprint {
        Fingerprint(outputs.iter().fold(self.0, mix))
    }
}

/// Order-independent hashes of the input rows (so row order and rowids
/// never matter).
pub fn input_hashes(inputs: &Inputs) -> InputHashes {
    let tables = std::iter::once(&inputs.individuals).chain(&inputs.contact_points);
    InputHashes(tables.fold(0, mix))
}

/// Folds one table into a running hash.
fn mix(acc: u64, t: &Table) -> u64 {
    let sum = t
        .rows
        .iter()
        .fold(0u64, |sum, row| sum.wrapping_add(row_hash(&t.object, row)));
    acc.rotate_left(7)
        .wrapping_add(sum ^ (t.rows.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn row_hash(object: &str, row: &[Value]) -> u64 {
    // `DefaultHasher::new` hashes alike every time within the process,
    // which is all a fingerprint kept in memory needs.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    object.hash(&mut h);
    for v in row {
        match v {
            Value::Null => 0u8.hash(&mut h),
            Value::Integer(i) => (1u8, i).hash(&mut h),
            Value::Real(r) => (2u8, r.to_bits()).hash(&mut h),
            Value::Text(s) => (3u8, s).hash(&mut h),
            Value::Blob(b) => (4u8, b).hash(&mut h),
        }
    }
    h.finish()
}
