//! Identity resolution: the org's rulesets (`identity.toml`, checked in
//! `org/identity.rs`) turn source profiles from every data source — fixture
//! rows and ingested records alike — into unified individuals, unified
//! contact points and the link objects between them.
//!
//! Three ways a ruleset runs, one code path (`job::run_blocking`):
//! * `run-now` ([`run_now`]): answers at once with a Connect `resultCode`
//!   and runs on its own task;
//! * real-time ([`after_profile_changes`]): ingestion calls it after a
//!   transaction that touched profile DMOs; rulesets listing a changed data
//!   source in `realTimeSources` resolve before it returns;
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
        if now.all == last.all {
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

/// The seam ingestion calls after a processing transaction that touched
/// profile DMOs (`ssot__Individual__dlm`, contact points): every ruleset
/// with `realTimeSources` runs, before this returns, if the rows of one of
/// those sources changed since its last run. Runs wait for (never skip) a
/// run in progress. Failures are logged and recorded on the ruleset.
pub async fn after_profile_changes(state: &AppState) {
    for job in state.identity.jobs() {
        if job.ruleset.real_time_sources.is_empty() {
            continue;
        }
        let _running = job.gate.lock().await;
        let before = job.last_fingerprint().unwrap_or_default();
        let (org, ruleset) = (state.org.clone(), job.ruleset.clone());
        let outcome = state
            .store
            .write(move |conn| {
                let sources = ruleset.real_time_sources.clone();
                let changed: job::Gate = Box::new(move |now| {
                    sources
                        .iter()
                        .any(|s| now.by_source.get(s) != before.by_source.get(s))
                });
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
