//! Pure planning: is an ingestion request within limits, and if not, how is
//! it cut into compliant chunks (or refused).
//!
//! Records (or delete ids) are kept byte-exact (`serde_json::RawValue`) and in
//! order; a chunk holds a contiguous index range, at most `max_records` (or
//! `max_delete_ids`) items, and its whole serialized body is at most
//! `max_request_bytes`. A record too large to fit in any request is not sent:
//! it is listed in `oversized` (reported as failed with 413) and the chunks
//! around it proceed.

use std::collections::HashMap;
use std::ops::Range;

use bytes::Bytes;
use http::StatusCode;
use serde_json::value::RawValue;

use super::report::Refusal;
use super::{IngestLimits, OversizePolicy};

/// One compliant request to send upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Position among the chunks (0-based).
    pub index: usize,
    /// Indices of the original records (or ids) it carries.
    pub records: Range<usize>,
    /// The request body (`{"data":[…]}` or `{"ids":[…]}`); empty for
    /// deletes whose ids travel in the query string.
    pub body: Bytes,
    /// For deletes by query string: the full replacement query string
    /// (other parameters kept, `ids=` narrowed to this chunk).
    pub query: Option<String>,
}

/// What to do with an ingestion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Within every limit: forward the original request unchanged.
    Forward,
    /// Send these chunks (see `send_chunks`) and answer with the aggregate.
    Split(SplitPlan),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPlan {
    /// Records (or ids) in the original request.
    pub total: usize,
    pub chunks: Vec<Chunk>,
    /// Records refused locally: alone, each exceeds `max_request_bytes`.
    pub oversized: Vec<usize>,
}

const DATA_OPEN: &str = "{\"data\":[";
const IDS_OPEN: &str = "{\"ids\":[";
const CLOSE: &str = "]}";

/// Plans a streaming insert (or `/actions/test` validation) body `{"data":[…]}`.
pub fn plan_insert(body: &[u8], limits: &IngestLimits) -> Result<Plan, Refusal> {
    let records = array_member(body, "data").ok_or_else(|| {
        Refusal::bad_request("Bad Request: the body must be a JSON object with a \"data\" array")
    })?;
    let count = records.len();
    let fits_count = count <= limits.max_records;
    let fits_bytes = body.len() <= limits.max_request_bytes;
    if fits_count && fits_bytes {
        return Ok(Plan::Forward);
    }
    if limits.policy == OversizePolicy::Reject {
        return Err(if fits_count {
            Refusal::too_large(
                format!(
                    "Ingestion request body is {} bytes; the limit is {} bytes per request",
                    body.len(),
                    limits.max_request_bytes
                ),
                limits.max_request_bytes,
                body.len(),
            )
        } else {
            Refusal::too_large(
                format!(
                    "Ingestion request has {count} records; the limit is {} records per request",
                    limits.max_records
                ),
                limits.max_records,
                count,
            )
        });
    }
    let items: Vec<&str> = records.iter().map(|r| r.get()).collect();
    Ok(Plan::Split(split(
        &items,
        DATA_OPEN,
        limits.max_records,
        limits.max_request_bytes,
    )))
}

/// Plans a streaming delete: ids in the query string (`ids=a,b`) or in a body
/// `{"ids":[…]}`. `query` is the raw query string without `?`.
pub fn plan_delete(
    query: Option<&str>,
    body: &[u8],
    limits: &IngestLimits,
) -> Result<Plan, Refusal> {
    let query = query.unwrap_or("");
    let (others, id_values): (Vec<&str>, Vec<&str>) = query
        .split('&')
        .filter(|p| !p.is_empty())
        .partition(|p| !is_ids_pair(p));
    let (items, from_query): (Vec<&str>, bool) = if !id_values.is_empty() {
        let ids = id_values
            .iter()
            .flat_map(|pair| pair[pair.find('=').map_or(pair.len(), |i| i + 1)..].split(','))
            .filter(|id| !id.is_empty())
            .collect();
        (ids, true)
    } else {
        let ids = array_member(body, "ids").ok_or_else(|| {
            Refusal::bad_request(
                "Bad Request: give the ids to delete as ?ids=a,b or a JSON body {\"ids\": [...]}",
            )
        })?;
        (ids.iter().map(|r| r.get()).collect(), false)
    };
    let count = items.len();
    let fits_bytes = from_query || body.len() <= limits.max_request_bytes;
    if count <= limits.max_delete_ids && fits_bytes {
        return Ok(Plan::Forward);
    }
    if limits.policy == OversizePolicy::Reject {
        return Err(Refusal::too_large(
            format!(
                "Delete request has {count} ids; the limit is {} ids per request",
                limits.max_delete_ids
            ),
            limits.max_delete_ids,
            count,
        ));
    }
    if !from_query {
        return Ok(Plan::Split(split(
            &items,
            IDS_OPEN,
            limits.max_delete_ids,
            limits.max_request_bytes,
        )));
    }
    let chunks = items
        .chunks(limits.max_delete_ids.max(1))
        .enumerate()
        .map(|(index, ids)| {
            let start = index * limits.max_delete_ids.max(1);
            let mut pairs = others.clone();
            let narrowed = format!("ids={}", ids.join(","));
            pairs.push(&narrowed);
            Chunk {
                index,
                records: start..start + ids.len(),
                body: Bytes::new(),
                query: Some(pairs.join("&")),
            }
        })
        .collect();
    Ok(Plan::Split(SplitPlan {
        total: count,
        chunks,
        oversized: Vec::new(),
    }))
}

fn is_ids_pair(pair: &str) -> bool {
    pair == "ids" || pair.starts_with("ids=")
}

/// The raw items of the array member `name` of a JSON object body.
fn array_member<'a>(body: &'a [u8], name: &str) -> Option<Vec<&'a RawValue>> {
    let object: HashMap<String, &'a RawValue> = serde_json::from_slice(body).ok()?;
    serde_json::from_str(object.get(name)?.get()).ok()
}

/// Greedy, order-keeping split by count and serialized size; an item that
/// cannot fit even alone is set aside and ends the chunk before it.
fn split(items: &[&str], open: &str, max_items: usize, max_bytes: usize) -> SplitPlan {
    let max_items = max_items.max(1);
    let frame = open.len() + CLOSE.len();
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut oversized = Vec::new();
    let mut start = 0;
    let mut body = String::new();
    let mut flush = |start: usize, end: usize, body: &mut String| {
        if end > start {
            body.push_str(CLOSE);
            chunks.push(Chunk {
                index: chunks.len(),
                records: start..end,
                body: Bytes::from(std::mem::take(body)),
                query: None,
            });
        }
    };
    for (i, item) in items.iter().enumerate() {
        if frame + item.len() > max_bytes {
            flush(start, i, &mut body);
            oversized.push(i);
            start = i + 1;
            continue;
        }
        let full = i - start == max_items || body.len() + 1 + item.len() + CLOSE.len() > max_bytes;
        if i > start && full {
            flush(start, i, &mut body);
            start = i;
        }
        if i == start {
            body.push_str(open);
        } else {
            body.push(',');
        }
        body.push_str(item);
    }
    flush(start, items.len(), &mut body);
    SplitPlan {
        total: items.len(),
        chunks,
        oversized,
    }
}

/// The status given to records refused locally for their size.
pub(crate) const OVERSIZED_STATUS: StatusCode = StatusCode::PAYLOAD_TOO_LARGE;

#[cfg(test)]
mod tests;
