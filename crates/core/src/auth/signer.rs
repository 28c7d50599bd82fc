//! [`LaunchSigner`]: signs launches the way an LTI 1.1 consumer (Moodle) does, for tests,
//! benchmarks and a hub's "test launch" tooling.

use std::fmt;

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
        mut params: Vec<(String, String)>,
        timestamp: i64,
        nonce: &str,
    ) -> Result<Vec<(String, String)>, LaunchError> {
        let base = base_string_uri(url)?;
        let query = match base.query {
            Some(q) => parse_urlencoded(q.as_bytes())?,
            None => Vec::new(),
        };
        for (name, value) in [
            ("oauth_version", "1.0"),
            ("oauth_nonce", nonce),
            ("oauth_timestamp", &timestamp.to_string()),
            ("oauth_consumer_key", &self.key),
            ("oauth_callback", "about:blank"),
            ("oauth_signature_method", "HMAC-SHA1"),
        ] {
            params.push((name.to_owned(), value.to_owned()));
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
