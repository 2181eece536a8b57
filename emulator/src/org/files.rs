//! Read access to a fixture directory, wherever it lives: compiled into the
//! binary (`fixtures/default`) or on disk.
//!
//! The loader only ever asks for a file's text or a directory's file names,
//! so both sources fit behind these two calls and the validation code never
//! knows which one it reads.

use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use super::OrgError;

/// The built-in default org.
static DEFAULT_ORG: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures/default");

/// A fixture directory.
pub(crate) enum Files {
    Builtin(&'static Dir<'static>),
    Disk(PathBuf),
}

impl Files {
    pub(crate) fn builtin() -> Files {
        Files::Builtin(&DEFAULT_ORG)
    }

    /// How errors name a file: the real path on disk, or its place in the
    /// source tree for the built-in org.
    pub(crate) fn display(&self, rel: &str) -> String {
        match self {
            Files::Builtin(_) => format!("fixtures/default/{rel}"),
            Files::Disk(dir) => dir.join(rel).display().to_string(),
        }
    }

    /// The text of `rel`, or `None` when there is no such file.
    pub(crate) fn read_optional(&self, rel: &str) -> Result<Option<String>, OrgError> {
        match self {
            Files::Builtin(dir) => match dir.get_file(rel) {
                None => Ok(None),
                Some(f) => f
                    .contents_utf8()
                    .map(|s| Some(s.to_owned()))
                    .ok_or_else(|| OrgError::Invalid {
                        file: self.display(rel),
                        message: "not UTF-8 text".into(),
                    }),
            },
            Files::Disk(dir) => match std::fs::read(dir.join(rel)) {
                Ok(bytes) => String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| OrgError::Invalid {
                        file: self.display(rel),
                        message: "not UTF-8 text".into(),
                    }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(OrgError::Read {
                    file: self.display(rel),
                    source,
                }),
            },
        }
    }

    /// The text of `rel`, which must exist.
    pub(crate) fn read(&self, rel: &str) -> Result<String, OrgError> {
        self.read_optional(rel)?.ok_or_else(|| OrgError::Invalid {
            file: self.display(rel),
            message: "file not found".into(),
        })
    }

    /// Names of the plain files directly inside `sub` (sorted; empty when
    /// `sub` does not exist). Hidden files (editor backups, `.DS_Store`) are
    /// skipped.
    pub(crate) fn list(&self, sub: &str) -> Result<Vec<String>, OrgError> {
        let mut names: Vec<String> = match self {
            Files::Builtin(dir) => match dir.get_dir(sub) {
                None => Vec::new(),
                Some(d) => d
                    .files()
                    .filter_map(|f| f.path().file_name()?.to_str().map(str::to_owned))
                    .collect(),
            },
            Files::Disk(dir) => list_disk(&dir.join(sub)).map_err(|source| OrgError::Read {
                file: self.display(sub),
                source,
            })?,
        };
        names.retain(|n| !n.starts_with('.') && !n.ends_with('~'));
        names.sort();
        Ok(names)
    }
}

fn list_disk(dir: &Path) -> std::io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
    }
    Ok(names)
}
