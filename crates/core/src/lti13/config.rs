//! [`Lti13Config`] and [`PlatformConfig`]: the LTI 1.3 platforms the hub trusts, and the limits
//! of the login and launch checks.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::launch::DEFAULT_USERNAME_KEY;

/// The default clock leeway for `exp` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;
/// The default time a login (its state and nonce) waits for the platform's launch, in seconds.
pub const DEFAULT_LOGIN_TTL_SECS: u64 = 300;
/// The default bound of pending logins kept at once (about 300 bytes each).
pub const DEFAULT_LOGIN_CAPACITY: usize = 65_536;

/// One LTI 1.3 platform registration: what the platform (Moodle) shows on the tool's
/// "Tool configuration details" once the tool is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PlatformConfig {
    /// The platform's issuer (`iss`): Moodle's `wwwroot`, e.g. `https://moodle.example.edu`.
    pub issuer: String,
    /// The client id the platform gave the tool (the tokens' `aud`).
    pub client_id: String,
    /// The deployment ids accepted (Moodle: the tool type's id). Empty accepts any deployment of
    /// this client id.
    #[serde(default)]
    pub deployment_ids: Vec<String>,
    /// The platform's OIDC authentication URL (Moodle: `<wwwroot>/mod/lti/auth.php`).
    pub auth_login_url: String,
    /// The platform's public key set URL (Moodle: `<wwwroot>/mod/lti/certs.php`).
    pub key_set_url: String,
    /// The platform's OAuth2 token URL (Moodle: `<wwwroot>/mod/lti/token.php`), for services.
    #[serde(default)]
    pub token_url: Option<String>,
    /// The name the hub's accounts record as the launch's consumer (1.1's consumer key). A user
    /// is bound to the first consumer that launched them; set this to the LTI 1.1 consumer key of
    /// the same Moodle so a student who launched by 1.1 may also launch by 1.3 (Moodle's `sub` is
    /// the same user id). Default: the issuer.
    #[serde(default)]
    pub consumer: Option<String>,
}

impl PlatformConfig {
    /// A platform with `issuer`, `client_id` and Moodle's URLs below `issuer`, any deployment.
    pub fn moodle(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        let issuer = issuer.into();
        let base = issuer.trim_end_matches('/');
        Self {
            auth_login_url: format!("{base}/mod/lti/auth.php"),
            key_set_url: format!("{base}/mod/lti/certs.php"),
            token_url: Some(format!("{base}/mod/lti/token.php")),
            issuer,
            client_id: client_id.into(),
            deployment_ids: Vec::new(),
            consumer: None,
        }
    }

    /// Accepts only `ids` as deployment ids.
    #[must_use]
    pub fn with_deployments<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.deployment_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the key set URL.
    #[must_use]
    pub fn with_key_set_url(mut self, url: impl Into<String>) -> Self {
        self.key_set_url = url.into();
        self
    }

    /// Records launches under consumer `name` (see [`PlatformConfig::consumer`]).
    #[must_use]
    pub fn with_consumer(mut self, name: impl Into<String>) -> Self {
        self.consumer = Some(name.into());
        self
    }

    /// The consumer name launches of this platform are recorded under.
    pub fn consumer_name(&self) -> &str {
        self.consumer.as_deref().unwrap_or(&self.issuer)
    }

    /// True when `id` is an accepted deployment.
    pub fn accepts_deployment(&self, id: &str) -> bool {
        self.deployment_ids.is_empty() || self.deployment_ids.iter().any(|d| d == id)
    }
}

/// How LTI 1.3 launches are verified. Deserialises from the hub's `[lti13]` table; every field
/// has a default, and no platform (the default) turns LTI 1.3 off.
///
/// # Example
/// ```
/// use lticontainer_core::lti13::{Lti13Config, PlatformConfig};
/// let config = Lti13Config::default()
///     .with_platform(PlatformConfig::moodle("https://moodle.example.edu", "abc123").with_deployments(["1"]));
/// config.validate()?;
/// assert!(config.platform("https://moodle.example.edu", Some("abc123")).is_some());
/// # Ok::<(), lticontainer_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Lti13Config {
    /// The registered platforms (`[[lti13.platform]]`). Default: none.
    pub platform: Vec<PlatformConfig>,
    /// How far `exp` and `iat` may be off the hub's clock, in seconds. Default: 60.
    pub leeway_secs: u64,
    /// How long a login waits for its launch, in seconds. Default: 300.
    pub login_ttl_secs: u64,
    /// The most logins waiting at once; past it, logins get a 503. Default: 65 536.
    pub login_capacity: usize,
    /// The launch parameter (by its 1.1 name) that carries the username: Moodle's
    /// `ext.user_username` claim is `ext_user_username`. Default: `ext_user_username`.
    pub username_key: String,
    /// The file of the tool's own RSA key (PKCS#8 PEM, mode 0600; made on the first start when
    /// missing), whose public half the hub serves at `/hub/lti13/jwks`. Default:
    /// `<hub.state_dir>/lti13-tool-key.pem`.
    pub tool_key_file: Option<PathBuf>,
    /// Accept platforms by LTI Dynamic Registration at `/hub/lti13/register`, each with a
    /// one-use URL from `lticontainer lti13 registration-url`. Turns LTI 1.3 on even with no
    /// `[[lti13.platform]]`. Default: off.
    pub dynamic_registration: bool,
    /// When not empty, Dynamic Registration accepts only platforms whose OpenID configuration
    /// URL has one of these origins (`https://moodle.example.edu`, scheme, host and port).
    /// Default: any origin (the one-use URL is the gate).
    pub registration_origins: Vec<String>,
}

