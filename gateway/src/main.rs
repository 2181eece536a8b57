//! dc-gateway binary (being built).
fn main() {}
