//! The CSV files of bulk jobs: a quick check when a file is uploaded, and
//! row-by-row application when the processor takes the closed job
//! ([`process_job`]).
//!
//! Upsert files start with a header naming every schema field once (any
//! order); delete files have no header and one column (the primary key) or
//! two (the key and a record-version date-time). A row that does not fit —
//! wrong number of values, a value of the wrong type or format, a blank
//! primary key, bytes that are not UTF-8 — is counted failed and nothing of
//! it is written; every other row is applied whole (in a savepoint). Like
//! Bulk API 2.0, `numberRecordsProcessed` counts every row, failed or not.

use rusqlite::params;

use crate::ingest::apply::Run;
use crate::ingest::queue::{count, in_savepoint};
use crate::ingest::validate::{self, Record};
use crate::ingest::{FieldKind, Runtime, SchemaObject, Stream};

use super::get;

/// Rows seen and rows failed, over a job's files.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub processed: i64,
    pub failed: i64,
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body)
}

fn reader(body: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(strip_bom(body))
}

/// Checks an uploaded file before it is stored: not empty, and for upserts
/// a header that names exactly the schema's fields.
pub fn check_upload(object: &SchemaObject, operation: &str, body: &[u8]) -> Result<(), String> {
    if strip_bom(body).iter().all(u8::is_ascii_whitespace) {
        return Err("The CSV file is empty".into());
    }
    if operation != "upsert" {
        return Ok(());
    }
    let mut record = csv::ByteRecord::new();
    let mut rdr = reader(body);
    match rdr.read_byte_record(&mut record) {
        Ok(true) => header_map(object, &record).map(|_| ()),
        Ok(false) => Err("The CSV file is empty".into()),
        Err(e) => Err(format!("CSV header: {e}")),
    }
}

/// Field index of each header column.
fn header_map(object: &SchemaObject, header: &csv::ByteRecord) -> Result<Vec<usize>, String> {
    let mut map = Vec::with_capacity(header.len());
    for cell in header {
        let name = std::str::from_utf8(cell).map_err(|_| "CSV header: not UTF-8".to_owned())?;
        let i = object.index_of(name.trim()).ok_or_else(|| {
            format!(
                "CSV header names `{name}`, which is not a field of `{}`",
                object.name
            )
        })?;
        if map.contains(&i) {
            return Err(format!("CSV header names `{name}` twice"));
        }
        map.push(i);
    }
    if let Some(missing) = (0..object.fields.len()).find(|i| !map.contains(i)) {
        return Err(format!(
            "CSV header lacks `{}`: every field of `{}` must be a column",
            object.fields[missing].name, object.name
        ));
    }
    Ok(map)
}

/// Applies one file of a job.
pub(super) fn apply_file(
    run: &mut Run<'_>,
    runtime: &Runtime,
    stream: &Stream,
    operation: &str,
    body: &[u8],
    counts: &mut Counts,
) -> rusqlite::Result<()> {
    let mut rdr = reader(body);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<Vec<usize>> = None;
    let (source, object) = (stream.connector.as_str(), stream.object.name.as_str());
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // Reading from memory with `flexible` only fails on broken
                // input it cannot resync from: count it and stop the file.
                counts.processed += 1;
                counts.failed += 1;
                count(runtime, source, object, Err(format!("CSV: {e}")));
                break;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if operation == "upsert" && header.is_none() {
            match header_map(&stream.object, &record) {
                Ok(map) => header = Some(map),
                Err(m) => {
                    // Checked at upload; a file that still fails counts every row failed.
                    let rows = rdr.byte_records().count() as i64;
                    counts.processed += rows;
                    counts.failed += rows;
                    count(runtime, source, object, Err(m));
                    return Ok(());
                }
            }
            continue;
        }
        counts.processed += 1;
        let parsed = match &header {
            Some(map) => {
                upsert_row(&stream.object, stream.primary_key, map, &record).map(Row::Upsert)
            }
            None => delete_row(&record).map(Row::Delete),
        };
        let result = match parsed {
            Err(m) => Err(format!("line {line}: {m}")),
            Ok(row) => {
                let conn = run.conn;
                in_savepoint(conn, || match &row {
                    Row::Upsert(r) => run.upsert(stream, r),
                    Row::Delete(id) => run.delete(stream, id),
                })?
                .map_err(|m| format!("line {line}: {m}"))
            }
        };
        if result.is_err() {
            counts.failed += 1;
        }
        count(runtime, source, object, result);
    }
    Ok(())
}

