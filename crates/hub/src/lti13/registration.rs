//! LTI Dynamic Registration (1EdTech "LTI Dynamic Registration" 1.0), the tool's side:
//! [`Registrar::register`].
//!
//! The admin pastes the hub's registration URL (with a one-use secret from
//! `lticontainer lti13 registration-url`) into the LMS; the LMS opens it with
//! `openid_configuration` (its OpenID configuration URL) and `registration_token`. The hub takes
//! the secret first, so nobody else can make it fetch an address, then
//!
//! 1. checks the configuration URL's origin against `[lti13] registration_origins` (when set),
//! 2. fetches the OpenID configuration and checks that its `issuer` is the URL's prefix (the
//!    spec's rule: a configuration cannot speak for another platform),
//! 3. posts the tool's client registration (login, launch and key set URLs, the Assignment and
//!    Grade Services scopes, `LtiResourceLinkRequest`) to its `registration_endpoint` with the
//!    registration token as bearer,
//! 4. and keeps the platform the answer names (client id, deployment id, the configuration's
//!    URLs) in [`RegisteredPlatforms`].

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use lticontainer_core::clock::Clock;
use lticontainer_core::form::FormParams;
use lticontainer_core::lti13::PlatformConfig;
use serde_json::{Value, json};

use super::registered::RegisteredPlatforms;
use super::registration_secrets::{RegistrationSecrets, SecretRefusal};
use crate::analytics::LmsClient;
use crate::origin::normalise_origin;

/// The scopes the tool asks for: Assignment and Grade Services (line items, results, scores).
pub const AGS_SCOPES: [&str; 4] = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
];

/// The claim of the tool's configuration in a registration and its answer.
pub const TOOL_CONFIGURATION: &str = "https://purl.imsglobal.org/spec/lti-tool-configuration";

/// The most bytes of a platform's answer read.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// How the hub speaks to a registering platform: the hub's [`LmsClient`], a fake in tests.
#[async_trait]
pub trait RegistrationClient: Send + Sync + Debug + 'static {
    /// GETs `url`: the status and the body.
    ///
    /// # Errors
    /// A one-line reason (no answer, a timeout, a body too large).
    async fn get(&self, url: &str) -> Result<(u16, Vec<u8>), String>;

    /// POSTs `body` as JSON to `url`, with `bearer` as the `Authorization: Bearer` token when
    /// given: the status and the body.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    async fn post_json(
        &self,
        url: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<(u16, Vec<u8>), String>;
}

#[async_trait]
impl RegistrationClient for LmsClient {
    async fn get(&self, url: &str) -> Result<(u16, Vec<u8>), String> {
        let (status, body) = LmsClient::get(self, url, MAX_ANSWER_BYTES).await?;
        Ok((status, body.to_vec()))
    }

    async fn post_json(
        &self,
        url: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<(u16, Vec<u8>), String> {
        let (status, body) =
            LmsClient::post_json(self, url, bearer, body, MAX_ANSWER_BYTES).await?;
        Ok((status, body.to_vec()))
    }
}

/// The tool's own URLs, as the platform must call them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolUrls {
    /// The OIDC login initiation URL (`/hub/lti13/login`).
    pub login: String,
    /// The launch (redirection) URL (`/hub/lti13/launch`), also the target link.
    pub launch: String,
    /// The tool's public key set (`/hub/lti13/jwks`).
    pub jwks: String,
}

impl ToolUrls {
    /// The URLs under the hub's public `base` (`https://hub.example.edu`, no trailing slash).
    pub fn under(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            login: format!("{base}/hub/lti13/login"),
            launch: format!("{base}/hub/lti13/launch"),
            jwks: format!("{base}/hub/lti13/jwks"),
        }
    }
}

/// Why a registration failed. The reader is the admin (the page shows inside the LMS's
/// registration dialog, and the log gets the same line).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// Dynamic Registration is off in the configuration.
    #[error(
        "LTI Dynamic Registration is off on this hub: set [lti13] dynamic_registration = true and restart"
    )]
    Off,
    /// The secret was missing, unknown, used or expired.
    #[error(
        "{0}. Run `lticontainer lti13 registration-url` on the hub for a new URL and paste that one"
    )]
    Secret(SecretRefusal),
    /// A required query parameter is missing.
    #[error(
        "the registration request lacks `{0}`: open the URL from the LMS's tool registration page"
    )]
    Missing(&'static str),
    /// The platform's origin is not in `[lti13] registration_origins`.
    #[error("the platform {0:?} is not in [lti13] registration_origins")]
    OriginNotAllowed(String),
    /// The platform did not answer as it should.
    #[error("the platform's {what} at {url}: {reason}")]
    Platform {
        /// What was asked (`OpenID configuration`, `registration endpoint`).
        what: &'static str,
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The configuration's issuer does not own the URL it came from.
    #[error(
        "the OpenID configuration at {url} names issuer {issuer:?}, which is not its URL's prefix: a configuration can only speak for its own platform"
    )]
    IssuerMismatch {
        /// The configuration URL.
        url: String,
        /// The issuer it named.
        issuer: String,
    },
    /// The platform could not be kept.
    #[error("the registration succeeded at the platform but cannot be kept: {0}")]
    Store(String),
}

