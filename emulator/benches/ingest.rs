//! Ingestion throughput (`cargo bench -p dc-emulator --bench ingest`).
//!
//! The emulator runs in-process with the default org (processing delay 0);
//! a Data Cloud token comes from the real JWT grant and a360 exchange. The
//! bench sends `REQUESTS` streaming inserts of 50 `EngagementEvent` records
//! each (`POST /api/v1/ingest/sources/Bridged/EngagementEvent`, the guide's
//! limit) over one keep-alive HTTPS connection, and again spread over four
//! connections in parallel, then waits until the processor has applied every
//! record. It reports records/s for acceptance alone (every 202 received:
//! the records are durably queued) and end to end (accepted and applied to
//! the DLO).
//!
//! In the same run the very rows the emulator stored are read back and
//! upserted directly with rusqlite into a fresh database with the DLO's own
//! schema (its DDL copied from the emulator's database): the statement the
//! processor runs (`INSERT … ON CONFLICT DO UPDATE`), prepared once, one
//! transaction per 50 rows, with the emulator's durability settings — an
//! in-memory `memdb` database like the emulator's default, and a WAL file
//! with `synchronous=FULL` like its `--db`. The ratio is what the HTTPS,
//! validation, durable queue and processor cost on top of the bare inserts.
//!
//! Prints Markdown rows for BENCHMARKS.md. No assertions on time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dc_emulator::testing::start_logged_in;
use dc_emulator::{Emulator, EmulatorConfig};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OpenFlags};

const PATH: &str = "/api/v1/ingest/sources/Bridged/EngagementEvent";
const DLO: &str = "Bridged_EngagementEvent__dll";
const KEY: &str = "event_id__c";
const PER_REQUEST: usize = 50;

/// Requests per measurement (`DC_BENCH_INGEST_REQUESTS`, default 400: 20,000 records).
fn requests() -> usize {
    std::env::var("DC_BENCH_INGEST_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

#[derive(Clone, Copy)]
enum Storage {
    Memory,
    File,
}

impl Storage {
    fn label(self) -> &'static str {
        match self {
            Storage::Memory => "in memory (default)",
            Storage::File => "`--db` file (WAL, synchronous=FULL)",
        }
    }
}

/// One measurement's outcome.
struct Run {
    records: usize,
    accepted: Duration,
    applied: Duration,
    /// The DLO's DDL and the rows the emulator stored, for the baseline.
    ddl: Vec<String>,
    columns: Vec<String>,
    rows: Vec<Vec<SqlValue>>,
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let n = requests();
    println!(
        "| storage | connections | records ({n} × {PER_REQUEST}) | accepted (records/s) | accepted + applied (records/s) | rusqlite upserts, {PER_REQUEST} per transaction (records/s) | ratio (rusqlite / end to end) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for storage in [Storage::Memory, Storage::File] {
        for connections in [1, 4] {
            let run = rt.block_on(measure(storage, connections, n));
            let baseline = direct_inserts(storage, &run);
            let rate = |d: Duration| run.records as f64 / d.as_secs_f64();
            let end_to_end = rate(run.applied);
            let direct = run.records as f64 / baseline.as_secs_f64();
            println!(
                "| {} | {connections} | {} | {:.0} | {:.0} | {:.0} | {:.1}× |",
                storage.label(),
                run.records,
                rate(run.accepted),
                end_to_end,
                direct,
                direct / end_to_end
            );
        }
    }
}

fn db_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("dc-ingest-bench-{}-{tag}.db", std::process::id()))
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

