//! dc-gateway library.

pub mod cache;