impl RegistrationError {
    /// The HTTP status of the page.
    pub fn status(&self) -> u16 {
        match self {
            Self::Off | Self::Missing(_) => 400,
            Self::Secret(_) | Self::OriginNotAllowed(_) => 403,
            Self::Platform { .. } | Self::IssuerMismatch { .. } => 502,
            Self::Store(_) => 500,
        }
    }
}

/// What a registration request brings.
#[derive(Debug, Clone)]
struct RegistrationRequest {
    openid_configuration: String,
    registration_token: Option<String>,
    secret: String,
}

impl RegistrationRequest {
    fn from_params(params: &FormParams) -> Result<Self, RegistrationError> {
        let get = |name: &str| params.last_nonblank(name).map(str::to_owned);
        Ok(Self {
            secret: get("secret").ok_or(RegistrationError::Secret(SecretRefusal::Unknown))?,
            openid_configuration: get("openid_configuration")
                .ok_or(RegistrationError::Missing("openid_configuration"))?,
            registration_token: get("registration_token"),
        })
    }
}

/// Registers the tool with platforms that ask, and keeps them.
#[derive(Debug)]
pub struct Registrar {
    secrets: RegistrationSecrets,
    platforms: Arc<RegisteredPlatforms>,
    client: Arc<dyn RegistrationClient>,
    origins: Vec<String>,
    clock: Arc<dyn Clock>,
}

impl Registrar {
    /// A registrar taking `secrets`, keeping platforms in `platforms`, speaking through
    /// `client`, accepting the platform origins `origins` (any when empty).
    pub fn new(
        secrets: RegistrationSecrets,
        platforms: Arc<RegisteredPlatforms>,
        client: Arc<dyn RegistrationClient>,
        origins: &[String],
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            secrets,
            platforms,
            client,
            origins: origins.iter().filter_map(|o| normalise_origin(o)).collect(),
            clock,
        }
    }

    /// Runs the registration `params` (the request's query) asks for, with the tool's `urls`;
    /// the platform registered, already kept.
    ///
    /// # Errors
    /// [`RegistrationError`] of the first failed step; nothing is fetched before the secret
    /// and the origin passed.
    pub async fn register(
        &self,
        params: &FormParams,
        urls: &ToolUrls,
    ) -> Result<PlatformConfig, RegistrationError> {
        let request = RegistrationRequest::from_params(params)?;
        self.secrets
            .take(&request.secret, self.clock.now_unix())
            .map_err(RegistrationError::Secret)?;
        let config_url = request.openid_configuration;
        let origin = normalise_origin(&config_url).ok_or_else(|| RegistrationError::Platform {
            what: "OpenID configuration",
            url: config_url.clone(),
            reason: "not an http(s) URL".to_owned(),
        })?;
        if !self.origins.is_empty() && !self.origins.contains(&origin) {
            return Err(RegistrationError::OriginNotAllowed(origin));
        }
        let configuration = self.openid_configuration(&config_url).await?;
        let field = |name: &str| {
            configuration
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| v.starts_with("https://") || v.starts_with("http://"))
                .map(str::to_owned)
                .ok_or_else(|| RegistrationError::Platform {
                    what: "OpenID configuration",
                    url: config_url.clone(),
                    reason: format!("it has no http(s) `{name}`"),
                })
        };
        let issuer = configuration
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !is_prefix_of(&issuer, &config_url) {
            return Err(RegistrationError::IssuerMismatch {
                url: config_url,
                issuer,
            });
        }
        let endpoint = field("registration_endpoint")?;
        let auth_login_url = field("authorization_endpoint")?;
        let key_set_url = field("jwks_uri")?;
        let token_url = field("token_endpoint")?;

        let answer = self
            .post_registration(&endpoint, request.registration_token.as_deref(), urls)
            .await?;
        let client_id = answer
            .get("client_id")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| RegistrationError::Platform {
                what: "registration endpoint",
                url: endpoint.clone(),
                reason: "its answer has no client_id".to_owned(),
            })?;
        let deployment = answer
            .get(TOOL_CONFIGURATION)
            .and_then(|c| c.get("deployment_id"))
            .and_then(|d| {
                d.as_str()
                    .map(str::to_owned)
                    .or_else(|| d.as_i64().map(|n| n.to_string()))
            });
        let mut platform = PlatformConfig::moodle(&issuer, client_id)
            .with_deployments(deployment)
            .with_key_set_url(key_set_url);
        platform.auth_login_url = auth_login_url;
        platform.token_url = Some(token_url);
        self.platforms
            .add(platform.clone())
            .map_err(RegistrationError::Store)?;
        tracing::info!(issuer = %platform.issuer, client_id = %platform.client_id, deployments = ?platform.deployment_ids, file = %self.platforms.path().display(), "LTI 1.3 platform registered by Dynamic Registration");
        Ok(platform)
    }

    async fn openid_configuration(&self, url: &str) -> Result<Value, RegistrationError> {
        let failed = |reason: String| RegistrationError::Platform {
            what: "OpenID configuration",
            url: url.to_owned(),
            reason,
        };
        let (status, body) = self.client.get(url).await.map_err(failed)?;
        if status != 200 {
            return Err(failed(format!("HTTP {status}")));
        }
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| failed(format!("not JSON: {e}")))?;
        if !value.is_object() {
            return Err(failed("not a JSON object".to_owned()));
        }
        Ok(value)
    }

    async fn post_registration(
        &self,
        endpoint: &str,
        token: Option<&str>,
        urls: &ToolUrls,
    ) -> Result<Value, RegistrationError> {
        let failed = |reason: String| RegistrationError::Platform {
            what: "registration endpoint",
            url: endpoint.to_owned(),
            reason,
        };
        let (status, body) = self
            .client
            .post_json(endpoint, token, &client_registration(urls))
            .await
            .map_err(failed)?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&body);
            let shown: String = text.chars().take(300).collect();
            return Err(failed(format!("HTTP {status}: {shown}")));
        }
        serde_json::from_slice(&body).map_err(|e| failed(format!("the answer is not JSON: {e}")))
    }
}

