//! End-to-end tests of the SQL layer on an in-memory database with a small
//! model built here (the data-driven cases in `fixtures/queries/` run against
//! the default org).

use rusqlite::Connection;
use serde_json::{json, Value};

use super::*;
use crate::clock::Clock;
use crate::model::{EntityType, FieldDef, ObjectDef};

fn field(name: &str, ty: DcType) -> FieldDef {
    FieldDef {
        name: name.into(),
        display_name: name.into(),
        ty,
        key_qualifier: None,
    }
}

fn object(name: &str, fields: Vec<FieldDef>, view_sql: Option<&str>) -> ObjectDef {
    ObjectDef {
        name: name.into(),
        display_name: name.into(),
        entity_type: EntityType::DataModelObject,
        category: "Profile".into(),
        fields,
        primary_key: vec!["ssot__Id__c".into()],
        relationships: Vec::new(),
        view_sql: view_sql.map(str::to_string),
    }
}

pub(super) fn model() -> DataModel {
    use DcType::*;
    DataModel {
        objects: vec![
            object(
                "ssot__Individual__dlm",
                vec![
                    field("ssot__Id__c", Varchar),
                    field("ssot__FirstName__c", Varchar),
                    field("ssot__LastName__c", Varchar),
                    field("ssot__BirthDate__c", Date),
                    field("ssot__CreatedDate__c", Timestamp),
                    field("ssot__Score__c", Decimal),
                    field("ssot__IsActive__c", Boolean),
                    field("ssot__Visits__c", Bigint),
                ],
                None,
            ),
            object(
                "ssot__ContactPointEmail__dlm",
                vec![
                    field("ssot__Id__c", Varchar),
                    field("ssot__PartyId__c", Varchar),
                    field("ssot__EmailAddress__c", Varchar),
                ],
                None,
            ),
            object(
                "UnifiedIndividual",
                vec![
                    field("IndividualId", Varchar),
                    field("FirstName", Varchar),
                    field("LastName", Varchar),
                    field("Email", Varchar),
                ],
                Some(
                    "SELECT i.ssot__Id__c AS IndividualId, i.ssot__FirstName__c AS FirstName, \
                     i.ssot__LastName__c AS LastName, \
                     (SELECT min(e.ssot__EmailAddress__c) FROM ssot__ContactPointEmail__dlm e \
                      WHERE e.ssot__PartyId__c = i.ssot__Id__c) AS Email \
                     FROM ssot__Individual__dlm i",
                ),
            ),
        ],
    }
}

/// A database shaped the way the store makes it, with a few rows.
pub(super) fn db() -> (Connection, Catalog) {
    let model = model();
    let conn = Connection::open_in_memory().unwrap();
    for o in &model.objects {
        let sql = match &o.view_sql {
            Some(v) => format!("CREATE VIEW \"{}\" AS {v}", o.name),
            None => {
                let cols: Vec<String> = o
                    .fields
                    .iter()
                    .map(|f| format!("\"{}\" {}", f.name, f.ty.sqlite_decl()))
                    .collect();
                format!("CREATE TABLE \"{}\" ({})", o.name, cols.join(", "))
            }
        };
        conn.execute_batch(&sql).unwrap();
    }
    conn.execute_batch(
        "INSERT INTO ssot__Individual__dlm VALUES
           ('I1', 'Ada', 'Lovelace', '1815-12-10', '2024-01-15T10:00:00.000Z', 12.5, 1, 3),
           ('I2', 'alan', 'Turing', '1912-06-23', '2024-02-01T08:30:00.000Z', 7.25, 0, 10),
           ('I3', 'Grace', 'Hopper', NULL, '2024-03-10T23:59:59.999Z', NULL, 1, NULL),
           ('I4', 'Émile', NULL, '1900-01-01', NULL, 3, NULL, 0);
         INSERT INTO ssot__ContactPointEmail__dlm VALUES
           ('E1', 'I1', 'ada@example.com'),
           ('E2', 'I2', 'alan@example.com'),
           ('E3', 'I2', 'a.turing@example.org'),
           ('E4', 'I3', 'grace@example.com');",
    )
    .unwrap();
    install_support(&conn, &model).unwrap();
    register_functions(&conn).unwrap();
    conn.execute_batch("PRAGMA case_sensitive_like = ON; PRAGMA query_only = ON;")
        .unwrap();
    let clock = Clock::default();
    clock.pin_ms(1_715_774_730_250); // 2024-05-15T12:05:30.250Z
    (conn, Catalog::new(&model).with_clock(clock))
}

