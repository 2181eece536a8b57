//! What counts as "the same query": the canonical form of a query request and
//! its fixed-size cache key.
//!
//! Two requests share a cache entry only when they would get the same answer
//! from Data Cloud. The SQL is tokenized and parsed by sqlparser and printed
//! back (`Display`), so whitespace, comments and keyword case never split
//! entries. Unquoted identifiers are folded to ASCII lower case before parsing,
//! because Data Cloud resolves unquoted names case-insensitively; quoted
//! identifiers and string literals are left byte-exact (`'Acme'` and `'ACME'`
//! are different queries). Everything else that changes the answer is part of
//! the key too: endpoint, API version, data space, client policy scope, the
//! query string (sorted), the `enable-arrow-stream` flag and the other body
//! fields (`rowLimit`, `sqlParameters`, …, as sorted compact JSON).
//!
//! The key is the first 128 bits of SHA-256 over those parts, each length
//! prefixed, like pingora's fixed-size cache keys. Why a cryptographic hash:
//! the key is computed once per distinct raw body (the memo in `memo.rs` makes
//! repeats skip this entirely), so its cost is off the hot path, and with 128
//! bits an accidental collision is out of reach (~1e-21 for a billion
//! entries) while a deliberate one would need a second preimage for a key
//! that includes another client's policy scope. No verification step is
//! therefore needed on the main cache.

use std::fmt;
use std::ops::ControlFlow;

use aws_lc_rs::digest;
use sqlparser::ast::{visit_relations, ObjectNamePart, Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::policy::{BypassReason, QueryEndpoint};

/// Recursion limit for the SQL parser: bounds stack use on hostile input.
const SQL_RECURSION_LIMIT: usize = 64;

/// A fixed-size (128-bit) cache key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub u128);

impl CacheKey {
    /// 32 lower-case hex digits; used inside gateway batch ids.
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }

    /// Inverse of [`CacheKey::to_hex`].
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(s, 16).ok().map(CacheKey)
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({:032x})", self.0)
    }
}

/// A parsed, re-printed read-only statement and the tables it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalSql {
    /// The statement as sqlparser prints it after identifier folding.
    pub text: String,
    /// Referenced relation names, lower case, dotted (`schema.table`), sorted, unique.
    /// CTE names show up here too; that only makes `purge_table` a bit broader.
    pub tables: Vec<String>,
}

/// Canonicalizes one SQL statement, refusing anything that is not a single
/// read-only query (those must never be answered from a cache).
pub fn canonicalize_sql(sql: &str) -> Result<CanonicalSql, BypassReason> {
    // sqlparser's Display panics on a few impossible-in-practice states (e.g. an
    // unknown quote style); a client must never be able to crash us, so any
    // panic in here just means "not cacheable".
    std::panic::catch_unwind(|| canonicalize_inner(sql)).unwrap_or(Err(BypassReason::SqlUnparsable))
}

fn canonicalize_inner(sql: &str) -> Result<CanonicalSql, BypassReason> {
    let dialect = GenericDialect {};
    let mut tokens = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|_| BypassReason::SqlUnparsable)?;
    for token in &mut tokens {
        if let Token::Word(word) = token {
            // Keywords are recognised by `word.keyword`, which the tokenizer already
            // set, so folding `value` changes only how identifiers print.
            if word.quote_style.is_none() {
                word.value.make_ascii_lowercase();
            }
        }
    }
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(SQL_RECURSION_LIMIT)
        .with_tokens(tokens)
        .parse_statements()
        .map_err(|_| BypassReason::SqlUnparsable)?;
    if statements.len() != 1 {
        return Err(BypassReason::NotSingleStatement);
    }
    let statement = statements.pop().ok_or(BypassReason::NotSingleStatement)?;
    if !matches!(statement, Statement::Query(_)) {
        return Err(BypassReason::NotReadOnly);
    }
    if let ControlFlow::Break(()) = statement.visit(&mut ReadOnlyCheck) {
        return Err(BypassReason::NotReadOnly);
    }
    let mut tables = Vec::new();
    let _ = visit_relations(&statement, |name| {
        let dotted = name
            .0
            .iter()
            .map(|part| match part {
                ObjectNamePart::Identifier(ident) => ident.value.to_ascii_lowercase(),
                other => other.to_string().to_ascii_lowercase(),
            })
            .collect::<Vec<_>>()
            .join(".");
        tables.push(dotted);
        ControlFlow::<()>::Continue(())
    });
    tables.sort();
    tables.dedup();
    Ok(CanonicalSql {
        text: statement.to_string(),
        tables,
    })
}

