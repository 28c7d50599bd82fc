//! [`Lti11Authenticator`]: verifies LTI 1.1 basic launches (OAuth 1.0 HMAC-SHA1) and builds
//! the [`LtiLaunch`].

use std::sync::Arc;

use async_trait::async_trait;

use super::config::Lti11Config;
use super::nonce::{InMemoryNonceStore, NonceCheck, NonceKey, NonceStore};
use super::oauth::{Normalized, base_string_uri};
use super::{Authenticator, LaunchError, LaunchRequest};
use crate::clock::{Clock, SystemClock};
use crate::form::{FormParams, parse_authorization};
use crate::launch::LtiLaunch;

/// The only `lti_message_type` a basic launch carries.
pub const MESSAGE_TYPE: &str = "basic-lti-launch-request";
/// The `lti_version` of LTI 1.0, 1.1 and 1.1.1 basic launches (1.1 did not change it).
pub const LTI_VERSION: &str = "LTI-1p0";

/// Verifies LTI 1.1 basic launches: OAuth 1.0 HMAC-SHA1 signature (RFC 5849 §3.4), timestamp
/// window, nonce replay, and the LTI message headers; then builds the [`LtiLaunch`].
///
/// The checks run cheapest first, and nothing is remembered until every check has passed:
/// 1. the request: POST, an absolute `http(s)` URL, decodable query and `Authorization` header
///    (400);
/// 2. the OAuth parameters `oauth_consumer_key`, `oauth_signature_method` (`HMAC-SHA1`),
///    `oauth_timestamp`, `oauth_nonce`, `oauth_signature` present once and non-empty,
///    `oauth_version` `1.0` when present (400);
/// 3. `lti_message_type` = `basic-lti-launch-request`, `lti_version` = `LTI-1p0`, and non-empty
///    `resource_link_id` and `user_id` (400);
/// 4. a configured consumer key (401);
/// 5. the timestamp within ± the window of the hub's clock (401);
/// 6. the signature over the public launch URL and every query, body and `Authorization` header
///    parameter except `realm` and `oauth_signature`, compared in constant time (401, the error
///    keeps the computed base string);
/// 7. the launch model ([`LtiLaunch::from_params`], 400 when e.g. no usable username remains);
/// 8. the nonce, new for this consumer key and timestamp (401 on replay; 503 when the store is
///    full).
///
/// `lti_version` must be exactly `LTI-1p0`: LTI 1.1 and 1.1.1 kept that value, and `LTI-2p0`
/// messages use flows this hub does not implement, so any other value is a configuration error
/// worth a clear message rather than a silent accept.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use lticontainer_core::auth::{Authenticator, LaunchRequest, LaunchSigner, Lti11Authenticator, Lti11Config, ManualClock};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let now = 1_700_000_000;
/// let auth = Lti11Authenticator::in_memory(Lti11Config::default().with_consumer("moodle", "s3cret"))?
///     .with_clock(Arc::new(ManualClock::new(now)));
/// let url = "https://hub.example.edu/hub/lti/launch";
/// let form = LaunchSigner::new("moodle", "s3cret").sign(url, vec![
///     ("lti_message_type".into(), "basic-lti-launch-request".into()),
///     ("lti_version".into(), "LTI-1p0".into()),
///     ("resource_link_id".into(), "42".into()),
///     ("user_id".into(), "7".into()),
///     ("ext_user_username".into(), "alice".into()),
/// ], now, "nonce-1")?;
/// let launch = auth.authenticate(&LaunchRequest::post(url, form)).await?;
/// assert_eq!(launch.username, "alice");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Lti11Authenticator {
    config: Lti11Config,
    nonces: Arc<dyn NonceStore>,
    clock: Arc<dyn Clock>,
}

/// The OAuth protocol parameters of one launch.
#[derive(Default)]
struct OAuthParams<'a> {
    consumer_key: Option<&'a str>,
    signature_method: Option<&'a str>,
    timestamp: Option<&'a str>,
    nonce: Option<&'a str>,
    version: Option<&'a str>,
    signature: Option<&'a str>,
}

