//! Documentation invariants: every Rust source file opens with a `//!`
//! paragraph saying what it is for, and ARCHITECTURE.md names every
//! top-level module of both crates.

use std::path::Path;

use dc_tests::workspace_root;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_source_file_opens_with_a_doc_paragraph() {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["emulator/src", "gateway/src", "tests/src", "tests/tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    let missing: Vec<_> = files
        .iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! paragraph: {missing:?}"
    );
}

#[test]
fn architecture_names_every_emulator_module() {
    let root = workspace_root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut files = Vec::new();
    rust_files(&root.join("emulator/src"), &mut files);
    for f in files {
        let rel = f.strip_prefix(root.join("emulator/src")).unwrap();
        if rel.components().count() != 1
            || rel == Path::new("main.rs")
            || rel == Path::new("lib.rs")
        {
            continue;
        }
        let name = rel.file_stem().unwrap().to_string_lossy();
        if name.starts_with("bin") {
            continue;
        }
        assert!(
            map.contains(&format!("{name}.rs")),
            "ARCHITECTURE.md does not mention {name}.rs"
        );
    }
}
