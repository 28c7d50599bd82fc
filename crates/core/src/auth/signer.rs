//! [`LaunchSigner`]: signs launches the way an LTI 1.1 consumer (Moodle) does, for tests,
//! benchmarks and a hub's "test launch" tooling, and the body-hash requests of LTI 1.1 Basic
//! Outcomes the hub sends back to the LMS (`crate::grades::outcomes`).

use std::fmt;

use base64::Engine as _;

use super::LaunchError;
use super::oauth::{base_string_uri, sign_hmac_sha1, signature_base_string};
use crate::form::parse_urlencoded;

/// Signs launch parameters with a consumer key and secret, as Moodle's `lti_sign_parameters` does.
///
/// `Debug` never prints the secret.
#[derive(Clone)]
pub struct LaunchSigner {
    key: String,
    secret: String,
}

impl fmt::Debug for LaunchSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaunchSigner")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl LaunchSigner {
    /// A signer for consumer `key` with `secret`.
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: secret.into(),
        }
    }

    /// Adds the OAuth parameters Moodle adds (`oauth_version=1.0`, `oauth_nonce`,
    /// `oauth_timestamp`, `oauth_consumer_key`, `oauth_callback=about:blank`,
    /// `oauth_signature_method=HMAC-SHA1`) to `params` and signs them for a POST to `url`.
    /// Parameters in the query of `url` are signed too and are not added to the returned body,
    /// as Moodle strips them from the form.
    ///
    /// Returns the form body parameters, `oauth_signature` last.
    ///
    /// # Errors
    /// [`LaunchError::Malformed`] when `url` is not an absolute `http(s)` URL or its query does
    /// not decode.
    pub fn sign(
        &self,
        url: &str,
        params: Vec<(String, String)>,
        timestamp: i64,
        nonce: &str,
    ) -> Result<Vec<(String, String)>, LaunchError> {
        self.sign_with(
            url,
            params,
            timestamp,
            nonce,
            &[("oauth_callback", "about:blank")],
        )
    }

    /// Signs a request whose body is not a form (an LTI 1.1 Basic Outcomes POX message) for a
    /// POST to `url`, as the OAuth Request Body Hash extension asks: `oauth_body_hash` (the
    /// base64 SHA-1 of `body`) is signed with the other OAuth parameters (`oauth_version=1.0`,
    /// `oauth_nonce`, `oauth_timestamp`, `oauth_consumer_key`,
    /// `oauth_signature_method=HMAC-SHA1`) and the query of `url`.
    ///
    /// Returns the OAuth parameters, `oauth_signature` last, for the `Authorization` header
    /// ([`crate::form::authorization_header`]).
    ///
    /// # Errors
    /// As [`LaunchSigner::sign`].
    pub fn sign_body(
        &self,
        url: &str,
        body: &[u8],
        timestamp: i64,
        nonce: &str,
    ) -> Result<Vec<(String, String)>, LaunchError> {
        use sha1::{Digest, Sha1};
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(body));
        self.sign_with(
            url,
            Vec::new(),
            timestamp,
            nonce,
            &[("oauth_body_hash", &hash)],
        )
    }

    /// Adds the OAuth parameters every signed request has, then `extra`, to `params` and signs
    /// them with the query of `url`; `oauth_signature` last.
    fn sign_with(
        &self,
        url: &str,
        mut params: Vec<(String, String)>,
        timestamp: i64,
        nonce: &str,
        extra: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, LaunchError> {
        let base = base_string_uri(url)?;
        let query = match base.query {
            Some(q) => parse_urlencoded(q.as_bytes())?,
            None => Vec::new(),
        };
        let timestamp = timestamp.to_string();
        let common = [
            ("oauth_version", "1.0"),
            ("oauth_nonce", nonce),
            ("oauth_timestamp", timestamp.as_str()),
            ("oauth_consumer_key", self.key.as_str()),
        ];
        for (name, value) in common
            .iter()
            .chain(extra)
            .chain(&[("oauth_signature_method", "HMAC-SHA1")])
        {
            params.push(((*name).to_owned(), (*value).to_owned()));
        }
        let signed: Vec<(&str, &str)> = query
            .iter()
            .chain(&params)
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let base_string = signature_base_string("POST", &base.uri, &signed);
        params.push((
            "oauth_signature".to_owned(),
            sign_hmac_sha1(&base_string, &self.secret),
        ));
        Ok(params)
    }
}
