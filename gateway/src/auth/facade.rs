//! The OAuth facade: `/services/oauth2/token`, `/services/a360/token` and
//! `/services/oauth2/revoke` answered by the gateway itself, so an unmodified
//! SDK whose login URL is the gateway logs in, exchanges, and queries through
//! it. Every `instance_url` it hands out is the gateway's own address (core:
//! `https://host:port`; a360: bare `host:port`).
//!
//! Tokens issued here authorize a client *to the gateway only*: they live in
//! this table and are never sent upstream (the proxy strips `Authorization`
//! and injects the gateway's own upstream token).
//!
//! Open mode (no clients configured, loopback only) accepts the JWT bearer,
//! client credentials and password grants as sent — the assertion's signature
//! is not checked — so an SDK's existing configuration keeps working. With
//! clients configured, `client_credentials` and `password` must carry a
//! configured `client_id` and `client_secret`, and the token is bound to that
//! client's policy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::{Response, StatusCode};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::{TokenKind, Tokens};
use crate::body::Body;
use crate::policy::{Client, Clients};
use crate::proxy::error::{json_response, ProxyError};

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CDP_GRANTS: [&str; 2] = [
    "urn:salesforce:grant-type:external:cdp",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];
/// Sessions kept at most; beyond, expired ones are purged and new logins
/// refused until there is room.
const MAX_SESSIONS: usize = 100_000;
/// Fake but well-formed ids for the facade's identity URL.
const ORG_ID: &str = "00DGW0000000001AAA";
const USER_ID: &str = "005GW0000000001AAA";

/// What a gateway-issued token stands for.
#[derive(Debug)]
pub struct Session {
    pub kind: TokenKind,
    /// `None` in open mode.
    pub client: Option<Arc<Client>>,
    /// Data space of a Data Cloud session.
    pub dataspace: Option<String>,
    expires_at: Instant,
}

/// The facade's token table.
pub struct Facade {
    sessions: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    issued: AtomicU64,
    ttl: Duration,
    /// `host:port` the gateway is reached at.
    public_host: String,
    clients: Clients,
}

impl std::fmt::Debug for Facade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facade")
            .field("public_host", &self.public_host)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

type Params = HashMap<String, String>;

fn oauth(error: &'static str, description: &str) -> ProxyError {
    ProxyError::OAuth {
        status: StatusCode::BAD_REQUEST,
        error,
        description: description.to_owned(),
    }
}

impl Facade {
    pub fn new(ttl: Duration, public_host: String, clients: Clients) -> Self {
        Facade {
            sessions: RwLock::new(HashMap::new()),
            issued: AtomicU64::new(0),
            ttl,
            public_host,
            clients,
        }
    }

    /// The live session behind a gateway-issued token.
    pub fn session(&self, token: &str) -> Option<Arc<Session>> {
        let s = self.sessions.read().ok()?.get(token).cloned()?;
        (Instant::now() < s.expires_at).then_some(s)
    }

    /// `POST /services/oauth2/token`.
    pub async fn token(
        &self,
        params: &Params,
        tokens: &Tokens,
    ) -> Result<Response<Body>, ProxyError> {
        let grant = params
            .get("grant_type")
            .map(String::as_str)
            .ok_or_else(|| oauth("invalid_request", "grant type is missing"))?;
        let open = self.clients.is_empty();
        let client = match grant {
            JWT_GRANT => {
                if !open {
                    return Err(oauth(
                        "invalid_grant",
                        "the gateway has clients configured: authenticate with client_credentials (client_id and client_secret)",
                    ));
                }
                let assertion = params.get("assertion").map(String::as_str).unwrap_or("");
                if !looks_like_jwt(assertion) {
                    return Err(oauth("invalid_grant", "invalid assertion"));
                }
                None
            }
            "client_credentials" | "password" => {
                if open {
                    None
                } else {
                    let id = params.get("client_id").map(String::as_str).unwrap_or("");
                    let secret = params
                        .get("client_secret")
                        .map(String::as_str)
                        .unwrap_or("");
                    Some(
                        self.clients
                            .by_client_secret(id, secret)
                            .ok_or_else(|| oauth("invalid_client", "invalid client credentials"))?,
                    )
                }
            }
            "refresh_token" => {
                return Err(oauth("invalid_grant", "expired access/refresh token"));
            }
            _ => return Err(oauth("unsupported_grant_type", "grant type not supported")),
        };
        // Surface a broken upstream login here, where the SDK expects auth
        // errors, rather than on its first query.
        tokens.core().await.map_err(ProxyError::Token)?;
        let scope = scope(client.as_deref());
        let token = format!(
            "00DGW0000000001!{}",
            Alphanumeric.sample_string(&mut rand::rng(), 96)
        );
        self.insert(&token, TokenKind::Core, client, None)?;
        let issued_at = unix_millis().to_string();
        let base = format!("https://{}", self.public_host);
        let signature =
            base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        Ok(ok_json(&json!({
            "access_token": token,
            "signature": signature,
            "scope": scope,
            "instance_url": base,
            "id": format!("{base}/id/{ORG_ID}/{USER_ID}"),
            "token_type": "Bearer",
            "issued_at": issued_at,
            "api_instance_url": base,
        })))
    }

