//! The core host's descriptive resources: `ssot/metadata` (object detail),
//! `ssot/metadata-entities` (object list), `ssot/data-spaces`, and the one SOQL
//! statement Data Cloud clients send, `SELECT Name FROM DataSpace` (the JDBC
//! driver lists data spaces with it).

use http::StatusCode;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::routes::metadata::{self, Filter};
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// `GET ssot/metadata?entityName=&entityCategory=&entityType=`.
pub fn metadata(state: &AppState, req: &Req) -> Resp {
    let filter = Filter::from_params(&req.query_params());
    ok_json(&metadata::detail(&state.org.model, &filter))
}

/// `GET ssot/metadata-entities?entityType=&entityCategory=`.
pub fn metadata_entities(state: &AppState, req: &Req) -> Resp {
    let mut filter = Filter::from_params(&req.query_params());
    // A listing: `entityName` is not one of its parameters.
    filter.name = None;
    ok_json(&metadata::summary(&state.org.model, &filter))
}

/// `GET ssot/data-spaces`.
pub fn data_spaces(state: &AppState) -> Resp {
    let spaces: Vec<Value> = dataspace_names(state)
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({
                "id": dataspace_id(i),
                "name": name,
                "label": name,
                "status": "Active",
            })
        })
        .collect();
    ok_json(&json!({"dataSpaces": spaces, "totalSize": spaces.len()}))
}

/// `GET query?q=SELECT+Name+FROM+DataSpace` (any case and spacing); other SOQL
/// is refused, since the emulator has no sObjects.
pub fn soql(state: &AppState, req: &Req, major: u32) -> Result<Resp, ApiError> {
    let Some(q) = req.query_param("q") else {
        return Err(ApiError::core(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "Required request parameter missing: q",
        ));
    };
    let normalized = q
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    if normalized != "select name from dataspace" {
        return Err(ApiError::core(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "The emulator answers only the SOQL query SELECT Name FROM DataSpace",
        ));
    }
    let records: Vec<Value> = dataspace_names(state)
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({
                "attributes": {
                    "type": "DataSpace",
                    "url": format!("/services/data/v{major}.0/sobjects/DataSpace/{}", dataspace_id(i)),
                },
                "Name": name,
            })
        })
        .collect();
    Ok(ok_json(&json!({
        "totalSize": records.len(),
        "done": true,
        "records": records,
    })))
}

/// The org's data spaces; `default` when the fixtures name none.
fn dataspace_names(state: &AppState) -> Vec<String> {
    if state.org.dataspaces.is_empty() {
        vec!["default".to_string()]
    } else {
        state.org.dataspaces.clone()
    }
}

/// A stable 18-character record id (`0vh` is DataSpace's key prefix).
fn dataspace_id(index: usize) -> String {
    format!("0vh{:012}AAA", index + 1)
}