impl<'a> OAuthParams<'a> {
    /// Picks the protocol parameters out of every source; a repeated one is an error.
    fn collect(params: &[(&'a str, &'a str)]) -> Result<Self, LaunchError> {
        let mut p = Self::default();
        for &(name, value) in params {
            let slot = match name {
                "oauth_consumer_key" => &mut p.consumer_key,
                "oauth_signature_method" => &mut p.signature_method,
                "oauth_timestamp" => &mut p.timestamp,
                "oauth_nonce" => &mut p.nonce,
                "oauth_version" => &mut p.version,
                "oauth_signature" => &mut p.signature,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(LaunchError::DuplicateParameter {
                    name: name.to_owned(),
                });
            }
        }
        Ok(p)
    }
}

/// The value of a required parameter, or [`LaunchError::MissingParameter`].
fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, LaunchError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or(LaunchError::MissingParameter { name })
}

/// Keeps an echoed value short enough for a log line.
fn clip(value: &str) -> String {
    value.chars().take(100).collect()
}

/// The last value of `name` among the launch parameters (the one [`LtiLaunch`] keeps).
fn last<'a>(params: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
}

impl Lti11Authenticator {
    /// An authenticator with `config`, remembering nonces in `nonces`, reading the system clock.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] when [`Lti11Config::validate`] refuses the configuration.
    pub fn new(config: Lti11Config, nonces: Arc<dyn NonceStore>) -> crate::Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            nonces,
            clock: Arc::new(SystemClock),
        })
    }

    /// An authenticator with an [`InMemoryNonceStore`] bounded by `config.nonce_capacity`.
    ///
    /// # Errors
    /// As [`Lti11Authenticator::new`].
    pub fn in_memory(config: Lti11Config) -> crate::Result<Self> {
        let store = Arc::new(InMemoryNonceStore::new(config.nonce_capacity));
        Self::new(config, store)
    }

    /// Replaces the clock (tests, recorded launches).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &Lti11Config {
        &self.config
    }

    /// Runs every check on `req` and returns the launch.
    ///
    /// # Errors
    /// A [`LaunchError`] naming the first check that failed; see the type-level docs for the
    /// order.
    pub async fn verify(&self, req: &LaunchRequest) -> Result<LtiLaunch, LaunchError> {
        if !req.method.eq_ignore_ascii_case("POST") {
            return Err(LaunchError::Malformed {
                reason: format!(
                    "an LTI launch is an HTTP POST, this request is {}",
                    clip(&req.method)
                ),
            });
        }
        let base_uri = base_string_uri(&req.url)?;
        let query = match base_uri.query {
            Some(q) => FormParams::parse(q.as_bytes())?,
            None => FormParams::new(),
        };
        let header = match req.authorization.as_deref() {
            Some(h) => parse_authorization(h)?.unwrap_or_default(),
            None => Vec::new(),
        };
        // Every parameter, as the signature covers them: query, body, then header (minus realm).
        let all: Vec<(&str, &str)> = query
            .iter()
            .chain(req.form.iter())
            .chain(
                header
                    .iter()
                    .filter(|(n, _)| n != "realm")
                    .map(|(n, v)| (n.as_str(), v.as_str())),
            )
            .collect();

        let oauth = OAuthParams::collect(&all)?;
        let consumer_key = required(oauth.consumer_key, "oauth_consumer_key")?;
        let method = required(oauth.signature_method, "oauth_signature_method")?;
        let timestamp = required(oauth.timestamp, "oauth_timestamp")?;
        let nonce = required(oauth.nonce, "oauth_nonce")?;
        let signature = required(oauth.signature, "oauth_signature")?;
        if method != "HMAC-SHA1" {
            return Err(LaunchError::InvalidParameter {
                name: "oauth_signature_method",
                value: clip(method),
                expected: "HMAC-SHA1, the method LTI 1.1 consumers sign with",
            });
        }
        if let Some(version) = oauth.version.filter(|v| *v != "1.0") {
            return Err(LaunchError::InvalidParameter {
                name: "oauth_version",
                value: clip(version),
                expected: "1.0 (or no oauth_version at all)",
            });
        }
        let timestamp: i64 = timestamp
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| timestamp.parse().ok())
            .flatten()
            .ok_or_else(|| LaunchError::InvalidParameter {
                name: "oauth_timestamp",
                value: clip(timestamp),
                expected: "the Unix time in whole seconds",
            })?;

        // The launch's own parameters: query and body (the header carries only OAuth ones).
        let lti = &all[..query.len() + req.form.len()];
        let message_type = required(last(lti, "lti_message_type"), "lti_message_type")?;
        if message_type != MESSAGE_TYPE {
            return Err(LaunchError::InvalidParameter {
                name: "lti_message_type",
                value: clip(message_type),
                expected: "basic-lti-launch-request",
            });
        }
        let version = required(last(lti, "lti_version"), "lti_version")?;
        if version != LTI_VERSION {
            return Err(LaunchError::InvalidParameter {
                name: "lti_version",
                value: clip(version),
                expected: "LTI-1p0 (LTI 1.0/1.1 launches; set the tool's LTI version to 1.0/1.1 in the LMS)",
            });
        }
        required(last(lti, "resource_link_id"), "resource_link_id")?;
        required(last(lti, "user_id"), "user_id")?;

        let secret = self.config.consumers.get(consumer_key).ok_or_else(|| {
            LaunchError::UnknownConsumer {
                key: clip(consumer_key),
            }
        })?;

        let now = self.clock.now_unix();
        let window = self.config.timestamp_window_secs;
        let window_i = i64::try_from(window).unwrap_or(i64::MAX);
        let age = now.saturating_sub(timestamp);
        if age > window_i {
            return Err(LaunchError::StaleTimestamp {
                timestamp,
                age,
                window,
            });
        }
        if age < -window_i {
            return Err(LaunchError::FutureTimestamp {
                timestamp,
                ahead: -age,
                window,
            });
        }

        let signed = all.iter().copied().filter(|(n, _)| *n != "oauth_signature");
        let normalized = Normalized::new(signed);
        if !normalized.verify(&req.method, &base_uri.uri, secret, signature) {
            return Err(LaunchError::BadSignature {
                consumer_key: consumer_key.to_owned(),
                base_string: normalized.base_string(&req.method, &base_uri.uri),
            });
        }

        let launch = if query.is_empty() {
            LtiLaunch::from_params(consumer_key, &req.form, &self.config.username_key)?
        } else {
            let params: FormParams = query.iter().chain(req.form.iter()).collect();
            LtiLaunch::from_params(consumer_key, params, &self.config.username_key)?
        };

        let key = NonceKey {
            consumer_key,
            nonce,
            timestamp,
        };
        // Remembered through the last second the timestamp is accepted (`age <= window`): the
        // entry expires at the first second it is refused, `timestamp + window + 1`.
        let expires_at = timestamp.saturating_add(window_i).saturating_add(1);
        // Through the `dyn` itself: the `Arc` forwarding impl would box a second future.
        match self
            .nonces
            .as_ref()
            .check_and_remember(key, expires_at, now)
            .await
        {
            Ok(NonceCheck::Fresh) => Ok(launch),
            Ok(NonceCheck::Replayed) => Err(LaunchError::ReplayedNonce {
                consumer_key: consumer_key.to_owned(),
                nonce: clip(nonce),
                timestamp,
            }),
            Err(e) => Err(LaunchError::NonceStore(e)),
        }
    }
}

#[async_trait]
impl Authenticator for Lti11Authenticator {
    async fn authenticate(&self, req: &LaunchRequest) -> Result<LtiLaunch, LaunchError> {
        self.verify(req).await
    }
}
