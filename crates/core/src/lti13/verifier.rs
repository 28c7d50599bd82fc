//! [`Lti13Verifier`]: checks an LTI 1.3 id_token and builds the same [`LtiLaunch`] the 1.1 path
//! builds.

use std::sync::Arc;

use serde_json::Value;
use subtle::ConstantTimeEq;

use super::claims::{
    CLAIM_DEPLOYMENT_ID, CLAIM_MESSAGE_TYPE, CLAIM_VERSION, LTI_VERSION_13, RESOURCE_LINK_REQUEST,
    to_params,
};
use super::jose::{JwkSet, RS256, UnverifiedToken};
use super::login::PendingLogin;
use super::{Lti13Config, Lti13Error, PlatformConfig, PlatformLaunch};
use crate::clock::{Clock, SystemClock};
use crate::launch::LtiLaunch;

/// Checks LTI 1.3 id_tokens. Sans-IO: the caller takes the login of the launch's `state` from
/// [`LoginStates`](super::LoginStates) and hands over the platform's key set.
///
/// The checks, in order (the first that fails is the error):
/// 1. `alg` is RS256 (`none`, HMAC and others are refused, 401);
/// 2. `iss` is the login's issuer and a configured platform with the login's client id (401);
/// 3. the header's `kid` names a key of the set ([`Lti13Error::UnknownKey`]: the caller fetches
///    the set again once and retries), and the RS256 signature verifies with it (401);
/// 4. `aud` (a string, or an array) holds the client id; with several audiences `azp` must be
///    present, and when present it must be the client id (401);
/// 5. `exp` is not past and `iat` not ahead, each with the configured leeway (401);
/// 6. `nonce` is the login's, compared in constant time (401);
/// 7. the deployment id is one of the platform's (401);
/// 8. `version` is `1.3.0` and `message_type` `LtiResourceLinkRequest` (400, with a page saying
///    only plain launches work);
/// 9. the claims map onto an [`LtiLaunch`] (the mapping is in the [module docs](super)), recorded under the
///    platform's consumer name.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use lticontainer_core::clock::ManualClock;
/// use lticontainer_core::lti13::{JwkSet, Lti13Config, Lti13Verifier, PendingLogin, PlatformConfig, PlatformSigner, UnverifiedToken};
/// let now = 1_700_000_000;
/// let config = Lti13Config::default().with_platform(PlatformConfig::moodle("https://lms", "client").with_deployments(["1"]));
/// let verifier = Lti13Verifier::new(config).with_clock(Arc::new(ManualClock::new(now)));
/// let signer = PlatformSigner::test_platform();
/// let token = signer.sign_claims(&PlatformSigner::student_launch_claims("https://lms", "client", "1", "nonce-1", now));
/// let keys = JwkSet::new(vec![signer.jwk()]);
/// let login = PendingLogin::new("https://lms", "client", "nonce-1");
/// let launch = verifier.verify(&UnverifiedToken::parse(&token)?, &login, &keys)?;
/// assert_eq!(launch.username, "student1");
/// # Ok::<(), lticontainer_core::lti13::Lti13Error>(())
/// ```
#[derive(Debug)]
pub struct Lti13Verifier {
    config: Arc<Lti13Config>,
    clock: Arc<dyn Clock>,
}