/// The tool's client registration (LTI Dynamic Registration §3.3): a web application logging in
/// by OIDC (`id_token`), authenticating to the token endpoint with its key (`private_key_jwt`),
/// launched by resource links at `urls.launch`, asking for the AGS scopes and the user's name
/// and e-mail. No custom parameters: mod_lticontainer writes the `lms_*` ones per activity.
pub fn client_registration(urls: &ToolUrls) -> Value {
    let domain = url::Url::parse(&urls.launch)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_owned();
            Some(u.port().map_or(host.clone(), |p| format!("{host}:{p}")))
        })
        .unwrap_or_default();
    json!({
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": "Jupyter (lticontainer)",
        "jwks_uri": urls.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": AGS_SCOPES.join(" "),
        TOOL_CONFIGURATION: {
            "domain": domain,
            "target_link_uri": urls.launch,
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [{"type": "LtiResourceLinkRequest"}],
            "description": "JupyterLab servers in containers for the course's students",
        },
    })
}

/// True when `issuer` is `url` or a prefix of it ending at a path boundary.
fn is_prefix_of(issuer: &str, url: &str) -> bool {
    let issuer = issuer.trim_end_matches('/');
    !issuer.is_empty()
        && (issuer.starts_with("https://") || issuer.starts_with("http://"))
        && url
            .strip_prefix(issuer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_must_own_the_configuration_url() {
        let url = "https://lms.example/mod/lti/openid-configuration.php";
        assert!(is_prefix_of("https://lms.example", url));
        assert!(is_prefix_of("https://lms.example/", url));
        assert!(is_prefix_of("https://lms.example/mod", url));
        assert!(!is_prefix_of("https://lms.example.evil", url));
        assert!(!is_prefix_of("https://lms.ex", url));
        assert!(!is_prefix_of("https://other.example", url));
        assert!(!is_prefix_of("", url));
        assert!(!is_prefix_of("lms.example", "lms.example/x"));
    }

    #[test]
    fn the_registration_names_the_tools_urls_and_domain() {
        let urls = ToolUrls::under("http://127.0.0.1:8000/");
        let r = client_registration(&urls);
        assert_eq!(
            r["initiate_login_uri"],
            "http://127.0.0.1:8000/hub/lti13/login"
        );
        assert_eq!(
            r["redirect_uris"][0],
            "http://127.0.0.1:8000/hub/lti13/launch"
        );
        assert_eq!(r["jwks_uri"], "http://127.0.0.1:8000/hub/lti13/jwks");
        assert_eq!(r[TOOL_CONFIGURATION]["domain"], "127.0.0.1:8000");
        assert_eq!(
            r[TOOL_CONFIGURATION]["messages"][0]["type"],
            "LtiResourceLinkRequest"
        );
        assert!(r[TOOL_CONFIGURATION].get("custom_parameters").is_none());
        assert!(
            r["scope"]
                .as_str()
                .unwrap_or_default()
                .contains("lti-ags/scope/score")
        );
    }
}
