//! LTI 1.3 launches, the I/O around [`lticontainer_core::lti13`]: [`Lti13Launches`] answers the
//! OIDC login initiation (a fresh state and nonce, kept server-side) and verifies the launch
//! that follows with the platform's key set ([`KeySets`]: fetched, cached, fetched again on an
//! unknown key id).

mod keys;
mod registered;
mod registration;
mod registration_secrets;
mod tool_key;

use std::sync::{Arc, PoisonError, RwLock};

use lticontainer_core::clock::{Clock, SystemClock};
use lticontainer_core::form::FormParams;
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::lti13::{
    LoginInitiation, LoginStates, Lti13Config, Lti13Error, Lti13Verifier, PendingLogin,
    PlatformConfig, UnverifiedToken, auth_redirect_url,
};

use crate::credentials::new_secret;

pub use keys::{KeySetSource, KeySets, MAX_AGE, REFETCH_GAP};
pub use registered::{PLATFORMS_FILE, RegisteredPlatforms};
pub use registration::{
    AGS_SCOPES, Registrar, RegistrationClient, RegistrationError, TOOL_CONFIGURATION, ToolUrls,
    client_registration,
};
pub use registration_secrets::{
    DEFAULT_SECRET_TTL_SECS, RegistrationSecrets, SECRETS_DIR, SecretRefusal,
};
pub use tool_key::{TOOL_KEY_BITS, TOOL_KEY_FILE, ToolKey, ToolKeyError};

/// The hub's LTI 1.3 login and launch, for the configured platforms.
#[derive(Debug)]
pub struct Lti13Launches {
    /// Replaced whole when a platform registers (each launch keeps the one it started with).
    verifier: RwLock<Arc<Lti13Verifier>>,
    states: LoginStates,
    keys: KeySets,
    clock: Arc<dyn Clock>,
    tool_key: Option<Arc<ToolKey>>,
    registrar: Option<Registrar>,
}

impl Lti13Launches {
    /// Launches of `config`'s platforms, their key sets fetched through `source`, on `clock`.
    pub fn new(config: Lti13Config, source: Arc<dyn KeySetSource>, clock: Arc<dyn Clock>) -> Self {
        Self {
            states: LoginStates::from_config(&config),
            verifier: RwLock::new(Arc::new(
                Lti13Verifier::new(config).with_clock(Arc::clone(&clock)),
            )),
            keys: KeySets::new(source),
            clock,
            tool_key: None,
            registrar: None,
        }
    }

    /// Accepts Dynamic Registrations through `registrar` ([`Lti13Launches::register`]).
    #[must_use]
    pub fn with_registration(mut self, registrar: Registrar) -> Self {
        self.registrar = Some(registrar);
        self
    }

    /// The verifier of the platforms known now.
    fn verifier(&self) -> Arc<Lti13Verifier> {
        Arc::clone(&self.verifier.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The configuration now: the configured platforms and the registered ones.
    pub fn config(&self) -> Lti13Config {
        self.verifier().config().clone()
    }

    /// How long a login waits for its launch, in seconds (also its state cookie's lifetime).
    pub fn login_ttl_secs(&self) -> u64 {
        self.verifier().config().login_ttl_secs
    }

    /// Trusts `platform` from now on, replacing a platform of the same issuer and client id.
    pub fn add_platform(&self, platform: PlatformConfig) {
        let mut verifier = self
            .verifier
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut config = verifier.config().clone();
        config
            .platform
            .retain(|p| !(p.issuer == platform.issuer && p.client_id == platform.client_id));
        config.platform.push(platform);
        *verifier = Arc::new(Lti13Verifier::new(config).with_clock(Arc::clone(&self.clock)));
    }

    /// Runs a Dynamic Registration (`params`: the request's query, `urls`: the tool's public
    /// URLs) and trusts the platform at once.
    ///
    /// # Errors
    /// [`RegistrationError::Off`] without a registrar; otherwise [`Registrar::register`]'s.
    pub async fn register(
        &self,
        params: &FormParams,
        urls: &ToolUrls,
    ) -> Result<PlatformConfig, RegistrationError> {
        let registrar = self.registrar.as_ref().ok_or(RegistrationError::Off)?;
        let platform = registrar.register(params, urls).await?;
        self.add_platform(platform.clone());
        Ok(platform)
    }

    /// Signs and publishes with `key` (the hub's: [`ToolKey::load_or_create`]).
    #[must_use]
    pub fn with_tool_key(mut self, key: Arc<ToolKey>) -> Self {
        self.tool_key = Some(key);
        self
    }

    /// The tool's key pair, when one was given.
    pub fn tool_key(&self) -> Option<&Arc<ToolKey>> {
        self.tool_key.as_ref()
    }

    /// Launches on the system clock.
    pub fn with_system_clock(config: Lti13Config, source: Arc<dyn KeySetSource>) -> Self {
        Self::new(config, source, Arc::new(SystemClock))
    }

    /// Answers a login initiation (`params`: its query or form): remembers a fresh state and
    /// nonce and returns the platform's authentication URL to send the browser to, with the
    /// tool's launch URL `redirect_uri`, and the state (to bind to the browser by
    /// [`state_cookie`](lticontainer_core::lti13::state_cookie)).
    ///
    /// # Errors
    /// [`Lti13Error`]: missing parameters (400), an unknown platform or deployment (401), too
    /// many logins waiting (503).
    pub fn login(
        &self,
        params: &FormParams,
        redirect_uri: &str,
    ) -> Result<(String, String), Lti13Error> {
        let initiation = LoginInitiation::from_params(params)?;
        let verifier = self.verifier();
        let platform = initiation.platform(verifier.config())?;
        let state = new_secret();
        let nonce = new_secret();
        let url = auth_redirect_url(platform, &initiation, redirect_uri, &state, &nonce);
        self.states.begin(
            state.clone(),
            PendingLogin::new(&platform.issuer, &platform.client_id, nonce),
            self.clock.now_unix(),
        )?;
        Ok((url, state))
    }

    /// Verifies the launch the platform form-posted (`id_token`, `state`) and builds the
    /// launch. The login of the state is taken first, so a state (and its nonce) serves one
    /// launch attempt.
    ///
    /// # Errors
    /// [`Lti13Error`] of the first failed check (see [`Lti13Verifier`]).
    pub async fn launch(&self, form: &FormParams) -> Result<LtiLaunch, Lti13Error> {
        let field =
            |name: &'static str| form.last_nonblank(name).ok_or(Lti13Error::Missing { name });
        if let Some(error) = form.last("error") {
            return Err(Lti13Error::malformed(format!(
                "the platform answered the login with error {error:?}: {}",
                form.last("error_description").unwrap_or_default()
            )));
        }
        let (token, state) = (field("id_token")?, field("state")?);
        let login = self.states.take(state, self.clock.now_unix())?;
        let token = UnverifiedToken::parse(token)?;
        let verifier = self.verifier();
        let platform = verifier.platform_of(&token, &login)?;
        let kid = token
            .header
            .kid
            .as_deref()
            .ok_or(Lti13Error::Missing { name: "kid" })?;
        let keys = self.keys.for_kid(platform, kid).await?;
        verifier.verify(&token, &login, &keys)
    }
}