impl Lti13Verifier {
    /// A verifier of `config`'s platforms on the system clock.
    pub fn new(config: Lti13Config) -> Self {
        Self {
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` for `exp` and `iat`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Lti13Config {
        &self.config
    }

    /// The platform that must have signed `token` for `login`: the login's issuer and client id,
    /// which the token's `iss` must repeat.
    ///
    /// # Errors
    /// [`Lti13Error::WrongRecipient`] when `iss` is not the login's issuer,
    /// [`Lti13Error::UnknownPlatform`] when the platform is no longer configured.
    pub fn platform_of(
        &self,
        token: &UnverifiedToken,
        login: &PendingLogin,
    ) -> Result<&PlatformConfig, Lti13Error> {
        let iss = token.issuer().unwrap_or_default();
        if iss != login.issuer {
            return Err(Lti13Error::WrongRecipient {
                claim: "iss",
                got: iss.to_owned(),
                expected: login.issuer.clone(),
            });
        }
        self.config
            .platform(iss, Some(&login.client_id))
            .ok_or_else(|| Lti13Error::UnknownPlatform {
                issuer: iss.to_owned(),
                client_id: login.client_id.clone(),
            })
    }

    /// Verifies `token` for `login` with the platform's `keys` and builds the launch (the
    /// checks are listed on the type).
    ///
    /// # Errors
    /// The [`Lti13Error`] of the first failed check.
    pub fn verify(
        &self,
        token: &UnverifiedToken,
        login: &PendingLogin,
        keys: &JwkSet,
    ) -> Result<LtiLaunch, Lti13Error> {
        if token.header.alg != RS256 {
            return Err(Lti13Error::UnsupportedAlgorithm {
                alg: token.header.alg.clone(),
            });
        }
        let platform = self.platform_of(token, login)?;
        let issuer = platform.issuer.as_str();
        let kid = token
            .header
            .kid
            .as_deref()
            .ok_or(Lti13Error::Missing { name: "kid" })?;
        let key = keys.find(kid).ok_or_else(|| Lti13Error::UnknownKey {
            issuer: issuer.to_owned(),
            kid: kid.to_owned(),
        })?;
        token.verify_rs256(key, issuer)?;
        let claims = &token.claims;
        check_audience(claims, &platform.client_id)?;
        self.check_times(claims)?;
        let nonce = string(claims, "nonce").ok_or(Lti13Error::Missing { name: "nonce" })?;
        if !bool::from(nonce.as_bytes().ct_eq(login.nonce.as_bytes())) {
            return Err(Lti13Error::NonceMismatch);
        }
        let deployment = string(claims, CLAIM_DEPLOYMENT_ID).ok_or(Lti13Error::Missing {
            name: "deployment_id",
        })?;
        if !platform.accepts_deployment(deployment) {
            return Err(Lti13Error::UnknownDeployment {
                issuer: issuer.to_owned(),
                deployment_id: deployment.to_owned(),
            });
        }
        let version = string(claims, CLAIM_VERSION).unwrap_or_default();
        if version != LTI_VERSION_13 {
            return Err(Lti13Error::WrongVersion {
                got: version.to_owned(),
            });
        }
        let message = string(claims, CLAIM_MESSAGE_TYPE).unwrap_or_default();
        if message != RESOURCE_LINK_REQUEST {
            return Err(Lti13Error::UnsupportedMessage {
                got: message.to_owned(),
            });
        }
        let mut launch = LtiLaunch::from_params(
            platform.consumer_name(),
            &to_params(claims),
            &self.config.username_key,
        )?;
        launch.lti13 = Some(PlatformLaunch::new(issuer, &platform.client_id, claims));
        Ok(launch)
    }

    fn check_times(&self, claims: &serde_json::Map<String, Value>) -> Result<(), Lti13Error> {
        let now = self.clock.now_unix();
        let leeway = self.config.leeway_secs;
        let lee = i64::try_from(leeway).unwrap_or(i64::MAX);
        let exp = number(claims, "exp").ok_or(Lti13Error::Missing { name: "exp" })?;
        let iat = number(claims, "iat").ok_or(Lti13Error::Missing { name: "iat" })?;
        if exp.saturating_add(lee) <= now {
            return Err(Lti13Error::Expired { exp, now, leeway });
        }
        if iat.saturating_sub(lee) > now {
            return Err(Lti13Error::IssuedInFuture { iat, now, leeway });
        }
        Ok(())
    }
}

fn string<'a>(claims: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// A NumericDate (seconds; a fraction is cut).
fn number(claims: &serde_json::Map<String, Value>, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    #[allow(clippy::cast_possible_truncation)]
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// `aud` holds `client_id`; several audiences need `azp`; `azp`, when present, is `client_id`
/// (OpenID Connect Core §3.1.3.7, items 3 to 5).
fn check_audience(
    claims: &serde_json::Map<String, Value>,
    client_id: &str,
) -> Result<(), Lti13Error> {
    let wrong = |claim, got: String| Lti13Error::WrongRecipient {
        claim,
        got,
        expected: client_id.to_owned(),
    };
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => return Err(Lti13Error::Missing { name: "aud" }),
    };
    if !audiences.contains(&client_id) {
        return Err(wrong("aud", audiences.join(",")));
    }
    match string(claims, "azp") {
        Some(azp) if azp != client_id => Err(wrong("azp", azp.to_owned())),
        None if audiences.len() > 1 => Err(wrong("azp", String::new())),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::clock::ManualClock;
    use crate::lti13::{CLAIM_CUSTOM, PlatformSigner};

    const NOW: i64 = 1_700_000_000;
    const ISS: &str = "https://lms.example.edu";

    fn verifier() -> Lti13Verifier {
        let config = Lti13Config::default().with_platform(
            PlatformConfig::moodle(ISS, "client-1")
                .with_deployments(["7"])
                .with_consumer("moodle"),
        );
        Lti13Verifier::new(config).with_clock(Arc::new(ManualClock::new(NOW)))
    }

    fn claims() -> Value {
        PlatformSigner::student_launch_claims(ISS, "client-1", "7", "nonce-1", NOW)
    }

    fn login() -> PendingLogin {
        PendingLogin::new(ISS, "client-1", "nonce-1")
    }

    fn keys() -> JwkSet {
        JwkSet::new(vec![PlatformSigner::test_platform().jwk()])
    }

    fn run(token: &str) -> Result<LtiLaunch, Lti13Error> {
        verifier().verify(&UnverifiedToken::parse(token)?, &login(), &keys())
    }

    fn signed(claims: &Value) -> Result<LtiLaunch, Lti13Error> {
        run(&PlatformSigner::test_platform().sign_claims(claims))
    }

    fn with(change: impl FnOnce(&mut Value)) -> Result<LtiLaunch, Lti13Error> {
        let mut c = claims();
        change(&mut c);
        signed(&c)
    }

    #[test]
    fn a_moodle_launch_becomes_the_11_launch_model() {
        let launch = with(|c| {
            c[CLAIM_CUSTOM] = json!({"lms_image": "jupyter-kit", "lms_teachers": "teacher1"});
        })
        .unwrap();
        assert_eq!(launch.consumer_key, "moodle");
        assert_eq!(launch.username, "student1");
        assert_eq!(launch.lms_login.as_deref(), Some("student1"));
        assert_eq!(launch.user_id, "4");
        assert!(!launch.is_instructor());
        assert_eq!(launch.context_id.as_deref(), Some("2"));
        assert_eq!(launch.context_title.as_deref(), Some("Data Science 101"));
        assert_eq!(launch.resource_link_id, "1");
        assert_eq!(launch.custom("lms_image"), Some("jupyter-kit"));
        assert_eq!(launch.custom("lms_teachers"), Some("teacher1"));

        let teacher = with(|c| {
            c[crate::lti13::CLAIM_ROLES] = json!([
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
                "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
            ]);
        })
        .unwrap();
        assert!(teacher.is_instructor());
        assert_eq!(teacher.roles.len(), 2);
    }

    #[test]
    fn the_same_launch_by_11_and_13_builds_the_same_model() {
        let by13 = with(|c| c[CLAIM_CUSTOM] = json!({"lms_image": "x"})).unwrap();
        let params: Vec<(String, String)> = [
            ("user_id", "4"),
            (
                "roles",
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            ),
            ("context_id", "2"),
            ("context_title", "Data Science 101"),
            ("resource_link_id", "1"),
            ("resource_link_title", "Jupyter"),
            ("ext_user_username", "student1"),
            ("custom_lms_image", "x"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let by11 = LtiLaunch::from_params("moodle", &params, "ext_user_username").unwrap();
        assert_eq!(
            (
                &by13.username,
                &by13.lms_login,
                &by13.user_id,
                &by13.roles,
                &by13.context_id
            ),
            (
                &by11.username,
                &by11.lms_login,
                &by11.user_id,
                &by11.roles,
                &by11.context_id
            )
        );
        assert_eq!(
            by13.customs().collect::<Vec<_>>(),
            by11.customs().collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let token = PlatformSigner::test_platform().sign_claims(&claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut c = claims();
        c["sub"] = json!("1");
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            c.to_string(),
        );
        let e = run(&parts.join(".")).unwrap_err();
        assert!(
            matches!(e, Lti13Error::BadSignature { .. }) && e.status() == 401,
            "{e}"
        );
    }

    #[test]
    fn another_key_under_the_platforms_kid_is_refused() {
        let forger = PlatformSigner::test_other().with_kid(PlatformSigner::TEST_KID);
        let e = run(&forger.sign_claims(&claims())).unwrap_err();
        assert!(matches!(e, Lti13Error::BadSignature { .. }), "{e}");
    }

    #[test]
    fn an_unknown_key_id_is_refused() {
        let e = run(&PlatformSigner::test_other().sign_claims(&claims())).unwrap_err();
        assert!(
            matches!(e, Lti13Error::UnknownKey { ref kid, .. } if kid == "test-other-key"),
            "{e}"
        );
    }

    #[test]
    fn unsigned_and_hmac_tokens_are_refused() {
        let token = PlatformSigner::test_platform().sign_claims(&claims());
        let (_, rest) = token.split_once('.').unwrap();
        let b64 =
            |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
        for alg in ["none", "HS256", "RS512"] {
            let header = b64(&format!(
                r#"{{"alg":"{alg}","kid":"{}"}}"#,
                PlatformSigner::TEST_KID
            ));
            let e = run(&format!("{header}.{rest}")).unwrap_err();
            assert!(
                matches!(e, Lti13Error::UnsupportedAlgorithm { .. }),
                "{alg}: {e}"
            );
        }
    }

    #[test]
    fn a_wrong_audience_is_refused() {
        let e = with(|c| c["aud"] = json!("someone-else")).unwrap_err();
        assert!(
            matches!(e, Lti13Error::WrongRecipient { claim: "aud", .. }),
            "{e}"
        );
        with(|c| c["aud"] = json!(["client-1"])).unwrap();
        let e = with(|c| c["aud"] = json!(["client-1", "other"])).unwrap_err();
        assert!(
            matches!(e, Lti13Error::WrongRecipient { claim: "azp", .. }),
            "{e}"
        );
        with(|c| {
            c["aud"] = json!(["client-1", "other"]);
            c["azp"] = json!("client-1");
        })
        .unwrap();
        let e = with(|c| c["azp"] = json!("other")).unwrap_err();
        assert!(
            matches!(e, Lti13Error::WrongRecipient { claim: "azp", .. }),
            "{e}"
        );
        let e = with(|c| {
            c.as_object_mut().unwrap().remove("aud");
        })
        .unwrap_err();
        assert!(matches!(e, Lti13Error::Missing { name: "aud" }), "{e}");
    }

    #[test]
    fn another_issuer_than_the_logins_is_refused() {
        let e = with(|c| c["iss"] = json!("https://evil.example")).unwrap_err();
        assert!(
            matches!(e, Lti13Error::WrongRecipient { claim: "iss", .. }),
            "{e}"
        );
    }

    #[test]
    fn an_expired_token_is_refused_after_the_leeway() {
        with(|c| c["exp"] = json!(NOW - 59)).unwrap();
        let e = with(|c| c["exp"] = json!(NOW - 60)).unwrap_err();
        assert!(
            matches!(e, Lti13Error::Expired { .. }) && e.status() == 401,
            "{e}"
        );
        let e = with(|c| {
            c.as_object_mut().unwrap().remove("exp");
        })
        .unwrap_err();
        assert!(matches!(e, Lti13Error::Missing { name: "exp" }), "{e}");
    }

    #[test]
    fn a_token_from_the_future_is_refused_after_the_leeway() {
        with(|c| c["iat"] = json!(NOW + 60)).unwrap();
        let e = with(|c| c["iat"] = json!(NOW + 61)).unwrap_err();
        assert!(matches!(e, Lti13Error::IssuedInFuture { .. }), "{e}");
    }

    #[test]
    fn another_nonce_than_the_logins_is_refused() {
        let e = with(|c| c["nonce"] = json!("nonce-2")).unwrap_err();
        assert!(matches!(e, Lti13Error::NonceMismatch), "{e}");
    }

    #[test]
    fn an_unknown_deployment_is_refused() {
        let e = with(|c| c[CLAIM_DEPLOYMENT_ID] = json!("8")).unwrap_err();
        assert!(matches!(e, Lti13Error::UnknownDeployment { .. }), "{e}");
    }

    #[test]
    fn other_messages_and_versions_are_refused_with_a_clear_page() {
        let e = with(|c| c[CLAIM_MESSAGE_TYPE] = json!("LtiDeepLinkingRequest")).unwrap_err();
        assert!(
            matches!(e, Lti13Error::UnsupportedMessage { .. }) && e.status() == 400,
            "{e}"
        );
        assert!(e.student_message().contains("only plain activity launches"));
        let e = with(|c| c[CLAIM_VERSION] = json!("1.1")).unwrap_err();
        assert!(matches!(e, Lti13Error::WrongVersion { .. }), "{e}");
    }

    #[test]
    fn a_platform_no_longer_configured_is_refused() {
        let token = PlatformSigner::test_platform().sign_claims(&claims());
        let other = PendingLogin::new(ISS, "client-2", "nonce-1");
        let e = verifier()
            .verify(&UnverifiedToken::parse(&token).unwrap(), &other, &keys())
            .unwrap_err();
        assert!(matches!(e, Lti13Error::UnknownPlatform { .. }), "{e}");
    }

    #[test]
    fn a_launch_without_user_or_link_is_refused() {
        let e = with(|c| {
            c.as_object_mut()
                .unwrap()
                .remove(crate::lti13::CLAIM_RESOURCE_LINK);
        })
        .unwrap_err();
        assert!(
            matches!(e, Lti13Error::Launch(_)) && e.status() == 400,
            "{e}"
        );
    }

    #[test]
    fn refusals_name_the_cause_for_the_admin_and_not_the_student() {
        let e = with(|c| c["aud"] = json!("someone-else")).unwrap_err();
        assert!(e.to_string().contains("someone-else"), "{e}");
        assert!(!e.student_message().contains("someone-else"));
    }
}