enum Row {
    Upsert(Record),
    Delete(String),
}

fn upsert_row(
    object: &SchemaObject,
    primary_key: usize,
    map: &[usize],
    row: &csv::ByteRecord,
) -> Result<Record, String> {
    if row.len() != map.len() {
        return Err(format!(
            "{} values, but the header has {} columns",
            row.len(),
            map.len()
        ));
    }
    let mut values = vec![None; object.fields.len()];
    for (cell, &i) in row.iter().zip(map) {
        let field = &object.fields[i];
        let text = std::str::from_utf8(cell)
            .map_err(|_| format!("field {}: not UTF-8 text", field.name))?;
        values[i] = validate::text_value(field.kind, text)
            .map_err(|m| format!("field {}: {m}", field.name))?;
    }
    if values[primary_key].is_none() {
        return Err(format!(
            "field {}: the primary key must not be blank",
            object.fields[primary_key].name
        ));
    }
    Ok(Record(values))
}

fn delete_row(row: &csv::ByteRecord) -> Result<String, String> {
    if row.is_empty() || row.len() > 2 {
        return Err(format!(
            "{} values; a delete row has the primary key and optionally a record-version date-time",
            row.len()
        ));
    }
    let id = std::str::from_utf8(&row[0]).map_err(|_| "not UTF-8 text".to_owned())?;
    if id.is_empty() {
        return Err("the primary key must not be blank".into());
    }
    if row.len() == 2 {
        let version = std::str::from_utf8(&row[1]).map_err(|_| "not UTF-8 text".to_owned())?;
        match validate::text_value(FieldKind::DateTime, version) {
            Ok(Some(_)) => {}
            Ok(None) => return Err("the record version is blank".into()),
            Err(m) => return Err(format!("record version: {m}")),
        }
    }
    Ok(id.to_owned())
}

/// Applies every row of a closed job (the processor, in its transaction).
pub fn process_job(run: &mut Run<'_>, runtime: &Runtime, id: &str) -> rusqlite::Result<()> {
    let Some(job) = get(run.conn, id, run.now_ms)? else {
        return Ok(());
    };
    if job.state != "UploadComplete" {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let stream = run
        .org
        .connector(&job.source)
        .and_then(|c| c.stream(&job.object))
        .cloned();
    let (state, counts) = match stream {
        None => {
            tracing::warn!(job = id, "bulk job for a stream the org no longer has");
            ("Failed", Counts::default())
        }
        Some(stream) => {
            let bodies: Vec<Vec<u8>> = {
                let mut stmt = run.conn.prepare(
                    "SELECT body FROM \"__dc_ingest_batches\" WHERE job_id = ?1 ORDER BY n",
                )?;
                let rows = stmt.query_map([id], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut counts = Counts::default();
            for body in &bodies {
                apply_file(run, runtime, &stream, &job.operation, body, &mut counts)?;
            }
            ("JobComplete", counts)
        }
    };
    run.conn.execute(
        "DELETE FROM \"__dc_ingest_batches\" WHERE job_id = ?1",
        [id],
    )?;
    run.conn.execute(
        "UPDATE \"__dc_ingest_jobs\" SET state = ?2, processed = ?3, failed = ?4,
           processing_ms = ?5, modstamp_ms = ?6 WHERE id = ?1",
        params![
            id,
            state,
            counts.processed,
            counts.failed,
            i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            run.now_ms
        ],
    )?;
    Ok(())
}
