//! The JWT bearer assertion: an RS256-signed JWT with `iss` (consumer key),
//! `sub` (username), `aud` (login URL) and an `exp` inside Salesforce's
//! three-minute window.
//!
//! The private key is parsed once at start (so a bad key stops start-up with a
//! precise message, not the first request) and kept in [`SigningKey`], whose
//! `Debug` never prints it.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM private key found")]
    NoPem,
    #[error("not an RSA private key usable for RS256 ({0})")]
    NotRsa(String),
    #[error("no PEM certificate found")]
    NoCert,
    #[error("the private key does not match the certificate ({0})")]
    Mismatch(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// The RSA key that signs assertions. Never printed.
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    /// Kept to check the key against a certificate.
    der: std::sync::Arc<PrivateKeyDer<'static>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
}

impl SigningKey {
    /// Parses a PEM RSA private key (PKCS#1 or PKCS#8; text around the PEM
    /// block, such as comments, is ignored) and proves it can sign.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let der = PrivateKeyDer::from_pem_slice(pem).map_err(|_| KeyError::NoPem)?;
        let start = find(pem, b"-----BEGIN").ok_or(KeyError::NoPem)?;
        let encoding = EncodingKey::from_rsa_pem(&pem[start..])
            .map_err(|e| KeyError::NotRsa(e.to_string()))?;
        let key = SigningKey {
            encoding,
            der: std::sync::Arc::new(der),
        };
        // A key that parses as PEM may still be refused by the signer (EC key,
        // short modulus): find out now rather than on the first token fetch.
        key.sign("probe", "probe", "https://probe", Duration::from_secs(60))
            .map_err(|e| KeyError::NotRsa(e.to_string()))?;
        Ok(key)
    }

    /// Checks that this key belongs to the PEM certificate (the one uploaded
    /// to the connected app), so a mismatch is reported at start instead of as
    /// Salesforce's bare `invalid assertion`.
    pub fn check_certificate(&self, cert_pem: &[u8]) -> Result<(), KeyError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .filter_map(Result::ok)
            .collect();
        if chain.is_empty() {
            return Err(KeyError::NoCert);
        }
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        rustls::sign::CertifiedKey::from_der(chain, self.der.clone_key(), &provider)
            .map(|_| ())
            .map_err(|e| KeyError::Mismatch(e.to_string()))
    }

    /// The RSA modulus size in bits (`check` reports it; Salesforce expects
    /// 2048).
    pub fn rsa_bits(&self) -> Option<usize> {
        let pair = match &*self.der {
            PrivateKeyDer::Pkcs8(k) => aws_lc_rs::rsa::KeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => aws_lc_rs::rsa::KeyPair::from_der(k.secret_pkcs1_der()),
            _ => return None,
        };
        pair.ok().map(|p| p.public_modulus_len() * 8)
    }

    /// Signs an assertion valid for `ttl` from now.
    pub fn sign(
        &self,
        client_id: &str,
        username: &str,
        audience: &str,
        ttl: Duration,
    ) -> Result<String, KeyError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            iss: client_id,
            sub: username,
            aud: audience,
            exp: now + ttl.as_secs(),
            iat: now,
            jti: random_id(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// 128 random bits as hex (JWT `jti`).
fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const KEY: &str = include_str!("../../../fixtures/default/host.key");
    const CERT: &str = include_str!("../../../fixtures/default/host.crt");

    #[test]
    fn signs_rs256_with_salesforce_claims() {
        let key = SigningKey::from_pem(KEY.as_bytes()).unwrap();
        let jwt = key
            .sign(
                "cid",
                "user@x",
                "https://login.example",
                Duration::from_secs(170),
            )
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        let claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "cid");
        assert_eq!(claims["sub"], "user@x");
        assert_eq!(claims["aud"], "https://login.example");
        let exp = claims["exp"].as_u64().unwrap();
        let iat = claims["iat"].as_u64().unwrap();
        assert_eq!(exp - iat, 170);
    }

    #[test]
    fn key_matches_its_certificate_and_not_another() {
        let key = SigningKey::from_pem(KEY.as_bytes()).unwrap();
        key.check_certificate(CERT.as_bytes()).unwrap();
        assert_eq!(key.rsa_bits(), Some(2048));
        let other = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
        let err = key
            .check_certificate(other.cert.pem().as_bytes())
            .unwrap_err();
        assert!(matches!(err, KeyError::Mismatch(_)), "{err}");
    }

    #[test]
    fn refuses_garbage_and_ec_keys() {
        assert!(matches!(
            SigningKey::from_pem(b"hello").unwrap_err(),
            KeyError::NoPem
        ));
        let ec = rcgen::KeyPair::generate().unwrap();
        let err = SigningKey::from_pem(ec.serialize_pem().as_bytes()).unwrap_err();
        assert!(matches!(err, KeyError::NotRsa(_)), "{err}");
    }

    #[test]
    fn debug_is_redacted() {
        let key = SigningKey::from_pem(KEY.as_bytes()).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
    }
}
