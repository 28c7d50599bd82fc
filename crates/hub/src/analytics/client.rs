//! [`LmsClient`]: posts one notebook-log record to the LMS's REST server, over HTTP or HTTPS
//! with the certificate always verified (the system's CAs, plus a configured CA file).

use std::path::Path;
use std::time::Duration;

use crate::https_client::{HttpsClient, describe, https_client};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Method;
use hyper::Request;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use lticontainer_core::analytics::{Answer, LmsTarget, NbLog, classify};

/// How long one request may take, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The most of an answer that is read (Moodle's answers are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub use crate::https_client::ClientError;

/// Posts records to the LMS; cheap to clone.
#[derive(Clone)]
pub struct LmsClient {
    client: HttpsClient,
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
        let client = https_client(ca_file.map(|p| ("hub.analytics_ca_file", p)))?;
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

    /// POSTs `body` as JSON to `url` (with `Authorization: Bearer <bearer>` when given) and
    /// returns the status and at most `max_bytes` of the answer, within the same timeout. Used
    /// for LTI Dynamic Registration.
    ///
    /// # Errors
    /// As [`LmsClient::get`].
    pub async fn post_json(
        &self,
        url: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
        max_bytes: usize,
    ) -> Result<(u16, Bytes), String> {
        let mut builder =
            Request::post(url).header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(token) = bearer {
            builder = builder.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = builder
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| {
                format!("{url} is not a usable URL (or the token not a header value): {e}")
            })?;
        self.exchange(request, max_bytes).await
    }

    /// POSTs `body` of `content_type` to `url` with the `Authorization` header value
    /// `authorization`, within the same timeout as [`LmsClient::post`]; the status and at most
    /// `max_bytes` of the answer. Used for grades (LTI 1.1 Basic Outcomes).
    ///
    /// # Errors
    /// A one-line reason: an unusable URL or header, a failed connection, a timeout, a body
    /// too large.
    pub async fn post_signed(
        &self,
        url: &str,
        content_type: &str,
        authorization: &str,
        body: Vec<u8>,
        max_bytes: usize,
    ) -> Result<(u16, Bytes), String> {
        let call = ServiceCall::post(url, content_type, body).authorization(authorization);
        self.call(call, max_bytes).await
    }

    /// Sends `call` within the same timeout as [`LmsClient::post`]; the status and at most
    /// `max_bytes` of the answer. Used for grades (LTI 1.3 Assignment and Grade Services).
    ///
    /// # Errors
    /// As [`LmsClient::post_signed`].
    pub async fn call(&self, call: ServiceCall, max_bytes: usize) -> Result<(u16, Bytes), String> {
        let mut builder = Request::builder()
            .method(call.method)
            .uri(call.url.as_str());
        if let Some(value) = call.authorization {
            let mut auth = HeaderValue::from_str(&value)
                .map_err(|_| "the Authorization header cannot be sent".to_owned())?;
            auth.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, auth);
        }
        if let Some(accept) = call.accept {
            builder = builder.header(ACCEPT, accept);
        }
        if let Some(content_type) = call.content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        let request = builder
            .body(Full::new(Bytes::from(call.body)))
            .map_err(|e| format!("{} is not a usable URL: {e}", call.url))?;
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

/// One request to an LMS service ([`LmsClient::call`]).
#[derive(Clone)]
pub struct ServiceCall {
    method: Method,
    url: String,
    content_type: Option<String>,
    accept: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

impl std::fmt::Debug for ServiceCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCall")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ServiceCall {
    /// A GET of `url`, accepting `accept`.
    pub fn get(url: &str, accept: &str) -> Self {
        Self {
            method: Method::GET,
            url: url.to_owned(),
            content_type: None,
            accept: Some(accept.to_owned()),
            authorization: None,
            body: Vec::new(),
        }
    }

    /// A POST of `body` of `content_type` to `url`.
    pub fn post(url: &str, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            method: Method::POST,
            url: url.to_owned(),
            content_type: Some(content_type.to_owned()),
            accept: None,
            authorization: None,
            body,
        }
    }

    /// With the `Authorization` header `value` (sent marked sensitive).
    #[must_use]
    pub fn authorization(mut self, value: &str) -> Self {
        self.authorization = Some(value.to_owned());
        self
    }

    /// With `Authorization: Bearer <token>`.
    #[must_use]
    pub fn bearer(self, token: &str) -> Self {
        self.authorization(&format!("Bearer {token}"))
    }
}
