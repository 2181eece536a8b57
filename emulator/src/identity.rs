//! Identity resolution: the org's rulesets (`identity.toml`, checked in
//! `org/identity.rs`) turn source profiles from every data source — fixture
//! rows and ingested records alike — into unified individuals, unified
//! contact points and the link objects between them.
//!
//! Three ways a ruleset runs, one code path (`job::run_blocking`):
//! * `run-now` ([`run_now`]): answers at once with a Connect `resultCode`
//!   and runs on its own task;
//! * real-time: after a processing transaction in which a stream with
//!   `real_time_identity_resolution` changed profile DMOs, ingestion's
//!   `after_profile_changes` seam calls [`Identity::wake`]; [`run_task`]
//!   then runs every ruleset whose sources changed since its last run;
//! * directly ([`run`]), for tests and tools.
//!
//! Map of the engine: `resolve` (one pass, pure) uses `matching` (blocking +
//! fuzzy) over `cluster` (union-find), `ids` (stable unified ids),
//! `reconcile` (unified values), on `table` rows normalized by `normalize`
//! and `fuzzy`; `materialize` reads and writes the store; `job` holds status
//! and fingerprints.

mod cluster;
pub mod counts;
pub mod fuzzy;
pub mod ids;
pub mod job;
mod matching;
pub mod materialize;
pub mod normalize;
mod reconcile;
pub mod resolve;
pub mod table;

use std::sync::Arc;

use crate::org::Org;
use crate::state::AppState;
use crate::store::StoreError;

pub use job::{JobState, JobStatus, Report, RulesetJob};

/// The org's rulesets and their jobs.
pub struct Identity {
    jobs: Vec<Arc<RulesetJob>>,
    /// Wakes [`run_task`] (a permit is kept when it is busy, so wakes
    /// during a run are not lost and several coalesce into one run).
    wake: tokio::sync::Notify,
}

/// Connect `resultCode` of `run-now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunNowCode {
    Submitted,
    AlreadyRunning,
    NoPendingChanges,
}

impl RunNowCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunNowCode::Submitted => "SuccessfullySubmittedIdentityResolutionJobRunRequest",
            RunNowCode::AlreadyRunning => "IdentityResolutionJobIsAlreadyRunning",
            RunNowCode::NoPendingChanges => "NoPendingChangesJobRunSkipped",
        }
    }
}

/// Errors of identity resolution calls.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no identity resolution ruleset `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("identity resolution failed: {0}")]
    Run(String),
}

