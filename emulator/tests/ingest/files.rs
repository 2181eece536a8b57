//! Connector files that break the rules stop the start with the file, the
//! object and the field named: schema files (OpenAPI YAML) and the
//! `[[connectors]]` section of `org.toml`, edited in a copy of the default
//! org on disk.

use std::path::{Path, PathBuf};

use dc_emulator::org::Org;
use dc_emulator::FixtureSource;

/// A copy of `fixtures/default` in a fresh temp directory.
fn copy_default_org(tag: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/default");
    let dst = std::env::temp_dir().join(format!("dcemu-ingest-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    copy_dir(&src, &dst);
    dst
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

/// Replaces `from` (which must occur) by `to` in `dir/rel`.
fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} lacks {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The load error of the org in `dir` (which is then removed).
fn load_error(dir: PathBuf) -> String {
    let result = Org::load(&FixtureSource::Dir(dir.clone()));
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(_) => panic!("the edited org loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn schema_file_errors_name_file_object_and_field() {
    let yaml = "ingest/Bridged.yaml";
    let cases = [
        ("format: phone", "format: telephone", "object `LeadProfile`, field `phone` (line 39): format `telephone` is not supported"),
        (
            "        channel:\n          type: string\n    LeadProfile",
            "        channel:\n          type: object\n          properties:\n            name: {type: string}\n    LeadProfile",
            "object `EngagementEvent`, field `channel` (line 25): nested objects",
        ),
        ("        first_name:", "        row_count:", "object `LeadProfile`, field `row_count` (line 30): `row_count` is a reserved field name"),
        ("        last_name:", "        last__name:", "field `last__name` (line 32): field names must not contain `__`"),
        ("    LeadProfile:", "    Lead Profile:", "object `Lead Profile` (line 25): object name may only hold letters"),
        ("openapi: 3.0.3", "openapi: 2.0", "`openapi` must be a 3.0.x version"),
        ("          format: email\n", "          format: [email\n", "not valid YAML"),
    ];
    for (i, (from, to, words)) in cases.iter().enumerate() {
        let dir = copy_default_org(&format!("schema{i}"));
        edit(&dir, yaml, from, to);
        let file = dir.join(yaml).display().to_string();
        let err = load_error(dir);
        assert!(err.starts_with(&format!("{file}: ")), "{err}");
        assert!(err.contains(words), "{err}");
    }
}

#[test]
fn connector_settings_errors_name_the_stream() {
    let cases = [
        ("primary_key = \"lead_id\"", "primary_key = \"id\"", "connector `Bridged`: stream `LeadProfile`: primary key `id` is not a field of `LeadProfile`"),
        ("event_time = \"event_timestamp\"", "event_time = \"channel\"", "event time `channel` must be a date-time field"),
        ("category = \"Engagement\"", "category = \"Events\"", "category `Events` is not Profile, Engagement or Other"),
        ("ssot__FirstName__c = \"{first_name}\"", "ssot__Nickname__c = \"{first_name}\"", "mapping to `ssot__Individual__dlm`: `ssot__Nickname__c` is not a field"),
        ("ssot__FirstName__c = \"{first_name}\"", "ssot__FirstName__c = \"{given_name}\"", "`given_name` is not a field of `LeadProfile`"),
        ("ssot__Id__c = \"{lead_id}-email\"", "ssot__Id__c = \"{email}\"", "may use only the stream's primary key `lead_id`"),
        ("schema = \"ingest/Bridged.yaml\"", "schema = \"ingest/Missing.yaml\"", "not found"),
        ("object = \"LeadProfile\"", "object = \"Lead\"", "stream for object `Lead`"),
    ];
    for (i, (from, to, words)) in cases.iter().enumerate() {
        let dir = copy_default_org(&format!("toml{i}"));
        edit(&dir, "org.toml", from, to);
        let file = dir.join("org.toml").display().to_string();
        let err = load_error(dir);
        assert!(err.starts_with(&format!("{file}: ")), "{err}");
        assert!(err.contains(words), "{err}");
    }
}

#[test]
fn dlo_model_files_must_match_the_schema_and_are_optional() {
    let dir = copy_default_org("dlo-type");
    edit(
        &dir,
        "model/Bridged_LeadProfile__dll.toml",
        "name = \"email__c\"\ndisplay_name = \"Email\"\ntype = \"varchar\"",
        "name = \"email__c\"\ndisplay_name = \"Email\"\ntype = \"date\"",
    );
    let err = load_error(dir);
    assert!(err.contains("the model's `Bridged_LeadProfile__dll` has `email__c` as DATE but the schema makes it VARCHAR"), "{err}");

    // Without model files the DLOs are derived from the schema.
    let dir = copy_default_org("dlo-derived");
    for f in [
        "Bridged_LeadProfile__dll.toml",
        "Bridged_EngagementEvent__dll.toml",
    ] {
        std::fs::remove_file(dir.join("model").join(f)).unwrap();
    }
    let org = Org::load(&FixtureSource::Dir(dir.clone())).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let derived = org.model.object("Bridged_EngagementEvent__dll").unwrap();
    let builtin = Org::load(&FixtureSource::Builtin).unwrap();
    let declared = builtin
        .model
        .object("Bridged_EngagementEvent__dll")
        .unwrap();
    let shape = |o: &dc_emulator::model::ObjectDef| -> Vec<(String, &'static str)> {
        o.fields
            .iter()
            .map(|f| (f.name.clone(), f.ty.v2_name()))
            .collect()
    };
    assert_eq!(shape(derived), shape(declared));
    assert_eq!(derived.primary_key, ["event_id__c"]);
    assert_eq!(derived.category, "Engagement");
}
