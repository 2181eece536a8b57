//! Helpers of the identity resolution tests: the default ruleset's paths
//! and result codes, run-now over HTTPS with a core token, reads and writes
//! of the store, and source profiles written the way ingestion writes them.

use bytes::Bytes;
use http::{Method, StatusCode};
use rusqlite::types::Value;
use serde_json::Value as Json;

use crate::common::{TestEnv, CLIENT_ID, USER};

pub const BASE: &str = "/services/data/v61.0/ssot/identity-resolutions";
pub const NAME: &str = "Default_Individual";
pub const SUBMITTED: &str = "SuccessfullySubmittedIdentityResolutionJobRunRequest";
pub const NO_CHANGES: &str = "NoPendingChangesJobRunSkipped";
pub const OUTPUTS: &[&str] = &[
    "UnifiedIndividual__dlm",
    "IndividualIdentityLink__dlm",
    "UnifiedContactPointEmail__dlm",
    "ContactPointEmailIdentityLink__dlm",
    "UnifiedContactPointPhone__dlm",
    "ContactPointPhoneIdentityLink__dlm",
];

pub type Rows = Vec<Vec<Option<String>>>;

pub async fn token(env: &TestEnv) -> String {
    env.core_token(CLIENT_ID, USER).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

pub async fn run_now(env: &TestEnv, token: &str, name: &str, body: &str) -> (StatusCode, Json) {
    let auth = format!("Bearer {token}");
    let r = env
        .send(
            Method::POST,
            &format!("{BASE}/{name}/actions/run-now"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Bytes::from(body.to_owned()),
        )
        .await;
    (r.status, r.json())
}

/// Run-now, then wait for the job; returns the result code.
pub async fn run_and_wait(env: &TestEnv, token: &str) -> String {
    let (status, body) = run_now(env, token, NAME, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    env.emu.state().identity.wait_idle().await;
    body["resultCode"].as_str().unwrap_or_default().to_owned()
}

pub async fn ruleset(env: &TestEnv, token: &str) -> Json {
    let r = env.get(&format!("{BASE}/{NAME}"), Some(token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

/// Every row of a query, as text.
pub async fn rows(env: &TestEnv, sql: String) -> Rows {
    env.emu
        .state()
        .store
        .read(move |c| {
            let mut stmt = c.prepare(&sql).expect("prepare");
            let n = stmt.column_count();
            stmt.query_map([], |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get::<_, Value>(i)? {
                            Value::Null => None,
                            Value::Integer(v) => Some(v.to_string()),
                            Value::Real(v) => Some(v.to_string()),
                            Value::Text(v) => Some(v),
                            Value::Blob(_) => Some("<blob>".into()),
                        })
                    })
                    .collect()
            })
            .expect("query")
            .collect::<rusqlite::Result<Rows>>()
            .expect("rows")
        })
        .await
        .expect("store")
}

pub async fn one(env: &TestEnv, sql: String) -> Vec<Option<String>> {
    let mut r = rows(env, sql.clone()).await;
    assert_eq!(r.len(), 1, "{sql}: {r:?}");
    r.remove(0)
}

pub async fn write(env: &TestEnv, sql: String) {
    env.emu
        .state()
        .store
        .write(move |c| c.execute_batch(&sql).expect("write"))
        .await
        .expect("store");
}

/// Polls `sql` until `done` holds (real-time resolution runs on its own
/// task); panics with the last rows after a generous bound.
pub async fn wait_for(env: &TestEnv, sql: &str, done: impl Fn(&Rows) -> bool) -> Rows {
    for _ in 0..600 {
        let got = rows(env, sql.to_owned()).await;
        if done(&got) {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{sql}: still {:?}", rows(env, sql.to_owned()).await);
}

pub async fn snapshot(env: &TestEnv) -> Vec<Rows> {
    let mut out = Vec::new();
    for o in OUTPUTS {
        out.push(rows(env, format!("SELECT * FROM \"{o}\" ORDER BY 1")).await);
    }
    out
}

/// An individual (and optional email/phone contact points) as ingestion
/// would write it.
pub fn insert_profile(
    id: &str,
    source: (&str, &str),
    name: (Option<&str>, Option<&str>),
    birth: Option<&str>,
    modified: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> String {
    let q = |v: Option<&str>| v.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    let (ds, dso) = source;
    let mut sql = format!(
        "INSERT INTO ssot__Individual__dlm (ssot__Id__c, KQ_Id__c, ssot__FirstName__c, ssot__LastName__c, \
         ssot__BirthDate__c, ssot__DataSourceId__c, ssot__DataSourceObjectId__c, ssot__CreatedDate__c, \
         ssot__LastModifiedDate__c) VALUES ('{id}', 'TEST', {}, {}, {}, '{ds}', '{dso}', '{modified}', '{modified}');",
        q(name.0),
        q(name.1),
        q(birth)
    );
    if let Some(e) = email {
        sql += &format!(
            "INSERT INTO ssot__ContactPointEmail__dlm (ssot__Id__c, ssot__EmailAddress__c, ssot__PartyId__c, \
             ssot__DataSourceId__c, ssot__DataSourceObjectId__c, ssot__CreatedDate__c, ssot__LastModifiedDate__c) \
             VALUES ('{id}-email', '{e}', '{id}', '{ds}', '{dso}', '{modified}', '{modified}');"
        );
    }
    if let Some(p) = phone {
        sql += &format!(
            "INSERT INTO ssot__ContactPointPhone__dlm (ssot__Id__c, ssot__TelephoneNumber__c, ssot__PartyId__c, \
             ssot__DataSourceId__c, ssot__DataSourceObjectId__c, ssot__CreatedDate__c, ssot__LastModifiedDate__c) \
             VALUES ('{id}-phone', '{p}', '{id}', '{ds}', '{dso}', '{modified}', '{modified}');"
        );
    }
    sql
}

pub async fn unified_of(env: &TestEnv, source_id: &str) -> String {
    one(
        env,
        format!("SELECT UnifiedRecordId__c FROM IndividualIdentityLink__dlm WHERE SourceRecordId__c = '{source_id}'"),
    )
    .await[0]
        .clone()
        .expect("linked")
}

/// A CRM source alone in its unified profile, with `value` non-NULL and
/// matching `like`.
pub async fn lone_crm_source(
    env: &TestEnv,
    join: &str,
    value: &str,
    like: &str,
) -> (String, String, String) {
    let r = one(
        env,
        format!(
            "SELECT i.ssot__Id__c, {value}, l.UnifiedRecordId__c FROM ssot__Individual__dlm i {join} \
             JOIN IndividualIdentityLink__dlm l ON l.SourceRecordId__c = i.ssot__Id__c \
             WHERE i.ssot__DataSourceId__c = 'SalesforceCRM_Home' AND i.ssot__FirstName__c IS NOT NULL \
               AND i.ssot__BirthDate__c IS NOT NULL AND {value} LIKE '{like}' \
               AND (SELECT COUNT(*) FROM IndividualIdentityLink__dlm l2 WHERE l2.UnifiedRecordId__c = l.UnifiedRecordId__c) = 1 \
             ORDER BY i.ssot__Id__c LIMIT 1"
        ),
    )
    .await;
    (
        r[0].clone().unwrap(),
        r[1].clone().unwrap(),
        r[2].clone().unwrap(),
    )
}
