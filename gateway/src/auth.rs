//! Upstream credentials: the core token and one Data Cloud token per data
//! space, fetched lazily, shared by every request, and refreshed in the
//! background before they expire.
//!
//! * `assertion.rs` signs the JWT bearer assertion;
//! * `grant.rs` makes the two upstream calls (core grant, a360 exchange);
//! * `refresher.rs` holds each token (lock-free read, single-flight fetch,
//!   background refresh);
//! * `facade.rs` is the other side: the OAuth endpoints the gateway answers
//!   itself for unmodified SDKs, issuing tokens that never leave the gateway.

pub mod assertion;
pub mod facade;
pub mod grant;
pub mod refresher;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use http::uri::Authority;
use http::HeaderValue;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{CredentialSettings, RefreshPolicy, Secret};
use crate::proxy::upstream::Upstream;
use refresher::TokenCell;

/// Most data spaces the gateway holds tokens for at once (names come from
/// clients, so the map must be bounded).
const MAX_DATASPACES: usize = 32;

/// Which host a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Core access token: `/services/data/...` on the core instance.
    Core,
    /// Data Cloud token: `/api/...` on the tenant endpoint.
    DataCloud,
}

/// An upstream token and where it is used. `Debug` never shows the token.
pub struct Token {
    pub kind: TokenKind,
    raw: Secret,
    /// `Bearer <token>`, built once, marked sensitive.
    bearer: HeaderValue,
    /// Core instance or tenant endpoint (`host[:port]`, https).
    pub authority: Authority,
    pub lifetime: Duration,
    /// After this the token is no longer handed out (a margin before expiry).
    usable_until: Instant,
    /// When the background task replaces it.
    pub refresh_at: Instant,
    pub dataspace: Option<Arc<str>>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("kind", &self.kind)
            .field("authority", &self.authority)
            .field("lifetime", &self.lifetime)
            .field("dataspace", &self.dataspace)
            .finish_non_exhaustive()
    }
}

impl Token {
    pub fn new(
        kind: TokenKind,
        raw: &str,
        authority: Authority,
        lifetime: Duration,
        refresh: &RefreshPolicy,
        dataspace: Option<Arc<str>>,
    ) -> Result<Token, String> {
        let mut bearer = HeaderValue::try_from(format!("Bearer {raw}"))
            .map_err(|_| "access_token is not a valid header value".to_owned())?;
        bearer.set_sensitive(true);
        let now = Instant::now();
        // Stop handing a token out shortly before it expires: 5 s, or a tenth
        // of very short lifetimes.
        let margin = Duration::from_secs(5).min(lifetime / 10);
        Ok(Token {
            kind,
            raw: Secret::new(raw),
            bearer,
            authority,
            lifetime,
            usable_until: now + lifetime.saturating_sub(margin),
            refresh_at: now + refresh.delay(lifetime, rand::random::<f64>()),
            dataspace,
        })
    }

    /// The `Authorization` value to send upstream.
    pub fn bearer(&self) -> &HeaderValue {
        &self.bearer
    }

    /// The raw token (subject of the a360 exchange).
    pub(crate) fn secret(&self) -> &str {
        self.raw.expose()
    }

    /// Not yet within the expiry margin.
    pub fn usable(&self) -> bool {
        Instant::now() < self.usable_until
    }
}

/// Why a token could not be had, naming the step that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{step} failed: {failure}")]
pub struct TokenError {
    /// `jwt_bearer`, `client_credentials`, `refresh_token` or `a360_exchange`.
    pub step: &'static str,
    pub failure: TokenFailure,
}

impl TokenError {
    pub fn new(step: &'static str, failure: TokenFailure) -> Self {
        TokenError { step, failure }
    }
}

/// What went wrong at a step.
#[derive(Debug, Clone)]
pub enum TokenFailure {
    /// Salesforce answered with an OAuth error.
    Rejected {
        status: u16,
        error: String,
        description: String,
    },
    /// No answer (connect failure, timeout).
    Unreachable(String),
    /// An answer that is not a usable token response.
    BadResponse(String),
    /// The gateway could not build the request (e.g. signing failed).
    Local(String),
}

