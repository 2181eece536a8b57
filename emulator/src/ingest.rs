//! The Ingestion API's engine: connectors declared by OpenAPI schema files,
//! records validated against them, a durable queue of accepted work, and the
//! processor that applies it to the data lake objects (DLOs) and the data
//! model objects (DMOs) they are mapped to.
//!
//! The flow: a route validates a request (`validate`, `streaming`, `bulk`)
//! and commits the work to the queue table (`queue`) *before* it answers
//! 202, so with `--db` an accepted request survives `kill -9`. The processor
//! task (`queue::run`) wakes every 50 ms, and at once when an enqueue with no
//! delay notifies it; it takes the items whose `process_at` (emulator clock)
//! has come, applies them (`apply`, `mapping`) in one transaction and deletes
//! them from the queue in that same transaction. After a transaction that
//! changed profile DMOs it calls [`after_profile_changes`], the seam identity
//! resolution hooks into.
//!
//! The connectors themselves are part of the org (`org/ingest.rs` loads them
//! from `org.toml` and the schema files); this module owns their types.

pub mod apply;
pub mod bulk;
pub mod mapping;
pub mod queue;
pub mod schema;
pub mod streaming;
pub mod validate;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::model::DcType;
use crate::state::AppState;

pub use mapping::Mapping;

/// The OAuth scope every ingestion call needs.
pub const INGEST_SCOPE: &str = "cdp_ingest_api";

/// A field type a schema file can declare: Data Cloud's Ingestion API types
/// (text, number, boolean, date, datetime, email, phone, URL, percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `type: string`.
    Text,
    /// `type: number`.
    Number,
    /// `type: integer`: a number that must be whole.
    Integer,
    /// `type: number, format: percent`.
    Percent,
    /// `type: boolean`.
    Boolean,
    /// `type: string, format: date` (`yyyy-MM-dd`).
    Date,
    /// `type: string, format: date-time` (ISO-8601 with a zone).
    DateTime,
    /// `type: string, format: email`.
    Email,
    /// `type: string, format: phone`.
    Phone,
    /// `type: string, format: url`.
    Url,
}

impl FieldKind {
    /// The column type of the field in its DLO.
    pub fn dc_type(self) -> DcType {
        match self {
            FieldKind::Text | FieldKind::Email | FieldKind::Phone | FieldKind::Url => {
                DcType::Varchar
            }
            FieldKind::Number | FieldKind::Integer | FieldKind::Percent => DcType::Decimal,
            FieldKind::Boolean => DcType::Boolean,
            FieldKind::Date => DcType::Date,
            FieldKind::DateTime => DcType::Timestamp,
        }
    }

    /// How messages name the type.
    pub fn describe(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Integer => "integer",
            FieldKind::Percent => "percent",
            FieldKind::Boolean => "boolean",
            FieldKind::Date => "date",
            FieldKind::DateTime => "date-time",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::Url => "url",
        }
    }
}

/// One field of a schema object.
#[derive(Debug, Clone)]
pub struct SchemaField {
    /// Name as written in the schema (and in payloads), e.g. `event_id`.
    pub name: String,
    pub kind: FieldKind,
}

/// One object (`components.schemas.<Name>`) of a connector's schema file.
#[derive(Debug, Clone)]
pub struct SchemaObject {
    pub name: String,
    /// In file order (the DLO's column order).
    pub fields: Vec<SchemaField>,
}

impl SchemaObject {
    /// Index of the field called exactly `name` (payload names are case-sensitive).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// A data stream's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Profile,
    Engagement,
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Profile => "Profile",
            Category::Engagement => "Engagement",
            Category::Other => "Other",
        }
    }
}

