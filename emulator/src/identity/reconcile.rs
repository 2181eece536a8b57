//! Reconciliation: which source record's value a unified record shows.
//!
//! * `LAST_UPDATED`: the record with the latest `ssot__LastModifiedDate__c`
//!   (a record without one counts as oldest).
//! * `SOURCE_SEQUENCE`: the record from the most trusted source — the first
//!   listed name equal to its `ssot__DataSourceId__c` or
//!   `ssot__DataSourceObjectId__c`; unlisted sources come last — then the
//!   latest updated among those.
//! * `MOST_FREQUENT`: the value most records share, then the latest updated.
//!
//! With `shouldIgnoreEmptyValue`, NULL and blank values never win. Remaining
//! ties go to the smallest source record id, so the result never depends on
//! row order.

use std::cmp::Ordering;
use std::collections::HashMap;

use rusqlite::types::Value;

use crate::org::identity::{RuleKind, RuleSpec};

use super::table::{is_empty, Table};

/// Columns every DMO row may carry that reconciliation orders by.
#[derive(Debug, Clone, Copy)]
pub struct SysCols {
    pub id: Option<usize>,
    pub modified: Option<usize>,
    pub created: Option<usize>,
    pub source: Option<usize>,
    pub source_object: Option<usize>,
}

impl SysCols {
    pub fn of(table: &Table) -> SysCols {
        SysCols {
            id: table.col("ssot__Id__c"),
            modified: table.col("ssot__LastModifiedDate__c"),
            created: table.col("ssot__CreatedDate__c"),
            source: table.col("ssot__DataSourceId__c"),
            source_object: table.col("ssot__DataSourceObjectId__c"),
        }
    }
}

/// Reads the ordering facts of one row.
struct Facts<'a> {
    row: usize,
    modified: Option<&'a str>,
    id: &'a str,
}

fn facts<'a>(table: &'a Table, sys: &SysCols, row: usize) -> Facts<'a> {
    let text = |c: Option<usize>| match c.map(|c| &table.rows[row][c]) {
        Some(Value::Text(s)) => Some(s.as_str()),
        _ => None,
    };
    Facts {
        row,
        modified: text(sys.modified),
        id: text(sys.id).unwrap_or(""),
    }
}

/// Latest updated first, then smallest id.
fn recency(a: &Facts<'_>, b: &Facts<'_>) -> Ordering {
    b.modified.cmp(&a.modified).then_with(|| a.id.cmp(b.id))
}

/// Position of the row's source in `sources` (unlisted: after all listed).
fn rank(table: &Table, sys: &SysCols, row: usize, sources: &[String]) -> usize {
    let matches = |c: Option<usize>, name: &str| matches!(c.map(|c| &table.rows[row][c]), Some(Value::Text(s)) if s == name);
    sources
        .iter()
        .position(|s| matches(sys.source, s) || matches(sys.source_object, s))
        .unwrap_or(sources.len())
}

/// The unified value of column `col` over the source `rows`.
pub fn pick(rule: &RuleSpec, table: &Table, sys: &SysCols, rows: &[usize], col: usize) -> Value {
    let mut candidates: Vec<Facts<'_>> = rows
        .iter()
        .filter(|&&r| !(rule.ignore_empty && is_empty(&table.rows[r][col])))
        .map(|&r| facts(table, sys, r))
        .collect();
    let winner = match rule.kind {
        RuleKind::LastUpdated => candidates.iter().min_by(|a, b| recency(a, b)),
        RuleKind::SourceSequence => {
            candidates.sort_by_cached_key(|f| rank(table, sys, f.row, &rule.sources));
            let best = candidates
                .first()
                .map(|f| rank(table, sys, f.row, &rule.sources));
            candidates
                .iter()
                .filter(|f| Some(rank(table, sys, f.row, &rule.sources)) == best)
                .min_by(|a, b| recency(a, b))
        }
        RuleKind::MostFrequent => {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for f in &candidates {
                *counts
                    .entry(value_key(&table.rows[f.row][col]))
                    .or_default() += 1;
            }
            let count = |f: &Facts<'_>| counts[&value_key(&table.rows[f.row][col])];
            candidates
                .iter()
                .min_by(|a, b| count(b).cmp(&count(a)).then_with(|| recency(a, b)))
        }
    };
    winner.map_or(Value::Null, |f| table.rows[f.row][col].clone())
}

fn value_key(v: &Value) -> String {
    format!("{v:?}")
}

/// Earliest (`max == false`) or latest text of a timestamp column over `rows`.
pub fn extreme(table: &Table, col: Option<usize>, rows: &[usize], max: bool) -> Value {
    let Some(c) = col else {
        return Value::Null;
    };
    let texts = rows.iter().filter_map(|&r| match &table.rows[r][c] {
        Value::Text(s) => Some(s),
        _ => None,
    });
    let best = if max { texts.max() } else { texts.min() };
    best.map_or(Value::Null, |s| Value::Text(s.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DcType;

    fn table() -> Table {
        let t = |s: &str| Value::Text(s.into());
        Table {
            object: "T".into(),
            columns: vec![
                "ssot__Id__c".into(),
                "ssot__DataSourceId__c".into(),
                "ssot__LastModifiedDate__c".into(),
                "ssot__FirstName__c".into(),
            ],
            types: vec![DcType::Varchar; 4],
            rows: vec![
                vec![t("a"), t("CRM"), t("2024-01-01T00:00:00.000Z"), t("Jon")],
                vec![t("b"), t("WEB"), t("2024-06-01T00:00:00.000Z"), Value::Null],
                vec![t("c"), t("WEB"), t("2024-03-01T00:00:00.000Z"), t("John")],
                vec![t("d"), t("APP"), t("2023-03-01T00:00:00.000Z"), t("John")],
            ],
        }
    }

    fn spec(kind: RuleKind, ignore_empty: bool) -> RuleSpec {
        RuleSpec {
            kind,
            ignore_empty,
            sources: vec!["CRM".into(), "WEB".into()],
        }
    }

    #[test]
    fn rules_pick_their_winner() {
        let t = table();
        let sys = SysCols::of(&t);
        let all = [0, 1, 2, 3];
        let john = Value::Text("John".into());
        assert_eq!(
            pick(&spec(RuleKind::LastUpdated, true), &t, &sys, &all, 3),
            john
        );
        assert_eq!(
            pick(&spec(RuleKind::LastUpdated, false), &t, &sys, &all, 3),
            Value::Null
        );
        assert_eq!(
            pick(&spec(RuleKind::SourceSequence, true), &t, &sys, &all, 3),
            Value::Text("Jon".into())
        );
        // Without CRM, WEB outranks the unlisted APP.
        assert_eq!(
            pick(&spec(RuleKind::SourceSequence, true), &t, &sys, &[2, 3], 0),
            Value::Text("c".into())
        );
        assert_eq!(
            pick(&spec(RuleKind::MostFrequent, true), &t, &sys, &all, 3),
            john
        );
        assert_eq!(
            extreme(&t, sys.modified, &all, true),
            Value::Text("2024-06-01T00:00:00.000Z".into())
        );
    }
}
