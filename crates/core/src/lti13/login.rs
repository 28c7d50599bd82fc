//! The OIDC third-party login initiation (LTI 1.3 / 1EdTech Security Framework §5.1.1):
//! [`LoginInitiation`] (what the platform sends), [`auth_redirect_url`] (where the hub sends the
//! browser) and [`LoginStates`] (each login's state and nonce, kept server-side: bounded,
//! expiring, taken once).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use crate::form::{FormParams, encode_urlencoded};

use super::{Lti13Config, Lti13Error, PlatformConfig};

/// The parameters of a login initiation (GET query or POST form).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginInitiation {
    /// `iss`: the platform.
    pub issuer: String,
    /// `login_hint`: the platform's opaque user hint, sent back unchanged.
    pub login_hint: String,
    /// `target_link_uri`: where the platform wants the launch to land.
    pub target_link_uri: String,
    /// `lti_message_hint`: the platform's opaque message hint, sent back unchanged.
    pub lti_message_hint: Option<String>,
    /// `client_id`, when the platform sends it (Moodle does).
    pub client_id: Option<String>,
    /// `lti_deployment_id`, when the platform sends it.
    pub deployment_id: Option<String>,
}

impl LoginInitiation {
    /// Reads the initiation from its parameters (the last of a duplicated name counts).
    ///
    /// # Errors
    /// [`Lti13Error::Missing`] without `iss`, `login_hint` or `target_link_uri`.
    pub fn from_params(params: &FormParams) -> Result<Self, Lti13Error> {
        let get = |name: &str| params.last_nonblank(name).map(str::to_owned);
        Ok(Self {
            issuer: get("iss").ok_or(Lti13Error::Missing { name: "iss" })?,
            login_hint: get("login_hint").ok_or(Lti13Error::Missing { name: "login_hint" })?,
            target_link_uri: get("target_link_uri").ok_or(Lti13Error::Missing {
                name: "target_link_uri",
            })?,
            lti_message_hint: get("lti_message_hint"),
            client_id: get("client_id"),
            deployment_id: get("lti_deployment_id"),
        })
    }

    /// The registered platform this login is for.
    ///
    /// # Errors
    /// [`Lti13Error::UnknownPlatform`] when none is configured for the issuer (and client id),
    /// [`Lti13Error::UnknownDeployment`] for a deployment id the platform's entry does not list.
    pub fn platform<'c>(&self, config: &'c Lti13Config) -> Result<&'c PlatformConfig, Lti13Error> {
        let platform = config
            .platform(&self.issuer, self.client_id.as_deref())
            .ok_or_else(|| Lti13Error::UnknownPlatform {
                issuer: self.issuer.clone(),
                client_id: self.client_id.clone().unwrap_or_default(),
            })?;
        if let Some(id) = &self.deployment_id
            && !platform.accepts_deployment(id)
        {
            return Err(Lti13Error::UnknownDeployment {
                issuer: self.issuer.clone(),
                deployment_id: id.clone(),
            });
        }
        Ok(platform)
    }
}

/// The platform's authentication URL the browser is sent to: the OIDC implicit flow LTI 1.3
/// prescribes (`scope=openid`, `response_type=id_token`, `response_mode=form_post`,
/// `prompt=none`), with the tool's `redirect_uri`, the hints sent back, `state` and `nonce`.
pub fn auth_redirect_url(
    platform: &PlatformConfig,
    login: &LoginInitiation,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
) -> String {
    let mut pairs = vec![
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("prompt", "none"),
        ("client_id", platform.client_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("login_hint", login.login_hint.as_str()),
        ("state", state),
        ("nonce", nonce),
    ];
    if let Some(hint) = &login.lti_message_hint {
        pairs.push(("lti_message_hint", hint));
    }
    let sep = if platform.auth_login_url.contains('?') {
        '&'
    } else {
        '?'
    };
    format!(
        "{}{sep}{}",
        platform.auth_login_url,
        encode_urlencoded(&pairs)
    )
}

/// One login waiting for its launch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingLogin {
    /// The platform's issuer.
    pub issuer: String,
    /// The client id the login was for.
    pub client_id: String,
    /// The nonce sent to the platform; the id_token must carry it.
    pub nonce: String,
}

impl PendingLogin {
    /// A login of `client_id` at `issuer` that sent `nonce`.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        nonce: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            nonce: nonce.into(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    by_state: HashMap<String, (PendingLogin, i64)>,
    /// States in the order they were added; with one lifetime for all, also by expiry.
    order: VecDeque<(i64, String)>,
}

/// The logins waiting for their launch, keyed by `state`: bounded, each kept for the configured
/// time, each taken at most once (so a nonce, and a launch, is accepted once).
#[derive(Debug)]
pub struct LoginStates {
    inner: Mutex<Inner>,
    ttl_secs: i64,
    capacity: usize,
}

