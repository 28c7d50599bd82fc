//! [`LaunchError`]: why a launch was refused, for the admin's log and the student's page.

use super::clip::Clipped;
use crate::form::FormError;
use crate::launch::LaunchModelError;

/// The most bytes of a request-supplied value an admin message shows (see [`Clipped`]).
const MAX_SHOWN: usize = 200;

/// The most bytes of a computed base string an admin message shows: enough for the method, the
/// URL and the first parameters, which is where a URL or proxy mismatch shows.
const MAX_BASE_STRING_SHOWN: usize = 600;

/// Why an LTI launch was refused.
///
/// * [`Display`](std::fmt::Display) is the admin's message: it names the cause and what to check.
///   On a signature mismatch it carries the base string the hub computed (never the secret), so
///   the admin can compare it with the one the LMS logged. Values the request supplied are
///   shown up to a few hundred bytes, then cut with their length and SHA-256 digest: anyone can
///   send a launch, and a refusal must not write a log line as large as the request.
/// * [`LaunchError::status`] is the HTTP status the hub answers with.
/// * [`LaunchError::student_message`] is the short, non-technical text the student sees.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// The request is not a well-formed launch (not POST, a URL or body that cannot be decoded).
    #[error("malformed launch request: {}", Clipped::plain(.reason, MAX_SHOWN))]
    Malformed {
        /// What is wrong with the request.
        reason: String,
    },
    /// A required parameter is missing or empty.
    #[error("the launch lacks the required parameter `{name}` (missing or empty)")]
    MissingParameter {
        /// The parameter name, e.g. `oauth_nonce`.
        name: &'static str,
    },
    /// An OAuth protocol parameter appears more than once, so it is ambiguous which one was signed.
    #[error(
        "the launch carries the OAuth parameter `{}` more than once (RFC 5849 §3.5 allows one location and one value)",
        Clipped::plain(.name, MAX_SHOWN)
    )]
    DuplicateParameter {
        /// The parameter name.
        name: String,
    },
    /// A parameter has a value the hub cannot accept.
    #[error("the launch parameter `{name}` has the value {value:?}; expected {expected}")]
    InvalidParameter {
        /// The parameter name, e.g. `oauth_timestamp`.
        name: &'static str,
        /// The value as received (truncated to 100 characters).
        value: String,
        /// What would be right.
        expected: &'static str,
    },
    /// The consumer key is not configured on the hub.
    #[error(
        "unknown oauth_consumer_key {}: add it with its secret to the hub's LTI consumers, or fix the key in the LMS tool settings",
        Clipped::quoted(.key, MAX_SHOWN)
    )]
    UnknownConsumer {
        /// The key the LMS sent.
        key: String,
    },
    /// The signature does not match the one the hub computed.
    #[error(
        "invalid oauth_signature for consumer key {}: the shared secret differs, or the launch URL configured \
         in the LMS differs from the public URL the hub signs against (check the hub's public base URL and trusted proxies); \
         the hub computed the base string {}",
        Clipped::quoted(.consumer_key, MAX_SHOWN),
        Clipped::quoted(.base_string, MAX_BASE_STRING_SHOWN)
    )]
    BadSignature {
        /// The consumer key the launch claimed.
        consumer_key: String,
        /// The signature base string the hub computed (RFC 5849 §3.4.1); holds no secret.
        base_string: String,
    },
    /// The timestamp is older than the window allows (a stale or replayed link, or a slow LMS clock).
    #[error(
        "oauth_timestamp {timestamp} is {age} s old, beyond the ±{window} s window: the link is stale or the LMS clock is behind the hub's"
    )]
    StaleTimestamp {
        /// The launch's timestamp (Unix seconds).
        timestamp: i64,
        /// How old it was, in seconds.
        age: i64,
        /// The configured window, in seconds.
        window: u64,
    },
    /// The timestamp lies further in the future than the window allows (a fast LMS clock).
    #[error(
        "oauth_timestamp {timestamp} is {ahead} s in the future, beyond the ±{window} s window: the LMS clock is ahead of the hub's"
    )]
    FutureTimestamp {
        /// The launch's timestamp (Unix seconds).
        timestamp: i64,
        /// How far ahead it was, in seconds.
        ahead: i64,
        /// The configured window, in seconds.
        window: u64,
    },
    /// The nonce was already used with this consumer key and timestamp.
    #[error(
        "oauth_nonce {} with oauth_timestamp {timestamp} was already used by consumer key {}: a replayed launch",
        Clipped::quoted(.nonce, MAX_SHOWN),
        Clipped::quoted(.consumer_key, MAX_SHOWN)
    )]
    ReplayedNonce {
        /// The consumer key.
        consumer_key: String,
        /// The nonce.
        nonce: String,
        /// The timestamp.
        timestamp: i64,
    },
    /// The nonce store cannot take the launch (full, or a shared store is unreachable).
    #[error("the nonce store cannot record the launch")]
    NonceStore(#[source] crate::Error),
    /// The verified parameters do not make a usable launch (e.g. no usable username).
    #[error(transparent)]
    Launch(#[from] LaunchModelError),
}

/// A form, query or `Authorization` header that does not decode makes a malformed launch, with
/// the form's message as the reason.
impl From<FormError> for LaunchError {
    fn from(e: FormError) -> Self {
        Self::Malformed {
            reason: e.to_string(),
        }
    }
}

impl LaunchError {
    /// The HTTP status the hub answers with: 400 for a malformed or incomplete launch, 401 for a
    /// launch that fails authentication, 503 when the nonce store cannot take it.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed { .. }
            | Self::MissingParameter { .. }
            | Self::DuplicateParameter { .. }
            | Self::InvalidParameter { .. }
            | Self::Launch(_) => 400,
            Self::UnknownConsumer { .. }
            | Self::BadSignature { .. }
            | Self::StaleTimestamp { .. }
            | Self::FutureTimestamp { .. }
            | Self::ReplayedNonce { .. } => 401,
            Self::NonceStore(_) => 503,
        }
    }

    /// The text the student sees: what happened and what to do, without technical detail.
    pub fn student_message(&self) -> &'static str {
        match self {
            Self::Malformed { .. }
            | Self::MissingParameter { .. }
            | Self::DuplicateParameter { .. }
            | Self::InvalidParameter { .. } => {
                "This launch request is incomplete or garbled. Go back to Moodle and click the activity again; \
                 if it keeps happening, tell your teacher."
            }
            Self::UnknownConsumer { .. } | Self::BadSignature { .. } => {
                "This server could not verify that the launch came from your course site. \
                 Please tell your teacher: the LTI tool settings need checking."
            }
            Self::StaleTimestamp { .. } | Self::ReplayedNonce { .. } => {
                "This launch link has expired or was already used. Go back to Moodle and click the activity again."
            }
            Self::FutureTimestamp { .. } => {
                "The clocks of your course site and this server disagree, so the launch was refused. \
                 Please tell your teacher."
            }
            Self::NonceStore(_) => {
                "The server is busy right now. Wait a minute, then go back to Moodle and click the activity again."
            }
            Self::Launch(_) => {
                "Your course site did not send what this server needs to start your environment \
                 (for example a usable username). Please tell your teacher."
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::form::{FormParams, parse_authorization, parse_urlencoded};

    #[test]
    fn rejects_invalid_utf8() {
        let err = LaunchError::from(parse_urlencoded(b"n=%FF%FE").unwrap_err());
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn malformed_authorization_is_rejected() {
        for h in ["OAuth a=1", "OAuth a", "OAuth a=\"1", "OAuth a=\"%FF\""] {
            let err = LaunchError::from(parse_authorization(h).unwrap_err());
            assert_eq!(err.status(), 400, "{h}");
        }
    }

    #[test]
    fn the_error_names_the_component_that_is_not_utf8() {
        let parse = |body: &[u8]| LaunchError::from(FormParams::parse(body).unwrap_err());
        let err = parse(b"ok=J%C3%BCrgen&bad%FF=1");
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("bad%FF"), "{err}");
        let err = parse(b"a=%C3");
        assert!(err.to_string().contains("%C3"), "{err}");
        // Two halves of one character in two components are two bad components.
        let err = parse(b"%C3=%BC");
        assert!(err.to_string().contains("%C3"), "{err}");
        let err = parse(b"a=%C3&%BC=b");
        assert!(err.to_string().contains("%C3"), "{err}");
    }
}
