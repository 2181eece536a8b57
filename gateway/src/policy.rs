//! Clients and what they may do: the integration guide's "sync settings"
//! (direction, operations, objects), enforced per request.
//!
//! A client authenticates with an API key or, through the OAuth facade, with
//! a client id and secret. Secrets are kept only as SHA-256 digests and
//! compared in constant time; every configured client is compared so the
//! time taken does not tell which one nearly matched. With no clients
//! configured the gateway is *open* (allowed only on loopback, see
//! `config`): every request runs as the anonymous client with every right.

pub mod sql;

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{digest, SHA256};

/// Which way data may flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Read,
    Write,
    ReadWrite,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Self> {
        match s
            .to_ascii_lowercase()
            .replace(['+', '-', ' '], "_")
            .as_str()
        {
            "read" | "read_only" => Some(Direction::Read),
            "write" | "write_only" => Some(Direction::Write),
            "read_write" | "readwrite" | "both" => Some(Direction::ReadWrite),
            _ => None,
        }
    }
    fn reads(self) -> bool {
        matches!(self, Direction::Read | Direction::ReadWrite)
    }
    fn writes(self) -> bool {
        matches!(self, Direction::Write | Direction::ReadWrite)
    }
}

/// Objects a client may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Objects {
    Any,
    /// API names; compared case-insensitively, as Data Cloud resolves
    /// unquoted names.
    Only(Vec<String>),
}

impl Objects {
    fn allows(&self, name: &str) -> bool {
        match self {
            Objects::Any => true,
            Objects::Only(list) => list.iter().any(|o| o.eq_ignore_ascii_case(name)),
        }
    }
}

/// A client's rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub direction: Direction,
    pub query: bool,
    pub ingest: bool,
    pub objects: Objects,
    /// Data space the client's Data Cloud requests use (`None`: the default).
    pub dataspace: Option<String>,
}

impl Policy {
    /// Everything allowed: the open (loopback, no clients) mode.
    pub fn open() -> Self {
        Policy {
            direction: Direction::ReadWrite,
            query: true,
            ingest: true,
            objects: Objects::Any,
            dataspace: None,
        }
    }
}

/// What a request does, as far as the policy cares (from `proxy::route`).
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// A query with its SQL (`None`: no SQL to check, e.g. a next-batch GET).
    Query { sql: Option<&'a str> },
    /// Metadata reads (part of the query operation).
    Metadata,
    /// Ingestion into `object` (when the path or body names it).
    Ingest { object: Option<&'a str> },
    /// Any other Data Cloud or core call: needs the direction its method implies.
    Other { write: bool },
}

/// Why a request is refused (answered 403 naming the refused thing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Direction(&'static str),
    Operation(&'static str),
    Object(String),
    /// The SQL could not be parsed, so its objects cannot be checked.
    Unchecked(String),
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::Direction(d) => write!(f, "client may not {d} (sync direction)"),
            Denied::Operation(op) => write!(f, "operation '{op}' is not allowed for this client"),
            Denied::Object(o) => write!(f, "object '{o}' is not allowed for this client"),
            Denied::Unchecked(e) => write!(
                f,
                "the SQL could not be parsed to check its objects against the client's allowed objects: {e}"
            ),
        }
    }
}

impl Policy {
    /// Checks one request against the policy.
    pub fn check(&self, access: Access<'_>) -> Result<(), Denied> {
        match access {
            Access::Query { sql } => {
                self.need_read()?;
                if !self.query {
                    return Err(Denied::Operation("query"));
                }
                if let (Some(sql), Objects::Only(_)) = (sql, &self.objects) {
                    let tables = sql::tables(sql).map_err(Denied::Unchecked)?;
                    if let Some(t) = tables.iter().find(|t| !self.objects.allows(t)) {
                        return Err(Denied::Object(t.clone()));
                    }
                }
                Ok(())
            }
            Access::Metadata => {
                self.need_read()?;
                if self.query {
                    Ok(())
                } else {
                    Err(Denied::Operation("query"))
                }
            }
            Access::Ingest { object } => {
                if !self.direction.writes() {
                    return Err(Denied::Direction("write"));
                }
                if !self.ingest {
                    return Err(Denied::Operation("ingest"));
                }
                match object {
                    Some(o) if !self.objects.allows(o) => Err(Denied::Object(o.to_owned())),
                    _ => Ok(()),
                }
            }
            Access::Other { write: true } if !self.direction.writes() => {
                Err(Denied::Direction("write"))
            }
            Access::Other { write: false } => self.need_read(),
            Access::Other { .. } => Ok(()),
        }
    }

    fn need_read(&self) -> Result<(), Denied> {
        if self.direction.reads() {
            Ok(())
        } else {
            Err(Denied::Direction("read"))
        }
    }
}

/// A SHA-256 digest of a secret.
pub type Digest = [u8; 32];

