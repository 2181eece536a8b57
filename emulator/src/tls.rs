//! TLS for the listener: a rustls `ServerConfig` from PEM files, or from a
//! certificate generated at start for `localhost`, `127.0.0.1` and `::1`.
//!
//! A generated certificate is never shipped in the repo: it is made fresh
//! (ECDSA P-256, fast to generate) and its PEM written to a file so clients can
//! trust it (`REQUESTS_CA_BUNDLE`, `curl --cacert`) instead of disabling
//! verification. Only TLS 1.2 and 1.3 are offered (rustls offers nothing older),
//! with ALPN `h2` and `http/1.1`. The gateway reuses this module.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::aws_lc_rs;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Errors while preparing TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("no PEM certificate found in {0}")]
    NoCert(PathBuf),
    #[error("no PEM private key found in {0}")]
    NoKey(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("certificate generation failed: {0}")]
    Generate(String),
    #[error("TLS configuration rejected: {0}")]
    Config(String),
}

/// A certificate chain and its key, ready for rustls.
#[derive(Debug)]
pub struct CertifiedKey {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// The chain as PEM (what clients must trust for a self-signed certificate).
    pub cert_pem: String,
}

impl CertifiedKey {
    /// Loads a PEM certificate chain and private key.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let cert_pem = std::fs::read_to_string(cert).map_err(|source| TlsError::Read {
            path: cert.to_owned(),
            source,
        })?;
        let key_pem = std::fs::read(key).map_err(|source| TlsError::Read {
            path: key.to_owned(),
            source,
        })?;
        let chain: Vec<_> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .filter_map(Result::ok)
            .collect();
        if chain.is_empty() {
            return Err(TlsError::NoCert(cert.to_owned()));
        }
        let key =
            PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NoKey(key.to_owned()))?;
        Ok(CertifiedKey {
            chain,
            key,
            cert_pem,
        })
    }

    /// Generates a self-signed certificate for `localhost`, `127.0.0.1` and `::1`
    /// (plus any extra names).
    pub fn self_signed(extra_names: &[String]) -> Result<Self, TlsError> {
        let mut names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        for n in extra_names {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(names)
                .map_err(|e| TlsError::Generate(e.to_string()))?;
        let key = PrivateKeyDer::try_from(signing_key.serialize_der())
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        Ok(CertifiedKey {
            cert_pem: cert.pem(),
            chain: vec![cert.der().clone()],
            key,
        })
    }

    /// Writes the certificate PEM to `dir/file_name` and returns the path.
    pub fn write_cert_pem(&self, dir: &Path, file_name: &str) -> Result<PathBuf, TlsError> {
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(file_name);
        std::fs::write(&path, &self.cert_pem).map_err(|source| TlsError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// A rustls server configuration (TLS 1.2 + 1.3, ALPN h2 and http/1.1).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| TlsError::Config(e.to_string()))?
                .with_no_client_auth()
                .with_single_cert(self.chain.clone(), self.key.clone_key())
                .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A rustls client configuration that trusts exactly the given PEM certificates
/// (used by tests and by the gateway for the emulator's self-signed certificate).
pub fn client_config_trusting(cert_pem: &str) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(cert_pem.as_bytes()).filter_map(Result::ok) {
        roots
            .add(cert)
            .map_err(|e| TlsError::Config(e.to_string()))?;
    }
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