fn run(sql: &str) -> QueryResult {
    let (conn, catalog) = db();
    execute(&conn, &catalog, sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

fn rows(sql: &str) -> Vec<Vec<Value>> {
    run(sql).rows
}

fn cols(sql: &str) -> Vec<(String, DcType)> {
    run(sql)
        .columns
        .into_iter()
        .map(|c| (c.name, c.ty))
        .collect()
}

fn fail(sql: &str) -> SqlError {
    let (conn, catalog) = db();
    match execute(&conn, &catalog, sql, &[]) {
        Ok(r) => panic!("{sql} succeeded: {r:?}"),
        Err(e) => e,
    }
}

#[test]
fn guide_queries_run_on_the_view() {
    let r = run("SELECT IndividualId, FirstName, LastName, Email FROM UnifiedIndividual LIMIT 50");
    assert_eq!(r.columns[0].name, "IndividualId");
    assert_eq!(r.rows.len(), 4);
    assert_eq!(
        r.rows[0],
        vec![
            json!("I1"),
            json!("Ada"),
            json!("Lovelace"),
            json!("ada@example.com")
        ]
    );
    assert_eq!(
        rows("SELECT IndividualId, Email FROM UnifiedIndividual LIMIT 1").len(),
        1
    );
}

#[test]
fn names_resolve_case_insensitively_and_keep_catalog_casing() {
    let c = cols("select ssot__firstname__c, I.SSOT__ID__C, count(*) AS n, lower(ssot__LastName__c) from SSOT__INDIVIDUAL__DLM i group by 1, 2, 4");
    assert_eq!(
        c,
        vec![
            ("ssot__FirstName__c".into(), DcType::Varchar),
            ("ssot__Id__c".into(), DcType::Varchar),
            ("n".into(), DcType::Bigint),
            ("lower(ssot__LastName__c)".into(), DcType::Varchar),
        ]
    );
    assert_eq!(
        rows(
            "SELECT \"ssot__FirstName__c\" FROM \"ssot__Individual__dlm\" WHERE ssot__id__c = 'I1'"
        ),
        vec![vec![json!("Ada")]]
    );
}

#[test]
fn values_are_encoded_by_type() {
    let r = run("SELECT ssot__BirthDate__c, ssot__CreatedDate__c, ssot__Score__c, ssot__IsActive__c, ssot__Visits__c FROM ssot__Individual__dlm ORDER BY ssot__Id__c");
    assert_eq!(
        r.rows[0],
        vec![
            json!("1815-12-10"),
            json!("2024-01-15T10:00:00.000Z"),
            json!(12.5),
            json!(true),
            json!(3)
        ]
    );
    assert_eq!(
        r.rows[3],
        vec![
            json!("1900-01-01"),
            Value::Null,
            json!(3.0),
            Value::Null,
            json!(0)
        ]
    );
    let types: Vec<DcType> = r.columns.iter().map(|c| c.ty).collect();
    use DcType::*;
    assert_eq!(types, vec![Date, Timestamp, Decimal, Boolean, Bigint]);
}

#[test]
fn like_is_case_sensitive_and_ilike_is_not() {
    let like =
        rows("SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__FirstName__c LIKE 'a%'");
    assert_eq!(like, vec![vec![json!("I2")]]);
    let ilike = rows("SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__FirstName__c ILIKE 'A%' ORDER BY 1");
    assert_eq!(ilike, vec![vec![json!("I1")], vec![json!("I2")]]);
    let unicode = rows(
        "SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__FirstName__c ILIKE 'émile'",
    );
    assert_eq!(unicode, vec![vec![json!("I4")]]);
    let escaped = rows("SELECT count(*) FROM ssot__ContactPointEmail__dlm WHERE ssot__EmailAddress__c LIKE '%\\_%'");
    assert_eq!(escaped, vec![vec![json!(0)]]);
}

#[test]
fn postgres_null_ordering() {
    let asc = rows("SELECT ssot__Id__c FROM ssot__Individual__dlm ORDER BY ssot__Score__c");
    assert_eq!(asc.last().unwrap(), &vec![json!("I3")]);
    let desc = rows("SELECT ssot__Id__c FROM ssot__Individual__dlm ORDER BY ssot__Score__c DESC");
    assert_eq!(desc[0], vec![json!("I3")]);
    let first = rows(
        "SELECT ssot__Id__c FROM ssot__Individual__dlm ORDER BY ssot__Score__c ASC NULLS FIRST",
    );
    assert_eq!(first[0], vec![json!("I3")]);
}

#[test]
fn timestamps_compare_as_instants() {
    let r = rows("SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__CreatedDate__c >= '2024-02-01 08:30:00' ORDER BY 1");
    assert_eq!(r, vec![vec![json!("I2")], vec![json!("I3")]]);
    let r = rows("SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__CreatedDate__c < DATE '2024-02-01'");
    assert_eq!(r, vec![vec![json!("I1")]]);
    let r = rows("SELECT count(*) FROM ssot__Individual__dlm WHERE ssot__IsActive__c = 'true'");
    assert_eq!(r, vec![vec![json!(2)]]);
}

#[test]
fn clock_functions_read_the_catalog_clock() {
    let r = run("SELECT NOW() AS n, CURRENT_DATE, CURRENT_TIMESTAMP - INTERVAL '1 day' AS y, CURRENT_DATE - 1 AS d");
    assert_eq!(
        r.rows[0],
        vec![
            json!("2024-05-15T12:05:30.250Z"),
            json!("2024-05-15"),
            json!("2024-05-14T12:05:30.250Z"),
            json!("2024-05-14")
        ]
    );
    use DcType::*;
    let types: Vec<DcType> = r.columns.iter().map(|c| c.ty).collect();
    assert_eq!(types, vec![Timestamp, Date, Timestamp, Date]);
}

#[test]
fn refusals() {
    for sql in [
        "INSERT INTO ssot__Individual__dlm (ssot__Id__c) VALUES ('x')",
        "DROP TABLE ssot__Individual__dlm",
        "PRAGMA query_only = OFF",
        "SELECT 1; DELETE FROM ssot__Individual__dlm",
    ] {
        assert_eq!(fail(sql).kind, SqlErrorKind::NotReadOnly, "{sql}");
    }
}

#[test]
fn unknown_names() {
    let e = fail("SELECT * FROM Nope__dlm");
    assert_eq!(e.kind, SqlErrorKind::UnknownTable);
    assert!(e.message.contains("Nope__dlm"), "{}", e.message);
    let e = fail("SELECT ssot__Nope__c FROM ssot__Individual__dlm");
    assert_eq!(e.kind, SqlErrorKind::UnknownColumn);
    assert!(e.message.contains("ssot__Nope__c"), "{}", e.message);
    let e = fail("SELECT i.nope FROM ssot__Individual__dlm i");
    assert_eq!(e.kind, SqlErrorKind::UnknownColumn);
    let e = fail("SELECT x.nope FROM (SELECT 1 AS a) x");
    assert_eq!(e.kind, SqlErrorKind::UnknownColumn);
}

#[test]
fn parameters_bind_by_name() {
    let (conn, catalog) = db();
    let p = |name: &str, value: Value, ty: &str| SqlParam {
        name: name.into(),
        value,
        ty: Some(ty.into()),
    };
    let r = execute(
        &conn,
        &catalog,
        "SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__FirstName__c = :name OR ssot__CreatedDate__c > :since::timestamp ORDER BY 1",
        &[p("name", json!("Ada"), "Varchar"), p("since", json!("2024-03-01T00:00:00Z"), "TimestampTZ")],
    )
    .unwrap();
    assert_eq!(r.rows, vec![vec![json!("I1")], vec![json!("I3")]]);
    let e = execute(&conn, &catalog, "SELECT :missing", &[]).unwrap_err();
    assert_eq!(e.kind, SqlErrorKind::Parameter);
    assert!(e.message.contains(":missing"));
}

#[test]
fn pg_catalog_lists_tables_and_columns() {
    let r = rows(
        "SELECT n.nspname, c.relname, CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW' END AS t, d.description \
         FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid \
         LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass) \
         WHERE c.relkind IN ('r', 'v') AND n.nspname NOT LIKE 'pg_%' ORDER BY n.nspname, c.relname",
    );
    assert_eq!(
        rows_len_and_first(&r),
        (3, json!(["public", "UnifiedIndividual", "VIEW", null]))
    );
    let r = rows(
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull AS nullable \
         FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid WHERE c.relname = 'ssot__Individual__dlm' ORDER BY a.attnum",
    );
    assert_eq!(
        r[0],
        vec![
            json!("ssot__Id__c"),
            json!("character varying"),
            json!(false)
        ]
    );
    assert_eq!(
        r[5],
        vec![json!("ssot__Score__c"), json!("numeric(18,2)"), json!(true)]
    );
}

fn rows_len_and_first(r: &[Vec<Value>]) -> (usize, Value) {
    (r.len(), Value::Array(r[0].clone()))
}

#[test]
fn plans_are_cached_unless_they_read_the_clock() {
    let (_conn, catalog) = db();
    let a = catalog.plan("SELECT 1").unwrap();
    let b = catalog.plan("SELECT 1").unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let a = catalog.plan("SELECT now()").unwrap();
    let b = catalog.plan("SELECT now()").unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &b));
}

