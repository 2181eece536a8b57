//! Variants of the built-in org for scenarios that need a field it lacks.
//!
//! The guide's Nurture & Conversion playbook ingests lead *scores*; the
//! built-in `Bridged` connector's `LeadProfile` has no score field. Rather
//! than grow the demo org for one test, a scenario copies `fixtures/default`
//! into a temporary directory and edits the copy the way a Data Cloud admin
//! would: add the field to the connector's schema file (Step 8.2/8.3). The
//! DLO is derived from the schema, so the copy drops the optional model file
//! that would otherwise have to list the new field too.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use dc_emulator::FixtureSource;

use crate::workspace_root;

/// An org directory that is removed when dropped.
pub struct TempOrg {
    dir: PathBuf,
}

impl TempOrg {
    /// The org as an emulator fixture source.
    pub fn source(&self) -> FixtureSource {
        FixtureSource::Dir(self.dir.clone())
    }
}

impl Drop for TempOrg {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The schema text after which the score field is added (`LeadProfile`'s
/// last field; `EngagementEvent` has no `updated_at`).
const LAST_LEAD_FIELD: &str =
    "        updated_at:\n          type: string\n          format: date-time\n";

/// The built-in org whose `LeadProfile` also carries `lead_score` (a
/// number), landing in `Bridged_LeadProfile__dll.lead_score__c`.
pub fn org_with_lead_scores() -> TempOrg {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dc-tests-org-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&workspace_root().join("fixtures/default"), &dir);
    let org = TempOrg { dir };
    let schema = org.dir.join("ingest/Bridged.yaml");
    let text = std::fs::read_to_string(&schema).expect("schema file");
    assert_eq!(
        text.matches(LAST_LEAD_FIELD).count(),
        1,
        "the Bridged schema changed: update LAST_LEAD_FIELD"
    );
    let text = text.replace(
        LAST_LEAD_FIELD,
        &format!("{LAST_LEAD_FIELD}        lead_score:\n          type: number\n"),
    );
    std::fs::write(&schema, text).expect("write schema");
    std::fs::remove_file(org.dir.join("model/Bridged_LeadProfile__dll.toml"))
        .expect("model file of the LeadProfile DLO");
    org
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create org dir");
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}
