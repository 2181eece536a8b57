//! Identity resolution over HTTPS: the Connect ruleset resources, run-now
//! result codes, a run on the untouched default org changing nothing,
//! profiles joining clusters (email, the guide's WhatsApp phone in real
//! time, fuzzy first name + exact last name), reconciliation, and stable
//! unified ids through growth and splits.
//!
//! The guide's WhatsApp lead arrives through the Ingestion API and is read
//! back through the Query API; other new source profiles are written straight
//! into the store, the way ingestion's processing writes them, and unified
//! rows read back from it (`UnifiedIndividual__dlm`, the link objects and the
//! guide's `UnifiedIndividual` view). Clustering cases are in
//! `identity/clusters.rs`, configuration ones in `identity/config.rs`.

#[path = "identity/clusters.rs"]
mod clusters;
mod common;
#[path = "identity/config.rs"]
mod config;
#[path = "identity/support.rs"]
mod support;

use common::{start, CLIENT_ID, USER};
use http::{Method, StatusCode};
use serde_json::{json, Value as Json};
use support::*;

#[tokio::test]
async fn rulesets_are_listed_and_read() {
    let env = start().await;
    let t = token(&env).await;
    let list = env.get(BASE, Some(&t)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let all = list.json()["identityResolutions"].clone();
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    let r = &all[0];
    assert_eq!(r["id"], "1irHp0000000EmUIAU");
    assert_eq!(r["developerName"], NAME);
    assert_eq!(r["configurationType"], "Individual");
    assert_eq!(r["rulesetId"], "");
    assert_eq!(r["dataSpaceName"], "default");
    assert_eq!(r["lastJobStatus"], Json::Null);
    let methods: Vec<&str> = r["matchRules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["criteria"].as_array().unwrap())
        .map(|c| c["matchMethodType"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["EXACT_NORMALIZED", "EXACT_NORMALIZED", "FUZZY", "EXACT"]
    );
    let rec = &r["reconciliationRules"][0];
    assert_eq!(rec["entityName"], "ssot__Individual__dlm");
    assert_eq!(rec["ruleType"], "LAST_UPDATED");
    assert_eq!(rec["unifiedDmoName"], "UnifiedIndividual__dlm");
    assert_eq!(rec["linkDmoName"], "IndividualIdentityLink__dlm");
    assert_eq!(rec["fields"][0]["ruleType"], "SOURCE_SEQUENCE");
    assert_eq!(rec["fields"][0]["sources"][0]["name"], "SalesforceCRM_Home");
    // Counts come from the fixture's unified rows.
    let sources = r["sourceProfiles"].as_i64().unwrap();
    let unified = r["totalUnifiedProfiles"].as_i64().unwrap();
    assert!(sources > unified && unified > 1000, "{r}");
    assert_eq!(
        r["knownUnifiedProfiles"].as_i64().unwrap()
            + r["anonymousUnifiedProfiles"].as_i64().unwrap(),
        unified
    );
    assert!(r["matchedSourceProfiles"].as_i64().unwrap() > sources - unified);
    assert!(r["consolidationRate"].as_f64().unwrap() > 10.0);

    // Read by developer name (any case), 18- and 15-character id.
    for key in [
        NAME,
        "default_individual",
        "1irHp0000000EmUIAU",
        "1irHp0000000EmU",
    ] {
        let one = env.get(&format!("{BASE}/{key}"), Some(&t)).await;
        assert_eq!(one.status, StatusCode::OK, "{key}: {}", one.text());
        assert_eq!(one.json()["id"], "1irHp0000000EmUIAU");
    }
    let missing = env.get(&format!("{BASE}/Nope"), Some(&t)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()[0]["errorCode"], "NOT_FOUND");
    // API 57.0 brought these resources.
    let old = env
        .get("/services/data/v56.0/ssot/identity-resolutions", Some(&t))
        .await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
    let anon = env.get(BASE, None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.json()[0]["errorCode"], "INVALID_SESSION_ID");
    let post = env.post_json(BASE, Some(&t), &json!({"label": "x"})).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn run_now_codes_and_a_run_on_the_untouched_org_changes_nothing() {
    let env = start().await;
    let t = token(&env).await;
    let before = snapshot(&env).await;
    assert!(before.iter().all(|rows| !rows.is_empty()));

    assert_eq!(run_and_wait(&env, &t).await, SUBMITTED);
    let job = env.emu.state().identity.find(NAME).unwrap().clone();
    let last = job.status().last.expect("a finished run");
    assert!(last.changes.is_empty(), "{:?}", last.changes);
    assert_eq!(
        snapshot(&env).await,
        before,
        "the fixture is what the ruleset writes"
    );
    let r = ruleset(&env, &t).await;
    assert_eq!(r["lastJobStatus"], "SUCCESS");
    assert!(
        r["lastJobCompleted"].as_str().unwrap().ends_with('Z'),
        "{r}"
    );
    assert_eq!(
        r["sourceProfiles"].as_u64(),
        Some(last.stats.sources as u64)
    );
    assert_eq!(
        r["totalUnifiedProfiles"].as_u64(),
        Some(last.stats.unified as u64)
    );
    assert_eq!(
        r["matchedSourceProfiles"].as_u64(),
        Some(last.stats.matched as u64)
    );
    assert_eq!(
        r["anonymousUnifiedProfiles"].as_u64(),
        Some(last.stats.anonymous as u64)
    );

    // Nothing changed since: skipped. A body with the documented keys is fine.
    let body = r#"{"callingApp": "tests", "callingAppInfo": "no-op"}"#;
    let (status, again) = run_now(&env, &t, NAME, body).await;
    assert_eq!(
        (status, again["resultCode"].as_str()),
        (StatusCode::OK, Some(NO_CHANGES))
    );

    // A run in progress: already running.
    let gate = job.gate.lock().await;
    let (_, busy) = run_now(&env, &t, NAME, "").await;
    assert_eq!(busy["resultCode"], "IdentityResolutionJobIsAlreadyRunning");
    drop(gate);

    // A reset of the rows (test-control API) forgets the runs.
    let reset = env
        .send(
            Method::POST,
            "/__emulator/reset",
            &[("content-type", "application/json")],
            r#"{"keepTokens": true}"#,
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text());
    assert_eq!(ruleset(&env, &t).await["lastJobStatus"], Json::Null);
    assert_eq!(run_and_wait(&env, &t).await, SUBMITTED);

    let (status, unknown) = run_now(&env, &t, "No_Such_Ruleset", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    assert_eq!(unknown[0]["errorCode"], "NOT_FOUND");
    let (status, bad) = run_now(&env, &t, NAME, r#"{"when": "now"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad[0]["errorCode"], "JSON_PARSER_ERROR");
    let get = env
        .get(&format!("{BASE}/{NAME}/actions/run-now"), Some(&t))
        .await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_profile_sharing_an_email_joins_its_cluster_and_reconciles() {
    let env = start().await;
    let t = token(&env).await;
    let join = "JOIN ssot__ContactPointEmail__dlm e ON e.ssot__PartyId__c = i.ssot__Id__c";
    let (crm, email, unified) = lone_crm_source(&env, join, "e.ssot__EmailAddress__c", "%@%").await;
    let crm_row = one(
        &env,
        format!("SELECT ssot__LastName__c, ssot__BirthDate__c FROM ssot__Individual__dlm WHERE ssot__Id__c = '{crm}'"),
    )
    .await;
    let (last, birth) = (crm_row[0].clone().unwrap(), crm_row[1].clone().unwrap());
    let links_before = rows(
        &env,
        "SELECT * FROM IndividualIdentityLink__dlm ORDER BY 1".into(),
    )
    .await;
    let r0 = ruleset(&env, &t).await;

    // Newer, from the web channel, the email in other case, an id sorting
    // before every fixture id, another first name and birth date.
    let shouted = email.to_uppercase();
    write(
        &env,
        insert_profile(
            "000-test-joiner",
            ("Bridged_WhatsApp_Web", "LeadProfile"),
            (Some("Zebulon"), Some(&last)),
            Some("2001-01-01"),
            "2031-01-01T00:00:00.000Z",
            Some(&format!("  {shouted} ")),
            None,
        ),
    )
    .await;
    assert_eq!(run_and_wait(&env, &t).await, SUBMITTED);

    assert_eq!(
        unified_of(&env, "000-test-joiner").await,
        unified,
        "existing id kept"
    );
    let u = one(
        &env,
        format!(
            "SELECT ssot__FirstName__c, ssot__LastName__c, ssot__BirthDate__c, ssot__LastModifiedDate__c \
             FROM UnifiedIndividual__dlm WHERE ssot__Id__c = '{unified}'"
        ),
    )
    .await;
    // Last updated wins the name; the CRM wins the birth date (source priority).
    assert_eq!(u[0].as_deref(), Some("Zebulon"));
    assert_eq!(u[1].as_deref(), Some(last.as_str()));
    assert_eq!(u[2].as_deref(), Some(birth.as_str()));
    assert_eq!(u[3].as_deref(), Some("2031-01-01T00:00:00.000Z"));
    // One unified email (both spellings normalize alike), linked from both.
    let emails = rows(
        &env,
        format!("SELECT ssot__Id__c, ssot__EmailAddress__c FROM UnifiedContactPointEmail__dlm WHERE ssot__PartyId__c = '{unified}'"),
    )
    .await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let links = rows(
        &env,
        format!(
            "SELECT COUNT(*) FROM ContactPointEmailIdentityLink__dlm WHERE UnifiedRecordId__c = '{}'",
            emails[0][0].clone().unwrap()
        ),
    )
    .await;
    assert_eq!(links[0][0].as_deref(), Some("2"));
    // Every other link is untouched: ids are stable across runs.
    let mut links_after = rows(
        &env,
        "SELECT * FROM IndividualIdentityLink__dlm ORDER BY 1".into(),
    )
    .await;
    assert_eq!(links_after[0][0].as_deref(), Some("000-test-joiner"));
    links_after.remove(0);
    let changed: Vec<_> = links_before
        .iter()
        .zip(&links_after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a[0].clone())
        .collect();
    // Only the joined cluster's link moved (its last modified date).
    assert_eq!(changed, [Some(crm.clone())]);

    let r1 = ruleset(&env, &t).await;
    assert_eq!(
        r1["sourceProfiles"].as_i64().unwrap(),
        r0["sourceProfiles"].as_i64().unwrap() + 1
    );
    assert_eq!(r1["totalUnifiedProfiles"], r0["totalUnifiedProfiles"]);
    assert_eq!(
        r1["matchedSourceProfiles"].as_i64().unwrap(),
        r0["matchedSourceProfiles"].as_i64().unwrap() + 2
    );
    let (_, again) = run_now(&env, &t, NAME, "").await;
    assert_eq!(again["resultCode"], NO_CHANGES);
}

#[tokio::test]
async fn the_guides_whatsapp_lead_joins_the_crm_individual_in_real_time() {
    let env = start().await;
    let t = token(&env).await;
    let join = "JOIN ssot__ContactPointPhone__dlm p ON p.ssot__PartyId__c = i.ssot__Id__c";
    let (crm, e164, unified) =
        lone_crm_source(&env, join, "p.ssot__FormattedE164PhoneNumber__c", "+1%").await;
    let crm_name = one(
        &env,
        format!("SELECT ssot__FirstName__c, ssot__LastName__c FROM ssot__Individual__dlm WHERE ssot__Id__c = '{crm}'"),
    )
    .await;
    // WhatsApp's display form and a national spelling of the CRM's number;
    // the leads carry no name.
    let n = e164.strip_prefix("+1").expect("a North American number");
    let lead = |id: &str, phone: String| {
        json!({"lead_id": id, "first_name": null, "last_name": null, "email": null,
               "phone": phone, "channel": "whatsapp", "updated_at": null})
    };
    let leads = json!({"data": [
        lead("lead-wa-1", format!("+1 {}-{}-{}", &n[..3], &n[3..6], &n[6..])),
        lead("lead-wa-2", format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..])),
    ]});
    let dc = env.dc_token(CLIENT_ID, USER).await;
    let r = env
        .post_json(
            "/api/v1/ingest/sources/Bridged/LeadProfile",
            Some(&dc),
            &leads,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());

    // No run-now: the LeadProfile stream resolves in real time.
    let links = format!(
        "SELECT SourceRecordId__c FROM IndividualIdentityLink__dlm WHERE UnifiedRecordId__c = '{unified}' ORDER BY 1"
    );
    let linked = wait_for(&env, &links, |r| r.len() == 3).await;
    assert!(linked.contains(&vec![Some(crm.clone())]), "{linked:?}");
    env.emu.state().identity.wait_idle().await;
    assert_eq!(ruleset(&env, &t).await["lastJobStatus"], "SUCCESS");

    // Through the Query API, as the guide reads it.
    let sql = format!(
        "SELECT IndividualId, FirstName, LastName FROM UnifiedIndividual WHERE IndividualId = '{unified}'"
    );
    let q = env
        .post_json(
            "/services/data/v61.0/ssot/queryv2",
            Some(&t),
            &json!({"sql": sql}),
        )
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text());
    assert_eq!(
        q.json()["data"],
        json!([[unified, crm_name[0], crm_name[1]]]),
        "one profile, the CRM's names (the leads have none)"
    );
    let sql = format!(
        "SELECT SourceRecordId__c, ssot__DataSourceId__c FROM IndividualIdentityLink__dlm \
         WHERE UnifiedRecordId__c = '{unified}' ORDER BY SourceRecordId__c"
    );
    let q = env
        .post_json(
            "/services/data/v61.0/ssot/queryv2",
            Some(&t),
            &json!({"sql": sql}),
        )
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text());
    let mut expected = vec![
        json!([crm, "SalesforceCRM_Home"]),
        json!(["lead-wa-1", "Bridged"]),
        json!(["lead-wa-2", "Bridged"]),
    ];
    expected.sort_by_key(|v| v[0].as_str().unwrap_or_default().to_owned());
    assert_eq!(q.json()["data"], json!(expected));
    // The README's query, on the tenant host with the Data Cloud token.
    let sql = "SELECT l.SourceRecordId__c, u.FirstName, u.LastName FROM IndividualIdentityLink__dlm l \
               JOIN UnifiedIndividual u ON u.IndividualId = l.UnifiedRecordId__c \
               WHERE l.UnifiedRecordId__c = (SELECT UnifiedRecordId__c FROM IndividualIdentityLink__dlm \
               WHERE SourceRecordId__c = 'lead-wa-1') ORDER BY 1";
    let q = env
        .post_json("/api/v2/query", Some(&dc), &json!({ "sql": sql }))
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text());
    let names: Vec<Json> = expected
        .iter()
        .map(|e| json!([e[0], crm_name[0], crm_name[1]]))
        .collect();
    assert_eq!(q.json()["data"], json!(names));
    let phones = rows(
        &env,
        format!("SELECT ssot__FormattedE164PhoneNumber__c FROM UnifiedContactPointPhone__dlm WHERE ssot__PartyId__c = '{unified}'"),
    )
    .await;
    assert_eq!(phones, vec![vec![Some(e164.clone())]]);

    // A CRM change is not real-time: it waits for a run.
    write(
        &env,
        insert_profile(
            "003-batch-only",
            ("SalesforceCRM_Home", "Contact"),
            (Some("Quill"), Some("Batchworth")),
            None,
            "2031-03-01T00:00:00.000Z",
            None,
            Some(&e164),
        ),
    )
    .await;
    let none = rows(
        &env,
        "SELECT * FROM IndividualIdentityLink__dlm WHERE SourceRecordId__c = '003-batch-only'"
            .into(),
    )
    .await;
    assert!(none.is_empty());
    assert_eq!(run_and_wait(&env, &t).await, SUBMITTED);
    assert_eq!(unified_of(&env, "003-batch-only").await, unified);
}
