//! Optional TLS on the webhook listener (rustls with ring): a certificate chain and a private
//! key in PEM files, HTTP/2 and HTTP/1.1 offered by ALPN.

use std::path::{Path, PathBuf};
#[cfg(feature = "tls")]
use std::sync::Arc;

#[cfg(feature = "tls")]
use rustls::pki_types::pem::PemObject;
#[cfg(feature = "tls")]
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
#[cfg(feature = "tls")]
pub(crate) use tokio_rustls::TlsAcceptor;

/// What accepts TLS connections: none in a build without the `tls` feature.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub(crate) enum TlsAcceptor {}

/// Why TLS could not be set up. Names the file, never its contents.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {path}: {problem}")]
pub struct TlsError {
    path: PathBuf,
    problem: String,
}

impl TlsError {
    fn new(path: &Path, problem: impl std::fmt::Display) -> Self {
        Self {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        }
    }
}

/// A TLS acceptor serving the chain in `cert` with the key in `key`.
///
/// # Errors
/// When a file cannot be read, holds no certificate or key, or the key does not match.
#[cfg(feature = "tls")]
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::new(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(cert, e))?;
    if chain.is_empty() {
        return Err(TlsError::new(cert, "no certificate in the file"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::new(key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::new(cert, e))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| TlsError::new(key, e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Refuses TLS settings in a build without TLS, naming the certificate file.
///
/// # Errors
/// Always: a listener asked for TLS must not serve plain HTTP instead.
#[cfg(not(feature = "tls"))]
pub(crate) fn acceptor(cert: &Path, _key: &Path) -> Result<TlsAcceptor, TlsError> {
    Err(TlsError::new(
        cert,
        "this build has no TLS: it needs botwire's `tls` cargo feature",
    ))
}