impl Identity {
    pub fn new(org: &Org) -> Identity {
        Identity {
            jobs: org
                .identity
                .iter()
                .map(|r| Arc::new(RulesetJob::new(r.clone())))
                .collect(),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Asks [`run_task`] to resolve what changed; returns at once.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Forgets past runs: after the store was reset to the fixture rows,
    /// the next run-now runs.
    pub fn forget_runs(&self) {
        for j in &self.jobs {
            j.forget();
        }
    }

    pub fn jobs(&self) -> &[Arc<RulesetJob>] {
        &self.jobs
    }

    /// A ruleset by id (15 or 18 characters) or developer name (any case).
    pub fn find(&self, id_or_name: &str) -> Option<&Arc<RulesetJob>> {
        self.jobs.iter().find(|j| {
            let r = &j.ruleset;
            r.id == id_or_name
                || (id_or_name.len() == 15 && r.id.starts_with(id_or_name))
                || r.developer_name.eq_ignore_ascii_case(id_or_name)
        })
    }

    /// Waits until no ruleset job is running.
    pub async fn wait_idle(&self) {
        for j in &self.jobs {
            drop(j.gate.lock().await);
        }
    }
}

/// `POST …/identity-resolutions/{name}/actions/run-now`: starts a run on its
/// own task unless one is running or nothing changed since the last one.
pub async fn run_now(state: &AppState, name: &str) -> Result<RunNowCode, IdentityError> {
    let job = state
        .identity
        .find(name)
        .ok_or_else(|| IdentityError::NotFound(name.to_owned()))?
        .clone();
    let Ok(guard) = job.gate.clone().try_lock_owned() else {
        return Ok(RunNowCode::AlreadyRunning);
    };
    if let Some(last) = job.last_fingerprint() {
        let (org, ruleset) = (state.org.clone(), job.ruleset.clone());
        let now = state
            .store
            .read(move |conn| job::current_fingerprint(conn, &org.model, &ruleset))
            .await?
            .map_err(IdentityError::Run)?;
        if now == last {
            return Ok(RunNowCode::NoPendingChanges);
        }
    }
    job.set_state(JobState::InProgress);
    let (store, org, clock) = (state.store.clone(), state.org.clone(), state.clock.clone());
    tokio::spawn(async move {
        let _running = guard;
        let outcome = store
            .write({
                let (org, ruleset) = (org.clone(), job.ruleset.clone());
                move |conn| job::run_blocking(conn, &org.model, &ruleset, None)
            })
            .await;
        record(&job, clock.now_ms(), &flatten(outcome));
    });
    Ok(RunNowCode::Submitted)
}

/// Runs a ruleset now and waits for it (after any run in progress).
pub async fn run(state: &AppState, name: &str) -> Result<Report, IdentityError> {
    let job = state
        .identity
        .find(name)
        .ok_or_else(|| IdentityError::NotFound(name.to_owned()))?
        .clone();
    let _running = job.gate.lock().await;
    job.set_state(JobState::InProgress);
    let (org, ruleset) = (state.org.clone(), job.ruleset.clone());
    let outcome = state
        .store
        .write(move |conn| job::run_blocking(conn, &org.model, &ruleset, None))
        .await;
    let report = flatten(outcome);
    record(&job, state.clock.now_ms(), &report);
    report.map(Option::unwrap_or_default)
}

/// The real-time task: each wake runs every ruleset whose sources or
/// unified rows changed since its last run (waiting for a run in progress,
/// never skipping). Stops when `stop` fires.
pub async fn run_task(state: Arc<AppState>, mut stop: tokio::sync::oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = state.identity.wake.notified() => {}
        }
        resolve_changed(&state).await;
    }
}

/// Runs, one after the other, every ruleset with changes since its last
/// run; what the real-time task does on a wake.
pub async fn resolve_changed(state: &AppState) {
    for job in state.identity.jobs() {
        let _running = job.gate.lock().await;
        let last = job.last_fingerprint();
        let (org, ruleset) = (state.org.clone(), job.ruleset.clone());
        let outcome = state
            .store
            .write(move |conn| {
                let changed: job::Gate = Box::new(move |now| Some(*now) != last);
                job::run_blocking(conn, &org.model, &ruleset, Some(changed))
            })
            .await;
        match flatten(outcome) {
            Ok(None) => {}
            other => record(job, state.clock.now_ms(), &other),
        }
    }
}

type RunResult = Result<Option<Report>, IdentityError>;

fn flatten(outcome: Result<Result<job::Outcome, String>, StoreError>) -> RunResult {
    match outcome? {
        Ok(job::Outcome::Ran(r)) => Ok(Some(r)),
        Ok(job::Outcome::Skipped) => Ok(None),
        Err(e) => Err(IdentityError::Run(e)),
    }
}

fn record(job: &RulesetJob, now_ms: i64, result: &RunResult) {
    match result {
        Ok(report) => {
            if let Some(r) = &report {
                tracing::info!(
                    ruleset = %job.ruleset.developer_name,
                    sources = r.stats.sources,
                    unified = r.stats.unified,
                    inserted = r.changes.inserted,
                    updated = r.changes.updated,
                    deleted = r.changes.deleted,
                    "identity resolution run"
                );
            }
            job.finish(now_ms, report.clone().or_else(|| job.status().last));
        }
        Err(e) => {
            tracing::error!(ruleset = %job.ruleset.developer_name, error = %e, "identity resolution failed");
            job.finish(now_ms, None);
        }
    }
}