async fn measure(storage: Storage, connections: usize, n: usize) -> Run {
    let db = match storage {
        Storage::Memory => None,
        Storage::File => {
            let p = db_path(&format!("emulator-{connections}"));
            remove_db(&p);
            Some(p)
        }
    };
    let config = EmulatorConfig {
        db: db.clone(),
        ..EmulatorConfig::default()
    };
    let (emu, dc) = start_logged_in(config).await.unwrap();

    // Connections open and warm (one request each) before the clock starts.
    let mut senders = Vec::new();
    for c in 0..connections {
        let mut sender = dc_emulator::testing::keep_alive(emu.addr(), emu.cert_pem().unwrap())
            .await
            .unwrap();
        post(&mut sender, &dc, body(&format!("warm-{c}"))).await;
        senders.push(sender);
    }
    let warm = (connections * PER_REQUEST) as u64;
    wait_applied(&emu, warm).await;

    // Bodies serialized up front: the client's JSON work is not measured.
    let bodies: Vec<Vec<Bytes>> = (0..connections)
        .map(|c| {
            (c..n)
                .step_by(connections)
                .map(|r| body(&format!("bench-{r:05}")))
                .collect()
        })
        .collect();
    let records = n * PER_REQUEST;
    let dc = Arc::new(dc);
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (mut sender, bodies) in senders.into_iter().zip(bodies) {
        let dc = dc.clone();
        tasks.spawn(async move {
            for b in bodies {
                post(&mut sender, &dc, b).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let accepted = t0.elapsed();
    wait_applied(&emu, warm + records as u64).await;
    let applied = t0.elapsed();
    assert_eq!(emu.state().ingest.records_failed.load(Ordering::SeqCst), 0);

    let (ddl, columns, rows) = emu
        .state()
        .store
        .read(|c| stored_rows(c).unwrap())
        .await
        .unwrap();
    assert_eq!(rows.len(), records);
    emu.shutdown().await;
    if let Some(p) = &db {
        remove_db(p);
    }
    Run {
        records,
        accepted,
        applied,
        ddl,
        columns,
        rows,
    }
}

/// `{"data": [50 records]}` with ids `{prefix}-00` … `{prefix}-49`.
fn body(prefix: &str) -> Bytes {
    let data: Vec<serde_json::Value> = (0..PER_REQUEST)
        .map(|i| {
            serde_json::json!({
                "event_id": format!("{prefix}-{i:02}"),
                "customer_email": format!("lead{i}@example.com"),
                "event_type": "lead_qualified",
                "event_timestamp": "2026-04-19T10:00:00Z",
                "conversation_id": format!("conv-{prefix}-{i:02}"),
                "channel": "whatsapp",
            })
        })
        .collect();
    Bytes::from(serde_json::json!({ "data": data }).to_string())
}

/// Polls the processor's applied-records counter (1 ms steps).
async fn wait_applied(emu: &Emulator, target: u64) {
    while emu.state().ingest.records_applied.load(Ordering::SeqCst) < target {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

type Stored = (Vec<String>, Vec<String>, Vec<Vec<SqlValue>>);

/// The DLO's DDL (table and indexes) and its benchmark rows, as stored.
fn stored_rows(c: &Connection) -> rusqlite::Result<Stored> {
    let mut st = c.prepare(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ?1 AND sql IS NOT NULL ORDER BY type DESC",
    )?;
    let ddl = st
        .query_map([DLO], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    let mut st = c.prepare(&format!(
        "SELECT * FROM \"{DLO}\" WHERE \"{KEY}\" LIKE 'bench-%' ORDER BY \"{KEY}\""
    ))?;
    let columns: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let n = columns.len();
    let rows = st
        .query_map([], |r| (0..n).map(|i| r.get::<_, SqlValue>(i)).collect())?
        .collect::<Result<Vec<Vec<SqlValue>>, _>>()?;
    Ok((ddl, columns, rows))
}

/// Distinguishes the baseline's in-memory databases.
static NEXT_MEMDB: AtomicUsize = AtomicUsize::new(0);

/// Upserts `run.rows` into a fresh database like the processor does; returns
/// the time taken (schema creation excluded).
fn direct_inserts(storage: Storage, run: &Run) -> Duration {
    let file = db_path("rusqlite");
    let conn = match storage {
        Storage::Memory => Connection::open_with_flags(
            format!(
                "file:/dc-ingest-bench-{}-{}?vfs=memdb",
                std::process::id(),
                NEXT_MEMDB.fetch_add(1, Ordering::Relaxed)
            ),
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .unwrap(),
        Storage::File => {
            remove_db(&file);
            let c = Connection::open(&file).unwrap();
            let mode: String = c
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .unwrap();
            assert_eq!(mode.to_ascii_lowercase(), "wal");
            c.pragma_update(None, "synchronous", "FULL").unwrap();
            c
        }
    };
    for sql in &run.ddl {
        conn.execute_batch(sql).unwrap();
    }
    let names: Vec<String> = run.columns.iter().map(|c| format!("\"{c}\"")).collect();
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    let sets: Vec<String> = run
        .columns
        .iter()
        .filter(|c| *c != KEY)
        .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
        .collect();
    let sql = format!(
        "INSERT INTO \"{DLO}\" ({}) VALUES ({}) ON CONFLICT (\"{KEY}\") DO UPDATE SET {}",
        names.join(", "),
        marks.join(", "),
        sets.join(", ")
    );
    let mut conn = conn;
    let t0 = Instant::now();
    for chunk in run.rows.chunks(PER_REQUEST) {
        let tx = conn.transaction().unwrap();
        {
            let mut st = tx.prepare_cached(&sql).unwrap();
            for row in chunk {
                st.execute(params_from_iter(row.iter())).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let took = t0.elapsed();
    let count: i64 = conn
        .query_row(&format!("SELECT COUNT(*) FROM \"{DLO}\""), [], |r| r.get(0))
        .unwrap();
    assert_eq!(count as usize, run.rows.len());
    drop(conn);
    remove_db(&file);
    took
}

/// One streaming insert; panics unless it is accepted (202).
async fn post(sender: &mut SendRequest<Full<Bytes>>, token: &str, body: Bytes) {
    let req = http::Request::post(PATH)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap();
    // The previous response may still be finishing on the connection task.
    sender.ready().await.unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
}
