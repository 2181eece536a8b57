//! The built-in org and the store: what `fixtures/default` promises (apps,
//! users, a unified data set big enough to page through), that the committed
//! rows are exactly the generator's output, that fixture mistakes are
//! reported with their file, and that reads cannot write.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dc_emulator::org::{FixtureSource, Org, OrgError};
use dc_emulator::store::Store;

fn default_org() -> Org {
    Org::load(&FixtureSource::Builtin).expect("built-in org loads")
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/default")
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("dc-fixtures-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// A copy of the default fixture directory.
    fn copy_of_default(name: &str) -> Scratch {
        let s = Scratch::new(name);
        copy_dir(&fixture_dir(), &s.0);
        s
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    store
        .read(move |c| c.query_row(sql, [], |r| r.get::<_, i64>(0)))
        .await
        .unwrap()
        .unwrap()
}

#[test]
fn default_org_has_the_documented_apps_and_users() {
    let org = default_org();
    assert_eq!(org.org_id.len(), 15);
    assert!(org.org_id.starts_with("00D"));
    assert!(org.org_id18.starts_with(&org.org_id) && org.org_id18.len() == 18);
    assert!(org.tenant_id.starts_with("a360/"));
    assert_eq!(org.dataspaces, vec!["default".to_string()]);

    let app = org.app("emulator-client-id").expect("bridged app");
    assert_eq!(app.name, "Bridged Integration");
    assert_eq!(app.client_secret, "emulator-client-secret");
    assert!(app.certificate_pem.contains("BEGIN CERTIFICATE"));
    assert!(app.admin_approved_only && app.active);
    assert_eq!(
        app.scopes,
        [
            "api",
            "refresh_token",
            "cdp_query_api",
            "cdp_profile_api",
            "cdp_ingest_api"
        ]
    );
    assert_eq!(
        app.run_as.as_deref(),
        Some("integration_user@yourcompany.com")
    );
    assert_eq!(
        app.preauthorized_users,
        [
            "integration_user@yourcompany.com",
            "no_datacloud_user@yourcompany.com"
        ]
    );

    let ingest = org
        .app("emulator-ingest-only-client-id")
        .expect("ingest app");
    assert_eq!(ingest.scopes, ["api", "cdp_ingest_api"]);
    assert_ne!(ingest.client_secret, app.client_secret);
    assert_eq!(ingest.certificate_pem, app.certificate_pem);
    assert_eq!(ingest.run_as, app.run_as);

    let integration = org.user("Integration_User@yourcompany.com").unwrap();
    assert_eq!(integration.profile, "API Only");
    assert!(integration.has_data_cloud() && integration.active);
    assert!(integration.user_id.starts_with("005") && integration.user_id.len() == 18);
    assert!(org.user_by_id(&integration.user_id).is_some());

    let unapproved = org.user("unapproved_user@yourcompany.com").unwrap();
    assert!(unapproved.active);
    for a in &org.apps {
        assert!(!a.preauthorized_users.contains(&unapproved.username));
    }
    let no_dc = org.user("no_datacloud_user@yourcompany.com").unwrap();
    assert!(!no_dc.has_data_cloud() && no_dc.active);
    assert!(org.users.iter().all(|u| !u.password.is_empty()));
}

#[test]
fn every_table_has_rows_and_the_model_is_complete() {
    let org = default_org();
    for name in [
        "ssot__Individual__dlm",
        "ssot__ContactPointEmail__dlm",
        "ssot__ContactPointPhone__dlm",
        "UnifiedIndividual__dlm",
        "IndividualIdentityLink__dlm",
    ] {
        let object = org.model.object(name).unwrap();
        assert!(!object.primary_key.is_empty(), "{name} has a primary key");
        assert!(!object.relationships.is_empty(), "{name} has relationships");
        assert!(!object.display_name.is_empty());
        assert!(org.rows.iter().any(|r| r.object == name), "{name} has rows");
    }
    let view = org.model.object("UnifiedIndividual").unwrap();
    let names: Vec<&str> = view.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["IndividualId", "FirstName", "LastName", "Email"]);
    assert!(view.view_sql.is_some());
}

#[test]
fn committed_rows_are_the_generator_output() {
    for (name, content) in dc_emulator::org::generate::generate() {
        let path = fixture_dir().join("rows").join(&name);
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == content,
            "{} differs from the generator: run `cargo run -p dc-emulator --bin dc-fixtures -- fixtures/default`",
            path.display()
        );
    }
}

