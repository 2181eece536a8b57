//! Applying validated records: an upsert writes the record's DLO row
//! (replacing it when the primary key exists: the guide's `EnableAsUpsert`)
//! and each mapped DMO row; a delete removes the DLO row and the DMO rows
//! its key maps to.
//!
//! Runs inside the processor's transaction, on the writer connection. The
//! caller wraps each record in a savepoint, so a record is applied whole or
//! not at all.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use crate::org::Org;

use super::mapping::{Context, Mapping};
use super::validate::Record;
use super::{
    dlo_field_name, key_qualifier_name, DmoChange, ProfileChanges, Stream, DLO_INGESTED_FIELD,
    DLO_OBJECT_FIELD, DLO_SOURCE_FIELD,
};

/// What every record of one processing run shares.
pub struct Run<'a> {
    pub conn: &'a Connection,
    pub org: &'a Org,
    /// Time of processing, stored form (`2026-04-19T10:00:00.000Z`).
    pub now: String,
    /// The same time in Unix milliseconds.
    pub now_ms: i64,
    pub changes: &'a mut ProfileChanges,
}

impl Run<'_> {
    /// Upserts `record` of `stream` into its DLO and mapped DMOs.
    pub fn upsert(&mut self, stream: &Stream, record: &Record) -> Result<(), String> {
        let mut columns = Vec::with_capacity(stream.object.fields.len() + 4);
        let mut values = Vec::with_capacity(columns.capacity());
        for (i, field) in stream.object.fields.iter().enumerate() {
            let value = match record.get(i) {
                None => Value::Null,
                Some(text) => crate::store::text_value(field.kind.dc_type(), text)
                    .map_err(|m| format!("{}: {m}", field.name))?,
            };
            columns.push(dlo_field_name(&field.name));
            values.push(value);
        }
        let pk = stream.primary_key_name();
        for (column, value) in [
            (key_qualifier_name(pk), stream.key_qualifier.clone()),
            (DLO_SOURCE_FIELD.to_owned(), stream.connector.clone()),
            (DLO_OBJECT_FIELD.to_owned(), stream.object.name.clone()),
            (DLO_INGESTED_FIELD.to_owned(), self.now.clone()),
        ] {
            columns.push(column);
            values.push(Value::Text(value));
        }
        let key = dlo_field_name(pk);
        let updates: Vec<&str> = columns
            .iter()
            .map(String::as_str)
            .filter(|c| *c != key)
            .collect();
        self.upsert_row(&stream.dlo, &key, &columns, &updates, values)?;
        for mapping in &stream.mappings {
            self.map(stream, mapping, record)?;
        }
        Ok(())
    }

    /// Deletes the record of `stream` whose primary key is `id`, and the DMO
    /// rows its mappings made. Deleting a key that is not there is no error.
    pub fn delete(&mut self, stream: &Stream, id: &str) -> Result<(), String> {
        let key = dlo_field_name(stream.primary_key_name());
        self.delete_row(&stream.dlo, &key, id)?;
        let mut only_key = Record(vec![None; stream.object.fields.len()]);
        only_key.0[stream.primary_key] = Some(id.to_owned());
        for mapping in &stream.mappings {
            let Some(dmo_key) = self.key_of(stream, mapping, &only_key) else {
                continue;
            };
            if self.delete_row(&mapping.dmo, &mapping.key_column, &dmo_key)? > 0 {
                self.note(&mapping.dmo, dmo_key, true);
            }
        }
        Ok(())
    }

    fn context<'r>(&'r self, stream: &'r Stream, record: &'r Record) -> Context<'r> {
        Context {
            record,
            source: &stream.connector,
            object: &stream.object.name,
            key_qualifier: &stream.key_qualifier,
            org_id: &self.org.org_id,
            now: &self.now,
        }
    }

    fn key_of(&self, stream: &Stream, mapping: &Mapping, record: &Record) -> Option<String> {
        mapping.key()?.template.eval(&self.context(stream, record))
    }

    fn map(&mut self, stream: &Stream, mapping: &Mapping, record: &Record) -> Result<(), String> {
        let Some(key) = self.key_of(stream, mapping, record) else {
            return Ok(());
        };
        if mapping.when.is_some_and(|w| record.get(w).is_none()) {
            if self.delete_row(&mapping.dmo, &mapping.key_column, &key)? > 0 {
                self.note(&mapping.dmo, key, true);
            }
            return Ok(());
        }
        let ctx = self.context(stream, record);
        let mut columns = Vec::with_capacity(mapping.columns.len());
        let mut updates = Vec::with_capacity(mapping.columns.len());
        let mut values = Vec::with_capacity(mapping.columns.len());
        for column in &mapping.columns {
            let value = match column.template.eval(&ctx) {
                None => Value::Null,
                Some(text) => crate::store::text_value(column.ty, &text)
                    .map_err(|m| format!("{}.{}: {m}", mapping.dmo, column.name))?,
            };
            columns.push(column.name.clone());
            if !column.keep && column.name != mapping.key_column {
                updates.push(column.name.as_str());
            }
            values.push(value);
        }
        self.upsert_row(
            &mapping.dmo,
            &mapping.key_column,
            &columns,
            &updates,
            values,
        )?;
        self.note(&mapping.dmo, key, false);
        Ok(())
    }

    fn note(&mut self, dmo: &str, id: String, deleted: bool) {
        let profile = self
            .org
            .model
            .object(dmo)
            .is_some_and(|o| o.category == "Profile");
        if profile {
            self.changes.rows.push(DmoChange {
                dmo: dmo.to_owned(),
                id,
                deleted,
            });
        }
    }

    /// `INSERT … ON CONFLICT (key) DO UPDATE SET` the `updates` columns.
    fn upsert_row(
        &self,
        table: &str,
        key: &str,
        columns: &[String],
        updates: &[&str],
        values: Vec<Value>,
    ) -> Result<(), String> {
        let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let action = if updates.is_empty() {
            "NOTHING".to_owned()
        } else {
            let sets: Vec<String> = updates
                .iter()
                .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
                .collect();
            format!("UPDATE SET {}", sets.join(", "))
        };
        let sql = format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({}) ON CONFLICT (\"{key}\") DO {action}",
            names.join(", "),
            marks.join(", ")
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| format!("{table}: {e}"))?;
        stmt.execute(params_from_iter(values.iter()))
            .map_err(|e| format!("{table}: {e}"))?;
        Ok(())
    }

    fn delete_row(&self, table: &str, key: &str, id: &str) -> Result<usize, String> {
        let sql = format!("DELETE FROM \"{table}\" WHERE \"{key}\" = ?1");
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| format!("{table}: {e}"))?;
        stmt.execute([id]).map_err(|e| format!("{table}: {e}"))
    }
}
