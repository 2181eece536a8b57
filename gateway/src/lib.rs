//! dc-gateway library.

pub mod cache;
pub mod ingest;
pub mod metrics;
pub mod ratelimit;
pub mod retry;
