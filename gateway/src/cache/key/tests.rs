//! Canonicalization equivalences and non-equivalences, and key separation.
use super::*;

fn canon(sql: &str) -> String {
    canonicalize_sql(sql).expect("canonical").text
}

#[test]
fn whitespace_comments_and_keyword_case_do_not_matter() {
    let a = canon("SELECT a, b FROM t WHERE x = 1");
    assert_eq!(a, canon("select   a,b\n from t -- comment\n where x=1"));
    assert_eq!(a, canon("/* lead */ SeLeCt a , b FROM t WHERE x = 1;"));
}

#[test]
fn unquoted_identifiers_fold_but_quoted_ones_do_not() {
    assert_eq!(
        canon("SELECT ssot__FirstName__c FROM ssot__Individual__dlm"),
        canon("select SSOT__FIRSTNAME__C from ssot__individual__dlm")
    );
    assert_ne!(
        canon(r#"SELECT "Name" FROM t"#),
        canon(r#"SELECT "name" FROM t"#)
    );
    assert_ne!(
        canon(r#"SELECT "Name" FROM t"#),
        canon("SELECT Name FROM t")
    );
    assert_eq!(
        canon("SELECT COUNT(*) FROM t"),
        canon("select count(*) from t")
    );
}

#[test]
fn string_literals_stay_exact() {
    assert_ne!(
        canon("SELECT a FROM t WHERE n = 'Acme'"),
        canon("SELECT a FROM t WHERE n = 'ACME'")
    );
    assert_ne!(
        canon("SELECT a FROM t WHERE n = 'a  b'"),
        canon("SELECT a FROM t WHERE n = 'a b'")
    );
    assert!(canon("SELECT 'MiXeD -- not a comment' FROM t").contains("'MiXeD -- not a comment'"));
}

#[test]
fn different_queries_differ() {
    assert_ne!(canon("SELECT a FROM t"), canon("SELECT b FROM t"));
    assert_ne!(
        canon("SELECT a FROM t LIMIT 1"),
        canon("SELECT a FROM t LIMIT 2")
    );
    assert_ne!(canon("SELECT a FROM t1"), canon("SELECT a FROM t2"));
}

#[test]
fn only_single_read_only_queries_are_cacheable() {
    assert_eq!(
        canonicalize_sql("DELETE FROM t"),
        Err(BypassReason::NotReadOnly)
    );
    assert_eq!(
        canonicalize_sql("SELECT 1; SELECT 2"),
        Err(BypassReason::NotSingleStatement)
    );
    assert_eq!(
        canonicalize_sql("SELECT a INTO t2 FROM t"),
        Err(BypassReason::NotReadOnly)
    );
    assert_eq!(
        canonicalize_sql("SELECT a FROM t FOR UPDATE"),
        Err(BypassReason::NotReadOnly)
    );
    assert_eq!(
        canonicalize_sql("SELEC a"),
        Err(BypassReason::SqlUnparsable)
    );
    assert_eq!(canonicalize_sql(""), Err(BypassReason::NotSingleStatement));
    let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(canonicalize_sql(&deep), Err(BypassReason::SqlUnparsable));
}

#[test]
fn tables_are_collected_lower_case() {
    let c = canonicalize_sql(
        "SELECT i.x FROM ssot__Individual__dlm i JOIN \"Sales\".Orders__dll o ON i.id = o.id \
         WHERE i.id IN (SELECT id FROM Other__dlm)",
    )
    .expect("canonical");
    assert_eq!(
        c.tables,
        vec!["other__dlm", "sales.orders__dll", "ssot__individual__dlm"]
    );
}

#[test]
fn body_rest_is_sorted_and_sql_extracted() {
    let a = parse_query_body(br#"{"sql":"SELECT 1","rowLimit":5,"querySettings":{"b":1,"a":2}}"#)
        .expect("body");
    let b = parse_query_body(br#"{"querySettings":{"a":2,"b":1},"rowLimit":5,"sql":"SELECT 1"}"#)
        .expect("body");
    assert_eq!(a, b);
    assert_eq!(a.rest, r#"{"querySettings":{"a":2,"b":1},"rowLimit":5}"#);
    assert_eq!(parse_query_body(b"nope"), Err(BypassReason::BodyNotJson));
    assert_eq!(parse_query_body(b"[1]"), Err(BypassReason::BodyNotJson));
    assert_eq!(
        parse_query_body(br#"{"query":"x"}"#),
        Err(BypassReason::NoSql)
    );
    assert_eq!(parse_query_body(br#"{"sql":1}"#), Err(BypassReason::NoSql));
}

fn parts<'a>(data_space: &'a str, policy: &'a str) -> KeyParts<'a> {
    KeyParts {
        endpoint: QueryEndpoint::TenantV2,
        api_version: "v2",
        data_space,
        policy_scope: policy,
        query_string: "",
        arrow_stream: false,
        body_rest: "{}",
    }
}

#[test]
fn keys_separate_data_spaces_policies_and_variants() {
    let sql = canon("SELECT a FROM t");
    let base = derive_key(&parts("default", "p1"), &sql);
    assert_eq!(base, derive_key(&parts("default", "p1"), &sql));
    assert_ne!(base, derive_key(&parts("other", "p1"), &sql));
    assert_ne!(base, derive_key(&parts("default", "p2"), &sql));
    // Length prefixes: moving a byte between fields changes the key.
    assert_ne!(
        derive_key(&parts("ab", "c"), &sql),
        derive_key(&parts("a", "bc"), &sql)
    );
    let mut arrow = parts("default", "p1");
    arrow.arrow_stream = true;
    assert_ne!(base, derive_key(&arrow, &sql));
    let mut v1 = parts("default", "p1");
    v1.endpoint = QueryEndpoint::TenantV1;
    v1.api_version = "v1";
    assert_ne!(base, derive_key(&v1, &sql));
    let mut paged = parts("default", "p1");
    paged.query_string = "limit=5";
    assert_ne!(base, derive_key(&paged, &sql));
}

#[test]
fn query_strings_sort_and_keys_round_trip_hex() {
    assert_eq!(
        canonical_query_string("offset=0&limit=5&"),
        "limit=5&offset=0"
    );
    let k = CacheKey(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
    assert_eq!(CacheKey::from_hex(&k.to_hex()), Some(k));
    assert_eq!(CacheKey::from_hex("zz"), None);
}
