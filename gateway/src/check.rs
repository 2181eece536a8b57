//! `dc-gateway check`: the integration guide's Step 10 "Test Connection",
//! run step by step against the configured login URL (not through a running
//! gateway), with the guide's troubleshooting row for whatever fails.
//!
//! The steps, each depending on the one before: the configuration validates,
//! the private key loads (and matches the certificate when one is known), a
//! JWT assertion is signed, the core token is granted, the a360 exchange gives
//! a Data Cloud token; then, both with that token, the guide's test query and
//! (on request) one test EngagementEvent ingested. A failure skips the steps
//! that depend on it. [`run`] returns a [`Report`]; `check/command.rs` is the
//! command line around it. The token calls are the gateway's own
//! (`auth/grant.rs`), so `check` passing means `serve` can log in.

pub mod command;
pub mod hints;
pub mod probe;

use std::fmt;

use serde_json::Value;

use crate::auth::{grant, TokenError, TokenFailure};
use crate::config::{ConfigError, Flow, GatewayConfig};
use crate::proxy::upstream::Upstream;
use hints::{Hint, TenantCall};
use probe::Tenant;

/// The guide's Step 10 test query.
pub const GUIDE_SQL: &str = "SELECT IndividualId, Email FROM UnifiedIndividual LIMIT 1";
/// Ingestion API source (connector) the test event goes to by default.
pub const DEFAULT_INGEST_SOURCE: &str = "Bridged";

/// One step of the check, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Configuration,
    Key,
    Jwt,
    CoreToken,
    Exchange,
    Query,
    Ingest,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Configuration,
        Step::Key,
        Step::Jwt,
        Step::CoreToken,
        Step::Exchange,
        Step::Query,
        Step::Ingest,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Step::Configuration => "configuration",
            Step::Key => "key loads",
            Step::Jwt => "JWT signed",
            Step::CoreToken => "core token",
            Step::Exchange => "a360 exchange",
            Step::Query => "query",
            Step::Ingest => "test ingest",
        }
    }
}

/// How a step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed; the text says what was seen.
    Pass(String),
    /// Failed with this message and, when one fits, the guide's row.
    Fail { message: String, hint: Option<Hint> },
    /// Not run: an earlier step failed, or it does not apply.
    Skipped(String),
}

/// One step and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub step: Step,
    pub outcome: Outcome,
}

/// Every step's outcome, in order. `Display` prints one line per step (two
/// or three more after a failure: the hint).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub steps: Vec<StepReport>,
}

impl Report {
    /// True when no step failed (skipped steps that do not apply, such as the
    /// key for the client credentials flow or an ingest not asked for, do not
    /// count against it).
    pub fn passed(&self) -> bool {
        self.failure().is_none()
    }

    /// The first failed step.
    pub fn failure(&self) -> Option<&StepReport> {
        self.steps
            .iter()
            .find(|s| matches!(s.outcome, Outcome::Fail { .. }))
    }

    /// The outcome of `step`, if it is in the report.
    pub fn outcome(&self, step: Step) -> Option<&Outcome> {
        self.steps
            .iter()
            .find(|s| s.step == step)
            .map(|s| &s.outcome)
    }

    fn push(&mut self, step: Step, outcome: Outcome) {
        self.steps.push(StepReport { step, outcome });
    }

    /// Records a step of the chain; if it failed, marks every later step
    /// skipped and returns true (the caller stops).
    fn record(&mut self, step: Step, outcome: Outcome) -> bool {
        let failed = matches!(outcome, Outcome::Fail { .. });
        self.push(step, outcome);
        if failed {
            self.skip_rest(step);
        }
        failed
    }