impl LoginStates {
    /// A store keeping at most `capacity` logins for `ttl_secs` each.
    pub fn new(ttl_secs: u64, capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX),
            capacity,
        }
    }

    /// A store with the configuration's lifetime and bound.
    pub fn from_config(config: &Lti13Config) -> Self {
        Self::new(config.login_ttl_secs, config.login_capacity)
    }

    /// Remembers `login` under `state` (a fresh random value) at `now`.
    ///
    /// # Errors
    /// [`Lti13Error::Busy`] when the store is full of unexpired logins.
    pub fn begin(&self, state: String, login: PendingLogin, now: i64) -> Result<(), Lti13Error> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.purge(now);
        if inner.by_state.len() >= self.capacity {
            return Err(Lti13Error::Busy {
                pending: inner.by_state.len(),
            });
        }
        let expires = now.saturating_add(self.ttl_secs);
        inner.order.push_back((expires, state.clone()));
        inner.by_state.insert(state, (login, expires));
        Ok(())
    }

    /// Takes the login of `state` if it is still waiting at `now`; a second take of the same
    /// state finds nothing.
    ///
    /// # Errors
    /// [`Lti13Error::UnknownState`] when the state is unknown, expired or already taken.
    pub fn take(&self, state: &str, now: i64) -> Result<PendingLogin, Lti13Error> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.purge(now);
        match inner.by_state.remove(state) {
            Some((login, expires)) if expires > now => Ok(login),
            _ => Err(Lti13Error::UnknownState),
        }
    }

    /// How many logins are waiting.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_state
            .len()
    }

    /// True when no login is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn purge(&mut self, now: i64) {
        while let Some((expires, _)) = self.order.front() {
            if *expires > now {
                break;
            }
            if let Some((expires, state)) = self.order.pop_front()
                && self
                    .by_state
                    .get(&state)
                    .is_some_and(|(_, e)| *e == expires)
            {
                self.by_state.remove(&state);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn initiation(query: &str) -> Result<LoginInitiation, Lti13Error> {
        LoginInitiation::from_params(&FormParams::parse(query.as_bytes()).unwrap())
    }

    #[test]
    fn an_initiation_needs_iss_hint_and_target() {
        let ok = initiation("iss=https%3A%2F%2Fm&login_hint=4&target_link_uri=https%3A%2F%2Fhub%2Fhub%2Flti13%2Flaunch&lti_message_hint=%7B%7D&client_id=c&lti_deployment_id=1").unwrap();
        assert_eq!(ok.issuer, "https://m");
        assert_eq!(ok.client_id.as_deref(), Some("c"));
        assert_eq!(ok.deployment_id.as_deref(), Some("1"));
        for (q, name) in [
            ("login_hint=4&target_link_uri=t", "iss"),
            ("iss=i&target_link_uri=t", "login_hint"),
            ("iss=i&login_hint=4&target_link_uri=", "target_link_uri"),
        ] {
            assert!(
                matches!(initiation(q), Err(Lti13Error::Missing { name: n }) if n == name),
                "{q}"
            );
        }
    }

    #[test]
    fn the_platform_and_deployment_must_be_configured() {
        let config = Lti13Config::default()
            .with_platform(PlatformConfig::moodle("https://m", "c").with_deployments(["1"]));
        let base = "iss=https%3A%2F%2Fm&login_hint=4&target_link_uri=t";
        assert!(
            initiation(&format!("{base}&client_id=c"))
                .unwrap()
                .platform(&config)
                .is_ok()
        );
        let e = initiation(&format!("{base}&client_id=x"))
            .unwrap()
            .platform(&config)
            .unwrap_err();
        assert!(
            matches!(e, Lti13Error::UnknownPlatform { .. }) && e.status() == 401,
            "{e}"
        );
        let e = initiation(&format!("{base}&client_id=c&lti_deployment_id=2"))
            .unwrap()
            .platform(&config)
            .unwrap_err();
        assert!(matches!(e, Lti13Error::UnknownDeployment { .. }), "{e}");
    }

    #[test]
    fn the_redirect_carries_the_oidc_parameters() {
        let platform = PlatformConfig::moodle("https://m", "c");
        let login = initiation("iss=https%3A%2F%2Fm&login_hint=4&target_link_uri=t&lti_message_hint=%7B%22cmid%22%3A1%7D").unwrap();
        let url = auth_redirect_url(&platform, &login, "https://hub/hub/lti13/launch", "S", "N");
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, "https://m/mod/lti/auth.php");
        let q = FormParams::parse(query.as_bytes()).unwrap();
        for (k, v) in [
            ("scope", "openid"),
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
            ("prompt", "none"),
            ("client_id", "c"),
            ("redirect_uri", "https://hub/hub/lti13/launch"),
            ("login_hint", "4"),
            ("lti_message_hint", "{\"cmid\":1}"),
            ("state", "S"),
            ("nonce", "N"),
        ] {
            assert_eq!(q.last(k), Some(v), "{k}");
        }
    }

    #[test]
    fn a_state_is_taken_once_and_expires() {
        let states = LoginStates::new(300, 2);
        states
            .begin("a".into(), PendingLogin::new("i", "c", "n"), 1000)
            .unwrap();
        assert_eq!(states.take("a", 1001).unwrap().nonce, "n");
        assert!(matches!(
            states.take("a", 1001),
            Err(Lti13Error::UnknownState)
        ));
        states
            .begin("b".into(), PendingLogin::new("i", "c", "n"), 1000)
            .unwrap();
        assert!(matches!(
            states.take("b", 1300),
            Err(Lti13Error::UnknownState)
        ));
        assert!(matches!(
            states.take("nope", 1000),
            Err(Lti13Error::UnknownState)
        ));
    }

    #[test]
    fn a_full_store_refuses_until_logins_expire() {
        let states = LoginStates::new(300, 2);
        for s in ["a", "b"] {
            states
                .begin(s.into(), PendingLogin::new("i", "c", "n"), 1000)
                .unwrap();
        }
        let e = states
            .begin("c".into(), PendingLogin::new("i", "c", "n"), 1100)
            .unwrap_err();
        assert!(
            matches!(e, Lti13Error::Busy { pending: 2 }) && e.status() == 503,
            "{e}"
        );
        states
            .begin("c".into(), PendingLogin::new("i", "c", "n"), 1300)
            .unwrap();
        assert_eq!(states.len(), 1);
    }
}
