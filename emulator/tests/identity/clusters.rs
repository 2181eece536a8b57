//! Clustering through direct runs: fuzzy first name + exact last name, and
//! a split that keeps the unified id on the larger side.

use dc_emulator::identity;

use crate::common::start;
use crate::support::*;

#[tokio::test]
async fn fuzzy_first_name_and_exact_last_name_match() {
    let env = start().await;
    let crm = ("SalesforceCRM_Home", "Contact");
    let at = "2031-04-01T00:00:00.000Z";
    let mut sql = String::new();
    for (id, first, last) in [
        ("zz-fuzzy-1", "Jon", "Vandermeer"),
        ("zz-fuzzy-2", "John", "Vandermeer"),
        ("zz-fuzzy-3", "Bob", "Vandermeer"),
        ("zz-fuzzy-4", "Robert", "Vandermeer"),
        ("zz-fuzzy-5", "Maria", "Vandermeer"),
        ("zz-fuzzy-6", "Jon", "Oosterhuis"),
    ] {
        sql += &insert_profile(id, crm, (Some(first), Some(last)), None, at, None, None);
    }
    write(&env, sql).await;
    identity::run(env.emu.state(), NAME).await.expect("run");
    let u = |id: &'static str| unified_of(&env, id);
    let (u1, u2, u3, u4, u5, u6) = (
        u("zz-fuzzy-1").await,
        u("zz-fuzzy-2").await,
        u("zz-fuzzy-3").await,
        u("zz-fuzzy-4").await,
        u("zz-fuzzy-5").await,
        u("zz-fuzzy-6").await,
    );
    assert_eq!(u1, u2, "Jon ~ John (Jaro-Winkler 0.93)");
    assert_eq!(u3, u4, "Bob ~ Robert (nickname)");
    assert_ne!(u1, u3);
    assert_ne!(u5, u1);
    assert_ne!(u5, u3);
    assert_ne!(u6, u1, "another last name");
}

#[tokio::test]
async fn a_split_keeps_the_id_on_one_side() {
    let env = start().await;
    let web = ("Bridged_WhatsApp_Web", "LeadProfile");
    let at = "2031-05-01T00:00:00.000Z";
    let mut sql = insert_profile(
        "zz-split-a",
        web,
        (None, None),
        None,
        at,
        Some("split-a@example.com"),
        None,
    );
    sql += &insert_profile(
        "zz-split-b",
        web,
        (None, None),
        None,
        at,
        Some("split-a@example.com"),
        Some("+1 303 555 0199"),
    );
    sql += &insert_profile(
        "zz-split-c",
        web,
        (None, None),
        None,
        at,
        None,
        Some("whatsapp:+13035550199"),
    );
    write(&env, sql).await;
    identity::run(env.emu.state(), NAME).await.expect("run");
    let before = unified_of(&env, "zz-split-a").await;
    assert_eq!(
        unified_of(&env, "zz-split-c").await,
        before,
        "b bridges a and c"
    );

    write(
        &env,
        "DELETE FROM ssot__ContactPointPhone__dlm WHERE ssot__PartyId__c = 'zz-split-b';".into(),
    )
    .await;
    let report = identity::run(env.emu.state(), NAME).await.expect("run");
    assert!(!report.changes.is_empty());
    assert_eq!(
        unified_of(&env, "zz-split-a").await,
        before,
        "the larger side keeps the id"
    );
    assert_eq!(unified_of(&env, "zz-split-b").await, before);
    let c = unified_of(&env, "zz-split-c").await;
    assert_ne!(c, before);
    assert_eq!(c, identity::ids::fresh("", "Individual", "zz-split-c"));
    // Running again changes nothing: ids are stable.
    let again = identity::run(env.emu.state(), NAME).await.expect("run");
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}