/// Digest of a secret as configured or presented.
pub fn sha256(secret: &[u8]) -> Digest {
    let d = digest(&SHA256, secret);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Parses a hex digest (what `keygen` prints).
pub fn parse_hex_digest(hex: &str) -> Option<Digest> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A configured client.
#[derive(Clone)]
pub struct Client {
    pub name: Arc<str>,
    pub api_key_sha256: Option<Digest>,
    pub client_id: Option<String>,
    pub client_secret_sha256: Option<Digest>,
    pub policy: Policy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.name)
            .field("api_key", &self.api_key_sha256.map(|_| "<redacted>"))
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret_sha256.map(|_| "<redacted>"),
            )
            .field("policy", &self.policy)
            .finish()
    }
}

/// All configured clients.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    list: Vec<Arc<Client>>,
}

impl Clients {
    pub fn new(list: Vec<Client>) -> Self {
        Clients {
            list: list.into_iter().map(Arc::new).collect(),
        }
    }

    /// No clients: the open mode.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The client holding this API key.
    pub fn by_api_key(&self, key: &str) -> Option<Arc<Client>> {
        let presented = sha256(key.as_bytes());
        let mut found = None;
        // Compare against every client (no early exit) in constant time.
        for c in &self.list {
            if let Some(d) = &c.api_key_sha256 {
                if verify_slices_are_equal(d, &presented).is_ok() && found.is_none() {
                    found = Some(c.clone());
                }
            }
        }
        found
    }

    /// The client with this OAuth client id and secret.
    pub fn by_client_secret(&self, client_id: &str, secret: &str) -> Option<Arc<Client>> {
        let presented = sha256(secret.as_bytes());
        let mut found = None;
        for c in &self.list {
            let id_ok = c.client_id.as_deref() == Some(client_id);
            if let Some(d) = &c.client_secret_sha256 {
                let secret_ok = verify_slices_are_equal(d, &presented).is_ok();
                if id_ok && secret_ok && found.is_none() {
                    found = Some(c.clone());
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(direction: Direction, query: bool, ingest: bool, objects: &[&str]) -> Policy {
        Policy {
            direction,
            query,
            ingest,
            objects: if objects == ["*"] {
                Objects::Any
            } else {
                Objects::Only(objects.iter().map(|s| s.to_string()).collect())
            },
            dataspace: None,
        }
    }

    #[test]
    fn read_only_query_client() {
        let p = policy(Direction::Read, true, false, &["UnifiedIndividual__dlm"]);
        assert_eq!(
            p.check(Access::Query {
                sql: Some("select * from unifiedindividual__dlm")
            }),
            Ok(())
        );
        assert_eq!(
            p.check(Access::Query {
                sql: Some("select * from UnifiedIndividual__dlm u join Secret__dlm s on u.id=s.id")
            }),
            Err(Denied::Object("Secret__dlm".into()))
        );
        assert_eq!(
            p.check(Access::Ingest {
                object: Some("UnifiedIndividual__dlm")
            }),
            Err(Denied::Direction("write"))
        );
        assert_eq!(
            p.check(Access::Other { write: true }),
            Err(Denied::Direction("write"))
        );
        assert!(matches!(
            p.check(Access::Query {
                sql: Some("selec nonsense")
            }),
            Err(Denied::Unchecked(_))
        ));
    }

    #[test]
    fn write_ingest_client() {
        let p = policy(Direction::Write, false, true, &["EngagementEvent"]);
        assert_eq!(
            p.check(Access::Ingest {
                object: Some("EngagementEvent")
            }),
            Ok(())
        );
        assert_eq!(
            p.check(Access::Ingest {
                object: Some("Other")
            }),
            Err(Denied::Object("Other".into()))
        );
        assert_eq!(p.check(Access::Metadata), Err(Denied::Direction("read")));
        let rw = policy(Direction::ReadWrite, false, true, &["*"]);
        assert_eq!(
            rw.check(Access::Query { sql: None }),
            Err(Denied::Operation("query"))
        );
    }

    #[test]
    fn secrets_match_by_digest() {
        let c = Client {
            name: "a".into(),
            api_key_sha256: Some(sha256(b"k1")),
            client_id: Some("id".into()),
            client_secret_sha256: Some(sha256(b"s1")),
            policy: Policy::open(),
        };
        let clients = Clients::new(vec![c]);
        assert!(clients.by_api_key("k1").is_some());
        assert!(clients.by_api_key("k2").is_none());
        assert!(clients.by_client_secret("id", "s1").is_some());
        assert!(clients.by_client_secret("id", "s2").is_none());
        assert!(clients.by_client_secret("other", "s1").is_none());
        let hex: String = sha256(b"k1").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_hex_digest(&hex), Some(sha256(b"k1")));
        assert_eq!(parse_hex_digest("zz"), None);
        assert!(!format!("{clients:?}").contains(&hex));
    }

    #[test]
    fn directions_parse() {
        assert_eq!(Direction::parse("read+write"), Some(Direction::ReadWrite));
        assert_eq!(Direction::parse("Read only"), Some(Direction::Read));
        assert_eq!(Direction::parse("sideways"), None);
    }
}
