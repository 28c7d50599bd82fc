//! LTI 1.1 launch verification: the [`Authenticator`] trait and its LTI 1.1 implementation
//! [`Lti11Authenticator`].
//!
//! The hub turns each launch POST into a [`LaunchRequest`] (the public URL from
//! [`public_launch_url`], the decoded form, the `Authorization` header) and asks an
//! `Arc<dyn Authenticator>` for the [`LtiLaunch`]. A refused launch is a [`LaunchError`] that
//! carries its HTTP status, a message for the admin's log and one for the student's page.
//!
//! Decisions, and why:
//! * The signature follows RFC 5849 §3.4.1 to the letter (see [`signature_base_string`]);
//!   independent `oauthlib` signatures are checked against it in the tests.
//! * The timestamp window is ±300 s by default (IMS guidance, Moodle's own threshold), not
//!   ltiauthenticator's ±30 s that trips over ordinary clock skew.
//! * Nonces live in a bounded store ([`InMemoryNonceStore`]) keyed by consumer + nonce +
//!   timestamp for exactly the window; when it is full, new launches get a 503 rather than
//!   evicting live nonces.
//! * `lti_version` must be `LTI-1p0` and `lti_message_type` `basic-lti-launch-request`
//!   (ltiauthenticator checks only that they are present).
//! * Duplicate OAuth protocol parameters are refused; duplicate ordinary parameters are signed
//!   as sent.
//! * `oauth_callback` is not required and never added: it is signed only when the consumer sent
//!   it (Moodle sends `about:blank`; adding a default broke other consumers' signatures in
//!   ltiauthenticator #136).
//! * The public launch URL is configured, not guessed: see [`public_launch_url`] for why
//!   forwarded headers count only from trusted proxies.
//! * Known limit: Moodle orders the values of a duplicated key with PHP's `natsort`, RFC 5849
//!   (and this hub) by bytes; the two differ only for duplicated keys whose values sort
//!   differently (e.g. `a=10&a=9`), which standard Moodle launches never send.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::launch::LtiLaunch;

pub(crate) mod clip;
mod config;
mod error;
mod nonce;
mod oauth;
mod public_url;
mod signer;
mod token_hash;
mod verifier;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::form::{
    FormError, FormParams, authorization_header, encode_urlencoded, parse_authorization,
    parse_urlencoded, percent_encode,
};
pub use config::{DEFAULT_NONCE_CAPACITY, DEFAULT_TIMESTAMP_WINDOW_SECS, Lti11Config};
pub use error::LaunchError;
pub use nonce::{InMemoryNonceStore, NonceCheck, NonceKey, NonceStore};
pub use oauth::{
    BaseUri, base_string_uri, sign_hmac_sha1, signature_base_string, verify_hmac_sha1,
};
pub use public_url::{IpCidr, PublicUrlConfig, RequestOrigin, public_launch_url, public_scheme};
pub use signer::LaunchSigner;
pub use token_hash::hash_token;
pub use verifier::{LTI_VERSION, Lti11Authenticator, MESSAGE_TYPE};

/// One launch request, as the HTTP layer hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchRequest {
    /// The HTTP method (a launch is `POST`).
    pub method: String,
    /// The public launch URL the LMS signed, including any query string (see
    /// [`public_launch_url`]).
    pub url: String,
    /// The decoded `application/x-www-form-urlencoded` body parameters, in order, duplicates
    /// kept (see [`FormParams::parse`]).
    pub form: FormParams,
    /// The `Authorization` header, whose OAuth parameters count like body parameters.
    pub authorization: Option<String>,
}

impl LaunchRequest {
    /// A POST to `url` with the already decoded `form`, without an `Authorization` header.
    pub fn post(url: impl Into<String>, form: impl Into<FormParams>) -> Self {
        Self {
            method: "POST".to_owned(),
            url: url.into(),
            form: form.into(),
            authorization: None,
        }
    }

    /// A POST to `url` whose raw `application/x-www-form-urlencoded` body is decoded here.
    ///
    /// # Errors
    /// [`LaunchError::Malformed`] when the body does not decode to UTF-8 text.
    pub fn from_body(
        url: impl Into<String>,
        body: &[u8],
        authorization: Option<String>,
    ) -> Result<Self, LaunchError> {
        Ok(Self {
            method: "POST".to_owned(),
            url: url.into(),
            form: FormParams::parse(body)?,
            authorization,
        })
    }
}

/// Turns a launch request into a verified [`LtiLaunch`], used as `Arc<dyn Authenticator>`.
///
/// # Contract
/// * A launch is returned only when every check of the implementation passed; otherwise the
///   [`LaunchError`] names the first failed check.
/// * A launch is accepted at most once (replays are refused).
/// * Nothing here panics on any request content.
#[async_trait]
pub trait Authenticator: Send + Sync + Debug + 'static {
    /// Verifies `req` and builds the launch.
    ///
    /// # Errors
    /// A [`LaunchError`] whose [`status`](LaunchError::status) is 400 for a malformed launch,
    /// 401 for a failed authentication and 503 when the launch cannot be recorded.
    async fn authenticate(&self, req: &LaunchRequest) -> Result<LtiLaunch, LaunchError>;
}

macro_rules! forward_authenticator {
    ($ty:ty) => {
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<T: Authenticator + ?Sized> Authenticator for $ty {
            async fn authenticate(&self, req: &LaunchRequest) -> Result<LtiLaunch, LaunchError> {
                (**self).authenticate(req).await
            }
        }
    };
}

forward_authenticator!(Arc<T>);
forward_authenticator!(Box<T>);
