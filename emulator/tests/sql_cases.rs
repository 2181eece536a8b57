//! Data-driven SQL cases: every `fixtures/queries/NAME.sql` runs against the
//! built-in default org (through the store's read-only connections, as the
//! query routes run it) and must produce `NAME.expected`.
//!
//! `NAME.sql` may start with `-- param: {"name": …, "value": …, "type": …}`
//! lines (Connect `sqlParameters`). `NAME.expected` is either a result:
//!
//! ```text
//! columns: IndividualId Varchar, Email Varchar
//! rows: 50            (optional: the rows below are then only the first ones)
//! ["b7bf…", "gabriel_edwards48@example.com"]
//! ```
//!
//! or an error: `error: UnknownTable` and `message: <fragment it contains>`.
//! Lines starting with `#` are comments. `NOW()` reads a clock pinned at
//! 2024-06-15T12:00:00.000Z. Run with `SQL_CASES_BLESS=1` to write the
//! `.expected` of cases that have none (then check them by hand).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dc_emulator::clock::Clock;
use dc_emulator::org::{FixtureSource, Org};
use dc_emulator::sql::{self, Catalog, QueryResult, SqlError, SqlParam};
use dc_emulator::store::Store;
use serde_json::Value;

/// 2024-06-15T12:00:00.000Z.
const PINNED_NOW_MS: i64 = 1_718_452_800_000;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/queries")
}

/// One case's text and parameters.
struct Case {
    name: String,
    sql: String,
    params: Vec<SqlParam>,
    expected_path: PathBuf,
}

fn load_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(cases_dir())
        .expect("fixtures/queries exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|path| {
            let sql = std::fs::read_to_string(&path).unwrap();
            let params = sql
                .lines()
                .filter_map(|l| l.trim().strip_prefix("-- param:"))
                .map(|json| {
                    let v: Value = serde_json::from_str(json.trim())
                        .unwrap_or_else(|e| panic!("{path:?}: bad param {json}: {e}"));
                    SqlParam {
                        name: v["name"].as_str().unwrap_or_default().to_string(),
                        value: v["value"].clone(),
                        ty: v["type"].as_str().map(str::to_string),
                    }
                })
                .collect();
            Case {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                expected_path: path.with_extension("expected"),
                sql,
                params,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The readable form a result or error is compared in.
fn render(outcome: &Result<QueryResult, SqlError>, expected: Option<&Expected>) -> String {
    let mut out = String::new();
    match outcome {
        Ok(r) => {
            let cols: Vec<String> = r
                .columns
                .iter()
                .map(|c| format!("{} {:?}", c.name, c.ty))
                .collect();
            writeln!(out, "columns: {}", cols.join(", ")).unwrap();
            let shown = match expected {
                Some(Expected {
                    row_count: Some(n),
                    rows,
                    ..
                }) => {
                    writeln!(out, "rows: {n}").unwrap();
                    if *n != r.rows.len() {
                        writeln!(out, "# actual row count: {}", r.rows.len()).unwrap();
                    }
                    rows.len()
                }
                _ => r.rows.len(),
            };
            for row in r.rows.iter().take(shown) {
                writeln!(out, "{}", serde_json::to_string(row).unwrap()).unwrap();
            }
        }
        Err(e) => {
            writeln!(out, "error: {:?}", e.kind).unwrap();
            match expected {
                Some(Expected {
                    message: Some(m), ..
                }) if e.message.contains(m.as_str()) => writeln!(out, "message: {m}").unwrap(),
                _ => writeln!(out, "message: {}", e.message).unwrap(),
            }
        }
    }
    out
}

/// A parsed `.expected` file.
struct Expected {
    text: String,
    row_count: Option<usize>,
    rows: Vec<String>,
    message: Option<String>,
}

fn parse_expected(raw: &str) -> Expected {
    let lines: Vec<&str> = raw
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    let row_count = lines
        .iter()
        .find_map(|l| l.strip_prefix("rows:"))
        .map(|n| n.trim().parse().expect("rows: N"));
    let message = lines
        .iter()
        .find_map(|l| l.strip_prefix("message:"))
        .map(|m| m.trim().to_string());
    // Rows are compared as JSON, so spacing in the file does not matter.
    let normalize = |l: &str| -> String {
        if l.starts_with('[') {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {l}: {e}"));
            serde_json::to_string(&v).unwrap()
        } else {
            l.trim_end().to_string()
        }
    };
    let lines: Vec<String> = lines.iter().map(|l| normalize(l)).collect();
    Expected {
        rows: lines
            .iter()
            .filter(|l| l.starts_with('['))
            .cloned()
            .collect(),
        text: lines.iter().map(|l| format!("{l}\n")).collect(),
        row_count,
        message,
    }
}

/// Line-by-line diff: `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => writeln!(out, "  {x}").unwrap(),
            (x, y) => {
                if let Some(x) = x {
                    writeln!(out, "- {x}").unwrap();
                }
                if let Some(y) = y {
                    writeln!(out, "+ {y}").unwrap();
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn sql_cases() {
    let org = Org::load(&FixtureSource::Builtin).expect("default org loads");
    let store = Store::open(None, &org).expect("store opens");
    let clock = Clock::default();
    clock.pin_ms(PINNED_NOW_MS);
    let catalog = Arc::new(Catalog::new(&org.model).with_clock(clock));
    let bless = std::env::var_os("SQL_CASES_BLESS").is_some();
    let cases = load_cases();
    assert!(
        cases.len() >= 30,
        "expected the full case set, found {}",
        cases.len()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let (sql, params, cat) = (case.sql.clone(), case.params.clone(), Arc::clone(&catalog));
        let outcome = store
            .read(move |conn| sql::execute(conn, &cat, &sql, &params))
            .await
            .expect("store read");
        let Ok(raw) = std::fs::read_to_string(&case.expected_path) else {
            if bless {
                std::fs::write(&case.expected_path, render(&outcome, None)).unwrap();
                continue;
            }
            failures.push(format!(
                "{}: no .expected file (run with SQL_CASES_BLESS=1)",
                case.name
            ));
            continue;
        };
        let expected = parse_expected(&raw);
        let actual = render(&outcome, Some(&expected));
        if actual != expected.text {
            let sql: String = case.sql.trim().chars().take(300).collect();
            failures.push(format!(
                "{} ({sql}):\n{}",
                case.name,
                diff(&expected.text, &actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} SQL cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