#[test]
fn long_operator_chains_plan_without_overflowing_the_stack() {
    let (conn, catalog) = db();
    for n in [10, 100, 999] {
        let sql = format!(
            "SELECT count(*) FROM ssot__Individual__dlm WHERE {}",
            vec!["ssot__Id__c = 'x'"; n / 2].join(" OR ")
        );
        let r = execute(&conn, &catalog, &sql, &[]).unwrap();
        assert_eq!(r.rows, vec![vec![json!(0)]], "{n}");
    }
    let sql = format!("SELECT {}", vec!["1"; 900].join(" + "));
    assert_eq!(
        execute(&conn, &catalog, &sql, &[]).unwrap().rows,
        vec![vec![json!(900)]]
    );
    let sql = format!("SELECT {}", vec!["1"; 5000].join(" + "));
    let e = execute(&conn, &catalog, &sql, &[]).unwrap_err();
    assert!(e.message.contains("too complex"), "{}", e.message);
}

#[test]
fn nested_subqueries_plan_within_a_worker_stack() {
    let (conn, catalog) = db();
    for depth in [15, 30] {
        let sql = format!("{}1{}", "SELECT (".repeat(depth), ")".repeat(depth));
        let r = execute(&conn, &catalog, &sql, &[]).unwrap();
        assert_eq!(r.rows, vec![vec![json!(1)]], "{depth}");
        let sql = format!(
            "SELECT * FROM {}ssot__Individual__dlm{} WHERE ssot__Id__c = 'I1'",
            "(SELECT * FROM ".repeat(depth),
            ") x".repeat(depth)
        );
        assert_eq!(
            execute(&conn, &catalog, &sql, &[]).unwrap().rows.len(),
            1,
            "{depth}"
        );
    }
}