impl fmt::Display for TokenFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenFailure::Rejected {
                status,
                error,
                description,
            } => write!(f, "{error}: {description} (HTTP {status})"),
            TokenFailure::Unreachable(m) => write!(f, "upstream unreachable: {m}"),
            TokenFailure::BadResponse(m) => write!(f, "unusable response: {m}"),
            TokenFailure::Local(m) => f.write_str(m),
        }
    }
}

/// All upstream credentials of the gateway.
pub struct Tokens {
    upstream: Upstream,
    metrics: Arc<crate::metrics::Metrics>,
    settings: CredentialSettings,
    login_url: String,
    core: Arc<TokenCell>,
    default_dc: Arc<TokenCell>,
    other_dc: RwLock<HashMap<String, Arc<TokenCell>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("login_url", &self.login_url)
            .field("flow", &self.settings.flow.step())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn new(
        upstream: Upstream,
        settings: CredentialSettings,
        login_url: String,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Arc<Self> {
        let default_label = format!("data_cloud:{}", settings.dataspace);
        Arc::new(Tokens {
            upstream,
            metrics,
            settings,
            login_url,
            core: Arc::new(TokenCell::new("core")),
            default_dc: Arc::new(TokenCell::new(default_label)),
            other_dc: RwLock::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// The data space used when a request names none.
    pub fn default_dataspace(&self) -> &str {
        &self.settings.dataspace
    }

    /// Starts the background refresh of the core token and the default data
    /// space's Data Cloud token (which also warms them up).
    pub fn start(self: &Arc<Self>) {
        let me = self.clone();
        let core = tokio::spawn(refresher::run(
            self.core.clone(),
            self.settings.refresh.min,
            move || {
                let me = me.clone();
                async move { me.fetch_core().await }
            },
        ));
        let dc = self.spawn_dc_refresher(self.default_dc.clone(), self.settings.dataspace.clone());
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(core);
            tasks.push(dc);
        }
    }

    fn spawn_dc_refresher(
        self: &Arc<Self>,
        cell: Arc<TokenCell>,
        dataspace: String,
    ) -> JoinHandle<()> {
        let me = self.clone();
        let dataspace: Arc<str> = dataspace.into();
        tokio::spawn(refresher::run(cell, self.settings.refresh.min, move || {
            let me = me.clone();
            let ds = dataspace.clone();
            async move { me.fetch_dc(&ds).await }
        }))
    }

    /// Stops the background tasks.
    pub fn stop(&self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }

    /// Whether a usable Data Cloud token for the default data space is held.
    pub fn ready(&self) -> bool {
        self.default_dc.valid().is_some()
    }

    /// The core token.
    pub async fn core(&self) -> Result<Arc<Token>, TokenError> {
        if let Some(t) = self.core.valid() {
            return Ok(t);
        }
        self.core.fetch(None, true, || self.fetch_core()).await
    }

    /// The Data Cloud token for `dataspace` (default data space if `None`).
    pub async fn data_cloud(
        self: &Arc<Self>,
        dataspace: Option<&str>,
    ) -> Result<Arc<Token>, TokenError> {
        let cell = self.dc_cell(dataspace)?;
        if let Some(t) = cell.valid() {
            return Ok(t);
        }
        let ds = dataspace.unwrap_or(&self.settings.dataspace);
        cell.fetch(None, true, || self.fetch_dc(ds)).await
    }

    /// After the upstream refused `rejected` (401): a fresh token of the same
    /// kind — fetched once however many requests were refused together.
    pub async fn renew(self: &Arc<Self>, rejected: &Arc<Token>) -> Result<Arc<Token>, TokenError> {
        match rejected.kind {
            TokenKind::Core => {
                self.core
                    .fetch(Some(rejected), false, || self.fetch_core())
                    .await
            }
            TokenKind::DataCloud => {
                let ds = rejected
                    .dataspace
                    .as_deref()
                    .unwrap_or(&self.settings.dataspace);
                let cell = self.dc_cell(Some(ds))?;
                cell.fetch(Some(rejected), false, || self.fetch_dc(ds))
                    .await
            }
        }
    }

    fn dc_cell(self: &Arc<Self>, dataspace: Option<&str>) -> Result<Arc<TokenCell>, TokenError> {
        let ds = match dataspace {
            None => return Ok(self.default_dc.clone()),
            Some(ds) if ds == self.settings.dataspace => return Ok(self.default_dc.clone()),
            Some(ds) => ds,
        };
        if let Some(cell) = self.other_dc.read().ok().and_then(|m| m.get(ds).cloned()) {
            return Ok(cell);
        }
        let mut map = self.other_dc.write().map_err(|_| {
            TokenError::new(
                "a360_exchange",
                TokenFailure::Local("token map poisoned".into()),
            )
        })?;
        if let Some(cell) = map.get(ds) {
            return Ok(cell.clone());
        }
        if map.len() >= MAX_DATASPACES {
            return Err(TokenError::new(
                "a360_exchange",
                TokenFailure::Local(format!("too many data spaces (limit {MAX_DATASPACES})")),
            ));
        }
        let cell = Arc::new(TokenCell::new(format!("data_cloud:{ds}")));
        map.insert(ds.to_owned(), cell.clone());
        drop(map);
        let task = self.spawn_dc_refresher(cell.clone(), ds.to_owned());
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(task);
        }
        Ok(cell)
    }

    async fn fetch_core(&self) -> Result<Token, TokenError> {
        let started = std::time::Instant::now();
        let result = grant::core_token(&self.upstream, &self.settings, &self.login_url).await;
        log_fetch(self.settings.flow.step(), started, &result);
        self.count(crate::metrics::TokenKind::Core, &result);
        result
    }

    async fn fetch_dc(&self, dataspace: &str) -> Result<Token, TokenError> {
        let core = self.core().await?;
        let started = std::time::Instant::now();
        let mut result = grant::exchange(&self.upstream, &self.settings, &core, dataspace).await;
        if result.as_ref().is_err_and(|e| subject_refused(&e.failure)) {
            // The core token may have been revoked or expired early: get a
            // new one and exchange once more.
            let core = self
                .core
                .fetch(Some(&core), false, || self.fetch_core())
                .await?;
            result = grant::exchange(&self.upstream, &self.settings, &core, dataspace).await;
        }
        log_fetch("a360_exchange", started, &result);
        self.count(crate::metrics::TokenKind::DataCloud, &result);
        result
    }

    fn count(&self, kind: crate::metrics::TokenKind, result: &Result<Token, TokenError>) {
        use crate::metrics::TokenFailure as M;
        match result {
            Ok(_) => self.metrics.record_token_fetch(kind),
            Err(e) => self.metrics.record_token_failure(
                kind,
                match &e.failure {
                    TokenFailure::Rejected { status, .. } if *status >= 500 => M::ServerError,
                    TokenFailure::Rejected { .. } => M::Rejected,
                    TokenFailure::Unreachable(m) if m.contains("did not answer") => M::Timeout,
                    TokenFailure::Unreachable(_) => M::Transport,
                    TokenFailure::BadResponse(_) | TokenFailure::Local(_) => M::BadResponse,
                },
            ),
        }
    }
}

/// Whether an exchange failure says the core token itself was refused
/// (expired or revoked upstream) rather than, say, a missing licence.
fn subject_refused(f: &TokenFailure) -> bool {
    match f {
        TokenFailure::Rejected {
            status,
            error,
            description,
        } => *status == 401 || (error == "invalid_grant" && description.contains("subject token")),
        // Salesforce's HTML login redirect for a dead subject token.
        TokenFailure::BadResponse(_) => true,
        _ => false,
    }
}

fn log_fetch(step: &'static str, started: std::time::Instant, result: &Result<Token, TokenError>) {
    let ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(t) => {
            tracing::info!(step, ms, lifetime_secs = t.lifetime.as_secs(), upstream = %t.authority, "token fetched")
        }
        Err(e) => tracing::warn!(step, ms, error = %e.failure, "token fetch failed"),
    }
}
