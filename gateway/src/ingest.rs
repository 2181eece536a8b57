//! Ingestion limits: keep streaming ingestion requests within what Data
//! Cloud accepts, splitting (or refusing) the ones that are not.
//!
//! Limits (all configurable): at most 50 records per insert request (the
//! integration guide's rule), a request body of at most 200,000 bytes (the
//! documented streaming limit is "< 200 KB"; 200,000 is under it whichever
//! way KB is read), at most 200 ids per delete. With the `split` policy (the
//! default) a larger request is cut, in order, into compliant chunks sent
//! with bounded concurrency, and the client gets one aggregate answer naming
//! every record range's fate (`ingest/report.rs` documents the shape); with
//! `reject` it gets a `413` naming the limit and the count. Malformed bodies
//! are refused with `400` before anything goes upstream.
//!
//! # How to wire this in
//!
//! 1. [`IngestOp::classify`]`(method, path)`: `Some(op)` for
//!    `POST /api/v1/ingest/sources/{src}/{obj}` (and `…/actions/test`) and
//!    `DELETE` on the same path. Bulk job routes are not limited.
//! 2. Read the body with [`read_capped`]`(body, limits.max_body_bytes)`;
//!    `ReadError::TooLarge` → `413` with [`Refusal::too_large`]`(…).body()`.
//! 3. Plan: [`plan_insert`]`(&body, &limits)` or
//!    [`plan_delete`]`(uri.query(), &body, &limits)`. `Err(refusal)` → answer
//!    `refusal.status` with `refusal.body()` (JSON). `Ok(Plan::Forward)` →
//!    forward the original request unchanged (no aggregate, no rewriting).
//! 4. `Ok(Plan::Split(plan))` → `let agg = send_chunks(plan, &limits, send).await`
//!    where `send: Fn(Chunk) -> impl Future<Output = ChunkReply>` (`'static`:
//!    capture clones) sends one upstream request: same method and path, body
//!    `chunk.body` (`content-type: application/json`; empty for deletes by
//!    query), query string `chunk.query` when `Some` (else the original),
//!    through the rate limiter but **not** `with_retry` (the driver retries
//!    429/503 itself). Map a connect failure to `ChunkReply::NotSent`, any
//!    failure after writing to `ChunkReply::Unknown`. Answer `agg.status()`
//!    with `agg.body()` (JSON); record `agg.chunks(outcome)` in metrics.

mod body;
mod report;
mod send;
mod split;

pub use body::{read_capped, ReadError};
pub use report::{tenant_error, Aggregate, ChunkOutcome, RangeResult, Refusal};
pub use send::{send_chunks, ChunkReply};
pub use split::{plan_delete, plan_insert, Chunk, Plan, SplitPlan};

use std::time::Duration;

use http::Method;

use crate::retry::RetryPolicy;

/// What to do with a request over the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OversizePolicy {
    /// Cut it into compliant chunks and aggregate the answers.
    #[default]
    Split,
    /// Refuse it with 413.
    Reject,
}

/// Ingestion limits and the chunk driver's settings.
#[derive(Debug, Clone)]
pub struct IngestLimits {
    /// Records per insert request.
    pub max_records: usize,
    /// Bytes per upstream request body (each chunk's whole serialized body).
    pub max_request_bytes: usize,
    /// Ids per delete request.
    pub max_delete_ids: usize,
    /// Hard cap on a client's ingestion body (what the gateway will buffer).
    pub max_body_bytes: usize,
    pub policy: OversizePolicy,
    /// Chunks in flight at once for one split request.
    pub concurrency: usize,
    /// Waits and tries for chunks answered 429/503 (`max_attempts` counts the first).
    pub retry: RetryPolicy,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_records: 50,
            max_request_bytes: 200_000,
            max_delete_ids: 200,
            max_body_bytes: 32 << 20,
            policy: OversizePolicy::Split,
            concurrency: 4,
            retry: RetryPolicy {
                max_attempts: 4,
                base_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(5),
                max_total: Duration::from_secs(30),
                observer: None,
            },
        }
    }
}

/// A streaming ingestion operation subject to the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOp {
    /// `POST /api/v1/ingest/sources/{source}/{object}`.
    Insert,
    /// `POST /api/v1/ingest/sources/{source}/{object}/actions/test`.
    Validate,
    /// `DELETE /api/v1/ingest/sources/{source}/{object}`.
    Delete,
}

impl IngestOp {
    /// Classifies a request by method and path (without query string).
    pub fn classify(method: &Method, path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/api/v1/ingest/sources/")?;
        let segments: Vec<&str> = rest.split('/').collect();
        let named = |s: &[&str]| s.iter().all(|p| !p.is_empty());
        match (segments.as_slice(), method) {
            ([_, _], m) if *m == Method::POST && named(&segments) => Some(IngestOp::Insert),
            ([_, _], m) if *m == Method::DELETE && named(&segments) => Some(IngestOp::Delete),
            ([source, object, "actions", "test"], m)
                if *m == Method::POST && named(&[source, object]) =>
            {
                Some(IngestOp::Validate)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_streaming_ingestion_routes() {
        let p = "/api/v1/ingest/sources/ecomm/Orders";
        assert_eq!(IngestOp::classify(&Method::POST, p), Some(IngestOp::Insert));
        assert_eq!(
            IngestOp::classify(&Method::DELETE, p),
            Some(IngestOp::Delete)
        );
        assert_eq!(
            IngestOp::classify(&Method::POST, &format!("{p}/actions/test")),
            Some(IngestOp::Validate)
        );
        assert_eq!(IngestOp::classify(&Method::GET, p), None);
        assert_eq!(
            IngestOp::classify(&Method::POST, "/api/v1/ingest/jobs"),
            None
        );
        assert_eq!(
            IngestOp::classify(&Method::POST, "/api/v1/ingest/sources/x/"),
            None
        );
    }
}
