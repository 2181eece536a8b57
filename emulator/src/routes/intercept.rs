//! The test controls in front of every route except `/__emulator/*`: fault
//! rules first (latency, then a status, a dropped connection or a body to
//! break), then the endpoint class's rate limit, then the route itself.
//! A fault that answers by itself neither runs the route nor uses budget.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use crate::faults::{self, Terminal};
use crate::ratelimit;
use crate::state::AppState;
use crate::wire::{Req, Resp};

/// Runs `route` under the fault rules and rate limits; returns the response
/// and, when a rule fired, its journal summary.
pub async fn run<F, Fut>(state: &AppState, req: &Req, route: F) -> (Resp, Option<Value>)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Resp>,
{
    let plan = state.faults.plan(&req.method, &req.path);
    let fault = plan.fired().then(|| plan.describe());
    if plan.latency_ms > 0 {
        // Real time on purpose: the client's own timeouts run on real time.
        tokio::time::sleep(Duration::from_millis(plan.latency_ms)).await;
    }
    let resp = match plan.terminal {
        Some(Terminal::Status {
            status,
            retry_after,
            body,
        }) => faults::status_response(
            &req.path,
            status,
            retry_after,
            body.as_ref(),
            state.clock.now(),
        ),
        Some(Terminal::Drop) => faults::dropped(),
        terminal => match state.ratelimits.admit(&req.path, state.clock.now_ms()) {
            Err(over) => ratelimit::refusal(&req.path, over, state.clock.now()),
            Ok(()) => {
                let resp = route().await;
                if matches!(terminal, Some(Terminal::Malformed)) {
                    faults::malformed(resp).await
                } else {
                    resp
                }
            }
        },
    };
    (resp, fault)
}
