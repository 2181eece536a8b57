//! Identity resolution benchmark (placeholder, filled in below).
fn main() {}
