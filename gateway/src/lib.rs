//! dc-gateway library.
