//! [`HubTls`]: the hub's own HTTPS (`[hub] ssl_cert` / `ssl_key`, PEM files as the original's
//! settings), with the certificate and key reloaded on request (the CLI does it on SIGHUP). A new
//! pair that cannot be read or does not match keeps the one in use, with a log line naming the
//! file and the cause; connections already open keep the configuration they started with.
//!
//! rustls with the *ring* provider, as the analytics client uses; HTTP/1.1 only (ALPN
//! `http/1.1`), as [`crate::serve`] speaks.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The hub's TLS server configuration, loaded from its PEM files and replaceable while serving.
#[derive(Debug, Clone)]
pub struct HubTls {
    cert: PathBuf,
    key: PathBuf,
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

/// Why a certificate/key pair could not be used; the message names the file and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsLoadError(String);

impl HubTls {
    /// Loads the certificate chain at `cert` and the private key at `key`.
    ///
    /// # Errors
    /// A file that cannot be read, holds no certificate or key, or a key that does not match
    /// the certificate.
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Result<Self, TlsLoadError> {
        let (cert, key) = (cert.into(), key.into());
        let config = server_config(&cert, &key)?;
        Ok(Self {
            cert,
            key,
            current: Arc::new(RwLock::new(config)),
        })
    }

    /// Reads the files again; on success new connections use the new pair. On failure the pair in
    /// use stays, the cause is logged for the admin, and returned.
    ///
    /// # Errors
    /// As [`HubTls::load`].
    pub fn reload(&self) -> Result<(), TlsLoadError> {
        match server_config(&self.cert, &self.key) {
            Ok(config) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = config;
                tracing::info!(cert = %self.cert.display(), "TLS certificate and key reloaded");
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot reload the TLS certificate and key; still serving the previous ones (fix hub.ssl_cert / hub.ssl_key and send SIGHUP again)");
                Err(e)
            }
        }
    }

    /// The acceptor for the next connection, with the pair loaded last.
    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let config = Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner));
        tokio_rustls::TlsAcceptor::from(config)
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsLoadError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsLoadError(format!("hub.ssl_cert {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(TlsLoadError(format!(
            "hub.ssl_cert {}: no PEM certificate in the file",
            cert.display()
        )));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsLoadError(format!("hub.ssl_key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsLoadError(format!("TLS protocol versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            TlsLoadError(format!(
                "hub.ssl_cert {} / hub.ssl_key {}: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
