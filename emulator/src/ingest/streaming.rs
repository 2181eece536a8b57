//! Streaming request bodies: checked against the limits and the schema
//! before anything is queued.
//!
//! Insert (`POST …/{object}` and `…/actions/test`): a body of
//! `max_payload_bytes` (200 KB) or more → 413 `Payload exceeds 200KB`;
//! malformed JSON, no `data` array, an empty one → 400; more than
//! `max_records` (50) records → 413 naming the count and the limit (the
//! status the gateway's own refusal uses); then every record is validated
//! and any problem → 400 `Bad Request: JSON is properly formatted but has a
//! mismatch with Schema.` with a `validationReport` naming each record
//! index and field. Delete: ids from `?ids=a,b` or `{"ids": [...]}`, at most
//! `max_delete_ids` (200) → else 413.

use http::StatusCode;
use serde_json::{json, Value};

use crate::error::ApiError;

use super::validate::{self, Record};
use super::{IngestSettings, Stream};

/// The documented message of a schema mismatch.
pub const MISMATCH: &str =
    "Bad Request: JSON is properly formatted but has a mismatch with Schema.";

/// Where an error is reported: the request path and the tenant.
pub struct Origin<'a> {
    pub path: &'a str,
    pub tenant_id: &'a str,
}

impl Origin<'_> {
    pub fn error(&self, status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::tenant_at(status, message, self.path, self.tenant_id, None)
    }

    fn bad(&self, message: impl Into<String>) -> ApiError {
        self.error(StatusCode::BAD_REQUEST, message)
    }
}

/// The records of an insert body, validated.
pub fn insert_records(
    settings: &IngestSettings,
    stream: &Stream,
    body: &[u8],
    at: &Origin<'_>,
) -> Result<Vec<Record>, ApiError> {
    if body.len() >= settings.max_payload_bytes {
        return Err(at.error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Payload exceeds {}KB", settings.max_payload_bytes / 1024),
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| at.bad(format!("Bad Request: malformed JSON: {e}")))?;
    let Some(data) = value.get("data").and_then(Value::as_array) else {
        return Err(
            at.bad("Bad Request: the body must be a JSON object with a `data` array of records")
        );
    };
    if data.is_empty() {
        return Err(at.bad("Bad Request: `data` holds no record"));
    }
    if data.len() > settings.max_records {
        return Err(at.error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Ingestion request has {} records; the limit is {} records per request",
                data.len(),
                settings.max_records
            ),
        ));
    }
    let mut records = Vec::with_capacity(data.len());
    let mut errors = Vec::new();
    for (index, item) in data.iter().enumerate() {
        match validate::json_record(&stream.object, item) {
            Ok(record) if record.get(stream.primary_key).is_none() => errors.push(json!({
                "recordIndex": index,
                "field": stream.primary_key_name(),
                "message": "the primary key must not be blank",
            })),
            Ok(record) => records.push(record),
            Err(problems) => errors.extend(
                problems
                    .into_iter()
                    .map(|p| json!({"recordIndex": index, "field": p.field, "message": p.message})),
            ),
        }
    }
    if errors.is_empty() {
        return Ok(records);
    }
    let report: Vec<String> = errors
        .iter()
        .map(|e| match e["field"].as_str() {
            Some(f) => format!(
                "record {}, field {f}: {}",
                e["recordIndex"],
                text(&e["message"])
            ),
            None => format!("record {}: {}", e["recordIndex"], text(&e["message"])),
        })
        .collect();
    Err(ApiError::tenant_at(
        StatusCode::BAD_REQUEST,
        MISMATCH,
        at.path,
        at.tenant_id,
        Some(json!({"validationReport": report.join("; "), "errors": errors})),
    ))
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The ids of a delete: `?ids=a,b` (percent-decoded) or `{"ids": [...]}`.
pub fn delete_ids(
    settings: &IngestSettings,
    query_ids: Option<String>,
    body: &[u8],
    at: &Origin<'_>,
) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = match query_ids {
        Some(list) => list.split(',').map(str::to_owned).collect(),
        None if body.iter().all(u8::is_ascii_whitespace) => {
            return Err(at.bad("Bad Request: `ids` is required (query parameter or JSON body)"))
        }
        None => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| at.bad(format!("Bad Request: malformed JSON: {e}")))?;
            let Some(list) = value.get("ids").and_then(Value::as_array) else {
                return Err(
                    at.bad("Bad Request: the body must be a JSON object with an `ids` array")
                );
            };
            list.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| at.bad("Bad Request: `ids` must hold strings"))
                })
                .collect::<Result<_, _>>()?
        }
    };
    if ids.is_empty() || ids.iter().any(String::is_empty) {
        return Err(at.bad("Bad Request: `ids` must list non-blank ids"));
    }
    if ids.len() > settings.max_delete_ids {
        return Err(at.error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Delete request has {} ids; the limit is {} ids per request",
                ids.len(),
                settings.max_delete_ids
            ),
        ));
    }
    Ok(ids)
}
