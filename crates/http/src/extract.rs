//! [`Sessions`]: who a browser is signed in as, and [`Session`], the signed-in hub user as an
//! axum extractor.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use lticontainer_core::clock::Clock;
use lticontainer_hub::HubConfig;

use crate::error::PageError;
use crate::form_token;
use crate::session::{SessionClaim, SessionKey};
use crate::session_revocations::SessionRevocations;

/// Reads and writes hub sessions: the signing key, the clock that expires them, and the
/// configuration that says who is an admin. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Sessions {
    key: SessionKey,
    clock: Arc<dyn Clock>,
    config: Arc<HubConfig>,
    revoked: SessionRevocations,
}

impl Sessions {
    /// Sessions signed with `key`, expiring by `clock`, with the admins of `config`; revoked
    /// sessions are kept under `config.state_dir`.
    pub(crate) fn new(key: SessionKey, clock: Arc<dyn Clock>, config: Arc<HubConfig>) -> Self {
        let revoked = SessionRevocations::load(&config.state_dir, config.session_max_age_secs);
        Self {
            key,
            clock,
            config,
            revoked,
        }
    }

    /// The user the request's session cookie names, if it is valid and not revoked.
    pub(crate) fn user(&self, headers: &HeaderMap) -> Option<String> {
        self.claim(headers).map(|c| c.user)
    }

    /// The request's valid, unrevoked session, if any.
    pub(crate) fn claim(&self, headers: &HeaderMap) -> Option<SessionClaim> {
        self.key
            .claims_from_headers(headers, self.clock.now_secs())
            .find(|c| !self.revoked.is_revoked(&c.user, c.issued))
    }

    /// A signed session cookie value for `user`, valid for `max_age_secs` from now.
    pub(crate) fn sign(&self, user: &str, max_age_secs: u64) -> String {
        let now = self.clock.now_secs();
        self.key.sign(user, now, now.saturating_add(max_age_secs))
    }

    /// Ends every session of `user` issued up to now (the admin deleted the user): their
    /// cookies open nothing any more, even after a later launch starts a new server.
    ///
    /// # Errors
    /// The revocation list cannot be saved in the state directory; it still holds until the
    /// hub restarts.
    pub(crate) fn revoke_user(&self, user: &str) -> std::io::Result<()> {
        self.revoked.revoke(user, self.clock.now_secs())
    }

    /// True when `user` is an admin: may start and stop every server.
    pub(crate) fn is_admin(&self, user: &str) -> bool {
        self.config.is_admin(user)
    }

    /// True when `user` may open other users' servers (an admin with `hub.admin_access`).
    pub(crate) fn may_open_others_servers(&self, user: &str) -> bool {
        self.config.may_open_others_servers(user)
    }
}

/// The hub user named by a valid session cookie. Extracting it fails with
/// [`PageError::NotSignedIn`] (the "start from your course" page) when there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The signed-in user.
    pub user: String,
    /// Whether the user is an admin (may open every server).
    pub is_admin: bool,
    /// The token the hub's forms carry for this session (see [`Session::check_form`]).
    pub form_token: String,
}

impl<S> FromRequestParts<S> for Session
where
    Sessions: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let sessions = Sessions::from_ref(state);
        sessions
            .claim(&parts.headers)
            .map(|claim| Self {
                is_admin: sessions.is_admin(&claim.user),
                form_token: sessions.key.form_token(&claim),
                user: claim.user,
            })
            .ok_or(PageError::NotSignedIn)
    }
}

impl Session {
    /// The check of a hub form acting on `target`'s server: the user may use it
    /// ([`Session::may_use`]) and the form carries this session's token
    /// ([`Session::check_form`]).
    ///
    /// # Errors
    /// [`PageError::Forbidden`] or [`PageError::StaleForm`].
    pub(crate) fn check_post_for(&self, target: &str, body: &[u8]) -> Result<(), PageError> {
        self.may_use(target)?;
        self.check_form(body)
    }

    /// Succeeds when the posted form `body` carries this session's form token, so the form
    /// came from one of the hub's own pages for this session, not from a page elsewhere that
    /// the browser was sent to (cross-site request forgery).
    ///
    /// # Errors
    /// [`PageError::StaleForm`] when the token is missing or belongs to another session.
    pub(crate) fn check_form(&self, body: &[u8]) -> Result<(), PageError> {
        match form_token::from_body(body) {
            Some(t) if constant_time_eq(t.as_bytes(), self.form_token.as_bytes()) => Ok(()),
            given => Err(PageError::StaleForm {
                user: self.user.clone(),
                token_given: given.is_some(),
            }),
        }
    }

    /// Succeeds when the user may act on `target`'s server: they are its owner or an admin.
    ///
    /// # Errors
    /// [`PageError::Forbidden`] for anyone else.
    pub(crate) fn may_use(&self, target: &str) -> Result<(), PageError> {
        if self.user == target || self.is_admin {
            Ok(())
        } else {
            Err(PageError::Forbidden {
                user: self.user.clone(),
                target: target.to_owned(),
            })
        }
    }
}

/// `a == b` without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
