//! The async driver of a split request: sends chunks through a caller-given
//! closure with bounded concurrency, retries a chunk only when the upstream
//! said it accepted nothing (429/503), and gathers every range's outcome.
//!
//! Why so strict: a chunk that was accepted must never be sent twice (that
//! would duplicate records), and after a dropped connection nobody knows. So
//! a 2xx is final, any other status is a definite failure, and a transport
//! failure is either "not sent" (failed) or "unknown" as the closure reports.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tokio::task::JoinSet;

use super::report::{Aggregate, ChunkOutcome, RangeResult};
use super::split::{Chunk, SplitPlan, OVERSIZED_STATUS};
use super::IngestLimits;
use crate::retry::{self, with_retry_by, Decision, RetryReason};

/// What sending one chunk produced, as the closure saw it.
#[derive(Debug, Clone)]
pub enum ChunkReply {
    /// The upstream answered.
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// Failed before any byte of the request was written (e.g. connect
    /// refused): certainly not accepted.
    NotSent(String),
    /// Failed after the request was (possibly) written: may have been accepted.
    Unknown(String),
}

/// Sends every chunk of `plan` (at most `limits.concurrency` at a time) and
/// aggregates the outcomes, including the locally refused oversized records.
pub async fn send_chunks<F, Fut>(plan: SplitPlan, limits: &IngestLimits, send: F) -> Aggregate
where
    F: Fn(Chunk) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ChunkReply> + Send + 'static,
{
    let send = Arc::new(send);
    let mut ranges: Vec<RangeResult> = plan
        .oversized
        .iter()
        .map(|&i| RangeResult {
            records: i..i + 1,
            outcome: ChunkOutcome::Failed,
            status: Some(OVERSIZED_STATUS),
            attempts: 0,
            error: Some(Bytes::from(format!(
                "{{\"message\":\"Record {i} alone exceeds the {} byte request limit\"}}",
                limits.max_request_bytes
            ))),
        })
        .collect();
    let mut pending = plan.chunks.into_iter();
    let mut running = JoinSet::new();
    // Which records each task carries, so even a panicked task is reported.
    let mut in_flight: HashMap<tokio::task::Id, Range<usize>> = HashMap::new();
    let concurrency = limits.concurrency.max(1);
    loop {
        while running.len() < concurrency {
            let Some(chunk) = pending.next() else { break };
            let records = chunk.records.clone();
            let task = running.spawn(send_one(chunk, send.clone(), limits.retry.clone()));
            in_flight.insert(task.id(), records);
        }
        match running.join_next_with_id().await {
            Some(Ok((id, range))) => {
                in_flight.remove(&id);
                ranges.push(range);
            }
            Some(Err(error)) => {
                if let Some(records) = in_flight.remove(&error.id()) {
                    ranges.push(RangeResult {
                        records,
                        outcome: ChunkOutcome::Unknown,
                        status: None,
                        attempts: 1,
                        error: Some(message_json("the chunk's send task failed")),
                    });
                }
            }
            None => break,
        }
    }
    ranges.sort_by_key(|r| r.records.start);
    Aggregate {
        total: plan.total,
        ranges,
    }
}

async fn send_one<F, Fut>(chunk: Chunk, send: Arc<F>, policy: retry::RetryPolicy) -> RangeResult
where
    F: Fn(Chunk) -> Fut,
    Fut: Future<Output = ChunkReply>,
{
    let attempts = AtomicU32::new(0);
    let reply = with_retry_by(
        &policy,
        || {
            attempts.fetch_add(1, Ordering::Relaxed);
            send(chunk.clone())
        },
        judge,
    )
    .await;
    let attempts = attempts.load(Ordering::Relaxed);
    let records = chunk.records;
    match reply {
        ChunkReply::Response { status, .. } if status.is_success() => RangeResult {
            records,
            outcome: ChunkOutcome::Accepted,
            status: Some(status),
            attempts,
            error: None,
        },
        ChunkReply::Response { status, body, .. } => RangeResult {
            records,
            outcome: ChunkOutcome::Failed,
            status: Some(status),
            attempts,
            error: Some(body),
        },
        ChunkReply::NotSent(detail) => RangeResult {
            records,
            outcome: ChunkOutcome::Failed,
            status: None,
            attempts,
            error: Some(message_json(&detail)),
        },
        ChunkReply::Unknown(detail) => RangeResult {
            records,
            outcome: ChunkOutcome::Unknown,
            status: None,
            attempts,
            error: Some(message_json(&detail)),
        },
    }
}

/// Retry only answers that guarantee nothing was accepted.
fn judge(reply: &ChunkReply) -> Decision {
    let ChunkReply::Response {
        status, headers, ..
    } = reply
    else {
        return Decision::Done;
    };
    let reason = match *status {
        StatusCode::TOO_MANY_REQUESTS => RetryReason::TooManyRequests,
        StatusCode::SERVICE_UNAVAILABLE => RetryReason::Unavailable,
        _ => return Decision::Done,
    };
    Decision::Retry {
        reason,
        retry_after: headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| retry::parse_retry_after(v, SystemTime::now())),
    }
}

fn message_json(detail: &str) -> Bytes {
    Bytes::from(serde_json::json!({ "message": detail }).to_string())
}

#[cfg(test)]
mod tests;