#[tokio::test]
async fn unified_data_is_consistent_and_big_enough() {
    let org = default_org();
    let store = Store::open(None, &org).unwrap();
    let unified = count(&store, "SELECT COUNT(*) FROM UnifiedIndividual__dlm").await;
    let sources = count(&store, "SELECT COUNT(*) FROM ssot__Individual__dlm").await;
    assert!(unified >= 1000, "{unified} unified individuals");
    assert!(sources > unified, "{sources} sources for {unified} unified");
    // Every source is linked exactly once, to a unified individual that exists.
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM IndividualIdentityLink__dlm").await,
        sources
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM IndividualIdentityLink__dlm l
             LEFT JOIN UnifiedIndividual__dlm u ON u.ssot__Id__c = l.UnifiedRecordId__c
             JOIN ssot__Individual__dlm i ON i.ssot__Id__c = l.SourceRecordId__c
             WHERE u.ssot__Id__c IS NOT NULL"
        )
        .await,
        sources
    );
    // Sources sharing a normalized email or an E.164 phone are unified together.
    let shared_email = count(
        &store,
        "SELECT COUNT(*) FROM (SELECT lower(trim(ssot__EmailAddress__c)) e FROM ssot__ContactPointEmail__dlm
         GROUP BY e HAVING COUNT(*) > 1)",
    )
    .await;
    let shared_phone = count(
        &store,
        "SELECT COUNT(*) FROM (SELECT ssot__FormattedE164PhoneNumber__c FROM ssot__ContactPointPhone__dlm
         GROUP BY 1 HAVING COUNT(*) > 1)",
    )
    .await;
    assert!(
        shared_email > 50 && shared_phone > 50,
        "{shared_email} / {shared_phone}"
    );
    let split = count(
        &store,
        "SELECT COUNT(*) FROM (
           SELECT lower(trim(e.ssot__EmailAddress__c)) k FROM ssot__ContactPointEmail__dlm e
           JOIN IndividualIdentityLink__dlm l ON l.SourceRecordId__c = e.ssot__PartyId__c
           GROUP BY k HAVING COUNT(DISTINCT l.UnifiedRecordId__c) > 1
           UNION ALL
           SELECT p.ssot__FormattedE164PhoneNumber__c FROM ssot__ContactPointPhone__dlm p
           JOIN IndividualIdentityLink__dlm l ON l.SourceRecordId__c = p.ssot__PartyId__c
           GROUP BY 1 HAVING COUNT(DISTINCT l.UnifiedRecordId__c) > 1)",
    )
    .await;
    assert_eq!(
        split, 0,
        "a shared email or phone split across unified individuals"
    );
    let whatsapp = count(
        &store,
        "SELECT COUNT(*) FROM ssot__ContactPointPhone__dlm WHERE ssot__TelephoneNumber__c LIKE 'whatsapp:+%'",
    )
    .await;
    assert!(whatsapp > 10);
    // Some NULLs, typed values.
    assert!(
        count(
            &store,
            "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE ssot__FirstName__c IS NULL"
        )
        .await
            > 0
    );
    assert!(count(&store, "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE typeof(ssot__YearlyIncome__c) = 'real'").await > 0);
    assert!(
        count(
            &store,
            "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE ssot__HasOptedOutTracking__c = 1"
        )
        .await
            > 0
    );
}