impl Default for Lti13Config {
    fn default() -> Self {
        Self {
            platform: Vec::new(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            login_ttl_secs: DEFAULT_LOGIN_TTL_SECS,
            login_capacity: DEFAULT_LOGIN_CAPACITY,
            username_key: DEFAULT_USERNAME_KEY.to_owned(),
            tool_key_file: None,
            dynamic_registration: false,
            registration_origins: Vec::new(),
        }
    }
}

impl Lti13Config {
    /// Adds a platform.
    #[must_use]
    pub fn with_platform(mut self, platform: PlatformConfig) -> Self {
        self.platform.push(platform);
        self
    }

    /// True when LTI 1.3 is on: a platform is configured, or Dynamic Registration is.
    pub fn enabled(&self) -> bool {
        !self.platform.is_empty() || self.dynamic_registration
    }

    /// The platform registered for `issuer` and `client_id`; without a client id (the login
    /// initiation's is optional), the issuer's only registration.
    pub fn platform(&self, issuer: &str, client_id: Option<&str>) -> Option<&PlatformConfig> {
        let mut of_issuer = self.platform.iter().filter(|p| p.issuer == issuer);
        match client_id {
            Some(id) => of_issuer.find(|p| p.client_id == id),
            None => {
                let first = of_issuer.next()?;
                of_issuer.next().is_none().then_some(first)
            }
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming the field: a blank issuer or client id, a URL that
    /// is not `http(s)://`, the same issuer and client id twice, a leeway over 10 minutes, a login
    /// time of 0 or over an hour, a login capacity of 0, a blank username key.
    pub fn validate(&self) -> crate::Result<()> {
        for (i, p) in self.platform.iter().enumerate() {
            let at = format!("lti13.platform[{i}] ({:?})", p.issuer);
            if p.issuer.trim().is_empty() || p.client_id.trim().is_empty() {
                return Err(crate::Error::invalid(format!(
                    "{at}: issuer and client_id must not be blank"
                )));
            }
            let urls = [
                ("auth_login_url", Some(&p.auth_login_url)),
                ("key_set_url", Some(&p.key_set_url)),
                ("token_url", p.token_url.as_ref()),
            ];
            for (name, url) in urls {
                if let Some(url) = url
                    && !(url.starts_with("https://") || url.starts_with("http://"))
                {
                    return Err(crate::Error::invalid(format!(
                        "{at}: {name} {url:?} is not an http(s) URL"
                    )));
                }
            }
            if self.platform[..i]
                .iter()
                .any(|q| q.issuer == p.issuer && q.client_id == p.client_id)
            {
                return Err(crate::Error::invalid(format!(
                    "{at}: issuer and client_id {:?} are registered twice",
                    p.client_id
                )));
            }
        }
        if self.leeway_secs > 600 {
            return Err(crate::Error::invalid(format!(
                "lti13.leeway_secs is {}; use 0 to 600 seconds",
                self.leeway_secs
            )));
        }
        if self.login_ttl_secs == 0 || self.login_ttl_secs > 3600 {
            return Err(crate::Error::invalid(format!(
                "lti13.login_ttl_secs is {}; use 1 to 3600 seconds",
                self.login_ttl_secs
            )));
        }
        if self.login_capacity == 0 {
            return Err(crate::Error::invalid(
                "lti13.login_capacity is 0, which would refuse every login",
            ));
        }
        if self.username_key.trim().is_empty() {
            return Err(crate::Error::invalid("lti13.username_key is blank"));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn deserialises_platforms_with_defaults() {
        let c: Lti13Config = serde_json::from_str(
            r#"{"platform": [{"issuer": "https://m", "client_id": "c", "deployment_ids": ["1"],
                "auth_login_url": "https://m/mod/lti/auth.php", "key_set_url": "https://m/mod/lti/certs.php"}]}"#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.leeway_secs, 60);
        assert!(c.enabled());
        let p = c.platform("https://m", Some("c")).unwrap();
        assert!(p.accepts_deployment("1") && !p.accepts_deployment("2"));
        assert_eq!(p.consumer_name(), "https://m");
        assert!(c.platform("https://m", Some("d")).is_none());
        assert!(c.platform("https://m", None).is_some());
        assert!(!Lti13Config::default().enabled());
    }

    #[test]
    fn an_issuer_with_two_clients_needs_the_client_id() {
        let c = Lti13Config::default()
            .with_platform(PlatformConfig::moodle("https://m", "a"))
            .with_platform(PlatformConfig::moodle("https://m", "b"));
        assert!(c.platform("https://m", None).is_none());
        assert_eq!(c.platform("https://m", Some("b")).unwrap().client_id, "b");
    }

    #[test]
    fn validate_names_the_bad_field() {
        let ok = Lti13Config::default().with_platform(PlatformConfig::moodle("https://m", "c"));
        ok.validate().unwrap();
        let mut bad_url = ok.clone();
        bad_url.platform[0].key_set_url = "file:///etc/keys".into();
        let mut blank = ok.clone();
        blank.platform[0].client_id = " ".into();
        let twice = ok
            .clone()
            .with_platform(PlatformConfig::moodle("https://m", "c"));
        let mut leeway = ok.clone();
        leeway.leeway_secs = 601;
        let mut ttl = ok.clone();
        ttl.login_ttl_secs = 0;
        let mut cap = ok.clone();
        cap.login_capacity = 0;
        let mut key = ok.clone();
        key.username_key = String::new();
        for (config, needle) in [
            (bad_url, "key_set_url"),
            (blank, "client_id must not be blank"),
            (twice, "twice"),
            (leeway, "leeway_secs"),
            (ttl, "login_ttl_secs"),
            (cap, "login_capacity"),
            (key, "username_key"),
        ] {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
    }
}
