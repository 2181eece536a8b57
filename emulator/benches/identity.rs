//! Identity resolution benchmark (`cargo bench -p dc-emulator --bench identity`).
//!
//! Generates about 100,000 source individuals with their emails and phones
//! (the default org's generator at scale: same mix of CRM and WhatsApp/web
//! records, spellings, households; double-barrelled last names so names
//! still tell people apart), seeds a fresh in-memory store with them and no
//! unified rows, then times, on the store's writer, one transaction each:
//!
//! 1. the first full resolution (every unified and link row written);
//! 2. a re-run with nothing changed (reads, resolves, writes nothing);
//! 3. a run after one new profile joined an existing cluster.
//!
//! Prints Markdown rows for BENCHMARKS.md, wall and CPU time (the machine
//! may be shared). No assertions on time.

use std::time::{Duration, Instant};

use dc_emulator::identity::job::{self, Outcome, Report};
use dc_emulator::org::{generate, FixtureSource, Org, TableRows};
use dc_emulator::store::Store;

/// People drawn; about 1.33 source profiles each, so ~100,000 sources.
const PEOPLE: usize = 75_250;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut org = Org::load(&FixtureSource::Builtin).expect("default org");
    let started = Instant::now();
    org.rows = generate::source_files(PEOPLE)
        .into_iter()
        .map(|(file, content)| TableRows {
            object: file.trim_end_matches(".csv").to_owned(),
            format: "csv".into(),
            content,
        })
        .collect();
    let generated = started.elapsed();
    let started = Instant::now();
    let store = Store::open(None, &org).expect("store");
    let seeded = started.elapsed();
    let ruleset = org.identity[0].clone();
    let org = std::sync::Arc::new(org);

    let run = |label: &'static str| {
        let (store, org, ruleset) = (store.clone(), org.clone(), ruleset.clone());
        rt.block_on(async move {
            let (started, cpu) = (Instant::now(), cpu_time());
            let outcome = store
                .write(move |c| job::run_blocking(c, &org.model, &ruleset, None))
                .await
                .expect("store")
                .expect("run");
            let took = (started.elapsed(), cpu_time().zip(cpu).map(|(b, a)| b - a));
            match outcome {
                Outcome::Ran(report) => (label, took, report),
                Outcome::Skipped => (label, took, Report::default()),
            }
        })
    };
    let first = run("first full run");
    let noop = run("re-run, nothing changed");
    rt.block_on(store.write(|c| {
        let (id, email): (String, String) = c
            .query_row(
                "SELECT ssot__PartyId__c, ssot__EmailAddress__c FROM ssot__ContactPointEmail__dlm \
                 ORDER BY ssot__Id__c LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("an email");
        c.execute_batch(&format!(
            "INSERT INTO ssot__Individual__dlm (ssot__Id__c, ssot__DataSourceId__c, ssot__LastModifiedDate__c) \
             VALUES ('bench-joiner', 'Bridged_WhatsApp_Web', '2031-01-01T00:00:00.000Z');
             INSERT INTO ssot__ContactPointEmail__dlm (ssot__Id__c, ssot__EmailAddress__c, ssot__PartyId__c) \
             VALUES ('bench-joiner-email', '{}', 'bench-joiner');",
            email.to_uppercase()
        ))
        .expect("insert");
        id
    }))
    .expect("store");
    let joined = run("after 1 profile joined a cluster");

    let s = first.2.stats;
    println!(
        "Generated {} source individuals in {} and seeded them in {}: {} unified, {} matched.",
        s.sources,
        secs(generated),
        secs(seeded),
        s.unified,
        s.matched
    );
    println!();
    println!(
        "| identity resolution, {} source individuals | wall time | CPU time | rows inserted / updated / deleted |",
        s.sources
    );
    println!("| --- | --- | --- | --- |");
    for (label, (wall, cpu), report) in [first, noop, joined] {
        let c = report.changes;
        println!(
            "| {label} | {} | {} | {} / {} / {} |",
            secs(wall),
            cpu.map_or("n/a".into(), secs),
            c.inserted,
            c.updated,
            c.deleted
        );
    }
}

/// CPU time of the whole process (Linux `/proc/self/stat`, 100 ticks a
/// second): on a shared machine the wall time also counts waiting for a core.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `fields` starts at field 3.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