#[tokio::test]
async fn the_guides_queries_return_rows() {
    let org = default_org();
    let store = Store::open(None, &org).unwrap();
    let rows = store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT IndividualId, FirstName, LastName, Email FROM UnifiedIndividual LIMIT 50",
            )?;
            let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, rusqlite::Error>((names, rows))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rows.0, ["IndividualId", "FirstName", "LastName", "Email"]);
    assert_eq!(rows.1.len(), 50);
    assert!(rows.1.iter().filter(|r| r.1.is_some()).count() > 30);
    let one = store
        .read(|c| {
            c.query_row(
                "SELECT IndividualId, Email FROM UnifiedIndividual LIMIT 1",
                [],
                |r| r.get::<_, String>(0),
            )
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.len(), 32);
}

#[tokio::test]
async fn reads_cannot_write() {
    let org = default_org();
    let store = Store::open(None, &org).unwrap();
    let before = count(&store, "SELECT COUNT(*) FROM ssot__Individual__dlm").await;
    for sql in [
        "INSERT INTO ssot__Individual__dlm (ssot__Id__c) VALUES ('x')",
        "UPDATE ssot__Individual__dlm SET ssot__FirstName__c = 'Mallory'",
        "DELETE FROM ssot__Individual__dlm",
        "CREATE TABLE t (a)",
        "CREATE TEMP TABLE t (a)",
        "DROP TABLE ssot__Individual__dlm",
        "DROP VIEW UnifiedIndividual",
        "ATTACH DATABASE ':memory:' AS other",
        "PRAGMA query_only=OFF",
        "PRAGMA case_sensitive_like=OFF",
    ] {
        let result = store.read(move |c| c.execute_batch(sql)).await.unwrap();
        let err = result.expect_err(sql).to_string();
        // Refused by the authorizer while preparing, not merely by the read-only open.
        assert!(err.contains("not authorized"), "`{sql}`: {err}");
    }
    // query_only is still on on every pooled connection (reads run at once
    // so that several connections get opened), and the data is unchanged.
    let store = Arc::new(store);
    let reads: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .read(|c| c.query_row("PRAGMA query_only", [], |r| r.get::<_, i64>(0)))
                    .await
            })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.unwrap().unwrap().unwrap(), 1);
    }
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM ssot__Individual__dlm").await,
        before
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE ssot__FirstName__c = 'Mallory'"
        )
        .await,
        0
    );
    // LIKE is case-sensitive, as in PostgreSQL.
    assert_eq!(count(&store, "SELECT 'Abc' LIKE 'abc'").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_seen_by_readers() {
    let store = Arc::new(Store::open(None, &default_org()).unwrap());
    store
        .write(|c| {
            c.execute(
                "INSERT INTO ssot__Individual__dlm (ssot__Id__c, ssot__FirstName__c) VALUES ('new-1', 'Nova')",
                [],
            )
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE ssot__Id__c = 'new-1'"
        )
        .await,
        1
    );
    // Reads and writes at once: readers never see a half-written batch and
    // nobody fails on a lock.
    let mut tasks = Vec::new();
    for n in 0..6 {
        let writer = store.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .write(move |c| {
                    let tx = c.transaction()?;
                    for i in 0..2 {
                        tx.execute(
                            "INSERT INTO ssot__Individual__dlm (ssot__Id__c, KQ_Id__c) VALUES (?1, 'BATCH')",
                            [format!("batch-{n}-{i}")],
                        )?;
                    }
                    tx.commit()
                })
                .await
                .unwrap()
                .unwrap();
        }));
        let reader = store.clone();
        tasks.push(tokio::spawn(async move {
            let batch = reader
                .read(|c| {
                    c.query_row(
                        "SELECT COUNT(*), (SELECT COUNT(*) FROM UnifiedIndividual WHERE Email IS NOT NULL)
                         FROM ssot__Individual__dlm WHERE KQ_Id__c = 'BATCH'",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                })
                .await
                .unwrap()
                .unwrap();
            assert_eq!(batch % 2, 0, "a read saw half a write transaction");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE KQ_Id__c = 'BATCH'"
        )
        .await,
        12
    );
    // Two stores in one process do not share data.
    let other = Store::open(None, &default_org()).unwrap();
    assert_eq!(
        count(
            &other,
            "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE ssot__Id__c = 'new-1'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_db_file_persists_and_is_not_reseeded() {
    let scratch = Scratch::new("db");
    let path = scratch.0.join("emulator.db");
    let org = default_org();
    let seeded = {
        let store = Store::open(Some(&path), &org).unwrap();
        store
            .write(|c| {
                c.execute(
                    "DELETE FROM ssot__ContactPointPhone__dlm WHERE rowid % 2 = 0",
                    [],
                )
            })
            .await
            .unwrap()
            .unwrap();
        count(&store, "SELECT COUNT(*) FROM ssot__ContactPointPhone__dlm").await
    };
    let store = Store::open(Some(&path), &org).unwrap();
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM ssot__ContactPointPhone__dlm").await,
        seeded
    );
    assert!(count(&store, "SELECT COUNT(*) FROM ssot__Individual__dlm").await > 1000);
    let mode = store
        .read(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)))
        .await;
    // journal_mode is not a reporting pragma we allow; it must not be changeable either way.
    assert!(mode.unwrap().is_err());
}

fn load_err(dir: &Path) -> String {
    match Org::load(&FixtureSource::Dir(dir.to_path_buf())) {
        Ok(_) => panic!("{} should not load", dir.display()),
        Err(e @ OrgError::Invalid { .. }) | Err(e @ OrgError::Read { .. }) => e.to_string(),
    }
}

#[test]
fn a_copy_of_the_default_dir_loads() {
    let s = Scratch::copy_of_default("copy");
    let org = Org::load(&FixtureSource::Dir(s.0.clone())).unwrap();
    assert_eq!(org.rows.len(), default_org().rows.len());
}

#[test]
fn broken_fixture_dirs_name_the_file_and_problem() {
    let edit = |name: &str, file: &str, f: &dyn Fn(String) -> String| {
        let s = Scratch::copy_of_default(name);
        let path = s.0.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, f(text)).unwrap();
        let err = load_err(&s.0);
        assert!(err.contains(file), "`{err}` names {file}");
        err
    };
    let err = edit("type", "model/ssot__Individual__dlm.toml", &|t| {
        t.replacen("type = \"date\"", "type = \"datetime\"", 1)
    });
    assert!(err.contains("datetime"), "{err}");
    let err = edit("pk", "model/ssot__Individual__dlm.toml", &|t| {
        t.replace(
            "primary_key = [\"ssot__Id__c\"]",
            "primary_key = [\"Nope__c\"]",
        )
    });
    assert!(err.contains("Nope__c"), "{err}");
    let err = edit("header", "rows/ssot__Individual__dlm.csv", &|t| {
        t.replacen("KQ_Id__c", "Bogus__c", 1)
    });
    assert!(err.contains("Bogus__c"), "{err}");
    let err = edit("runas", "org.toml", &|t| {
        t.replacen(
            "run_as = \"integration_user@yourcompany.com\"",
            "run_as = \"ghost@yourcompany.com\"",
            1,
        )
    });
    assert!(err.contains("ghost@yourcompany.com"), "{err}");
    let err = edit("scope", "org.toml", &|t| {
        t.replacen("\"cdp_query_api\"", "\"cdpquery\", \"nonsense\"", 1)
    });
    assert!(err.contains("nonsense"), "{err}");
    let err = edit("id", "org.toml", &|t| {
        t.replace("00D5g00000EmUL8EAN", "00D5g00000EmUL8AAA")
    });
    assert!(err.contains("00D5g00000EmUL8EAN"), "{err}");
    let err = edit("cert", "host.crt", &|_| "not a certificate".into());
    assert!(err.contains("PEM"), "{err}");

    let s = Scratch::copy_of_default("dup");
    std::fs::copy(
        s.0.join("model/ssot__Individual__dlm.toml"),
        s.0.join("model/again.toml"),
    )
    .unwrap();
    let err = load_err(&s.0);
    assert!(err.contains("already defined"), "{err}");

    let s = Scratch::copy_of_default("unknown-rows");
    std::fs::write(s.0.join("rows/Nothing__dlm.csv"), "a\n1\n").unwrap();
    let err = load_err(&s.0);
    assert!(
        err.contains("rows/Nothing__dlm.csv") && err.contains("unknown object"),
        "{err}"
    );
}

#[test]
fn legacy_scope_spellings_are_normalized() {
    let s = Scratch::copy_of_default("legacy");
    let path = s.0.join("org.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen(
            "\"cdp_query_api\", \"cdp_profile_api\"",
            "\"cdpquery\", \"cdpprofile\"",
            1,
        ),
    )
    .unwrap();
    let org = Org::load(&FixtureSource::Dir(s.0.clone())).unwrap();
    let app = org.app("emulator-client-id").unwrap();
    assert!(app.scopes.contains(&"cdp_query_api".to_string()));
    assert!(app.scopes.contains(&"cdp_profile_api".to_string()));
}