    /// `POST /services/a360/token`.
    pub async fn exchange(
        &self,
        params: &Params,
        tokens: &Arc<Tokens>,
    ) -> Result<Response<Body>, ProxyError> {
        let grant = params
            .get("grant_type")
            .map(String::as_str)
            .ok_or_else(|| oauth("invalid_request", "grant type is missing"))?;
        if !CDP_GRANTS.contains(&grant) {
            return Err(oauth("unsupported_grant_type", "grant type not supported"));
        }
        let subject = params
            .get("subject_token")
            .map(String::as_str)
            .unwrap_or("");
        let core = self
            .session(subject)
            .filter(|s| s.kind == TokenKind::Core)
            .ok_or_else(|| oauth("invalid_grant", "invalid subject token"))?;
        let dataspace = params
            .get("dataspace")
            .filter(|d| !d.is_empty())
            .cloned()
            .or_else(|| {
                core.client
                    .as_ref()
                    .and_then(|c| c.policy.dataspace.clone())
            })
            .unwrap_or_else(|| tokens.default_dataspace().to_owned());
        // Get (or reuse) the upstream Data Cloud token now so a failure shows
        // at the step the SDK expects, naming the upstream step.
        tokens
            .data_cloud(Some(&dataspace))
            .await
            .map_err(ProxyError::Token)?;
        let exp = unix_millis() / 1000 + self.ttl.as_secs();
        let token = dc_token(&self.public_host, &dataspace, exp);
        self.insert(
            &token,
            TokenKind::DataCloud,
            core.client.clone(),
            Some(dataspace),
        )?;
        Ok(ok_json(&json!({
            "access_token": token,
            "instance_url": self.public_host,
            "token_type": "Bearer",
            "issued_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "expires_in": self.ttl.as_secs(),
        })))
    }

    /// `POST|GET /services/oauth2/revoke`: forgets a gateway-issued token.
    /// Revoking a core token leaves Data Cloud tokens from it alive.
    pub fn revoke(&self, params: &Params) -> Result<Response<Body>, ProxyError> {
        let token = params.get("token").map(String::as_str).unwrap_or("");
        let removed = self
            .sessions
            .write()
            .map_err(|_| ProxyError::Internal("session table poisoned".into()))?
            .remove(token);
        match removed {
            Some(_) => {
                let mut resp = Response::new(Body::Empty);
                *resp.status_mut() = StatusCode::OK;
                Ok(resp)
            }
            None => Err(oauth("invalid_token", "invalid token")),
        }
    }

    fn insert(
        &self,
        token: &str,
        kind: TokenKind,
        client: Option<Arc<Client>>,
        dataspace: Option<String>,
    ) -> Result<(), ProxyError> {
        let now = Instant::now();
        let mut map = self
            .sessions
            .write()
            .map_err(|_| ProxyError::Internal("session table poisoned".into()))?;
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        if n % 1024 == 0 || map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires_at > now);
        }
        if map.len() >= MAX_SESSIONS {
            return Err(ProxyError::OAuth {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "too many active gateway sessions".into(),
            });
        }
        map.insert(
            token.into(),
            Arc::new(Session {
                kind,
                client,
                dataspace,
                expires_at: now + self.ttl,
            }),
        );
        Ok(())
    }
}

/// Scopes matching what the client may do.
fn scope(client: Option<&Client>) -> String {
    let (q, i) = client.map_or((true, true), |c| (c.policy.query, c.policy.ingest));
    let mut s = String::from("api");
    if q {
        s.push_str(" cdp_query_api cdp_profile_api");
    }
    if i {
        s.push_str(" cdp_ingest_api");
    }
    s
}

/// A JWT-shaped Data Cloud token (clients such as the JDBC driver decode its
/// payload for `audienceTenantId` and `exp`); the gateway recognises it by
/// table lookup, not by signature.
fn dc_token(host: &str, dataspace: &str, exp: u64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64.encode(
        json!({
            "iss": "dc-gateway",
            "aud": host,
            "exp": exp,
            "audienceTenantId": "a360/gateway/local",
            "dataspace": dataspace,
            "jti": Alphanumeric.sample_string(&mut rand::rng(), 24),
        })
        .to_string(),
    );
    let sig = Alphanumeric.sample_string(&mut rand::rng(), 64);
    format!("{header}.{payload}.{sig}")
}

/// Three base64url parts whose middle one is a JSON object.
fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 3 {
        return false;
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    b64.decode(parts[1].trim_end_matches('='))
        .ok()
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
        .is_some_and(|v| v.is_object())
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn ok_json(v: &Value) -> Response<Body> {
    let mut r = json_response(StatusCode::OK, v);
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shape() {
        let t = dc_token("127.0.0.1:1", "default", 1);
        assert!(looks_like_jwt(&t));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("not.a.jwt"));
    }

    #[test]
    fn sessions_expire_and_revoke() {
        let f = Facade::new(Duration::from_secs(60), "h:1".into(), Clients::default());
        f.insert("t", TokenKind::Core, None, None).unwrap();
        assert!(f.session("t").is_some());
        let mut p = Params::new();
        p.insert("token".into(), "t".into());
        assert!(f.revoke(&p).is_ok());
        assert!(f.session("t").is_none());
        assert!(f.revoke(&p).is_err());
    }
}
