//! The ruleset configuration: the default org's fixture has no matches by
//! name alone, and broken `identity.toml` files are refused naming the file
//! and the problem.

use dc_emulator::identity::{materialize, resolve};

use crate::common::start;
use crate::support::NAME;

#[tokio::test]
async fn the_fixture_has_no_name_only_matches() {
    let env = start().await;
    let state = env.emu.state().clone();
    let ruleset = state.identity.find(NAME).unwrap().ruleset.clone();
    let mut no_names = ruleset.clone();
    no_names.match_rules.retain(|r| !r.label.contains("Fuzzy"));
    assert_eq!(no_names.match_rules.len(), 2);
    let org = state.org.clone();
    let r = ruleset.clone();
    let inputs = state
        .store
        .read(move |c| materialize::load_inputs(c, &org.model, &r))
        .await
        .unwrap()
        .unwrap();
    let prev = Default::default();
    let with = resolve::resolve(&ruleset, &state.org.model, &inputs, &prev).unwrap();
    let without = resolve::resolve(&no_names, &state.org.model, &inputs, &prev).unwrap();
    assert_eq!(with.stats, without.stats);
    assert_eq!(with.tables, without.tables);
}

/// Loads a copy of the default org (without its rows) whose `identity.toml`
/// went through `edit`; returns the load error.
fn broken(name: &str, edit: impl Fn(String) -> String) -> String {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/default");
    let dir = std::env::temp_dir().join(format!("dc-identity-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["org.toml", "host.crt"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    for sub in ["model", "ingest"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in std::fs::read_dir(src.join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).unwrap();
        }
    }
    let text = std::fs::read_to_string(src.join("identity.toml")).unwrap();
    std::fs::write(dir.join("identity.toml"), edit(text)).unwrap();
    let result = dc_emulator::org::Org::load(&dc_emulator::FixtureSource::Dir(dir.clone()));
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(_) => panic!("{name}: the edited identity.toml loaded"),
        Err(e) => e.to_string(),
    }
}

type Edit = Box<dyn Fn(String) -> String>;

#[test]
fn broken_rulesets_name_the_file_and_problem() {
    let cases: [(&str, Edit, &str); 6] = [
        (
            "fuzzy-only",
            Box::new(|t| {
                t.replace(
                    "  { entityName = \"ssot__Individual__dlm\", fieldName = \"ssot__LastName__c\", matchMethodType = \"EXACT\" },\n",
                    "",
                )
            }),
            "needs an EXACT or EXACT_NORMALIZED criterion too",
        ),
        (
            "method",
            Box::new(|t| t.replacen("\"FUZZY\"", "\"SOUNDEX\"", 1)),
            "matchMethodType `SOUNDEX`",
        ),
        (
            "field",
            Box::new(|t| t.replacen("ssot__EmailAddress__c", "ssot__Email__c", 1)),
            "has no field `ssot__Email__c`",
        ),
        (
            "unified-object",
            Box::new(|t| t.replacen("rulesetId = \"\"", "rulesetId = \"R1\"", 1)),
            "UnifiedssotIndividualR1__dlm",
        ),
        (
            "id",
            Box::new(|t| t.replacen("1irHp0000000EmUIAU", "1irHp0000000EmUIAA", 1)),
            "1irHp0000000EmUIAU",
        ),
        (
            "typo",
            Box::new(|t| {
                t.replacen(
                    "shouldIgnoreEmptyValue = true",
                    "shouldIgnoreEmpty = true",
                    1,
                )
            }),
            "shouldIgnoreEmpty",
        ),
    ];
    for (name, edit, expected) in cases {
        let err = broken(name, edit);
        assert!(err.contains("identity.toml"), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
    }
}
