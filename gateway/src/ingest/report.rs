//! What the client is told: refusals before anything goes upstream, and the
//! aggregate of a split request's chunk results. All bodies use the tenant
//! error shape `{timestamp, error, message, …}` (data-cloud-api.md §4.5).
//!
//! The aggregate (a design of ours; Data Cloud has no split requests):
//!
//! * every chunk accepted → `202` `{"accepted": true, "records": N, "chunks": […]}`
//!   — the real success shape plus a per-chunk summary;
//! * some chunks accepted, some not → `207` with `"accepted": false`;
//! * none accepted → the status of the first failed range in record order
//!   (the upstream's, `413` for an oversized record, `502` when the outcome
//!   is unknown or the chunk could not be sent).
//!
//! Otherwise the body carries `timestamp`, `error` (the status's reason),
//! `message` (a one-line summary), `accepted`, `records`, `acceptedRecords`
//! and `chunks`: one item per range in record order —
//! `{"first": i, "last": j, "count": n, "outcome": "accepted"|"failed"|"unknown",
//! "status": 202, "attempts": 1, "error": <upstream body>}`. `failed` means
//! certainly not accepted (safe to resend those records); `unknown` means the
//! request may have been processed (check before resending).

use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::OffsetDateTime;

/// A request refused before anything went upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    /// For limit refusals: the limit and the offending count.
    pub limit: Option<(usize, usize)>,
}

impl Refusal {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            limit: None,
        }
    }

    pub fn too_large(message: String, limit: usize, count: usize) -> Self {
        Refusal {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message,
            limit: Some((limit, count)),
        }
    }

    /// The JSON body (tenant shape, plus `limit` and `count` for limits).
    pub fn body(&self) -> Bytes {
        let mut extra = Map::new();
        if let Some((limit, count)) = self.limit {
            extra.insert("limit".into(), json!(limit));
            extra.insert("count".into(), json!(count));
        }
        tenant_error(self.status, &self.message, extra)
    }
}

/// A tenant-shaped error body: `timestamp`, `error` (reason phrase), `message`,
/// then `extra`'s members.
pub fn tenant_error(status: StatusCode, message: &str, extra: Map<String, Value>) -> Bytes {
    let mut body = Map::new();
    body.insert("timestamp".into(), Value::String(timestamp()));
    body.insert(
        "error".into(),
        Value::String(status.canonical_reason().unwrap_or("Error").to_owned()),
    );
    body.insert("message".into(), Value::String(message.to_owned()));
    body.extend(extra);
    Bytes::from(Value::Object(body).to_string())
}

/// Now, as `2021-08-20T16:34:26.047Z`.
pub(crate) fn timestamp() -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

/// How one range of records fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// The upstream answered 2xx.
    Accepted,
    /// Certainly not accepted (an error status, refused locally, or never sent).
    Failed,
    /// Possibly accepted: the connection failed after sending.
    Unknown,
}

impl ChunkOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkOutcome::Accepted => "accepted",
            ChunkOutcome::Failed => "failed",
            ChunkOutcome::Unknown => "unknown",
        }
    }
}

/// The result for one contiguous range of records (a chunk, or one oversized record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeResult {
    pub records: std::ops::Range<usize>,
    pub outcome: ChunkOutcome,
    /// The upstream status (413 for a record refused locally); `None` when no
    /// answer came.
    pub status: Option<StatusCode>,
    /// Sends made (0 for records refused locally).
    pub attempts: u32,
    /// The upstream error body, or `{"message": …}` describing the failure.
    pub error: Option<Bytes>,
}

impl RangeResult {
    /// The status this range stands for in an aggregate answer.
    fn effective_status(&self) -> StatusCode {
        match (self.outcome, self.status) {
            (ChunkOutcome::Unknown, _) | (_, None) => StatusCode::BAD_GATEWAY,
            (_, Some(status)) => status,
        }
    }
}

/// All ranges of a split request, in record order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub total: usize,
    pub ranges: Vec<RangeResult>,
}

impl Aggregate {
    /// Records in ranges with the given outcome.
    pub fn records(&self, outcome: ChunkOutcome) -> usize {
        self.ranges
            .iter()
            .filter(|r| r.outcome == outcome)
            .map(|r| r.records.len())
            .sum()
    }

    /// Chunks (ranges that were sent) with the given outcome — for metrics.
    pub fn chunks(&self, outcome: ChunkOutcome) -> usize {
        self.ranges
            .iter()
            .filter(|r| r.outcome == outcome && r.attempts > 0)
            .count()
    }

    /// `202` all accepted, `207` some, else the first failure's status.
    pub fn status(&self) -> StatusCode {
        let accepted = self.records(ChunkOutcome::Accepted);
        if accepted == self.total && self.total > 0 {
            StatusCode::ACCEPTED
        } else if accepted > 0 {
            StatusCode::MULTI_STATUS
        } else {
            self.ranges
                .iter()
                .find(|r| r.outcome != ChunkOutcome::Accepted)
                .map_or(StatusCode::BAD_GATEWAY, RangeResult::effective_status)
        }
    }

    /// The JSON answer (see the module docs for the shape).
    pub fn body(&self) -> Bytes {
        let chunks: Vec<Value> = self.ranges.iter().map(range_json).collect();
        let status = self.status();
        let accepted = self.records(ChunkOutcome::Accepted);
        if status == StatusCode::ACCEPTED {
            let body = json!({ "accepted": true, "records": self.total, "chunks": chunks });
            return Bytes::from(body.to_string());
        }
        let mut extra = Map::new();
        extra.insert("accepted".into(), Value::Bool(false));
        extra.insert("records".into(), json!(self.total));
        extra.insert("acceptedRecords".into(), json!(accepted));
        extra.insert("chunks".into(), Value::Array(chunks));
        tenant_error(status, &self.summary(), extra)
    }

    fn summary(&self) -> String {
        let accepted = self.records(ChunkOutcome::Accepted);
        let mut message = format!("Accepted {accepted} of {} records", self.total);
        for range in self
            .ranges
            .iter()
            .filter(|r| r.outcome != ChunkOutcome::Accepted)
        {
            let status = range
                .status
                .map_or_else(|| "no answer".to_owned(), |s| s.as_u16().to_string());
            message.push_str(&format!(
                "; records {}-{} {} ({status})",
                range.records.start,
                range.records.end.saturating_sub(1),
                range.outcome.as_str(),
            ));
        }
        message
    }
}

fn range_json(range: &RangeResult) -> Value {
    let mut item = json!({
        "first": range.records.start,
        "last": range.records.end.saturating_sub(1),
        "count": range.records.len(),
        "outcome": range.outcome.as_str(),
        "status": range.status.map(|s| s.as_u16()),
        "attempts": range.attempts,
    });
    if let (Some(error), Some(map)) = (&range.error, item.as_object_mut()) {
        let value = serde_json::from_slice::<Value>(error)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(error).into_owned()));
        map.insert("error".into(), value);
    }
    item
}