/// Breaks on anything inside a query that writes or locks: `SELECT … INTO`,
/// `FOR UPDATE`, data-modifying statements nested in a query body.
struct ReadOnlyCheck;

impl Visitor for ReadOnlyCheck {
    type Break = ();

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        if matches!(statement, Statement::Query(_)) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if !query.locks.is_empty() || writes(&query.body) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

fn writes(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select.into.is_some(),
        SetExpr::SetOperation { left, right, .. } => writes(left) || writes(right),
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => true,
        // Nested queries are visited on their own by `pre_visit_query`.
        SetExpr::Query(_) | SetExpr::Values(_) | SetExpr::Table(_) => false,
    }
}

/// The parts of a query body besides `sql`, as parsed from `{"sql": …, …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryBody {
    pub sql: String,
    /// The remaining fields as compact JSON with sorted keys (`{}` when none).
    pub rest: String,
}

/// Reads a query request body: a JSON object with a string `sql`.
pub fn parse_query_body(body: &[u8]) -> Result<QueryBody, BypassReason> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| BypassReason::BodyNotJson)?;
    let serde_json::Value::Object(map) = value else {
        return Err(BypassReason::BodyNotJson);
    };
    // Sort explicitly so the key never depends on serde_json's map feature flags.
    let mut sql = None;
    let mut rest: Vec<(String, serde_json::Value)> = Vec::with_capacity(map.len());
    for (name, value) in map {
        if name == "sql" {
            match value {
                serde_json::Value::String(s) => sql = Some(s),
                _ => return Err(BypassReason::NoSql),
            }
        } else {
            rest.push((name, value));
        }
    }
    let sql = sql.ok_or(BypassReason::NoSql)?;
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = String::from("{");
    for (i, (name, value)) in rest.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        // Serializing a String or Value cannot fail.
        text.push_str(&serde_json::to_string(name).unwrap_or_default());
        text.push(':');
        text.push_str(&canonical_json(value));
    }
    text.push('}');
    Ok(QueryBody { sql, rest: text })
}

/// Compact JSON with object keys sorted at every level.
fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap_or_default(),
                        canonical_json(v)
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", inner.join(","))
        }
        scalar => scalar.to_string(),
    }
}

/// The query string with its `name=value` pairs sorted (bytes kept as sent),
/// so `?limit=5&offset=0` and `?offset=0&limit=5` share an entry.
pub fn canonical_query_string(query: &str) -> String {
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    pairs.join("&")
}

/// Everything besides the SQL that selects a distinct answer.
#[derive(Debug, Clone, Copy)]
pub struct KeyParts<'a> {
    pub endpoint: QueryEndpoint,
    pub api_version: &'a str,
    pub data_space: &'a str,
    pub policy_scope: &'a str,
    /// Already canonical (see [`canonical_query_string`]).
    pub query_string: &'a str,
    pub arrow_stream: bool,
    /// Already canonical (see [`parse_query_body`]).
    pub body_rest: &'a str,
}

/// SHA-256 over the length-prefixed parts, truncated to 128 bits.
pub fn derive_key(parts: &KeyParts<'_>, canonical_sql: &str) -> CacheKey {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut field = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    };
    field(b"dc-gateway query key v1");
    field(parts.endpoint.as_str().as_bytes());
    field(parts.api_version.as_bytes());
    field(parts.data_space.as_bytes());
    field(parts.policy_scope.as_bytes());
    field(parts.query_string.as_bytes());
    field(if parts.arrow_stream {
        b"arrow"
    } else {
        b"json"
    });
    field(parts.body_rest.as_bytes());
    field(canonical_sql.as_bytes());
    let digest = ctx.finish();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest.as_ref()[..16]);
    CacheKey(u128::from_be_bytes(first))
}

#[cfg(test)]
mod tests;
