//! LTI 1.3 (LTI Advantage core) launch verification, sans-IO, beside the 1.1 path in
//! [`crate::auth`].
//!
//! The flow: the platform (Moodle) starts an OIDC third-party login at the hub
//! ([`LoginInitiation`]); the hub keeps a fresh `state` and `nonce` ([`LoginStates`]) and sends the
//! browser to the platform's authentication URL ([`auth_redirect_url`]); the platform form-posts a
//! signed `id_token` with the `state` back to the hub's launch URL; the hub takes the login of the
//! state (once), finds the platform's key in its key set ([`JwkSet`], fetched by the caller) and
//! [`Lti13Verifier::verify`] checks the token and maps its claims onto the same
//! [`LtiLaunch`](crate::launch::LtiLaunch) a 1.1 launch produces, so everything after
//! verification (spec, spawn, proxy, analytics) is shared.
//!
//! Decisions, and why:
//! * Only RS256 is accepted (the 1EdTech Security Framework's algorithm); `alg: none` and HMAC
//!   are refused before any key is looked at.
//! * The nonce is the hub's own, kept with the state; a state is taken at most once and expires
//!   (`lti13.login_ttl_secs`), so a replayed token finds no login. The store is bounded: when full,
//!   logins get a 503 rather than evicting waiting ones.
//! * `exp` and `iat` get a leeway (`lti13.leeway_secs`, 60 s): Moodle's tokens live only 60 s.
//! * The claims map onto the 1.1 parameter names, the inverse of Moodle's own mapping
//!   (`lti_get_jwt_claim_mapping()`): `sub` → `user_id`, the `roles` array → `roles`, the
//!   `context`, `resource_link`, `lis`, `launch_presentation` and `tool_platform` objects →
//!   `context_id`, `resource_link_id`, …, `custom` → `custom_<name>` (so `lms_image` is read
//!   exactly as 1.1's `custom_lms_image`), `ext` → `ext_<name>` (Moodle's `ext.user_username` is
//!   the LMS login, `ext_user_username`), `name`/`given_name`/`family_name`/`email` → the
//!   `lis_person_*` parameters.

mod ags;
mod claims;
mod config;
mod error;
mod jose;
mod login;
mod signer;
mod signing_key;
mod state_cookie;
mod verifier;

pub use ags::{AgsEndpoint, CLAIM_AGS_ENDPOINT, PlatformLaunch, SCOPE_LINEITEM, SCOPE_SCORE};
pub use claims::{
    CLAIM_CUSTOM, CLAIM_DEPLOYMENT_ID, CLAIM_EXT, CLAIM_MESSAGE_TYPE, CLAIM_RESOURCE_LINK,
    CLAIM_ROLES, CLAIM_VERSION, LTI_VERSION_13, RESOURCE_LINK_REQUEST,
};
pub use config::{
    DEFAULT_LEEWAY_SECS, DEFAULT_LOGIN_CAPACITY, DEFAULT_LOGIN_TTL_SECS, Lti13Config,
    PlatformConfig,
};
pub use error::Lti13Error;
pub use jose::{JoseHeader, Jwk, JwkSet, RS256, UnverifiedToken};
pub use login::{LoginInitiation, LoginStates, PendingLogin, auth_redirect_url};
pub use signer::PlatformSigner;
pub use signing_key::{RsaSigningKey, pkcs8_pem_to_der};
pub use state_cookie::{
    STATE_COOKIE_PATH, STATE_COOKIE_PREFIX, state_cookie, state_cookie_matches,
};
pub use verifier::Lti13Verifier;