/// A data stream: where the records of one connector object land.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Connector (source) name, e.g. `Bridged`.
    pub connector: String,
    /// The schema object the stream reads.
    pub object: SchemaObject,
    pub category: Category,
    /// Index of the primary-key field in `object.fields`.
    pub primary_key: usize,
    /// Index of the event-time field (engagement streams).
    pub event_time: Option<usize>,
    /// Target DLO, e.g. `Bridged_EngagementEvent__dll`.
    pub dlo: String,
    /// Value of the DLO's `KQ_<pk>__c` key qualifier.
    pub key_qualifier: String,
    /// How long accepted records wait before they are applied, in
    /// milliseconds of the emulator clock.
    pub processing_delay_ms: u64,
    /// Profile changes from this stream resolve identities right away (the
    /// integration guide's real-time web SDK events) instead of at the next
    /// ruleset run.
    pub real_time_identity_resolution: bool,
    /// DMOs the records are mapped to.
    pub mappings: Vec<Mapping>,
}

impl Stream {
    /// Name of the primary-key field in payloads.
    pub fn primary_key_name(&self) -> &str {
        &self.object.fields[self.primary_key].name
    }
}

/// An Ingestion API connector (`/api/v1/ingest/sources/{name}/…`).
#[derive(Debug, Clone)]
pub struct Connector {
    pub name: String,
    /// The schema file, as errors name it.
    pub schema_file: String,
    /// Every object of the schema, with or without a data stream.
    pub objects: Vec<SchemaObject>,
    pub streams: Vec<Stream>,
}

impl Connector {
    /// The schema object called exactly `name`.
    pub fn object(&self, name: &str) -> Option<&SchemaObject> {
        self.objects.iter().find(|o| o.name == name)
    }

    /// The data stream of object `name`, when it has one.
    pub fn stream(&self, object: &str) -> Option<&Stream> {
        self.streams.iter().find(|s| s.object.name == object)
    }
}

/// DLO name of a field: `<field>__c` (`-` becomes `_`: API names are identifiers).
pub fn dlo_field_name(field: &str) -> String {
    format!("{}__c", field.replace('-', "_"))
}

/// DLO name of the key qualifier of primary key `field`: `KQ_<field>__c`.
pub fn key_qualifier_name(field: &str) -> String {
    format!("KQ_{}", dlo_field_name(field))
}

/// System fields every ingestion DLO has besides the schema's: the connector
/// name, the object name, and when the record was last applied.
pub const DLO_SOURCE_FIELD: &str = "DataSource__c";
pub const DLO_OBJECT_FIELD: &str = "DataSourceObject__c";
pub const DLO_INGESTED_FIELD: &str = "cdp_sys_IngestionTime__c";

/// `2026-04-19T10:00:00.000Z`: Unix milliseconds in the store's timestamp form.
pub fn stored_time(unix_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::store::utc_millis(t)
}

/// Request limits of the streaming API (configurable; see `EmulatorConfig::ingest`).
#[derive(Debug, Clone)]
pub struct IngestSettings {
    /// Records per streaming insert request; more → 413. The integration
    /// guide's rule (50), not a documented Salesforce limit.
    pub max_records: usize,
    /// A body of this many bytes or more → 413 `Payload exceeds 200KB`
    /// (Salesforce: "less than 200 KB"; KB read as 1024 bytes).
    pub max_payload_bytes: usize,
    /// Ids per streaming delete; more → 413.
    pub max_delete_ids: usize,
    /// Processing delay for every stream, overriding the org's per-stream
    /// settings (`--ingest-delay-ms`).
    pub delay_override_ms: Option<u64>,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            max_records: 50,
            max_payload_bytes: 200 * 1024,
            max_delete_ids: 200,
            delay_override_ms: None,
        }
    }
}

