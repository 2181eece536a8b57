//! Phases 2 and 3b: who is calling, and whether their policy allows what
//! the request does.
//!
//! A caller is a configured client (API key in `x-api-key` or as a bearer
//! token), the client bound to a token the OAuth facade issued, or — with no
//! clients configured — the anonymous client of open mode, which may do
//! everything. A facade token opens only the host of its kind: core tokens
//! `/services/data`, Data Cloud tokens `/api`.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use http::{header, HeaderMap, Method};
use serde::Deserialize;

use super::context::Context;
use super::error::ProxyError;
use super::forward::X_API_KEY;
use super::route::{self, Op, Route};
use super::Proxy;
use crate::auth::TokenKind;
use crate::body::Body;
use crate::policy::{Access, Client, Objects, Policy};

/// Rights of the anonymous client in open mode.
static OPEN_POLICY: LazyLock<Policy> = LazyLock::new(Policy::open);
/// Name the access log shows for the anonymous client, allocated once.
static OPEN_CLIENT: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("open"));

/// The anonymous client's name (a reference-count increment, no allocation).
pub(super) fn open_client() -> Arc<str> {
    OPEN_CLIENT.clone()
}

/// The admitted caller of one request.
pub(super) struct Admitted {
    pub(super) client: Option<Arc<Client>>,
    /// Data space bound to a gateway-issued Data Cloud token.
    pub(super) dataspace: Option<String>,
}

impl Admitted {
    pub(super) fn policy(&self) -> &Policy {
        self.client.as_ref().map_or(&OPEN_POLICY, |c| &c.policy)
    }
}

impl Proxy {
    /// Phase 2: who is calling.
    pub(super) fn admit(
        &self,
        ctx: &mut Context,
        headers: &HeaderMap,
    ) -> Result<Admitted, ProxyError> {
        let open = self.clients.is_empty();
        let api_key = headers.get(X_API_KEY).and_then(|v| v.to_str().ok());
        let bearer = bearer(headers);
        let admitted = if let (Some(key), false) = (api_key, open) {
            let client = self
                .clients
                .by_api_key(key)
                .ok_or(ProxyError::Unauthenticated("API key not recognised"))?;
            Admitted {
                client: Some(client),
                dataspace: None,
            }
        } else if let Some(session) = bearer.and_then(|t| self.facade.session(t)) {
            let fits = matches!(
                (ctx.route, session.kind),
                (Route::Tenant(_), TokenKind::DataCloud) | (Route::Core(_), TokenKind::Core)
            );
            if !fits && !open {
                return Err(ProxyError::Unauthenticated(
                    "a gateway-issued core token opens /services/data, a Data Cloud token opens /api",
                ));
            }
            Admitted {
                client: session.client.clone(),
                dataspace: session.dataspace.clone(),
            }
        } else if open {
            Admitted {
                client: None,
                dataspace: None,
            }
        } else if let Some(client) = bearer.and_then(|t| self.clients.by_api_key(t)) {
            Admitted {
                client: Some(client),
                dataspace: None,
            }
        } else if bearer.is_some() {
            return Err(ProxyError::Unauthenticated("bearer token not recognised"));
        } else {
            return Err(ProxyError::Unauthenticated(
                "no credentials: send x-api-key or a gateway-issued bearer token",
            ));
        };
        ctx.client = Some(match &admitted.client {
            Some(c) => c.name.clone(),
            None => open_client(),
        });
        Ok(admitted)
    }

    /// Phase 3b: the client's policy.
    pub(super) fn check_policy(
        &self,
        op: Op,
        parts: &http::request::Parts,
        body: &Body,
        policy: &Policy,
    ) -> Result<(), ProxyError> {
        // The body is parsed only when its SQL or object name is checked:
        // an unrestricted client's queries skip the JSON parse entirely.
        let needs_body = match op {
            Op::Query => matches!(policy.objects, Objects::Only(_)),
            Op::Ingest => true,
            _ => false,
        };
        let bytes = if needs_body { body.replayable() } else { None };
        let sql_body: Option<SqlBody<'_>> =
            bytes.as_ref().and_then(|b| serde_json::from_slice(b).ok());
        let access = match op {
            Op::Query => Access::Query {
                sql: sql_body.as_ref().and_then(|b| b.sql.as_deref()),
            },
            Op::QueryMore => Access::Query { sql: None },
            Op::Metadata => Access::Metadata,
            Op::Ingest => Access::Ingest {
                object: route::ingest_object(parts.uri.path())
                    .or_else(|| sql_body.as_ref().and_then(|b| b.object.as_deref())),
            },
            Op::Other => Access::Other {
                write: !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS),
            },
        };
        policy.check(access).map_err(ProxyError::Forbidden)
    }
}

/// The fields of a JSON body the policy reads (query SQL, bulk job object),
/// borrowed from the body where possible.
#[derive(Deserialize)]
struct SqlBody<'a> {
    #[serde(borrow, default)]
    sql: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    object: Option<Cow<'a, str>>,
}

/// The token of `Authorization: Bearer …` (or `OAuth …`).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    ((scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        && !token.is_empty())
    .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
