//! Rows in memory, the engine's input and output: every field of one object,
//! as SQLite values, loaded from the store or parsed from fixture CSV.
//!
//! Both ways give the same values (CSV cells go through the store's own
//! per-type conversion), so the fixture generator and a run on the store
//! resolve identical inputs identically.

use std::borrow::Cow;

use rusqlite::types::Value;
use rusqlite::Connection;

use crate::model::{DcType, ObjectDef};

/// The rows of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub object: String,
    pub columns: Vec<String>,
    pub types: Vec<DcType>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with every field of `object`.
    pub fn empty(object: &ObjectDef) -> Table {
        Table {
            object: object.name.clone(),
            columns: object.fields.iter().map(|f| f.name.clone()).collect(),
            types: object.fields.iter().map(|f| f.ty).collect(),
            rows: Vec::new(),
        }
    }

    /// Index of a column (case-insensitive).
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    /// A cell as text (`None` for NULL or a missing column).
    pub fn text(&self, row: usize, col: Option<usize>) -> Option<Cow<'_, str>> {
        col.and_then(|c| cell_text(&self.rows[row][c]))
    }

    /// Every row of `object`, all fields in model order.
    pub fn load(conn: &Connection, object: &ObjectDef) -> rusqlite::Result<Table> {
        let mut table = Table::empty(object);
        let cols: Vec<String> = table.columns.iter().map(|c| format!("\"{c}\"")).collect();
        let sql = format!("SELECT {} FROM \"{}\"", cols.join(", "), object.name);
        let mut stmt = conn.prepare(&sql)?;
        let n = cols.len();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(row.get::<_, Value>(i)?);
            }
            table.rows.push(values);
        }
        Ok(table)
    }

    /// Parses fixture CSV (a header of field names, any subset and order)
    /// with the store's per-type conversion.
    pub fn from_csv(object: &ObjectDef, csv: &str) -> Result<Table, String> {
        let mut table = Table::empty(object);
        let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
        let header = reader.headers().map_err(|e| e.to_string())?.clone();
        let positions = header
            .iter()
            .map(|h| table.col(h).ok_or_else(|| format!("unknown field `{h}`")))
            .collect::<Result<Vec<_>, _>>()?;
        for record in reader.records() {
            let record = record.map_err(|e| e.to_string())?;
            let mut row = vec![Value::Null; table.columns.len()];
            for (cell, &i) in record.iter().zip(&positions) {
                row[i] = crate::store::text_value(table.types[i], cell)?;
            }
            table.rows.push(row);
        }
        Ok(table)
    }

    /// CSV in the fixture form: every column, NULL as an empty cell,
    /// booleans as `true`/`false`, decimals with two places.
    pub fn to_csv(&self) -> String {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for row in &self.rows {
            let cells = row.iter().zip(&self.types).map(|(v, ty)| match (v, ty) {
                (Value::Integer(i), DcType::Boolean) => (*i != 0).to_string(),
                (Value::Real(r), DcType::Decimal) => format!("{r:.2}"),
                (v, _) => cell_text(v).map(Cow::into_owned).unwrap_or_default(),
            });
            let _ = w.write_record(cells);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// A value as text (`None` for NULL and blobs).
pub fn cell_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Text(s) => Some(Cow::Borrowed(s)),
        Value::Integer(i) => Some(Cow::Owned(i.to_string())),
        Value::Real(r) => Some(Cow::Owned(r.to_string())),
        Value::Null | Value::Blob(_) => None,
    }
}

/// Whether a value counts as empty for reconciliation (NULL or blank text).
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Text(s) => s.trim().is_empty(),
        _ => false,
    }
}