/// Live state of ingestion shared by the routes and the processor.
#[derive(Debug)]
pub struct Runtime {
    /// Wakes the processor early (an enqueue with no delay).
    pub(crate) wake: Notify,
    /// Earliest `process_at` among queued items (`i64::MAX`: none;
    /// `i64::MIN`: unknown, look). Written only while holding the store's
    /// writer, so an enqueue and the processor never overwrite each other.
    next_due: AtomicI64,
    /// Processing delay for every stream, or -1 to use each stream's own.
    delay_override_ms: AtomicI64,
    /// Records applied to a DLO (upserts and deletes), for tests and stats.
    pub records_applied: AtomicU64,
    /// Records that could not be applied (bulk rows that failed validation,
    /// or a record the database refused).
    pub records_failed: AtomicU64,
}

impl Runtime {
    pub fn new(settings: &IngestSettings) -> Runtime {
        Runtime {
            wake: Notify::new(),
            next_due: AtomicI64::new(i64::MIN),
            delay_override_ms: AtomicI64::new(
                settings
                    .delay_override_ms
                    .map_or(-1, |d| i64::try_from(d).unwrap_or(i64::MAX)),
            ),
            records_applied: AtomicU64::new(0),
            records_failed: AtomicU64::new(0),
        }
    }

    /// The processing delay applied to new work of `stream`.
    pub fn delay_ms(&self, stream: &Stream) -> u64 {
        match self.delay_override_ms.load(Ordering::Relaxed) {
            d if d >= 0 => d as u64,
            _ => stream.processing_delay_ms,
        }
    }

    /// Sets (or with `None` clears) a processing delay for every stream.
    /// Work already queued keeps the time it was given.
    pub fn set_delay_override(&self, delay_ms: Option<u64>) {
        let v = delay_ms.map_or(-1, |d| i64::try_from(d).unwrap_or(i64::MAX));
        self.delay_override_ms.store(v, Ordering::Relaxed);
    }

    /// Wakes the processor now (e.g. after the clock was moved).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn next_due(&self) -> i64 {
        self.next_due.load(Ordering::SeqCst)
    }

    /// Records a newly queued item's time (caller holds the writer).
    pub(crate) fn note_due(&self, at_ms: i64) {
        self.next_due.fetch_min(at_ms, Ordering::SeqCst);
    }

    /// Replaces the earliest time after processing (caller holds the writer).
    pub(crate) fn set_next_due(&self, at_ms: Option<i64>) {
        self.next_due
            .store(at_ms.unwrap_or(i64::MAX), Ordering::SeqCst);
    }

    /// Forgets the earliest time so the processor looks at the queue again.
    pub(crate) fn recheck(&self) {
        self.next_due.store(i64::MIN, Ordering::SeqCst);
    }
}

/// One DMO row a processing transaction wrote or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmoChange {
    /// DMO name, e.g. `ssot__Individual__dlm`.
    pub dmo: String,
    /// The row's primary key value (`ssot__Id__c`).
    pub id: String,
    /// The row was deleted (else inserted or updated).
    pub deleted: bool,
}

/// What one committed processing transaction changed in profile DMOs
/// (category `Profile`: `ssot__Individual__dlm`, the contact points, …).
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    /// In the order they were applied; a row may appear more than once.
    pub rows: Vec<DmoChange>,
    /// Some of the rows came from a stream with
    /// `real_time_identity_resolution`.
    pub real_time: bool,
}

/// The identity-resolution seam. The processor calls it after every
/// committed transaction that inserted, updated or deleted rows of profile
/// DMOs through a stream's mappings (for the default org: `LeadProfile`
/// records reaching `ssot__Individual__dlm`, `ssot__ContactPointEmail__dlm`
/// and `ssot__ContactPointPhone__dlm`); never for an empty change set.
///
/// Contract: the changes are already committed and visible to readers; it
/// runs on the processor task, so it must return quickly (schedule work,
/// e.g. notify a task, rather than do it) and must not wait for the store's
/// writer. Changes from a real-time stream wake identity resolution's task
/// (`identity::run_task`); others wait for a ruleset run.
pub fn after_profile_changes(state: &AppState, changes: &ProfileChanges) {
    if changes.real_time {
        state.identity.wake();
    }
}