    /// Marks every step not yet reported as skipped because `failed` failed.
    fn skip_rest(&mut self, failed: Step) {
        for step in Step::ALL {
            if self.outcome(step).is_none() {
                let reason = format!("{} failed", failed.label());
                self.push(step, Outcome::Skipped(reason));
            }
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            let label = s.step.label();
            match &s.outcome {
                Outcome::Pass(detail) if detail.is_empty() => writeln!(f, "✔ {label}")?,
                Outcome::Pass(detail) => writeln!(f, "✔ {label} ({detail})")?,
                Outcome::Skipped(reason) => writeln!(f, "– {label}: skipped ({reason})")?,
                Outcome::Fail { message, hint } => {
                    writeln!(f, "✘ {label}: {message}")?;
                    if let Some(h) = hint {
                        writeln!(f, "  hint: {} — {}", h.issue, h.solution)?;
                        writeln!(f, "        likely cause: {}", h.cause)?;
                        if let Some(note) = h.note {
                            writeln!(f, "        note: {note}")?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// What to check besides the token steps.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The test query (default: the guide's).
    pub sql: String,
    /// Ingest one test EngagementEvent into this source (`--ingest`).
    pub ingest_source: Option<String>,
    /// The certificate uploaded to the connected app, to compare the key
    /// with (`credentials.certificate_file`, or the emulator app's).
    pub certificate_pem: Option<String>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            sql: GUIDE_SQL.to_owned(),
            ingest_source: None,
            certificate_pem: None,
        }
    }
}

/// Runs every step against `config.upstream.login_url`.
pub async fn run(config: &GatewayConfig, options: &CheckOptions) -> Report {
    let mut report = Report::default();
    let login_url = &config.upstream.login_url;
    let settings = &config.credentials;
    report.push(
        Step::Configuration,
        Outcome::Pass(format!(
            "login {login_url}, flow {}, data space {}",
            settings.flow.step(),
            settings.dataspace
        )),
    );

    let key = key_outcome(&settings.flow, options.certificate_pem.as_deref());
    if report.record(Step::Key, key) {
        return report;
    }
    let jwt = match &settings.flow {
        Flow::JwtBearer { .. } => jwt_outcome(config),
        flow => Outcome::Skipped(format!("the {} flow signs no JWT", flow.step())),
    };
    if report.record(Step::Jwt, jwt) {
        return report;
    }

    let upstream = match Upstream::new(&config.upstream) {
        Ok(u) => u,
        Err(e) => {
            let message = format!("upstream TLS configuration: {e}");
            report.record(Step::CoreToken, fail(message, Some(hints::UNREACHABLE)));
            return report;
        }
    };
    let core = match grant::core_token(&upstream, settings, login_url).await {
        Ok(t) => {
            let detail = format!("{}, instance https://{}", settings.flow.step(), t.authority);
            report.push(Step::CoreToken, Outcome::Pass(detail));
            t
        }
        Err(e) => {
            report.record(Step::CoreToken, token_failure(&e, false));
            return report;
        }
    };
    let dc = match grant::exchange(&upstream, settings, &core, &settings.dataspace).await {
        Ok(t) => {
            let detail = format!(
                "tenant {}, data space {}, expires in {} s",
                t.authority,
                settings.dataspace,
                t.lifetime.as_secs()
            );
            report.push(Step::Exchange, Outcome::Pass(detail));
            t
        }
        Err(e) => {
            report.record(Step::Exchange, token_failure(&e, true));
            return report;
        }
    };

    // Query and ingest both need only the Data Cloud token: one failing does
    // not skip the other (an ingest-only app fails the query, not the ingest).
    let tenant = Tenant {
        upstream: &upstream,
        token: &dc,
        timeout: config.upstream.response_timeout,
    };
    report.push(Step::Query, query_outcome(&tenant, &options.sql).await);
    let ingest = match &options.ingest_source {
        Some(source) => ingest_outcome(&tenant, source).await,
        None => Outcome::Skipped("not requested: --ingest sends one test EngagementEvent".into()),
    };
    report.push(Step::Ingest, ingest);
    report
}

/// The report of a configuration that does not validate: the key step fails
/// when the error is about the key or certificate, the configuration step
/// otherwise; later steps are skipped.
pub fn config_failure(err: &ConfigError) -> Report {
    let key_related = matches!(
        err,
        ConfigError::Invalid { key, .. }
            if key == "credentials.private_key_file" || key == "credentials.certificate_file"
    );
    let mut report = Report::default();
    let step = if key_related {
        Step::Key
    } else {
        Step::Configuration
    };
    let hint = key_related.then_some(hints::JWT_AUTH);
    report.record(step, fail(err.to_string(), hint));
    report
}

fn fail(message: impl Into<String>, hint: Option<Hint>) -> Outcome {
    Outcome::Fail {
        message: message.into(),
        hint,
    }
}

fn key_outcome(flow: &Flow, certificate_pem: Option<&str>) -> Outcome {
    let Flow::JwtBearer { key, .. } = flow else {
        return Outcome::Skipped(format!("the {} flow uses no private key", flow.step()));
    };
    let size = match key.rsa_bits() {
        Some(bits) => format!("RSA {bits}"),
        None => "RSA".to_owned(),
    };
    match certificate_pem {
        None => Outcome::Pass(format!(
            "{size}; no certificate to compare with: set credentials.certificate_file"
        )),
        Some(pem) => match key.check_certificate(pem.as_bytes()) {
            Ok(()) => Outcome::Pass(format!("{size}, matches certificate")),
            Err(e) => fail(e.to_string(), Some(hints::JWT_AUTH)),
        },
    }
}

fn jwt_outcome(config: &GatewayConfig) -> Outcome {
    let ttl = config.credentials.assertion_ttl;
    match crate::jwt_cmd::assertion(config, ttl) {
        Ok(jwt) => {
            let claims = crate::jwt_cmd::claims(&jwt).unwrap_or(Value::Null);
            let text = |k: &str| claims[k].as_str().unwrap_or("?").to_owned();
            Outcome::Pass(format!(
                "RS256, iss {}, sub {}, aud {}, exp in {} s",
                text("iss"),
                text("sub"),
                text("aud"),
                ttl.as_secs()
            ))
        }
        Err(e) => fail(e.to_string(), Some(hints::JWT_AUTH)),
    }
}

fn token_failure(e: &TokenError, exchange: bool) -> Outcome {
    let message = match &e.failure {
        TokenFailure::Rejected {
            status,
            error,
            description,
        } if *status == 400 => format!("{error}: {description}"),
        other => other.to_string(),
    };
    fail(message, hints::for_token(exchange, &e.failure))
}

async fn query_outcome(tenant: &Tenant<'_>, sql: &str) -> Outcome {
    let answer = match tenant.query(sql).await {
        Ok(a) => a,
        Err(e) => return fail(e.to_string(), None),
    };
    if !answer.status.is_success() {
        let message = answer.message();
        let hint = hints::for_tenant(TenantCall::Query, answer.status.as_u16(), &message);
        return fail(format!("HTTP {}: {message}", answer.status.as_u16()), hint);
    }
    let rows = answer
        .json()
        .and_then(|j| j.get("data").and_then(Value::as_array).map(Vec::len));
    match rows {
        Some(n) => Outcome::Pass(format!("{n} row{}: {sql}", if n == 1 { "" } else { "s" })),
        None => fail(
            format!(
                "HTTP {} without a Query API v2 body (no \"data\" array)",
                answer.status.as_u16()
            ),
            None,
        ),
    }
}

async fn ingest_outcome(tenant: &Tenant<'_>, source: &str) -> Outcome {
    let record = probe::test_event();
    let event_id = record["event_id"].as_str().unwrap_or_default().to_owned();
    let answer = match tenant.ingest(source, &record).await {
        Ok(a) => a,
        Err(e) => return fail(e.to_string(), None),
    };
    let status = answer.status.as_u16();
    if status == 202 {
        return Outcome::Pass(format!(
            "202 Accepted: EngagementEvent {event_id} into source {source}"
        ));
    }
    let message = answer.message();
    let hint = hints::for_tenant(TenantCall::Ingest, status, &message);
    fail(
        format!(
            "HTTP {status} from /api/v1/ingest/sources/{source}/EngagementEvent: {message} (expected 202)"
        ),
        hint,
    )
}
