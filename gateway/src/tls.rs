//! TLS on both sides of the gateway.
//!
//! Listener: the emulator's `CertifiedKey` (PEM files, or a certificate
//! generated for localhost/127.0.0.1/::1 whose PEM is written to a file so
//! clients can trust it), TLS 1.2 and 1.3 only, ALPN `h2` and `http/1.1`.
//!
//! Upstream: a rustls client trusting the webpki roots plus an optional extra
//! CA (`upstream.ca_cert`, e.g. the emulator's certificate). Skipping
//! verification exists only behind `upstream.insecure_skip_verify`, which
//! `Gateway::start` logs as an error-level warning.

use std::path::PathBuf;
use std::sync::Arc;

use dc_emulator::tls::{CertifiedKey, TlsError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::aws_lc_rs;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::config::{ListenerTls, UpstreamSettings};

/// The listener's TLS: rustls config, the certificate PEM, and where a
/// generated PEM was written.
pub struct ListenerCert {
    pub config: Arc<rustls::ServerConfig>,
    pub cert_pem: String,
    pub cert_path: Option<PathBuf>,
}

/// Loads or generates the listener certificate.
pub fn listener(tls: &ListenerTls, port: u16) -> Result<ListenerCert, TlsError> {
    match tls {
        ListenerTls::Files { cert, key } => {
            let ck = CertifiedKey::from_files(cert, key)?;
            Ok(ListenerCert {
                config: ck.server_config()?,
                cert_pem: ck.cert_pem.clone(),
                cert_path: Some(cert.clone()),
            })
        }
        ListenerTls::Generate { dir } => {
            let ck = CertifiedKey::self_signed(&[])?;
            let dir = dir.clone().unwrap_or_else(std::env::temp_dir);
            let path = ck.write_cert_pem(&dir, &format!("dc-gateway-{port}.pem"))?;
            Ok(ListenerCert {
                config: ck.server_config()?,
                cert_pem: ck.cert_pem.clone(),
                cert_path: Some(path),
            })
        }
    }
}

/// The upstream rustls client configuration.
pub fn upstream_client(settings: &UpstreamSettings) -> Result<rustls::ClientConfig, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?;
    // No ALPN list here: hyper-rustls sets it from the enabled protocols
    // (h2, http/1.1) and refuses a pre-set one.
    let config = if settings.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(pem) = &settings.ca_pem {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(Result::ok) {
                roots
                    .add(cert)
                    .map_err(|e| TlsError::Config(e.to_string()))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(config)
}

/// Accepts any upstream certificate (`upstream.insecure_skip_verify`).
/// Signatures are still checked so the handshake stays well-formed.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
