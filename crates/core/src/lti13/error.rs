//! [`Lti13Error`]: why an LTI 1.3 login or launch was refused, for the admin's log and the
//! student's page.

use crate::auth::clip::Clipped;
use crate::launch::LaunchModelError;

/// The most bytes of a request-supplied value an admin message shows.
const MAX_SHOWN: usize = 200;

/// Why an LTI 1.3 login or launch was refused.
///
/// [`Display`](std::fmt::Display) is the admin's message (the cause and what to check; values
/// the request supplied are clipped), [`Lti13Error::status`] the HTTP status and
/// [`Lti13Error::student_message`] the student's page.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Lti13Error {
    /// The request or the token is not well formed.
    #[error("malformed LTI 1.3 request: {}", Clipped::plain(.reason, MAX_SHOWN))]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// A required parameter or claim is missing.
    #[error("the LTI 1.3 request lacks `{name}`")]
    Missing {
        /// The parameter or claim.
        name: &'static str,
    },
    /// No platform is configured for this issuer (and client id).
    #[error(
        "no LTI 1.3 platform is configured for issuer {} and client id {}: add it under [[lti13.platform]], or fix the tool's registration in the LMS",
        Clipped::quoted(.issuer, MAX_SHOWN),
        Clipped::quoted(.client_id, MAX_SHOWN)
    )]
    UnknownPlatform {
        /// The issuer the request named.
        issuer: String,
        /// The client id it named (empty when none).
        client_id: String,
    },
    /// The token is signed with another algorithm than RS256 (or not at all).
    #[error("the id_token is signed with {}, not RS256", Clipped::quoted(.alg, MAX_SHOWN))]
    UnsupportedAlgorithm {
        /// The header's `alg`.
        alg: String,
    },
    /// The token names a key the platform's key set does not hold: the set fetched again for
    /// this token or, within the hub's gap between two fetches of one set
    /// (`lticontainer_hub::lti13::REFETCH_GAP`, 10 s), the set as last fetched.
    #[error(
        "the id_token of {} is signed with key id {}, which the platform's key set does not hold (fetched again for an unknown key id at most every 10 s): a token the platform did not sign, or a key it made in the last seconds",
        Clipped::quoted(.issuer, MAX_SHOWN),
        Clipped::quoted(.kid, MAX_SHOWN)
    )]
    UnknownKey {
        /// The issuer.
        issuer: String,
        /// The header's `kid`.
        kid: String,
    },
    /// The platform's key cannot verify RS256 signatures.
    #[error("the key {kid:?} of {issuer:?} cannot be used: {reason}")]
    UnusableKey {
        /// The issuer.
        issuer: String,
        /// The key id.
        kid: String,
        /// Why.
        reason: String,
    },
    /// The signature does not verify with the platform's key.
    #[error(
        "the id_token's signature does not verify with key {} of {}: the token was altered or not signed by the platform",
        Clipped::quoted(.kid, MAX_SHOWN),
        Clipped::quoted(.issuer, MAX_SHOWN)
    )]
    BadSignature {
        /// The issuer.
        issuer: String,
        /// The key id.
        kid: String,
    },
    /// The token is for another tool (`aud`/`azp`), or another issuer than the login's.
    #[error("the id_token's {claim} is {}, expected {expected:?}", Clipped::quoted(.got, MAX_SHOWN))]
    WrongRecipient {
        /// `aud`, `azp` or `iss`.
        claim: &'static str,
        /// What the token says.
        got: String,
        /// What the hub expected.
        expected: String,
    },
    /// The deployment id is not configured for the platform.
    #[error(
        "the deployment id {} of {issuer:?} is not in its lti13 deployment_ids; add it if the deployment is yours",
        Clipped::quoted(.deployment_id, MAX_SHOWN)
    )]
    UnknownDeployment {
        /// The issuer.
        issuer: String,
        /// The token's deployment id.
        deployment_id: String,
    },
    /// The token has expired (`exp` + leeway is past).
    #[error("the id_token expired at {exp}, {} s ago (leeway {leeway} s)", .now - .exp)]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The hub's time.
        now: i64,
        /// The leeway.
        leeway: u64,
    },
    /// The token was issued in the future (`iat` - leeway is ahead of the hub's clock).
    #[error("the id_token was issued at {iat}, {} s in the future (leeway {leeway} s): the clocks disagree", .iat - .now)]
    IssuedInFuture {
        /// The token's `iat`.
        iat: i64,
        /// The hub's time.
        now: i64,
        /// The leeway.
        leeway: u64,
    },
    /// The login `state` is unknown, expired or already used: a replay, or a launch too slow.
    #[error("the launch's state is unknown, expired or already used (a replayed or stale launch)")]
    UnknownState,
    /// The launch came without the cookie its login set: from another browser than the one
    /// that started the login (a login CSRF), or a browser that drops the hub's cookies inside
    /// the LMS's iframe.
    #[error(
        "the launch came without the state cookie its login set: another browser than the login's, or one that blocks the hub's cookies in the LMS's frame (open the tool in a new window)"
    )]
    StateNotBound,
    /// The token's nonce is not the one the login sent.
    #[error("the id_token's nonce is not the one this login sent: a replayed or forged token")]
    NonceMismatch,
    /// The message is not a resource link launch.
    #[error(
        "the LTI 1.3 message type is {}; this hub launches only LtiResourceLinkRequest (set the tool to plain launches, without Deep Linking)",
        Clipped::quoted(.got, MAX_SHOWN)
    )]
    UnsupportedMessage {
        /// The message type.
        got: String,
    },
    /// The LTI version is not 1.3.0.
    #[error("the LTI version claim is {}, expected 1.3.0", Clipped::quoted(.got, MAX_SHOWN))]
    WrongVersion {
        /// The version.
        got: String,
    },
    /// Too many logins are waiting for their launch.
    #[error(
        "{pending} LTI 1.3 logins are waiting for their launch, the configured lti13.login_capacity"
    )]
    Busy {
        /// How many are waiting.
        pending: usize,
    },
    /// The platform's key set cannot be fetched or read.
    #[error("the key set of {issuer:?} at {url} cannot be read: {reason}")]
    KeySet {
        /// The issuer.
        issuer: String,
        /// The key set URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The verified claims do not make a usable launch.
    #[error(transparent)]
    Launch(#[from] LaunchModelError),
}

impl Lti13Error {
    /// A [`Lti13Error::Malformed`] with `reason`.
    pub fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed {
            reason: reason.into(),
        }
    }

    /// The HTTP status: 400 for a malformed or unsupported request, 401 for a failed check,
    /// 503 when the hub cannot take it now (busy, the key set unreachable).
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed { .. }
            | Self::Missing { .. }
            | Self::UnsupportedMessage { .. }
            | Self::WrongVersion { .. }
            | Self::Launch(_) => 400,
            Self::UnknownPlatform { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::UnknownKey { .. }
            | Self::UnusableKey { .. }
            | Self::BadSignature { .. }
            | Self::WrongRecipient { .. }
            | Self::UnknownDeployment { .. }
            | Self::Expired { .. }
            | Self::IssuedInFuture { .. }
            | Self::UnknownState
            | Self::StateNotBound
            | Self::NonceMismatch => 401,
            Self::Busy { .. } | Self::KeySet { .. } => 503,
        }
    }

    /// The text the student sees: what happened and what to do, without technical detail.
    pub fn student_message(&self) -> &'static str {
        match self {
            Self::Malformed { .. } | Self::Missing { .. } => {
                "This launch request is incomplete or garbled. Go back to your course and click the activity again; \
                 if it keeps happening, tell your teacher."
            }
            Self::UnknownPlatform { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::UnknownKey { .. }
            | Self::UnusableKey { .. }
            | Self::BadSignature { .. }
            | Self::WrongRecipient { .. }
            | Self::UnknownDeployment { .. } => {
                "This server could not verify that the launch came from your course site. \
                 Please tell your teacher: the LTI 1.3 tool settings need checking."
            }
            Self::Expired { .. } | Self::UnknownState | Self::NonceMismatch => {
                "This launch has expired or was already used. Go back to your course and click the activity again."
            }
            Self::StateNotBound => {
                "Your browser did not keep this server's sign-in cookie, so the launch could not be \
                 checked. Go back to your course and click the activity again; if this keeps \
                 happening, allow cookies for this server, or ask your teacher to open the \
                 activity in a new window instead of inside the course page."
            }
            Self::IssuedInFuture { .. } => {
                "The clocks of your course site and this server disagree, so the launch was refused. \
                 Please tell your teacher."
            }
            Self::UnsupportedMessage { .. } | Self::WrongVersion { .. } => {
                "This activity asks for something this server does not offer (only plain activity launches work). \
                 Please tell your teacher: the LTI tool settings need checking."
            }
            Self::Busy { .. } | Self::KeySet { .. } => {
                "The server cannot check launches right now. Wait a minute, then go back to your course and click the activity again."
            }
            Self::Launch(_) => {
                "Your course site did not send what this server needs to start your environment \
                 (for example a usable username). Please tell your teacher."
            }
        }
    }
}
