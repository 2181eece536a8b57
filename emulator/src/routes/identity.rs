//! Connect identity resolution resources on the core host (API 57.0+):
//!
//! * `GET ssot/identity-resolutions` → `{"identityResolutions": [ruleset…]}`;
//! * `GET ssot/identity-resolutions/{idOrDeveloperName}` → one ruleset;
//! * `POST ssot/identity-resolutions/{developerName}/actions/run-now` →
//!   `{"resultCode": …}`; the body is optional (`callingApp`,
//!   `callingAppInfo`).
//!
//! A ruleset renders like `ConnectApi.CdpIdentityResolutionOutput`: its
//! configuration, the last job's status and time, and profile counts taken
//! from the unified objects as they are now. Creating, updating and deleting
//! rulesets is not offered: they come from the fixture org's `identity.toml`.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::clock;
use crate::error::ApiError;
use crate::identity::counts::{self, Counts};
use crate::identity::{self, IdentityError, RulesetJob};
use crate::org::identity::RuleSpec;
use crate::routes::allow;
use crate::routes::query::run::Host;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// First API version with the identity resolution resources.
pub const MIN_API_VERSION: u32 = 57;

/// Routes `ssot/identity-resolutions/{rest…}` (after auth and version checks).
pub async fn dispatch(
    state: &AppState,
    req: &Req,
    major: u32,
    rest: &[&str],
) -> Result<Resp, ApiError> {
    if major < MIN_API_VERSION {
        return Err(not_found());
    }
    let path = req.path.as_str();
    match rest {
        [] => {
            allow(req, &[Method::GET], path)?;
            let mut out = Vec::new();
            for job in state.identity.jobs() {
                out.push(render(state, job).await?);
            }
            Ok(ok_json(&json!({ "identityResolutions": out })))
        }
        [name] => {
            allow(req, &[Method::GET], path)?;
            let job = state.identity.find(name).ok_or_else(unknown)?;
            Ok(ok_json(&render(state, job).await?))
        }
        [name, "actions", "run-now"] => {
            allow(req, &[Method::POST], path)?;
            if !req.body.iter().all(u8::is_ascii_whitespace) {
                crate::routes::query::run::parse_object(
                    Host::Core,
                    &req.body,
                    "CdpIdentityResolutionRunNowInputRepresentation",
                    &["callingApp", "callingAppInfo"],
                )?;
            }
            match identity::run_now(state, name).await {
                Ok(code) => Ok(ok_json(&json!({ "resultCode": code.as_str() }))),
                Err(IdentityError::NotFound(_)) => Err(unknown()),
                Err(e) => Err(internal(e)),
            }
        }
        _ => Err(not_found()),
    }
}

fn not_found() -> ApiError {
    ApiError::core(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

fn unknown() -> ApiError {
    ApiError::core(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested identity resolution ruleset does not exist",
    )
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "identity resolution request failed");
    ApiError::core(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support.",
    )
}

/// One ruleset as `CdpIdentityResolutionOutput`.
async fn render(state: &AppState, job: &RulesetJob) -> Result<Value, ApiError> {
    let (org, ruleset) = (state.org.clone(), job.ruleset.clone());
    let counts: Counts = state
        .store
        .read(move |conn| counts::count(conn, &org.model, &ruleset))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    let r = &job.ruleset;
    let status = job.status();
    let completed = status.completed_ms.map(|ms| {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        clock::format_iso_millis(t)
    });
    let match_rules: Vec<Value> = r
        .match_rules
        .iter()
        .map(|m| {
            let criteria: Vec<Value> = m
                .criteria
                .iter()
                .map(|c| {
                    json!({
                        "entityName": c.entity,
                        "fieldName": c.field,
                        "matchMethodType": c.method.as_str(),
                        "shouldMatchOnBlank": c.match_on_blank,
                    })
                })
                .collect();
            json!({ "criteria": criteria, "label": m.label })
        })
        .collect();
    let reconciliation: Vec<Value> = r
        .reconciliation
        .iter()
        .map(|rec| {
            let fields: Vec<Value> = rec
                .fields
                .iter()
                .map(|(f, spec)| {
                    let mut v = rule_json(spec);
                    v["fieldName"] = json!(f);
                    v
                })
                .collect();
            let mut v = rule_json(&rec.default);
            v["entityName"] = json!(rec.entity);
            v["fields"] = json!(fields);
            v["linkDmoName"] = json!(rec.link);
            v["unifiedDmoName"] = json!(rec.unified);
            v
        })
        .collect();
    Ok(json!({
        "anonymousUnifiedProfiles": counts.anonymous,
        "configurationType": "Individual",
        "consolidationRate": counts.consolidation_rate(),
        "dataSpaceName": r.data_space,
        "description": r.description,
        "developerName": r.developer_name,
        "doesRunAutomatically": r.does_run_automatically,
        "id": r.id,
        "knownUnifiedProfiles": counts.known(),
        "label": r.label,
        "lastJobCompleted": completed,
        "lastJobStatus": status.state.map(|s| s.as_str()),
        "matchRules": match_rules,
        "matchedSourceProfiles": counts.matched,
        "reconciliationRules": reconciliation,
        "rulesetId": r.ruleset_id,
        "rulesetStatus": "PUBLISHED",
        "sourceProfiles": counts.sources,
        "totalUnifiedProfiles": counts.unified,
    }))
}

fn rule_json(spec: &RuleSpec) -> Value {
    let sources: Vec<Value> = spec.sources.iter().map(|s| json!({ "name": s })).collect();
    json!({
        "ruleType": spec.kind.as_str(),
        "shouldIgnoreEmptyValue": spec.ignore_empty,
        "sources": sources,
    })
}
