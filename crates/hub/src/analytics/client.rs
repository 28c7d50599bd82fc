//! [`LmsClient`]: posts one notebook-log record to the LMS's REST server, over HTTP or HTTPS
//! with the certificate always verified (the system's CAs, plus a configured CA file).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lticontainer_core::analytics::{Answer, LmsTarget, NbLog, classify};

/// How long one request may take, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The most of an answer that is read (Moodle's answers are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The CA file could not be read or holds no certificate.
    #[error("hub.analytics_ca_file {path}: {why}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// TLS could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// Posts records to the LMS; cheap to clone.
#[derive(Clone)]
pub struct LmsClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for LmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmsClient").finish_non_exhaustive()
    }
}

impl LmsClient {
    /// A client that trusts the system's CAs and, when given, those in `ca_file` (PEM).
    ///
    /// # Errors
    /// [`ClientError::CaFile`] when the file cannot be read or holds no certificate;
    /// [`ClientError::Tls`] when TLS cannot be set up.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, ClientError> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::warn!(error = %e, "analytics: a system CA certificate could not be loaded");
        }
        let (_, ignored) = roots.add_parsable_certificates(native.certs);
        if ignored > 0 {
            tracing::debug!(
                ignored,
                "analytics: system CA certificates rustls cannot use"
            );
        }
        if let Some(path) = ca_file {
            use rustls_pki_types::CertificateDer;
            use rustls_pki_types::pem::PemObject;
            let ca_err = |why: String| ClientError::CaFile {
                path: path.display().to_string(),
                why,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| ca_err(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ca_err(e.to_string()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(ca_err("no usable certificate in the file".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(5)));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(16)
            .build(https);
        Ok(Self { client })
    }

    /// Posts `log` as the only record of one request to `endpoint` with `token`, and says what
    /// the answer means. A failed connection, a timeout or an unreadable answer is
    /// [`Answer::Retry`]; the token never appears in the reason.
    pub async fn post(&self, endpoint: &str, token: &str, log: &NbLog) -> Answer {
        let url = LmsTarget::request_url(endpoint, token);
        let request = match Request::post(url.as_str())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(Full::new(Bytes::from(log.form_body())))
        {
            Ok(r) => r,
            Err(e) => {
                return Answer::Refused {
                    errorcode: "badurl".into(),
                    message: format!("the LMS address {endpoint} is not a usable URL: {e}"),
                };
            }
        };
        match self.exchange(request, MAX_ANSWER_BYTES).await {
            Ok((status, body)) => classify(status, &body),
            Err(why) => Answer::Retry(why),
        }
    }

    /// GETs `url` and returns the status and at most `max_bytes` of the body (more is an
    /// error), within the same timeout as [`LmsClient::post`]. Used for the LTI 1.3 platforms'
    /// key sets.
    ///
    /// # Errors
    /// A one-line reason: an unusable URL, a failed connection, a timeout, a body too large.
    pub async fn get(&self, url: &str, max_bytes: usize) -> Result<(u16, Bytes), String> {
        let request = Request::get(url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("{url} is not a usable URL: {e}"))?;
        self.exchange(request, max_bytes).await
    }

    /// Sends `request`; the status and the body (at most `max_bytes`), or why not.
    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        max_bytes: usize,
    ) -> Result<(u16, Bytes), String> {
        let exchange = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| describe(&e))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), max_bytes)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")))
    }
}

/// The error and its causes, on one line (the URL, with its token, is not part of them).
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
