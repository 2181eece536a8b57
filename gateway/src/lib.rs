//! dc-gateway library.

pub mod cache;
pub mod ingest;
pub mod ratelimit;
pub mod retry;
