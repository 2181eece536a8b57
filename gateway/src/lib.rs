//! dc-gateway library.

pub mod cache;
pub mod ratelimit;
pub mod retry;