#[tokio::test]
async fn a_bad_cell_names_object_line_and_field() {
    let s = Scratch::copy_of_default("cell");
    let path = s.0.join("rows/ssot__Individual__dlm.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[2] = lines[2]
        .replace(",false,", ",maybe,")
        .replace(",true,", ",maybe,");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let org = Org::load(&FixtureSource::Dir(s.0.clone())).unwrap();
    let err = Store::open(None, &org)
        .err()
        .expect("seeding fails")
        .to_string();
    assert!(
        err.contains("ssot__Individual__dlm")
            && err.contains("line 3")
            && err.contains("ssot__HasOptedOutTracking__c"),
        "{err}"
    );
}

#[tokio::test]
async fn a_db_file_from_another_model_is_refused() {
    let scratch = Scratch::new("other-model");
    let path = scratch.0.join("emulator.db");
    drop(Store::open(Some(&path), &default_org()).unwrap());
    let s = Scratch::copy_of_default("other-model-dir");
    let model = s.0.join("model/UnifiedIndividual__dlm.toml");
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(
        &model,
        text + "\n[[fields]]\nname = \"ssot__Extra__c\"\ntype = \"varchar\"\n",
    )
    .unwrap();
    let org = Org::load(&FixtureSource::Dir(s.0.clone())).unwrap();
    let err = Store::open(Some(&path), &org)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("different data model"), "{err}");
}

