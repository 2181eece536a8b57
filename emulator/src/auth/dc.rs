//! Data Cloud tokens: the JWTs `/services/a360/token` hands out and the tenant
//! endpoints accept.
//!
//! Self-contained on purpose: every fact a tenant endpoint needs (user, data
//! space, scopes, expiry) is a claim, so nothing is looked up and revoking the
//! core token the DC token came from does not affect it (as on Salesforce,
//! and as `cdp` relies on). Signed HS256 with a random per-emulator key
//! (`TokenStore::dc_secret`); clients never verify it, they only read
//! `audienceTenantId` and `exp` (jdbc). Expiry is judged by the emulator clock.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// `kid` of emulator-issued DC tokens.
const KID: &str = "dc-emulator-hs256";

/// The claims of a Data Cloud token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DcClaims {
    /// The emulator's base URL.
    pub iss: String,
    /// User id (`005…`).
    pub sub: String,
    /// The tenant host (`127.0.0.1:PORT`).
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// `a360/…`: jdbc and hyper clients build the lakehouse name from it.
    #[serde(rename = "audienceTenantId")]
    pub audience_tenant_id: String,
    /// 18-character org id.
    #[serde(rename = "orgId")]
    pub org_id: String,
    /// Data space the token is bound to.
    pub dataspace: String,
    /// Granted scopes (modern spelling).
    pub scp: Vec<String>,
    /// Consumer key of the app the core token came from.
    #[serde(rename = "clientId")]
    pub client_id: String,
    /// Username, for logs and the emulator's own diagnostics.
    #[serde(default)]
    pub username: String,
}

/// Why a DC token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcTokenError {
    /// Not a JWT, or not one signed by this emulator.
    Invalid,
    /// Past its `exp` per the emulator clock.
    Expired,
}

/// Signs `claims` into a token.
pub fn mint(state: &AppState, claims: &DcClaims) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JWT".into());
    header.kid = Some(KID.into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(&state.tokens.dc_secret()),
    )
}

/// Verifies a token's signature and expiry.
pub fn verify(state: &AppState, token: &str) -> Result<DcClaims, DcTokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    // Expiry is checked below against the emulator clock, never system time.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<DcClaims>(
        token,
        &DecodingKey::from_secret(&state.tokens.dc_secret()),
        &validation,
    )
    .map_err(|_| DcTokenError::Invalid)?;
    if data.claims.exp <= state.clock.now_secs() {
        return Err(DcTokenError::Expired);
    }
    Ok(data.claims)
}