#[test]
fn mangled_statements_never_panic() {
    use rand::{Rng, SeedableRng};
    let (conn, catalog) = db();
    let seeds = [
        "SELECT i.ssot__FirstName__c, count(*) FROM ssot__Individual__dlm i JOIN ssot__ContactPointEmail__dlm e ON e.ssot__PartyId__c = i.ssot__Id__c WHERE i.ssot__CreatedDate__c > NOW() - INTERVAL '3 days' GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC NULLS LAST LIMIT 5",
        "WITH x(a, b) AS (SELECT ssot__Id__c, ssot__Score__c::numeric(10,1) FROM ssot__Individual__dlm) SELECT a, b, rank() OVER (ORDER BY b) FROM x WHERE a ILIKE 'i%' UNION ALL SELECT 'z', 1.5, 0",
        "SELECT to_char(ssot__CreatedDate__c, 'YYYY-Mon'), date_trunc('week', ssot__CreatedDate__c), EXTRACT(DOW FROM ssot__BirthDate__c), split_part(ssot__LastName__c, 'a', 2), ssot__FirstName__c ~* '^a' FROM ssot__Individual__dlm FETCH FIRST 2 ROWS ONLY",
        "SELECT * FROM (VALUES (1, 'a')) AS v(n, s) WHERE n IN (SELECT ssot__Visits__c FROM ssot__Individual__dlm) AND s SIMILAR TO '%a%' AND :p IS NULL",
    ];
    let alphabet: Vec<char> = "()'\",.;:*%_-+|~!=<>éZ0 9aS\n".chars().collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for round in 0..1500 {
        let mut sql: Vec<char> = seeds[round % seeds.len()].chars().collect();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..sql.len());
            match rng.random_range(0..3) {
                0 => {
                    sql.remove(at);
                }
                1 => sql.insert(at, alphabet[rng.random_range(0..alphabet.len())]),
                _ => sql[at] = alphabet[rng.random_range(0..alphabet.len())],
            }
        }
        let sql: String = sql.into_iter().collect();
        let params = [SqlParam {
            name: "p".into(),
            value: Value::Null,
            ty: None,
        }];
        // Success or a typed error are both fine; a panic fails the test.
        let _ = execute(&conn, &catalog, &sql, &params);
    }
}

#[test]
fn labels_follow_sqlite_when_a_star_expands_differently() {
    let cols = |sql: &str| cols(sql).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(cols("SELECT 1 AS \"x:1\", 2 AS \"ID\""), vec!["x:1", "ID"]);
    let c = cols("SELECT * FROM (SELECT i.ssot__Id__c, e.ssot__Id__c FROM ssot__Individual__dlm i JOIN ssot__ContactPointEmail__dlm e ON e.ssot__PartyId__c = i.ssot__Id__c) x");
    assert_eq!(c.len(), 2);
    assert_eq!(c[0], "ssot__Id__c");
}
