//! Integration tests of the gateway: the emulator and the gateway run
//! in-process on ephemeral loopback ports, talking real TLS; tests are
//! clients of the gateway and read the emulator's counters.
//!
//! One test binary (one link step) with a module per concern.

mod integration {
    mod bounds;
    pub mod common;
    mod components;
    mod config;
    mod facade;
    mod forward;
    mod policy;
    mod tokens;
}