#[tokio::test]
async fn json_lines_rows_seed_too() {
    let s = Scratch::copy_of_default("jsonl");
    std::fs::remove_file(s.0.join("rows/ssot__ContactPointPhone__dlm.csv")).unwrap();
    std::fs::write(
        s.0.join("rows/ssot__ContactPointPhone__dlm.jsonl"),
        concat!(
            r#"{"ssot__Id__c": "p1", "ssot__TelephoneNumber__c": "whatsapp:+14155550142", "ssot__IsSMSCapable__c": true, "ssot__CreatedDate__c": "2024-03-22T07:47:10+02:00"}"#,
            "\n\n",
            r#"{"ssot__Id__c": "p2", "ssot__IsSMSCapable__c": null}"#,
            "\n"
        ),
    )
    .unwrap();
    let org = Org::load(&FixtureSource::Dir(s.0.clone())).unwrap();
    let store = Store::open(None, &org).unwrap();
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM ssot__ContactPointPhone__dlm").await,
        2
    );
    let created = store
        .read(|c| {
            c.query_row(
                "SELECT ssot__CreatedDate__c FROM ssot__ContactPointPhone__dlm WHERE ssot__IsSMSCapable__c = 1",
                [],
                |r| r.get::<_, String>(0),
            )
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created, "2024-03-22T05:47:10.000Z");
}
