//! Shared state of a running emulator, handed to every route as `&AppState`.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::auth::tokens::TokenStore;
use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::controls::Controls;
use crate::cursor::Cursors;
use crate::faults::Faults;
use crate::identity::Identity;
use crate::ingest::Runtime;
use crate::journal::Journal;
use crate::org::Org;
use crate::ratelimit::RateLimits;
use crate::sql::Catalog;
use crate::store::Store;

/// Everything a route may need.
pub struct AppState {
    pub config: EmulatorConfig,
    /// `https://127.0.0.1:9443` (no trailing slash): login URL, core `instance_url`,
    /// token `iss`.
    pub base_url: String,
    /// `127.0.0.1:9443`: the bare tenant `instance_url` of the a360 exchange.
    pub host: String,
    pub org: Arc<Org>,
    /// Resolves SQL names against the org's data model.
    pub catalog: Arc<Catalog>,
    pub clock: Clock,
    pub tokens: TokenStore,
    pub store: Store,
    pub cursors: Cursors,
    /// Identity resolution rulesets and their jobs.
    pub identity: Identity,
    /// Ingestion: the processor's wake-up, delays and counters.
    pub ingest: Arc<Runtime>,
    /// Counters tests read through `/__emulator/stats`.
    pub stats: Stats,
    /// Runtime app/user (de)activation over the fixture flags.
    pub controls: Controls,
    /// Recorded requests (`/__emulator/journal`).
    pub journal: Journal,
    /// Fault rules (`/__emulator/faults`).
    pub faults: Faults,
    /// Budgets per endpoint class (`/__emulator/ratelimits`).
    pub ratelimits: RateLimits,
}

/// Request counters by endpoint family.
#[derive(Debug, Default)]
pub struct Stats {
    pub token_requests: AtomicU64,
    pub exchange_requests: AtomicU64,
    pub query_requests: AtomicU64,
    pub ingest_requests: AtomicU64,
    pub requests: AtomicU64,
}
