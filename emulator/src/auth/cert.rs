//! The RSA public key of a connected app's uploaded certificate.
//!
//! Salesforce verifies JWT assertions against the X.509 certificate uploaded
//! with "Use digital signatures". The certificate is parsed with
//! `rustls-webpki` (already in the build through rustls: strict DER, no extra
//! crypto), its SubjectPublicKeyInfo turned into a PKCS#1 `RSAPublicKey` by
//! aws-lc-rs (which also rejects non-RSA keys), and that handed to
//! jsonwebtoken. Certificates webpki will not parse (e.g. X.509 v1) fall back
//! to jsonwebtoken's own PEM reader.

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Why a certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("no certificate uploaded")]
    Missing,
    #[error("certificate PEM: {0}")]
    Pem(String),
    #[error("certificate has no usable RSA public key: {0}")]
    Key(String),
}

/// The verification key of an app certificate, with the key ids clients may
/// put in a JWT `kid` header to name it.
pub struct AppKey {
    pub key: DecodingKey,
    /// `x5t` (base64url SHA-1 of the DER), `x5t#S256`, and both digests in hex.
    kid_aliases: Vec<String>,
}

impl AppKey {
    /// Parses the first certificate of `pem`.
    pub fn from_certificate_pem(pem: &str) -> Result<AppKey, CertError> {
        if !pem.contains("-----BEGIN") {
            return Err(CertError::Missing);
        }
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| CertError::Pem(e.to_string()))?;
        let key = match rsa_key_via_webpki(&der) {
            Ok(key) => key,
            Err(webpki_err) => {
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| CertError::Key(webpki_err))?
            }
        };
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref());
        let sha256 = digest::digest(&digest::SHA256, der.as_ref());
        let kid_aliases = vec![
            URL_SAFE_NO_PAD.encode(sha1.as_ref()),
            URL_SAFE_NO_PAD.encode(sha256.as_ref()),
            hex(sha1.as_ref()),
            hex(sha256.as_ref()),
        ];
        Ok(AppKey { key, kid_aliases })
    }

    /// Whether a JWT `kid` names this certificate (thumbprints, any case for hex).
    pub fn matches_kid(&self, kid: &str) -> bool {
        let kid = kid.trim();
        self.kid_aliases
            .iter()
            .any(|a| a == kid || a.eq_ignore_ascii_case(&kid.replace(':', "")))
    }
}

fn rsa_key_via_webpki(der: &CertificateDer<'_>) -> Result<DecodingKey, String> {
    let cert = webpki::EndEntityCert::try_from(der).map_err(|e| e.to_string())?;
    let spki = cert.subject_public_key_info();
    let public = aws_lc_rs::rsa::PublicKey::from_der(spki.as_ref()).map_err(|e| e.to_string())?;
    Ok(DecodingKey::from_rsa_der(public.as_ref()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = include_str!("../../../fixtures/default/host.crt");

    #[test]
    fn parses_the_default_certificate() {
        let key = AppKey::from_certificate_pem(CERT).unwrap();
        assert_eq!(key.key.family(), jsonwebtoken::AlgorithmFamily::Rsa);
        assert!(key.matches_kid(&key.kid_aliases[0].clone()));
        assert!(!key.matches_kid("some-other-key"));
    }

    #[test]
    fn refuses_missing_or_garbled_certificates() {
        assert!(matches!(
            AppKey::from_certificate_pem(""),
            Err(CertError::Missing)
        ));
        assert!(AppKey::from_certificate_pem(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        )
        .is_err());
    }
}
