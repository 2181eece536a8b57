//! Rebuilds the crate when anything under `fixtures/default` changes.
//!
//! The built-in org is compiled in with `include_dir!`, which tracks the
//! contents of files that existed at the last build but not files added
//! since; watching the directory catches those too.

fn main() {
    println!("cargo:rerun-if-changed=../fixtures/default");
    println!("cargo:rerun-if-changed=build.rs");
}
